"""Views per second of SimCLRAugment against a per-image tf.image pipeline.

Three pipelines, run in alternating rounds so that they share whatever else
the machine is doing, at two sizes:

- reference: the SimCLR reference code's way, one image at a time in
  `tf.data` (`map(per_image, AUTOTUNE).batch(n)`):
  sample_distorted_bounding_box, slice, bicubic resize, flip, colour jitter
  in a random order via tf.switch_case, grayscale, blur; float conversion
  included;
- SimCLRAugment in `tf.data`: `batch(n).map(layer, AUTOTUNE)`;
- SimCLRAugment under XLA: `tf.function(jit_compile=True)` on a batch already
  in memory (as inside a compiled train step).

Sizes: 32 px (CIFAR-10 preset, 32x32 uint8 sources) and 224 px (ImageNet
preset, 375x500 uint8 sources).

Usage:
    python benchmarks/augment.py [--seconds 3] [--rounds 3] [--sizes 32 224]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_simclr.layers import SimCLRAugment  # noqa: E402

CONFIGS = {
    32: {"preset": "cifar10", "source": (32, 32), "batch": 256, "pool": 512},
    224: {"preset": "imagenet", "source": (375, 500), "batch": 64, "pool": 128},
}


def reference_view(image, height, width, strength, blur):
    """One view, the reference way (google-research/simclr tf2/data_util)."""
    image = tf.image.convert_image_dtype(image, tf.float32)
    aspect = width / height
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]),
        min_object_covered=0.1,
        aspect_ratio_range=(3 / 4 * aspect, 4 / 3 * aspect),
        area_range=(0.08, 1.0),
        max_attempts=100,
        use_image_if_no_bounding_boxes=True,
    )
    offset_y, offset_x, _ = tf.unstack(begin)
    crop_h, crop_w, _ = tf.unstack(size)
    image = tf.image.crop_to_bounding_box(image, offset_y, offset_x, crop_h, crop_w)
    image = tf.image.resize([image], [height, width], method="bicubic")[0]
    image = tf.image.random_flip_left_right(image)

    def maybe(fn, p, x):
        return tf.cond(tf.random.uniform([]) < p, lambda: fn(x), lambda: x)

    def jitter(x):
        b = c = s = 0.8 * strength
        h = 0.2 * strength
        order = tf.random.shuffle(tf.range(4))
        for i in range(4):
            x = tf.switch_case(
                order[i],
                [
                    lambda x=x: x * tf.random.uniform([], max(0.0, 1 - b), 1 + b),
                    lambda x=x: tf.image.random_contrast(x, 1 - c, 1 + c),
                    lambda x=x: tf.image.random_saturation(x, 1 - s, 1 + s),
                    lambda x=x: tf.image.random_hue(x, h),
                ],
            )
            x = tf.clip_by_value(x, 0.0, 1.0)
        return x

    def gray(x):
        return tf.tile(tf.image.rgb_to_grayscale(x), [1, 1, 3])

    def gaussian_blur(x):
        radius = (height // 10) // 2
        sigma = tf.random.uniform([], 0.1, 2.0)
        t = tf.range(-radius, radius + 1, dtype=tf.float32)
        k = tf.exp(-(t**2) / (2 * sigma**2))
        k = k / tf.reduce_sum(k)
        k_h = tf.tile(tf.reshape(k, [1, -1, 1, 1]), [1, 1, 3, 1])
        k_v = tf.tile(tf.reshape(k, [-1, 1, 1, 1]), [1, 1, 3, 1])
        x = tf.nn.depthwise_conv2d(x[None], k_h, [1, 1, 1, 1], "SAME")
        return tf.nn.depthwise_conv2d(x, k_v, [1, 1, 1, 1], "SAME")[0]

    image = maybe(jitter, 0.8, image)
    image = maybe(gray, 0.2, image)
    if blur:
        image = maybe(gaussian_blur, 0.5, image)
    return tf.clip_by_value(tf.reshape(image, [height, width, 3]), 0.0, 1.0)


def _iterate(dataset):
    iterator = iter(dataset)
    return lambda: next(iterator)


def make_pipelines(size):
    config = CONFIGS[size]
    preset = SimCLRAugment.PRESETS[config["preset"]]
    rng = np.random.default_rng(0)
    pool = rng.integers(
        0, 256, (config["pool"],) + config["source"] + (3,), dtype=np.uint8
    )
    batch = config["batch"]
    source = tf.data.Dataset.from_tensor_slices(pool).repeat()

    reference = (
        source.map(
            lambda x: reference_view(x, size, size, preset["strength"], preset["blur"]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .batch(batch)
        .prefetch(2)
    )

    layer = SimCLRAugment.from_preset(config["preset"], seed=0)
    batched = (
        source.batch(batch).map(layer, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
    )

    xla_layer = SimCLRAugment.from_preset(config["preset"], seed=0)
    compiled = tf.function(lambda x: xla_layer(x, training=True), jit_compile=True)
    in_memory = tf.constant(pool[:batch])

    return batch, {
        "reference per-image tf.data": _iterate(reference),
        "SimCLRAugment tf.data": _iterate(batched),
        "SimCLRAugment XLA": lambda: compiled(in_memory),
    }


def measure(step, batch, seconds):
    """Views per second of `step` (returns a batch) over about `seconds`."""
    step().numpy()
    n, start = 0, time.perf_counter()
    while True:
        out = step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            out.numpy()
            elapsed = time.perf_counter() - start
            return n * batch / elapsed


def run(sizes, seconds, rounds):
    results = {}
    for size in sizes:
        batch, pipelines = make_pipelines(size)
        for step in pipelines.values():  # warm up: tracing, XLA compilation
            for _ in range(3):
                step().numpy()
        samples = {name: [] for name in pipelines}
        for _ in range(rounds):
            for name, step in pipelines.items():
                samples[name].append(measure(step, batch, seconds))
        results[size] = {n: statistics.median(v) for n, v in samples.items()}
        _print_size(size, batch, results[size])
    return results


def _print_size(size, batch, rates):
    config = CONFIGS[size]
    reference = rates["reference per-image tf.data"]
    print(
        f"\n{size} px ({config['preset']} preset, sources "
        f"{config['source'][0]}x{config['source'][1]} uint8, batch {batch})"
    )
    for name, rate in rates.items():
        print(f"  {name:30s} {rate:9.0f} views/s   x{rate / reference:.2f}")
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="length of one measurement"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds; the median is reported",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[32, 224], choices=sorted(CONFIGS)
    )
    args = parser.parse_args(argv)
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores; "
        f"median of {args.rounds} rounds of {args.seconds:g} s"
    )
    run(args.sizes, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
