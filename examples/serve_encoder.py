"""Embeds images with an exported SimCLR encoder, with TensorFlow alone.

The SavedModel written by `SimCLR.export_encoder` (or `keras-simclr export`)
needs no keras_simclr: this script does not import it. The encoder takes
uint8 RGB images of the size it was trained at (read from the export's
`assets.extra/keras_simclr.json`); images are resized whole to that size, as
in pretraining, and the model scales pixels to [0, 1] itself.

    python examples/serve_encoder.py --saved_model=runs/cifar10/saved_encoder \
        --images=path/to/folder --output=embeddings.npy

writes one representation h per image (sorted file names) and prints, for
the first few images, their nearest neighbour by cosine similarity.
"""

import argparse
import json
import os

import numpy as np
import tensorflow as tf


def load_images(folder, size):
    """Decodes the .jpg/.png files of `folder`, resized to `size` (uint8)."""
    names = sorted(
        n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png"))
    )
    images = []
    for name in names:
        image = tf.io.decode_image(
            tf.io.read_file(os.path.join(folder, name)),
            channels=3,
            expand_animations=False,
        )
        image = tf.image.resize(image, size, antialias=True)
        images.append(tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8))
    return names, tf.stack(images)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model", required=True, help="SavedModel directory.")
    parser.add_argument("--images", required=True, help="Folder of .jpg/.png images.")
    parser.add_argument("--output", default="embeddings.npy", help="Where h goes.")
    parser.add_argument("--batch_size", type=int, default=256)
    args = parser.parse_args()

    with open(os.path.join(args.saved_model, "assets.extra", "keras_simclr.json")) as f:
        metadata = json.load(f)
    encoder = tf.saved_model.load(args.saved_model).signatures["serving_default"]
    names, images = load_images(args.images, metadata["image_size"])
    features = np.concatenate(
        [
            encoder(images=images[i : i + args.batch_size])["representation"].numpy()
            for i in range(0, len(names), args.batch_size)
        ]
    )
    np.save(args.output, features)

    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    for i in range(min(5, len(names))):
        j = int(np.argmax(similarity[i]))
        print(f"{names[i]}: nearest {names[j]} (cosine {similarity[i, j]:.3f})")
    print(
        json.dumps(
            {"images": len(names), "dim": features.shape[1], "output": args.output}
        )
    )


if __name__ == "__main__":
    main()
