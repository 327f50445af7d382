"""keras_simclr: SimCLR (v1 and v2) self-supervised learning for Keras 3.

The public API is small; everything a user needs is re-exported here:

    import keras_simclr as ks
    model = ks.SimCLR(ks.encoders.ResNet(depth=18, cifar_stem=True))
"""

__version__ = "0.1.0"
from keras_simclr import encoders, layers, losses, optimizers, schedules
from keras_simclr.model import SimCLR
from keras_simclr import callbacks, evaluation, export
from keras_simclr import data
