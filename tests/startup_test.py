"""The command line's quiet start: which lines are TensorFlow's start-up
noise, when the command silences it, and that nothing else is lost."""

import os

from keras_simclr import startup

# The nine lines TensorFlow 2.21 wrote on a CPU machine before
# `keras-simclr linear-eval` said anything (issue 19).
START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796292117.836318   11732 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796292117.836838   11732 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796292117.908721   11732 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
"""  # noqa: E501


def test_start_up_lines_are_noise_and_errors_are_not():
    assert all(startup.is_start_up_noise(line) for line in START_UP.splitlines())
    for kept in (
        "E0000 00:00:1796292121.419180   11732 cuda_platform.cc:52] failed call to "
        "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
        "W0000 00:00:1796292121.419180   11732 x.cc:1] a warning",
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations",
        "Traceback (most recent call last):",
        "keras-simclr: error: no --model_dir — pass --model_dir=DIR",
    ):
        assert not startup.is_start_up_noise(kept), kept


def test_the_filter_drops_the_noise_and_writes_back_the_rest(capfd):
    with startup._stderr_filtered(startup.is_start_up_noise):
        os.write(2, START_UP.encode())
        os.write(2, b"RuntimeWarning: something real\n")
    assert capfd.readouterr().err == "RuntimeWarning: something real\n"


def test_only_the_command_line_is_silenced():
    assert startup.is_command_line("/venv/bin/keras-simclr", ["python", "x"])
    assert startup.is_command_line("-m", ["python", "-m", "keras_simclr.cli", "-h"])
    assert startup.is_command_line(
        "-m", ["py", "-W", "ignore", "-m", "keras_simclr.cli"]
    )
    assert not startup.is_command_line("-m", ["python", "-m", "pytest"])
    assert not startup.is_command_line("/venv/bin/pytest", ["python", "-m", "x"])
    assert not startup.is_command_line("/venv/bin/keras-simclr-tools", ["x"])
    # This process is pytest: its environment is left alone.
    environ = {}
    assert not startup.quiet_tensorflow_start(environ) and environ == {}


def test_the_backend_flag_is_read_before_keras_and_names_a_supported_backend():
    from keras_simclr import backends

    assert startup.BACKENDS == backends.SUPPORTED_BACKENDS
    assert startup.backend_flag(["keras-simclr", "export", "--backend", "jax"]) == "jax"
    assert startup.backend_flag(["keras-simclr", "export"]) is None
