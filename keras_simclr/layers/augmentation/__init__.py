"""SimCLR's augmentations as Keras layers, one public layer per module.

Layers: `random_resized_crop.RandomResizedCrop`,
`color_distortion.ColorDistortion`, `gaussian_blur.GaussianBlur`,
`solarize.Solarize`, `simclr_augment.SimCLRAugment` (the whole chain) and
`center_crop.CenterCrop` (the evaluation view). What they share:
`base_augmentation_layer.AugmentationLayer` (the base class),
`image_inputs` (input checks, uint8 -> float), `random_draws` (keys and
per-image draws; `random_draws_jax`, their JAX keys), `backend_ops` (the
ops they compute with: `keras.ops`, TensorFlow's in tf.data on JAX),
`xla_chunking` (XLA context, chunked compiled calls: TensorFlow's only) and
`resampling` (the separable crop-and-resize).

The layers run on TensorFlow and on JAX, eagerly, in tf.data and inside a
compiled train step (`jax.jit`, or XLA on TensorFlow), drawing per image from
their `keras.random.SeedGenerator`, whose state travels with the step's
non-trainable variables.
"""

from keras_simclr.layers.augmentation.center_crop import CenterCrop
from keras_simclr.layers.augmentation.color_distortion import ColorDistortion
from keras_simclr.layers.augmentation.gaussian_blur import GaussianBlur
from keras_simclr.layers.augmentation.random_resized_crop import RandomResizedCrop
from keras_simclr.layers.augmentation.simclr_augment import SimCLRAugment
from keras_simclr.layers.augmentation.solarize import Solarize

__all__ = [
    "CenterCrop",
    "ColorDistortion",
    "GaussianBlur",
    "RandomResizedCrop",
    "SimCLRAugment",
    "Solarize",
]
