"""Weighted kNN accuracy in plain NumPy, the reference of the tests."""

import numpy as np


def numpy_knn(bank, bank_labels, queries, labels, k, temperature, classes):
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    correct = 0
    for query, label in zip(queries, labels):
        similarity = bank @ query
        nearest = np.argsort(-similarity)[:k]
        votes = np.zeros(classes)
        np.add.at(votes, bank_labels[nearest], np.exp(similarity[nearest] / temperature))
        correct += int(np.argmax(votes) == label)
    return correct / len(labels)
