"""Peak memory and step time of SimCLR(micro_batches=k), side by side.

Each k runs in a fresh process (a process's peak memory only grows), one
after the other, on the same random batch: the time of the steps after the
first (which traces and compiles), and the peak memory of the run: on CPU,
the peak resident set (VmHWM) above the resident set of the built model,
first step included; on a GPU,
`tf.config.experimental.get_memory_info("GPU:0")["peak"]` (weights
included) of the timed steps. Also prints
the activation-size estimate behind the README's rule of thumb, and the cost
of the two ways to reuse the views in the second pass (store them, or draw
them again from replayed seeds).

Usage:
    python benchmarks/micro_batches.py                    # ResNet-18, 32 px, batch 512
    python benchmarks/micro_batches.py --micro_batches=1,8 --steps=1
    python benchmarks/micro_batches.py --depth=50 --image_size=224 --batch_size=256
"""

import argparse
import json
import os
import subprocess
import sys
import time


def _resident_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _encoder(args):
    import keras_simclr as ks

    size = args.image_size
    return ks.encoders.ResNet(
        args.depth, cifar_stem=size <= 64, input_shape=(size, size, 3)
    )


def _images(args):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.image_size, args.image_size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def measure_step(args, micro_batches):
    """In this process: peak memory and seconds per step for one k."""
    import tensorflow as tf

    import keras_simclr as ks

    gpu = bool(tf.config.list_physical_devices("GPU"))
    model = ks.SimCLR(_encoder(args), temperature=0.5, micro_batches=micro_batches)
    model.compile(optimizer=ks.optimizers.LARS(0.1), jit_compile=args.jit_compile)
    data = tf.data.Dataset.from_tensors(_images(args)).repeat()
    model.build((None, args.image_size, args.image_size, 3))
    before = _resident_kib("VmRSS")
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)  # traces
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
    seconds = (time.perf_counter() - start) / args.steps
    if gpu:
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        kind = "GPU peak"
    else:
        # TensorFlow's CPU allocator keeps what it freed, so the resident
        # set between steps is already near the peak: measure the peak of
        # the whole run (tracing included) above the built model.
        peak = (_resident_kib("VmHWM") - before) / 1024
        kind = "RSS peak above the built model"
    return {"k": micro_batches, "seconds": seconds, "peak_mib": peak, "kind": kind}


def measure_views(args):
    """In this process: the cost of storing the views vs drawing them again."""
    import tensorflow as tf

    import keras_simclr as ks

    size = args.image_size
    augment = (
        ks.layers.SimCLRAugment(size, size, strength=0.5, blur=False)
        if size <= 64
        else ks.layers.SimCLRAugment(size, size, strength=1.0, blur=True)
    )
    images = tf.constant(_images(args))

    @tf.function(jit_compile=args.jit_compile)
    def draw(x):
        x = tf.cast(x, tf.float32) / 255.0
        return augment(x, training=True), augment(x, training=True)

    draw(images)
    start = time.perf_counter()
    for _ in range(args.view_repeats):
        views = draw(images)
    seconds = (time.perf_counter() - start) / args.view_repeats
    stored = sum(v.shape.num_elements() * v.dtype.size for v in views) / 2**20
    return {"draw_seconds": seconds, "stored_mib": stored}


def activation_estimate(args):
    """Sum of every layer's output size for one view (what backprop keeps)."""
    import keras

    encoder = _encoder(args)
    floats = 0
    for layer in encoder.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = layer.output.shape
        elements = 1
        for dim in shape[1:]:
            elements *= dim
        floats += elements
    return {
        "activation_mib_per_view": floats * 4 / 2**20,
        "params": encoder.count_params(),
    }


def _child(args, what):
    command = [sys.executable, __file__, f"--child={what}"] + [
        f"--{key}={value}"
        for key, value in vars(args).items()
        if key not in ("child", "micro_batches")
    ]
    # A fixed 64 KiB mmap threshold makes glibc return every freed tensor to
    # the system at once, so the peak resident set counts live tensors, not
    # malloc's free lists.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=18)
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=512)
    parser.add_argument("--micro_batches", default="1,2,4,8")
    parser.add_argument(
        "--steps", type=int, default=1, help="timed steps after the first (traced) one"
    )
    parser.add_argument("--view_repeats", type=int, default=3)
    parser.add_argument(
        "--jit_compile", type=lambda s: s.lower() == "true", default=False
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        if args.child == "views":
            result = measure_views(args)
        elif args.child == "estimate":
            result = activation_estimate(args)
        else:
            result = measure_step(args, int(args.child))
        print(json.dumps(result))
        return

    estimate = _child(args, "estimate")
    views = _child(args, "views")
    print(
        f"ResNet-{args.depth}, {args.image_size} px, global batch "
        f"{args.batch_size} ({2 * args.batch_size} views), "
        f"jit_compile={args.jit_compile}, {args.steps} timed step(s)"
    )
    per_view = estimate["activation_mib_per_view"]
    print(
        f"estimate: {per_view:.2f} MiB of layer outputs per view "
        f"(float32), {estimate['params'] / 1e6:.1f} M parameters; "
        f"{2 * args.batch_size * per_view:.0f} MiB for the batch"
    )
    print(
        f"views: storing both views costs {views['stored_mib']:.0f} MiB; "
        f"drawing them again costs {views['draw_seconds']:.3f} s per step"
    )
    base = None
    for k in args.micro_batches.split(","):
        step = _child(args, k)
        base = base or step
        print(
            f"k={step['k']}: {step['seconds']:7.2f} s/step "
            f"({step['seconds'] / base['seconds']:.2f}x), "
            f"{step['kind']} {step['peak_mib']:7.0f} MiB "
            f"({step['peak_mib'] / base['peak_mib']:.2f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
