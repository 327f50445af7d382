"""results.json of a run: one summary per step of its life."""

from keras_simclr.runs import files

__all__ = ["read_results", "update_results"]

RESULTS = "results.json"
# The key of a model that `keras_simclr.runs.import_checkpoint` wrote.
IMPORT = "import"
_JSON = (str, int, float, bool, list, dict, type(None))


def read_results(model_dir):
    """The run's results.json as a dict ({} when there is none).

    Args:
        model_dir: the run's directory (any gfile URL).

    Returns:
        A dict: one entry per stage ("pretrain", "linear_eval", ...).

    Example:

    >>> read_results("no_run_yet")
    {}
    """
    return files.read_json(files.join(model_dir, RESULTS), default={})


def update_results(model_dir, key, value):
    """Merges `{key: value}` into `model_dir/results.json` (atomically).

    Args:
        model_dir: the run's directory (any gfile URL).
        key: e.g. "pretrain", "linear_eval".
        value: a dict of JSON-serialisable values (NumPy scalars become
            floats).

    Returns:
        The whole merged results dict.

    Example:

    >>> update_results("runs/demo", "linear_eval", {"top1": np.float32(0.5)})
    {'linear_eval': {'top1': 0.5}}
    >>> update_results("runs/demo", "export", {"path": "runs/demo/saved_encoder"})
    {'linear_eval': {'top1': 0.5}, 'export': {'path': 'runs/demo/saved_encoder'}}
    >>> sorted(read_results("runs/demo"))
    ['export', 'linear_eval']
    """
    merged = read_results(model_dir)
    merged[key] = {k: v if isinstance(v, _JSON) else float(v) for k, v in value.items()}
    files.write_json(files.join(model_dir, RESULTS), merged)
    return merged
