"""GaussianBlur: blur with a sigma per image (Chen et al. 2020, appendix A).

Why not `keras.layers.RandomGaussianBlur`: it draws one sigma for the whole
batch (so does the SimCLR reference, which also zero-pads and so darkens the
borders). Here every image has its own sigma and its own on/off draw, the
kernel is separable with reflect padding, and images left unblurred get a
unit kernel, which leaves them bit-for-bit unchanged.

The 1-D passes are sums of shifted slices weighted per image: XLA fuses each
pass into one loop. (A depthwise convolution with the batch folded into
channels is the other way to have per-image kernels; XLA compiles grouped
convolutions poorly on CPU.) Written with `backend_ops.ops()`: the same code
runs on TensorFlow and on JAX, inside a jitted step or a tf.data map.
"""

import keras

# Private: XlaOptimizationBarrier has no public wrapper (not in tf.raw_ops
# in TF 2.21); tests/layers/augmentation/gaussian_blur_test.py fails if the
# module or the op's signature changes.
from tensorflow.compiler.tf2xla.ops import gen_xla_ops

from keras_simclr import errors
from keras_simclr.layers.augmentation import image_inputs
from keras_simclr.layers.augmentation import random_draws as draws
from keras_simclr.layers.augmentation.backend_ops import in_tensorflow, ops
from keras_simclr.layers.augmentation.base_augmentation_layer import AugmentationLayer
from keras_simclr.layers.augmentation.random_draws import check_probability
from keras_simclr.layers.augmentation.xla_chunking import in_xla_context, skip_unless

# SimCLR's blur (Chen et al. 2020, appendix A): its probability and the
# range of the uniform sigma, in pixels.
DEFAULT_BLUR_PROB = 0.5
DEFAULT_BLUR_SIGMA = (0.1, 2.0)


def default_radius(side):
    """The kernel radius for a side: (side // 10) // 2, as the reference.

    SimCLR blurs with a kernel of 10% of the image side (Chen et al. 2020,
    appendix A); 2 * radius + 1 taps.

    Args:
        side: the image height in pixels.

    Returns:
        int.

    Example:

    >>> default_radius(224), default_radius(32)
    (11, 1)
    """
    return (int(side) // 10) // 2


def sample_blur(
    key, batch_size, probability=DEFAULT_BLUR_PROB, sigma=DEFAULT_BLUR_SIGMA
):
    """Per-image blur parameters: `blur` (bool) and `sigma` (float32).

    Args:
        key: int32 key of shape (2,).
        batch_size: int or scalar int tensor.
        probability: probability that an image is blurred.
        sigma: (min, max) of the uniform standard deviation, in pixels.

    Returns:
        dict of (batch,) tensors.

    Example:

    >>> import numpy as np
    >>> params = sample_blur(draws.normalize_key(0), 3, probability=1.0)
    >>> np.asarray(params["blur"]).tolist()
    [True, True, True]
    """
    shape = [batch_size]
    return {
        "blur": draws.bernoulli(key, draws.TAG_BLUR, shape, probability),
        "sigma": draws.uniform(key, draws.TAG_SIGMA, shape, sigma[0], sigma[1]),
    }


def gaussian_kernels(sigma, on, radius):
    """(batch, 2 radius + 1) normalised kernels; a unit kernel where not on.

    k(t) = exp(-t^2 / (2 sigma^2)) / sum_t exp(-t^2 / (2 sigma^2)) for t in
    [-radius, radius].

    Args:
        sigma: float32 (batch,).
        on: bool (batch,).
        radius: int.

    Returns:
        float32 (batch, 2 radius + 1).

    Example:

    >>> import numpy as np
    >>> kernels = gaussian_kernels(np.array([1.0, 1.0], "float32"),
    ...                            np.array([True, False]), 1)
    >>> [[round(float(v), 4) for v in k] for k in np.asarray(kernels)]
    [[0.2741, 0.4519, 0.2741], [0.0, 1.0, 0.0]]
    """
    o = ops()
    t = o.arange(-radius, radius + 1, dtype="float32")[None]
    sigma = sigma[:, None]
    k = o.exp(-(t * t) / (2.0 * sigma * sigma))
    k = k / o.sum(k, axis=1, keepdims=True)
    unit = o.cast(o.equal(t, 0.0), "float32")
    return o.where(on[:, None], k, unit)


def _reflect_pad(x, radius, axis):
    """Reflect padding (edge not repeated), as np.pad(mode="reflect")."""
    o = ops()
    n = x.shape[axis]

    def part(start, stop):
        index = [slice(None)] * 4
        index[axis] = slice(start, stop)
        return x[tuple(index)]

    return o.concatenate(
        [
            o.flip(part(1, radius + 1), axis),
            x,
            o.flip(part(n - radius - 1, n - 1), axis),
        ],
        axis,
    )


def _blur_axis(x, kernels, radius, axis):
    n = x.shape[axis]
    padded = _reflect_pad(x, radius, axis)
    if not in_tensorflow() or in_xla_context():
        padded = _barrier(padded)
    weights = kernels[:, None, None, None, :]
    out = None
    for j in range(2 * radius + 1):
        index = [slice(None)] * 4
        index[axis] = slice(j, j + n)
        term = padded[tuple(index)] * weights[..., j]
        out = term if out is None else out + term
    return out


def _barrier(x):
    """Stops XLA fusing the padding (and the previous pass) into every one of
    the shifted reads, which would recompute them once per tap.

    On JAX (outside tf.data) every op runs through XLA: always there.
    """
    if not in_tensorflow():
        import jax

        return jax.lax.optimization_barrier(x)
    return gen_xla_ops.xla_optimization_barrier([x])[0]


def blur_transform(images, params, radius, channels_axis=-1):
    """Blurs each image with its own Gaussian.

    Args:
        images: float32 (batch, height, width, c), or (batch, height, c,
            width) with `channels_axis=2`.
        params: from `sample_blur`.
        radius: kernel radius (2 * radius + 1 taps).
        channels_axis: -1 or 2.

    Returns:
        float32 in [0, 1], the input's shape; images not selected by
        `params["blur"]` unchanged.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((1, 8, 8, 3), "float32")
    >>> params = {"blur": np.array([False]), "sigma": np.array([1.0], "float32")}
    >>> bool(np.all(np.asarray(blur_transform(x, params, 1)) == x))
    True
    """
    width_axis = 2 if channels_axis == -1 else 3
    height, width = images.shape[1], images.shape[width_axis]
    radius = min(int(radius), height - 1, width - 1)
    if radius <= 0:
        return images
    kernels = gaussian_kernels(params["sigma"], params["blur"], radius)

    def blur(x):
        o = ops()
        x = _blur_axis(x, kernels, radius, axis=1)
        x = _blur_axis(x, kernels, radius, axis=width_axis)
        return o.clip(x, 0.0, 1.0)

    return skip_unless(params["blur"], blur, images)


@keras.saving.register_keras_serializable(package="keras_simclr")
class GaussianBlur(AugmentationLayer):
    """Gaussian blur with a probability and a sigma per image.

    Each image is blurred with probability `probability`, with sigma drawn
    uniformly in `sigma` for that image; the kernel is separable, has
    2 * radius + 1 taps with radius = (height // 10) // 2 when `kernel_size`
    is None (23 taps at 224 px, 3 at 32 px) or kernel_size // 2 otherwise,
    and the image is reflect-padded. With `training=False` the layer only
    converts to float32 in [0, 1].

    Args:
        probability: probability that an image is blurred (0.5 in SimCLR).
        sigma: (min, max) of the standard deviation, in pixels.
        kernel_size: int or None (from the image height, as above).
        seed: int or None.
        **kwargs: base layer arguments such as `name`.

    Returns:
        float32 tensor in [0, 1] of the input's shape.

    Example:

    >>> import numpy as np
    >>> layer = GaussianBlur(probability=1.0, seed=1)
    >>> tuple(layer(np.random.rand(2, 64, 64, 3).astype("float32")).shape)
    (2, 64, 64, 3)
    """

    def __init__(
        self, probability=0.5, sigma=(0.1, 2.0), kernel_size=None, seed=None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        check_probability("probability", probability)
        sigma = tuple(float(s) for s in sigma)
        if not 0.0 < sigma[0] <= sigma[1]:
            raise errors.UserInputError(
                f"sigma must satisfy 0 < min <= max, got {sigma}."
            )
        if kernel_size is not None and int(kernel_size) < 1:
            raise errors.UserInputError(
                f"kernel_size must be >= 1 or None, got {kernel_size}."
            )
        self.probability = float(probability)
        self.sigma = sigma
        self.kernel_size = None if kernel_size is None else int(kernel_size)

    def radius(self, height):
        """The kernel radius for images of `height` pixels.

        Args:
            height: int, or None when not static.

        Returns:
            int: kernel_size // 2, or `default_radius(height)`.

        Raises:
            UserInputError: no kernel_size and no static height.
        """
        if self.kernel_size is not None:
            return self.kernel_size // 2
        if height is None:
            raise errors.UserInputError(
                f"{self.name}: the image height is not known statically, so "
                f"the kernel size cannot be derived from it; pass kernel_size "
                f"or give the images a static shape (e.g. tf.ensure_shape)."
            )
        return default_radius(height)

    def _sample(self, key, batch_size, height, width):
        return sample_blur(key, batch_size, self.probability, self.sigma)

    def _apply(self, images, transformation):
        if images.shape[1] is None or images.shape[2] is None:
            raise errors.UserInputError(
                f"{self.name}: needs a static image size (got "
                f"{images.shape}); use tf.ensure_shape or resize first."
            )
        return self.run_compiled(
            self._blur, images, transformation, tuple(images.shape[1:])
        )

    def _blur(self, images, params):
        return blur_transform(
            image_inputs.to_float32(images, clip=True),
            params,
            self.radius(images.shape[1]),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            probability=self.probability,
            sigma=list(self.sigma),
            kernel_size=self.kernel_size,
        )
        return config
