"""SimCLRv2's three stages end to end: pretrain, fine-tune on 10%, distill.

1. Pretrain SimCLR (3-layer projection head) on all training images,
   without labels.
2. Fine-tune the encoder and the first head layer on a class-balanced 10%
   of the labels (`ks.evaluation.finetune`): the teacher.
3. Distill the teacher into a student of the same architecture, freshly
   initialised (self-distillation), on all training images without their
   labels (`ks.distillation.distill`).

With `--baseline`, the same student architecture is also trained on the 10%
of labels alone, with fine-tuning's recipe and no pretraining, which is what
the first two stages and distillation are to beat. The defaults are a
CPU-sized demo on the embedded "shapes" dataset (no download) with a small
convolutional encoder; `--encoder=resnet18` uses SimCLR's CIFAR ResNet-18.

    python examples/simclr_v2_three_stages.py --model_dir=runs/v2_shapes --baseline

writes `pretrained.keras`, `teacher.keras`, `student.keras` and
`student_encoder/` (SavedModel) to `--model_dir` and prints one line of JSON
with every stage's numbers.
"""

import json
import os
import time

import keras
from absl import app, flags

import keras_simclr as ks
from keras_simclr import data as ks_data

flags.DEFINE_string("dataset", "shapes", "tfds name, image folder, .npz or 'shapes'.")
flags.DEFINE_string("data_dir", None, "tfds data directory.")
flags.DEFINE_string("train_split", "train", "Split of every stage's training.")
flags.DEFINE_string(
    "test_split", "test", "Split the teacher and student are tested on."
)
flags.DEFINE_string("model_dir", "runs/v2_shapes", "Where the models go.")
flags.DEFINE_enum("encoder", "small", ["small", "resnet18"], "Encoder architecture.")
flags.DEFINE_integer(
    "width", 32, "Filters of the small encoder's first stage (then 2x, 4x)."
)
flags.DEFINE_integer("image_size", 32, "Side of the images the networks see.")
flags.DEFINE_integer("batch_size", 256, "Batch size of pretraining and distillation.")
flags.DEFINE_integer("pretrain_epochs", 30, "Pretraining epochs.")
flags.DEFINE_float(
    "label_fraction", 0.1, "Share of the labels the teacher learns from."
)
flags.DEFINE_integer("finetune_epochs", 30, "Fine-tuning epochs (also the baseline's).")
flags.DEFINE_integer("finetune_batch_size", 64, "Fine-tuning batch size.")
flags.DEFINE_integer("distill_epochs", 30, "Distillation epochs.")
flags.DEFINE_float("distill_temperature", 1.0, "Temperature of distillation.")
flags.DEFINE_bool("baseline", False, "Also train the student on the labels alone.")
flags.DEFINE_integer("seed", 0, "Seed.")
FLAGS = flags.FLAGS


def small_encoder(size, width):
    """Three conv-BN-ReLU-pool stages of width, 2 x width, 4 x width filters."""
    images = keras.Input((size, size, 3), name="images")
    x = images
    for filters in (width, 2 * width, 4 * width):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = ks.layers.batch_norm()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.Model(images, keras.layers.GlobalAveragePooling2D()(x), name="encoder")


def simclr_model(size):
    if FLAGS.encoder == "small":
        encoder = small_encoder(size, FLAGS.width)
    else:
        encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(size, size, 3))
    return ks.SimCLR(
        encoder,
        projection_head=ks.layers.ProjectionHead(3, output_dim=128),
        augment=ks.layers.SimCLRAugment(size, size, strength=0.5, blur=False),
        temperature=0.5,
    )


def main(_):
    keras.utils.set_random_seed(FLAGS.seed)
    size = FLAGS.image_size
    train = ks_data.load(
        FLAGS.dataset, FLAGS.train_split, FLAGS.data_dir, image_size=size
    )
    test = ks_data.load(
        FLAGS.dataset, FLAGS.test_split, FLAGS.data_dir, image_size=size
    )
    num_train = int(train.cardinality())
    os.makedirs(FLAGS.model_dir, exist_ok=True)

    start = time.time()
    # 1. Pretraining, without labels.
    model = simclr_model(size)
    steps = FLAGS.pretrain_epochs * (num_train // FLAGS.batch_size)
    model.compile(
        optimizer=ks.optimizers.LARS(
            ks.schedules.WarmupCosineDecay(
                ks.schedules.scaled_learning_rate(1.0, FLAGS.batch_size),
                warmup_steps=steps // 10,
                total_steps=steps,
            ),
            weight_decay=1e-4,
        )
    )
    images = train.map(lambda image, label: image)
    history = model.fit(
        images.shuffle(num_train, seed=FLAGS.seed).batch(
            FLAGS.batch_size, drop_remainder=True
        ),
        epochs=FLAGS.pretrain_epochs,
        verbose=0,
    )
    model.save(os.path.join(FLAGS.model_dir, "pretrained.keras"))
    pretrain_seconds = round(time.time() - start, 1)

    # 2. Fine-tuning on a fraction of the labels, from the first head layer.
    finetune_args = dict(
        label_fraction=FLAGS.label_fraction,
        head_layer=1,
        epochs=FLAGS.finetune_epochs,
        batch_size=FLAGS.finetune_batch_size,
        seed=FLAGS.seed,
    )
    teacher, teacher_results = ks.evaluation.finetune(
        model, train, test, **finetune_args
    )
    teacher.save(os.path.join(FLAGS.model_dir, "teacher.keras"))

    # 3. Self-distillation on every training image, without labels.
    student, results = ks.distillation.distill(
        teacher,
        train,
        test,
        temperature=FLAGS.distill_temperature,
        epochs=FLAGS.distill_epochs,
        batch_size=FLAGS.batch_size,
        seed=FLAGS.seed,
    )
    student.save(os.path.join(FLAGS.model_dir, "student.keras"))
    encoder = student.get_layer(model.encoder.name)
    saved = ks.export.export_encoder(
        encoder, os.path.join(FLAGS.model_dir, "student_encoder")
    )

    summary = {
        "pretrain_loss": float(history.history["loss"][-1]),
        "teacher_top1": teacher_results["top1"],
        "num_labelled": teacher_results["num_labelled"],
        "student_top1": results["top1"],
        "teacher_agreement": results["teacher_agreement"],
        "distill_learning_rate": results["learning_rate"],
        "num_train": num_train,
        "seconds": {
            "pretrain": pretrain_seconds,
            "finetune": teacher_results["seconds"],
            "distill": results["seconds"],
        },
        "student_encoder": saved,
    }
    if FLAGS.baseline:
        # The same architecture, untrained, fine-tuned the same way.
        untrained = simclr_model(size)
        untrained.build((None, size, size, 3))
        _, baseline = ks.evaluation.finetune(untrained, train, test, **finetune_args)
        summary["baseline_top1"] = baseline["top1"]
        summary["seconds"]["baseline"] = baseline["seconds"]
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    app.run(main)
