"""Linear evaluation of a pretrained SimCLR encoder, from Python.

A linear classifier on the frozen representation h (batch norm in inference
mode), with the reference's CIFAR-10 protocol by default: SGD with Nesterov
momentum 0.9, learning rate 0.1 with cosine decay, batch 512, no weight
decay, 100 epochs. With `--baseline`, the same evaluation of a randomly
initialised encoder of the same architecture, to see what pretraining buys.

    python examples/linear_eval.py --model_dir=runs/cifar10 --baseline

reads `model_dir/model.keras` (written by `examples/pretrain_cifar10.py` or
`keras-simclr pretrain`) and prints the results as one line of JSON.
"""

import json

import keras
from absl import app, flags

import keras_simclr as ks
from keras_simclr import data as ks_data

flags.DEFINE_string("model_dir", "runs/cifar10", "Directory holding model.keras.")
flags.DEFINE_string("dataset", "cifar10", "tfds name, image folder, .npz or 'shapes'.")
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_string("train_split", "train", "Split the classifier is trained on.")
flags.DEFINE_string("test_split", "test", "Split it is evaluated on.")
flags.DEFINE_integer("epochs", 100, "Classifier epochs.")
flags.DEFINE_integer("batch_size", 512, "Classifier batch size.")
flags.DEFINE_float("learning_rate", 0.1, "Peak learning rate (cosine decay).")
flags.DEFINE_bool("augment", False, "Train on random crops and flips (slower).")
flags.DEFINE_bool("baseline", False, "Also evaluate a randomly initialised encoder.")
FLAGS = flags.FLAGS


def main(_):
    _, model = ks.runs.load_run(FLAGS.model_dir)  # any gfile URL (gs://...)
    train = ks_data.load(FLAGS.dataset, FLAGS.train_split, FLAGS.data_dir)
    test = ks_data.load(FLAGS.dataset, FLAGS.test_split, FLAGS.data_dir)
    settings = dict(
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        augment=FLAGS.augment,
    )
    results = {"pretrained": ks.evaluation.linear_eval(model, train, test, **settings)}
    if FLAGS.baseline:
        # Same architecture, fresh random weights.
        random_encoder = keras.models.clone_model(model.encoder)
        results["random"] = ks.evaluation.linear_eval(
            random_encoder, train, test, **settings
        )
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    app.run(main)
