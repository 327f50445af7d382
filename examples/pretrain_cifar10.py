"""Pretrains SimCLR on CIFAR-10 with the reference's recipe, from Python.

The defaults are google-research/simclr's CIFAR-10 command: ResNet-18 with
the CIFAR stem, batch 512, 1000 epochs, LARS with learning rate 1.0 scaled
linearly (2.0 at batch 512), 10 warmup epochs then cosine decay, weight decay
1e-4, temperature 0.5, colour strength 0.5, no blur, a 3-layer projection
head. An epoch here is 97 whole batches: 97,000 steps in all, where the
reference, which counts the partial batch, runs 97,657. Linear evaluation of that encoder reaches about 91% top-1 (the
reference's figure); `examples/linear_eval.py` measures it.

    python examples/pretrain_cifar10.py --model_dir=runs/cifar10

writes `model.keras` (the whole SimCLR model) and `saved_encoder/` (the
SavedModel of `SimCLR.export_encoder`) to `--model_dir`, and reports a
weighted kNN accuracy on the test split while it trains. A quick try on the
embedded dataset (no download):

    python examples/pretrain_cifar10.py --dataset=shapes --train_steps=200 \
        --batch_size=128 --model_dir=runs/shapes

The `keras-simclr pretrain --preset=cifar10` command runs the same recipe with
checkpointing, resumption and multi-worker support.
"""

import importlib.util
import json
import math
import os

from absl import app, flags

import keras
import keras_simclr as ks
from keras_simclr import callbacks as ks_callbacks
from keras_simclr import data as ks_data
from keras_simclr.strategy import resolve_strategy

flags.DEFINE_string("dataset", "cifar10", "tfds name, image folder, .npz or 'shapes'.")
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_string("model_dir", "runs/cifar10", "Where the model and logs go.")
flags.DEFINE_integer("image_size", 32, "Side of the images the network sees.")
flags.DEFINE_integer("batch_size", 512, "Global batch size.")
flags.DEFINE_integer("epochs", 1000, "Pretraining epochs.")
flags.DEFINE_integer("train_steps", None, "Total steps; overrides --epochs.")
flags.DEFINE_float("learning_rate", 1.0, "Base learning rate (x batch / 256).")
flags.DEFINE_float("warmup_epochs", 10, "Linear warmup epochs.")
flags.DEFINE_float("weight_decay", 1e-4, "LARS weight decay.")
flags.DEFINE_float("temperature", 0.5, "NT-Xent temperature.")
flags.DEFINE_integer("proj_layers", 3, "Projection head layers (2: v1, 3: v2).")
flags.DEFINE_integer("knn_every", 10, "kNN monitor every N epochs (0: off).")
flags.DEFINE_integer("knn_bank", 10_000, "Training images in the kNN bank.")
flags.DEFINE_string("test_split", "test", "Split the kNN monitor classifies.")
flags.DEFINE_integer("seed", 0, "Seed.")
FLAGS = flags.FLAGS


def main(_):
    strategy = resolve_strategy()  # first: TPUs must connect before any op
    keras.utils.set_random_seed(FLAGS.seed)
    size = FLAGS.image_size
    data, info, steps_per_epoch = ks_data.pretraining_dataset(
        FLAGS.dataset,
        global_batch_size=FLAGS.batch_size,
        image_size=size,
        data_dir=FLAGS.data_dir,
        strategy=strategy,
        seed=FLAGS.seed,
    )
    if FLAGS.train_steps:
        total_steps = FLAGS.train_steps
        steps_per_epoch = min(steps_per_epoch, total_steps)
    else:
        total_steps = FLAGS.epochs * steps_per_epoch
    epochs = math.ceil(total_steps / steps_per_epoch)
    warmup = min(int(FLAGS.warmup_epochs * steps_per_epoch), total_steps)

    with strategy.scope():
        encoder = ks.encoders.ResNet(18, cifar_stem=size <= 64, input_shape=(size, size, 3))
        model = ks.SimCLR(
            encoder,
            projection_head=ks.layers.ProjectionHead(FLAGS.proj_layers, output_dim=128),
            augment=ks.layers.SimCLRAugment(size, size, strength=0.5, blur=False),
            temperature=FLAGS.temperature,
            num_classes=info.num_classes,
        )
        schedule = ks.schedules.WarmupCosineDecay(
            ks.schedules.scaled_learning_rate(FLAGS.learning_rate, FLAGS.batch_size),
            warmup_steps=warmup,
            total_steps=total_steps,
        )
        model.compile(
            optimizer=ks.optimizers.LARS(
                schedule,
                momentum=0.9,
                weight_decay=FLAGS.weight_decay,
                exclude_from_weight_decay=["probe"],
            )
        )

    callbacks = []
    if FLAGS.knn_every:
        bank = ks_data.load(
            FLAGS.dataset, f"train[:{FLAGS.knn_bank}]", FLAGS.data_dir, image_size=size
        )
        test = ks_data.load(FLAGS.dataset, FLAGS.test_split, FLAGS.data_dir, image_size=size)
        callbacks.append(
            ks_callbacks.KNNMonitor(bank, test, k=200, every_n_epochs=FLAGS.knn_every)
        )
    if importlib.util.find_spec("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(FLAGS.model_dir, "logs")))
    history = model.fit(
        data, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=2
    )

    os.makedirs(FLAGS.model_dir, exist_ok=True)
    model.save(os.path.join(FLAGS.model_dir, "model.keras"))
    saved = model.export_encoder(os.path.join(FLAGS.model_dir, "saved_encoder"))
    summary = {k: float(v[-1]) for k, v in history.history.items()}
    summary.update(steps=total_steps, model_dir=FLAGS.model_dir, saved_encoder=saved)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    app.run(main)
