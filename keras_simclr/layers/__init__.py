"""Keras layers of keras_simclr: projection heads, synchronized batch norm and
SimCLR's augmentations."""

from keras_simclr.layers.augmentation import (  # augmentations
    CenterCrop,
    ColorDistortion,
    GaussianBlur,
    RandomResizedCrop,
    SimCLRAugment,
    Solarize,
)
from keras_simclr.layers.batch_norm import batch_norm, synchronize_batch_norm
from keras_simclr.layers.projection_head import ProjectionHead
from keras_simclr.layers.selective_kernel import SelectiveKernelMix

__all__ = [
    "CenterCrop",
    "ColorDistortion",
    "GaussianBlur",
    "ProjectionHead",
    "RandomResizedCrop",
    "SelectiveKernelMix",
    "SimCLRAugment",
    "Solarize",
    "batch_norm",
    "synchronize_batch_norm",
]
