"""Pretrains SimCLR on CIFAR-10 with the reference's recipe, from Python.

The defaults are google-research/simclr's CIFAR-10 command: ResNet-18 with
the CIFAR stem, batch 512, 1000 epochs, LARS with learning rate 1.0 scaled
linearly (2.0 at batch 512), 10 warmup epochs then cosine decay, weight decay
1e-4, temperature 0.5, colour strength 0.5, no blur, a 3-layer projection
head. An epoch here is 97 whole batches: 97,000 steps in all, where the
reference, which counts the partial batch, runs 97,657. Linear evaluation
of that encoder reaches about 91% top-1 (the reference's figure);
`examples/linear_eval.py` measures it.

    python examples/pretrain_cifar10.py --model_dir=runs/cifar10

writes `model.keras` (the whole SimCLR model) and `saved_encoder/` (the
SavedModel of `SimCLR.export_encoder`) to `--model_dir`, and reports a
weighted kNN accuracy on the test split while it trains. A quick try on the
embedded dataset (no download):

    python examples/pretrain_cifar10.py --dataset=shapes --train_steps=200 \
        --batch_size=128 --model_dir=runs/shapes

It trains through `keras_simclr.pretrain`: checkpoints in
`--model_dir/checkpoints`, and the same command, run again after a crash,
resumes from the last one. `--model_dir` may be a bucket (gs://...). The
recipe is `keras_simclr.recipes.PRESETS["cifar10"]`; the flags below change
it only where given. `keras-simclr pretrain --preset=cifar10` is the same
run from the command line.
"""

import json

from absl import app, flags

import keras_simclr as ks
from keras_simclr import callbacks as ks_callbacks
from keras_simclr import data as ks_data
from keras_simclr.strategy import resolve_strategy

flags.DEFINE_string(
    "dataset", None, "tfds name, image folder, .npz or 'shapes' (default: cifar10)."
)
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_string(
    "model_dir", "runs/cifar10", "Where checkpoints, logs and the model go."
)
flags.DEFINE_integer("image_size", None, "Side of the images the network sees.")
flags.DEFINE_integer("batch_size", None, "Global batch size.")
flags.DEFINE_integer("epochs", None, "Pretraining epochs.")
flags.DEFINE_integer("train_steps", None, "Total steps; overrides --epochs.")
flags.DEFINE_float("learning_rate", None, "Base learning rate (x batch / 256).")
flags.DEFINE_float("warmup_epochs", None, "Linear warmup epochs.")
flags.DEFINE_float("weight_decay", None, "LARS weight decay.")
flags.DEFINE_float("temperature", None, "NT-Xent temperature.")
flags.DEFINE_integer("proj_layers", None, "Projection head layers (2: v1, 3: v2).")
flags.DEFINE_integer("seed", None, "Seed.")
flags.DEFINE_integer("knn_every", 10, "kNN monitor every N epochs (0: off).")
flags.DEFINE_integer("knn_bank", 10_000, "Training images in the kNN bank.")
flags.DEFINE_string("test_split", "test", "Split the kNN monitor classifies.")
FLAGS = flags.FLAGS
RECIPE_FLAGS = (
    "dataset",
    "data_dir",
    "image_size",
    "batch_size",
    "epochs",
    "train_steps",
    "learning_rate",
    "warmup_epochs",
    "weight_decay",
    "temperature",
    "proj_layers",
    "seed",
)


def main(_):
    strategy = resolve_strategy()  # first: TPUs must connect before any op
    recipe = ks.recipes.Recipe.from_preset(
        "cifar10",
        **{
            name: FLAGS[name].value
            for name in RECIPE_FLAGS
            if FLAGS[name].value is not None
        },
    )
    callbacks = []
    if FLAGS.knn_every:
        size = recipe.image_size
        bank = ks_data.load(
            recipe.dataset,
            f"train[:{FLAGS.knn_bank}]",
            recipe.data_dir,
            image_size=size,
        )
        test = ks_data.load(
            recipe.dataset, FLAGS.test_split, recipe.data_dir, image_size=size
        )
        callbacks.append(
            ks_callbacks.KNNMonitor(bank, test, k=200, every_n_epochs=FLAGS.knn_every)
        )
    summary = ks.pretrain(
        recipe, FLAGS.model_dir, strategy=strategy, callbacks=callbacks, verbose=2
    )
    summary.update(
        model_dir=FLAGS.model_dir,
        saved_encoder=ks.runs.files.join(FLAGS.model_dir, "saved_encoder"),
    )
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    app.run(main)
