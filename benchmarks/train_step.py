"""Times SimCLR training steps: settings side by side, or JAX against TensorFlow.

Settings (the default mode, TensorFlow, one process): images/s for each
setting and its ratio to the first, measured in one run (absolute numbers
on a shared machine mean little). On accelerators, run it with
--settings=graph,xla,mixed_bfloat16 to see what XLA and mixed precision
buy; on the 2-core CI CPU, XLA made a ResNet-18 step about 1.5x slower.

Backends (--backends=tensorflow,jax): Keras fixes its backend per process,
so this parent launches one fresh child process per measurement, with
KERAS_BACKEND set, alternating the backends (TF, JAX, TF, JAX, ...) for
--rounds rounds per precision policy, and prints medians and ratios. Each
child times, on the same uint8 images and with Keras's default
`jit_compile` (XLA on JAX; graph mode on a TensorFlow CPU):
- the SimCLR step, views augmented inside the step (or, with
  --inputs=views, two views per image computed in NumPy beforehand);
- a plain Keras supervised step on the same images (keras.Sequential:
  the same encoder and a Dense layer, `fit` with sparse cross-entropy), as
  the developers' guide asks to judge the SimCLR step against;
- with --check_cost (first policy only), what the in-step input checks
  cost: the compiled SimCLR step (jit_compile=True on TensorFlow) with
  `batch_checks.input_record` as it is and replaced by a no-op, on float32
  images in [0, 1] (uint8 pixels are always valid: nothing to check).
--backend=jax|tensorflow runs one child measurement in this process and
prints its figures as JSON.

Usage:
    python benchmarks/train_step.py --depth=18 --image_size=32 --batch_size=64
    python benchmarks/train_step.py --backends=tensorflow,jax --batch_size=128 \\
        --policies=float32,mixed_bfloat16 --rounds=3 --warmup_steps=3 \\
        --steps=5 --check_cost
    python benchmarks/train_step.py --backend=jax --batch_size=128 --steps=5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SETTINGS = {
    "graph": dict(jit_compile=False, policy="float32"),
    "xla": dict(jit_compile=True, policy="float32"),
    "mixed_bfloat16": dict(jit_compile=False, policy="mixed_bfloat16"),
    "mixed_float16": dict(jit_compile=False, policy="mixed_float16"),
    "xla_mixed_bfloat16": dict(jit_compile=True, policy="mixed_bfloat16"),
}
# The line of a child's output that holds its figures.
RESULT_PREFIX = "TRAIN_STEP_RESULT "
# Classes of the plain supervised step's random labels.
PLAIN_CLASSES = 10
INPUTS = {
    "augment": "uint8 images augmented inside the step",
    "views": "two uint8 views per image computed in NumPy (flip, padded crop), "
    "no augmentation in the step",
}


def _encoder(args):
    import keras_simclr as ks

    size = args.image_size
    return ks.encoders.ResNet(
        args.depth,
        cifar_stem=size <= ks.recipes.SMALL_IMAGE_MAX,
        input_shape=(size, size, 3),
    )


def _simclr(args, jit_compile="auto"):
    import keras_simclr as ks

    model = ks.SimCLR(_encoder(args), temperature=0.5)
    model.compile(optimizer=ks.optimizers.LARS(0.1), jit_compile=jit_compile)
    return model


def _plain(args):
    import keras

    size = args.image_size
    model = keras.Sequential(
        [
            keras.Input((size, size, 3), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            _encoder(args),
            keras.layers.Dense(PLAIN_CLASSES),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _images(args):
    rng = np.random.default_rng(0)
    size = args.image_size
    return rng.integers(0, 256, (args.batch_size, size, size, 3), dtype=np.uint8)


def numpy_views(images, seed=0, pad=4):
    """Two views of uint8 images: random horizontal flip and padded crop."""
    rng = np.random.default_rng(seed)
    n, height, width, _ = images.shape
    views = []
    for _ in range(2):
        flip = rng.random(n) < 0.5
        flipped = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
        padded = np.pad(flipped, ((0, 0), (pad, pad), (pad, pad), (0, 0)), "reflect")
        rows = rng.integers(0, 2 * pad + 1, n)
        cols = rng.integers(0, 2 * pad + 1, n)
        views.append(
            np.stack(
                [
                    p[r : r + height, c : c + width]
                    for p, r, c in zip(padded, rows, cols)
                ]
            )
        )
    return tuple(views)


def _simclr_data(images, args):
    """SimCLR's input: the images, or `((view1, view2),)` with --inputs=views."""
    if args.inputs == "views":
        return (numpy_views(images),)
    return images


def seconds_per_step(model, data, args):
    """Seconds per training step of `model.fit` on one batch, repeated."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensors(data).repeat()
    model.fit(dataset, steps_per_epoch=args.warmup_steps, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
    return (time.perf_counter() - start) / args.steps


def _to_float(data):
    """uint8 images (or views) as float32 in [0, 1], same structure."""
    import tensorflow as tf

    return tf.nest.map_structure(lambda x: x.astype(np.float32) / 255.0, data)


def check_cost(args, images):
    """Seconds per compiled SimCLR step with and without the in-step checks."""
    import keras

    from keras_simclr import batch_checks

    data = _to_float(_simclr_data(images, args))
    checked = seconds_per_step(_simclr(args, jit_compile=True), data, args)
    record = batch_checks.input_record
    # The record of a batch that passes every check, computed from nothing.
    batch_checks.input_record = lambda batch, num_classes: keras.ops.zeros((4,))
    try:
        unchecked = seconds_per_step(_simclr(args, jit_compile=True), data, args)
    finally:
        batch_checks.input_record = record
    return {"checked": checked, "unchecked": unchecked}


def measure_backend(args):
    """The child's figures on its backend (KERAS_BACKEND), as a dict."""
    import keras

    keras.mixed_precision.set_global_policy(args.policy)
    images = _images(args)
    labels = np.random.default_rng(1).integers(0, PLAIN_CLASSES, len(images))
    result = {
        "backend": keras.backend.backend(),
        "policy": args.policy,
        "simclr": seconds_per_step(_simclr(args), _simclr_data(images, args), args),
        "plain": seconds_per_step(_plain(args), (images, labels), args),
    }
    if args.check_cost:
        result.update(check_cost(args, images))
    return result


def _child_command(args, backend, policy, with_check_cost):
    command = [sys.executable, os.path.abspath(__file__), f"--backend={backend}"]
    for name in ("depth", "image_size", "batch_size", "steps", "warmup_steps"):
        command.append(f"--{name}={getattr(args, name)}")
    command += [f"--policy={policy}", f"--inputs={args.inputs}"]
    return command + (["--check_cost"] if with_check_cost else [])


def run_child(args, backend, policy, with_check_cost):
    """Runs one measurement in a fresh process; returns its figures."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    command = _child_command(args, backend, policy, with_check_cost)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [
        line[len(RESULT_PREFIX) :]
        for line in done.stdout.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]
    if done.returncode or not lines:
        sys.exit(f"{backend} {policy} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def compare_backends(args):
    """Alternating fresh processes per backend; prints medians and ratios."""
    backends, policies = args.backends.split(","), args.policies.split(",")
    runs = {}
    for index, policy in enumerate(policies):
        with_check_cost = args.check_cost and index == 0
        for round_ in range(args.rounds):
            for backend in backends:
                figures = run_child(args, backend, policy, with_check_cost)
                runs.setdefault((policy, backend), []).append(figures)
                print(
                    f"  {policy} round {round_ + 1} {backend}: "
                    f"SimCLR {figures['simclr']:.3f} s/step, "
                    f"plain {figures['plain']:.3f} s/step",
                    file=sys.stderr,
                    flush=True,
                )
    _report(args, backends, policies, runs)


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def _report(args, backends, policies, runs):
    print(
        f"ResNet-{args.depth}, {args.image_size} px, batch {args.batch_size}, "
        f"{INPUTS[args.inputs]}; CPU; median of {args.rounds} fresh processes "
        f"per backend, alternating; {args.warmup_steps} warm-up + "
        f"{args.steps} timed steps each"
    )
    print(
        f"{'policy':>15} {'backend':>11} {'SimCLR s/step':>14} "
        f"{'plain s/step':>13} {'SimCLR/plain':>13}"
    )
    for policy in policies:
        for backend in backends:
            found = runs[(policy, backend)]
            ratio = statistics.median(run["simclr"] / run["plain"] for run in found)
            print(
                f"{policy:>15} {backend:>11} {_median(found, 'simclr'):14.3f} "
                f"{_median(found, 'plain'):13.3f} {ratio:13.2f}"
            )
    if len(backends) == 2:
        first, second = backends
        for policy in policies:
            ratios = [
                _median(runs[(policy, second)], key)
                / _median(runs[(policy, first)], key)
                for key in ("simclr", "plain")
            ]
            print(
                f"{second}/{first} step time, {policy}: SimCLR {ratios[0]:.2f}, "
                f"plain {ratios[1]:.2f}"
            )
    if args.check_cost:
        policy = policies[0]
        for backend in backends:
            found = runs[(policy, backend)]
            cost = statistics.median(r["checked"] - r["unchecked"] for r in found)
            print(
                f"in-step checks, {backend} ({policy}, jit-compiled, float32 "
                f"images in [0, 1]): {1000 * cost:+.1f} ms/step "
                f"({_median(found, 'checked'):.3f} s/step with, "
                f"{_median(found, 'unchecked'):.3f} without)"
            )


def images_per_second(setting, args):
    import keras
    import tensorflow as tf

    import keras_simclr as ks

    keras.mixed_precision.set_global_policy(setting["policy"])
    size = args.image_size
    encoder = _encoder(args)
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


def compare_settings(args):
    import tensorflow as tf

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
        help="feed float32 images in [0, 1] instead of uint8 (settings mode)",
    )
    parser.add_argument(
        "--backends",
        help="compare these backends in fresh processes, e.g. tensorflow,jax",
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        help="measure on this backend in this process and print JSON",
    )
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--policy", default="float32", help="with --backend")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inputs", choices=sorted(INPUTS), default="augment")
    parser.add_argument(
        "--check_cost",
        action="store_true",
        help="also time the compiled step without its in-step input checks",
    )
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend  # before Keras is imported
        print(RESULT_PREFIX + json.dumps(measure_backend(args)), flush=True)
    elif args.backends:
        compare_backends(args)
    else:
        compare_settings(args)


if __name__ == "__main__":
    main()
