"""Weighted kNN accuracy in NumPy, one query at a time (Wu et al. 2018, eq. 3)."""

import numpy as np


def numpy_knn(bank, bank_labels, queries, labels, k, temperature, classes):
    """Accuracy of kNN votes weighted by exp(cosine similarity / temperature).

    Args:
        bank, bank_labels: the labelled features the votes come from.
        queries, labels: the features to classify and their true classes.
        k: neighbours per query.
        temperature: divides the cosine similarities before exp.
        classes: number of classes.

    Returns:
        The fraction of queries whose top vote is their label.
    """
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    correct = 0
    for query, label in zip(queries, labels):
        similarity = bank @ query
        nearest = np.argsort(-similarity)[:k]
        votes = np.zeros(classes)
        np.add.at(
            votes, bank_labels[nearest], np.exp(similarity[nearest] / temperature)
        )
        correct += int(np.argmax(votes) == label)
    return correct / len(labels)
