"""Plots a run's training curves from its `logs/metrics.csv`.

Left: the NT-Xent loss per epoch. Right: the accuracies the run logged,
among `probe_accuracy` (the online linear probe), `knn_accuracy`
(`ks.callbacks.KNNMonitor`) and `contrastive_accuracy` (how often a view's
most similar other view is its positive). Needs matplotlib
(`pip install -e ".[docs]"`).

Usage:
    python examples/plot_metrics.py runs/demo [--out metrics.png]

The first argument is a run folder or a metrics.csv file. The documentation
site draws its picture of the demo run with this script, from
`docs/assets/demo_metrics.csv`, a copy of that run's `logs/metrics.csv`.
"""

import argparse
import csv
import os

ACCURACIES = {
    "probe_accuracy": "online linear probe",
    "knn_accuracy": "kNN monitor",
    "contrastive_accuracy": "contrastive (positive ranked first)",
}


def read_metrics(path):
    """{column: [float per epoch]} of a metrics.csv (or a run folder's).

    Args:
        path: a metrics.csv file, or a run folder holding logs/metrics.csv.

    Returns:
        A dict of lists; "NA" cells (metrics an epoch did not log) are NaN.
    """
    if os.path.isdir(path):
        path = os.path.join(path, "logs", "metrics.csv")
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {
        column: [
            float("nan") if row[column] == "NA" else float(row[column]) for row in rows
        ]
        for column in rows[0]
    }


def plot(path, out):
    """Draws the loss and the accuracies of `path` into the PNG `out`.

    Args:
        path: a metrics.csv file or a run folder.
        out: the PNG to write.

    Returns:
        The columns plotted.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = read_metrics(path)
    epochs = [int(e) + 1 for e in metrics["epoch"]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(epochs, metrics["loss"], marker="o")
    left.set(title="NT-Xent loss", xlabel="epoch", ylabel="loss")
    plotted = ["loss"]
    for column, label in ACCURACIES.items():
        if column in metrics:
            right.plot(epochs, metrics[column], marker="o", label=label)
            plotted.append(column)
    right.set(title="accuracy", xlabel="epoch", ylabel="top-1", ylim=(0, 1))
    right.legend(loc="upper left", fontsize="small")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.set_xticks(epochs)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return plotted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder or a metrics.csv file")
    parser.add_argument("--out", default="metrics.png", help="output PNG")
    args = parser.parse_args(argv)
    plotted = plot(args.run, args.out)
    print(f"wrote {args.out}: {', '.join(plotted)}")


if __name__ == "__main__":
    main()
