"""How the `keras-simclr` command starts: without TensorFlow's start-up logs.

Importing TensorFlow writes about nine lines to stderr before a command
runs, and they come from three places:

- absl's C++ banner `WARNING: All log messages before absl::InitializeLog()
  is called are written to STDERR`, and INFO lines of TensorFlow's C++
  libraries ("oneDNN custom operations are on", "Could not find cuda
  drivers"). Their static initialisers write them while the libraries load,
  before TensorFlow reads any setting, so only a filter on file descriptor 2
  around `import tensorflow` removes them;
- INFO lines logged after loading ("This TensorFlow binary is optimized to
  use available CPU instructions"): TF_CPP_MIN_LOG_LEVEL=1 silences them;
- `E ... failed call to cuInit: UNKNOWN ERROR (303)` on a machine with CUDA
  libraries and no GPU, when devices are first listed: an ERROR, silenced
  only by TF_CPP_MIN_LOG_LEVEL=3.

So the command sets TF_CPP_MIN_LOG_LEVEL=3 and imports TensorFlow with
those start-up lines filtered out (anything else written meanwhile, a real
error included, is still shown), unless the user set TF_CPP_MIN_LOG_LEVEL
(0 shows every log). A Python program that imports keras_simclr is left
alone. `keras_simclr/__init__.py` imports this module first.

The command's `--backend=jax|tensorflow` is read here too: Keras fixes its
backend when it is imported, so KERAS_BACKEND must be set before that.
"""

import contextlib
import os
import re
import sys
import tempfile

# keras_simclr.backends.SUPPORTED_BACKENDS (that module imports Keras, which
# fixes the backend: startup cannot import it first).
BACKENDS = ("tensorflow", "jax")
# `keras-simclr` is the console script; `python -m` runs these modules.
SCRIPT = "keras-simclr"
MODULES = ("keras_simclr.cli", "keras_simclr.cli.__main__")
# absl's banner, and the INFO lines of absl's C++ log (I<mmdd> <time> <thread> <file:line>]).
_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|I\d{4} [\d:.]+ +\d+ \S+:\d+\] "
)


def is_start_up_noise(line):
    """Whether `line` is one of TensorFlow's start-up lines the command drops.

    Args:
        line: a line written to stderr while TensorFlow is imported.

    Returns:
        True for absl's "All log messages before absl::InitializeLog()"
        banner and C++ INFO lines; False for anything else (warnings,
        errors, Python's messages).

    Example:

    >>> is_start_up_noise("I0000 00:00:1796292182.668386   12258 cudart_stub.cc:31] "
    ...                   "Could not find cuda drivers on your machine.")
    True
    >>> is_start_up_noise("E0000 00:00:1796292121.419180   11732 cuda_platform.cc:52] "
    ...                   "failed call to cuInit")
    False
    >>> is_start_up_noise("ModuleNotFoundError: No module named 'x'")
    False
    """
    return bool(_START_UP_NOISE.match(line))


def is_command_line(argv0=None, orig_argv=None):
    """Whether this process is the `keras-simclr` command.

    The console script's `sys.argv[0]` is `.../keras-simclr`; under
    `python -m keras_simclr.cli` the package is imported while
    `sys.argv[0]` is still "-m", and `sys.orig_argv` names the module.

    Args:
        argv0: `sys.argv[0]` (default: this process's).
        orig_argv: `sys.orig_argv` (default: this process's).

    Returns:
        A bool.

    Example:

    >>> is_command_line("/venv/bin/keras-simclr", ["python", "/venv/bin/keras-simclr"])
    True
    >>> is_command_line("-m", ["python", "-m", "keras_simclr.cli", "pretrain"])
    True
    >>> is_command_line("-m", ["python", "-m", "pytest"])
    False
    """
    argv0 = (sys.argv[0] if sys.argv else "") if argv0 is None else argv0
    orig_argv = sys.orig_argv if orig_argv is None else orig_argv
    if os.path.splitext(os.path.basename(argv0))[0] == SCRIPT:
        return True
    if argv0 != "-m" or "-m" not in orig_argv[:-1]:
        return False
    return orig_argv[orig_argv.index("-m") + 1] in MODULES


def backend_flag(argv=None):
    """The value of the command's `--backend` flag, or None.

    Args:
        argv: the command line (default: `sys.argv`).

    Returns:
        The value of `--backend=NAME` or `--backend NAME`; None without
        one.

    Example:

    >>> backend_flag(["keras-simclr", "pretrain", "--backend=jax"])
    'jax'
    >>> print(backend_flag(["keras-simclr", "pretrain", "--preset=demo"]))
    None
    """
    argv = sys.argv if argv is None else argv
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def set_backend_from_command_line(environ=None):
    """Sets KERAS_BACKEND from the command's `--backend`, before Keras loads.

    Does nothing when this process is not `keras-simclr`, has no
    `--backend` or one not in `BACKENDS` (the flag's parser refuses it in
    one line), or has imported Keras already (the command then checks
    that the backends agree).

    Args:
        environ: the environment to set (default: `os.environ`).

    Returns:
        The backend set, or None.

    Example:

    >>> print(set_backend_from_command_line({}))  # not the command line
    None
    """
    environ = os.environ if environ is None else environ
    name = backend_flag() if is_command_line() else None
    if name not in BACKENDS or "keras" in sys.modules:
        return None
    environ["KERAS_BACKEND"] = name
    return name


@contextlib.contextmanager
def _stderr_filtered(drop):
    """Captures file descriptor 2; writes back the lines `drop` rejects."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not drop(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow_start(environ=None):
    """Imports TensorFlow without its start-up logs, for the command line.

    Does nothing when this process is not `keras-simclr`, when the user set
    TF_CPP_MIN_LOG_LEVEL, or when TensorFlow is already imported.

    Args:
        environ: the environment to read and set (default: `os.environ`).

    Returns:
        True if it silenced the start-up, False if it left it alone.

    Example:

    >>> quiet_tensorflow_start({"TF_CPP_MIN_LOG_LEVEL": "0"})  # the user's choice
    False
    """
    environ = os.environ if environ is None else environ
    if (
        "TF_CPP_MIN_LOG_LEVEL" in environ
        or "tensorflow" in sys.modules
        or not is_command_line()
    ):
        return False
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    with _stderr_filtered(is_start_up_noise):
        import tensorflow  # noqa: F401
    return True


set_backend_from_command_line()
quiet_tensorflow_start()
