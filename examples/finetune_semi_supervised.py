"""Semi-supervised fine-tuning on 1% and 10% of the labels, from Python.

SimCLRv2's protocol (arXiv 2006.10029): the pretrained encoder and the first
layer of its 3-layer projection head, plus a linear classifier, trained on a
class-balanced subset of the labels with LARS (learning rate 0.005 *
sqrt(batch)), no weight decay and no warmup, for 60 epochs (1%) or 30 (10%),
with random crops and flips only.

    python examples/finetune_semi_supervised.py --model_dir=runs/cifar10

reads `model_dir/model.keras`, writes `finetuned_1pct.keras` and
`finetuned_10pct.keras` next to it and prints one line of JSON per fraction.
"""

import json

from absl import app, flags

import keras_simclr as ks
from keras_simclr import data as ks_data

flags.DEFINE_string("model_dir", "runs/cifar10", "Directory holding model.keras.")
flags.DEFINE_string("dataset", "cifar10", "tfds name, image folder, .npz or 'shapes'.")
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_string("train_split", "train", "Split the labels are drawn from.")
flags.DEFINE_string("test_split", "test", "Split it is evaluated on.")
flags.DEFINE_list("label_fractions", ["0.01", "0.1"], "Fractions of the labels.")
flags.DEFINE_integer(
    "head_layer", None, "Head layers kept (default: 1 for a 3-layer head, else 0)."
)
flags.DEFINE_integer("epochs", None, "Epochs (default: 60 for <= 1%, else 30).")
flags.DEFINE_integer("batch_size", 1024, "Batch size (capped at the subset's size).")
flags.DEFINE_integer("seed", 0, "Seed of the label subset.")
FLAGS = flags.FLAGS


def main(_):
    _, model = ks.runs.load_run(FLAGS.model_dir)  # any gfile URL (gs://...)
    head_layer = FLAGS.head_layer
    if head_layer is None:
        head_layer = 1 if model.projection_head.num_layers >= 3 else 0
    train = ks_data.load(FLAGS.dataset, FLAGS.train_split, FLAGS.data_dir)
    test = ks_data.load(FLAGS.dataset, FLAGS.test_split, FLAGS.data_dir)
    for fraction in map(float, FLAGS.label_fractions):
        classifier, results = ks.evaluation.finetune(
            model,
            train,
            test,
            label_fraction=fraction,
            head_layer=head_layer,
            epochs=FLAGS.epochs,
            batch_size=FLAGS.batch_size,
            seed=FLAGS.seed,
        )
        path = ks.runs.files.join(
            FLAGS.model_dir, f"finetuned_{fraction * 100:g}pct.keras"
        )
        with ks.runs.files.local_output(path) as local:
            classifier.save(local)
        print(json.dumps(dict(results, model=path), sort_keys=True))


if __name__ == "__main__":
    app.run(main)
