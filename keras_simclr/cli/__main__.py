"""`python -m keras_simclr.cli`: the `keras-simclr` command."""

from keras_simclr.cli import run

run()
