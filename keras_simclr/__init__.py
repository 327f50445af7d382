"""keras_simclr: SimCLR (v1 and v2) self-supervised learning for Keras 3.

The public API is small; everything a user needs is re-exported here:

>>> import keras_simclr as ks
>>> encoder = ks.encoders.ResNet(depth=18, cifar_stem=True, input_shape=(32, 32, 3))
>>> model = ks.SimCLR(encoder, temperature=0.5)
>>> model.encoder.output_shape
(None, 512)

or, with checkpoints that survive a crash and resume by themselves (a
long run, not run here):

>>> ks.pretrain(ks.recipes.Recipe.from_preset("cifar10"), "gs://bucket/run")  # doctest: +SKIP
"""

__version__ = "0.3.0"

# First: the `keras-simclr` command silences TensorFlow's start-up logs
# before TensorFlow loads (see keras_simclr.startup).
from keras_simclr import startup  # isort: skip

from keras_simclr import (
    callbacks,
    data,
    distillation,
    encoders,
    errors,
    evaluation,
    export,
    layers,
    losses,
    optimizers,
    pretrained,
    recipes,
    runs,
    saving,
    schedules,
)
from keras_simclr.distillation import Distillation
from keras_simclr.model import SimCLR
from keras_simclr.runs import pretrain
