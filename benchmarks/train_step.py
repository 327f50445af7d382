"""Times SimCLR training steps under different settings, side by side.

Prints images/s for each setting and its ratio to the first, measured in one
run (absolute numbers on a shared machine mean little). On accelerators, run
it with --settings=eager_graph,xla,mixed to see what XLA and mixed precision
buy; on the 2-core CI CPU, XLA made a ResNet-18 step about 1.5x slower.

Usage:
    python benchmarks/train_step.py --depth=18 --image_size=32 --batch_size=64
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

import keras_simclr as ks

SETTINGS = {
    "graph": dict(jit_compile=False, policy="float32"),
    "xla": dict(jit_compile=True, policy="float32"),
    "mixed_bfloat16": dict(jit_compile=False, policy="mixed_bfloat16"),
    "mixed_float16": dict(jit_compile=False, policy="mixed_float16"),
    "xla_mixed_bfloat16": dict(jit_compile=True, policy="mixed_bfloat16"),
}


def images_per_second(setting, args):
    keras.mixed_precision.set_global_policy(setting["policy"])
    size = args.image_size
    encoder = ks.encoders.ResNet(
        args.depth,
        cifar_stem=size <= ks.recipes.SMALL_IMAGE_MAX,
        input_shape=(size, size, 3),
    )
    model = ks.SimCLR(encoder, temperature=0.5)
    model.compile(optimizer=ks.optimizers.LARS(0.1), jit_compile=setting["jit_compile"])
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch_size, size, size, 3), dtype=np.uint8)
    if args.float_images:
        images = images.astype(np.float32) / 255.0
    data = tf.data.Dataset.from_tensors(images).repeat()
    model.fit(data, steps_per_epoch=args.warmup_steps, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start
    keras.mixed_precision.set_global_policy("float32")
    return args.steps * args.batch_size / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=18)
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup_steps", type=int, default=2)
    parser.add_argument("--settings", default="graph,xla")
    parser.add_argument(
        "--float_images",
        action="store_true",
        help="feed float32 images in [0, 1] instead of uint8",
    )
    args = parser.parse_args()
    names = args.settings.split(",")
    results = {name: images_per_second(SETTINGS[name], args) for name in names}
    base = results[names[0]]
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    dtype = "float32" if args.float_images else "uint8"
    print(
        f"ResNet-{args.depth}, {args.image_size} px, batch {args.batch_size} "
        f"{dtype}, {device}"
    )
    for name, rate in results.items():
        print(f"{name:>20}: {rate:8.1f} images/s  ({rate / base:.2f}x {names[0]})")


if __name__ == "__main__":
    main()
