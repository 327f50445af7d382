"""Pretrains SimCLR on a folder of images from Python, then probes it linearly.

    python examples/pretrain_image_folder.py --folder path/to/images --epochs 50

The folder holds one sub-folder of .jpg/.png images per class (the labels
feed the online probe and the final linear evaluation), or images only (no
labels: no probe, no evaluation). Without --folder a small labelled folder is
written from the embedded shapes dataset, so the example runs offline.

The command line does the same with checkpoints, resume and strategies:

    keras-simclr pretrain --dataset=path/to/images --model_dir=runs/photos
"""

import argparse
import os
import tempfile

import keras
from PIL import Image

import keras_simclr as ks


def write_demo_folder(root, per_class=60):
    """Writes `per_class` PNGs of each shapes class to root/<class>/."""
    images, labels = ks.data.make_shapes(per_class * 10, seed=7)
    names = ks.data.describe("shapes").class_names
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, names[label])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image).save(os.path.join(folder, f"{i}.png"))
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="image folder (default: a generated one)")
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--cifar_stem", action="store_true",
                        help="3x3 stem without max-pool: better on tiny images, "
                             "about 5x slower at 32 px")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default="runs/image_folder")
    args = parser.parse_args()

    folder = args.folder or write_demo_folder(tempfile.mkdtemp(prefix="shapes-"))
    train_split, test_split = "train[:80%]", "train[80%:]"
    info = ks.data.describe(folder, train_split)
    print(f"{info.num_examples} training images, classes: {info.class_names}")

    keras.utils.set_random_seed(0)
    size = args.image_size
    inputs, info, steps_per_epoch = ks.data.pretraining_dataset(
        folder, split=train_split, global_batch_size=args.batch_size,
        image_size=size, with_labels=info.num_classes is not None,
        on_corrupt="skip")
    encoder = ks.encoders.ResNet(18, cifar_stem=args.cifar_stem, input_shape=(size, size, 3))
    model = ks.SimCLR(
        encoder,
        ks.layers.ProjectionHead(num_layers=2, output_dim=64),
        augment=ks.layers.SimCLRAugment(size, size, strength=0.5, blur=size > 64),
        temperature=0.2,
        num_classes=info.num_classes,
    )
    total_steps = args.epochs * steps_per_epoch
    model.compile(optimizer=ks.optimizers.LARS(
        ks.schedules.WarmupCosineDecay(
            ks.schedules.scaled_learning_rate(1.0, args.batch_size),
            warmup_steps=steps_per_epoch, total_steps=total_steps),
        weight_decay=1e-6, exclude_from_weight_decay=["probe"]))
    model.fit(inputs, epochs=args.epochs, steps_per_epoch=steps_per_epoch, shuffle=False)

    os.makedirs(args.out, exist_ok=True)
    model.save(os.path.join(args.out, "model.keras"))
    model.export_encoder(os.path.join(args.out, "saved_encoder"))
    if info.num_classes:
        result = ks.evaluation.linear_eval(
            encoder, ks.data.load(folder, train_split), ks.data.load(folder, test_split),
            num_classes=info.num_classes, image_size=size, epochs=30)
        print(f"linear evaluation top-1: {result['top1']:.3f}")
    print(f"model and encoder in {args.out}")


if __name__ == "__main__":
    main()
