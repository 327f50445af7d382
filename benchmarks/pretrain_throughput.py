"""End-to-end pretraining speed: the demo run's images/s on JAX vs TensorFlow.

Each backend runs `keras_simclr.pretrain` on the demo preset (ResNet-18 at
32 px, batch 128, LARS, augmentation inside the step, checkpoints, logs,
model.keras and the exported encoder) in a fresh process of its own, in
alternating rounds; the figure is the summary's `images_per_second` (steps
after the first, which traces and compiles). Prints each round, the
medians and the ratio JAX / TensorFlow.

Usage:
    python benchmarks/pretrain_throughput.py --train_steps=12 --rounds=2
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

BACKENDS = ("tensorflow", "jax")
_RUN = """
import json, sys
import keras_simclr as ks
recipe = ks.recipes.Recipe.from_preset("demo", **json.loads(sys.argv[1]))
summary = ks.pretrain(recipe, sys.argv[2], verbose=0)
print("SUMMARY" + json.dumps(summary))
"""


def pretrain_in_fresh_process(backend, settings, model_dir):
    """Runs the demo pretraining on `backend`; returns its summary dict."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    )
    run = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(settings), model_dir],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [x for x in run.stdout.splitlines() if x.startswith("SUMMARY")]
    if run.returncode or not lines:
        sys.exit(f"{backend} failed:\n{run.stderr[-3000:]}")
    return json.loads(lines[-1][len("SUMMARY") :])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train_steps", type=int, default=12)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings = dict(
        train_steps=args.train_steps,
        batch_size=args.batch_size,
        checkpoint_steps=args.train_steps,
    )
    measured = {backend: [] for backend in BACKENDS}
    for round_ in range(args.rounds):
        for backend in BACKENDS:
            with tempfile.TemporaryDirectory() as folder:
                summary = pretrain_in_fresh_process(
                    backend, settings, os.path.join(folder, "run")
                )
            measured[backend].append(summary["images_per_second"])
            print(
                f"round {round_ + 1} {backend:10s} {summary['images_per_second']:8.1f} "
                f"images/s ({summary['seconds']:.0f} s for {summary['steps']} steps)",
                flush=True,
            )
    medians = {backend: statistics.median(v) for backend, v in measured.items()}
    for backend, value in medians.items():
        print(f"median {backend:10s} {value:8.1f} images/s")
    print(f"ratio jax / tensorflow: {medians['jax'] / medians['tensorflow']:.2f}")


if __name__ == "__main__":
    main()
