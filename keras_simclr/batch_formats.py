"""The batch formats SimCLR accepts, told apart once into one `Batch`.

`SimCLR`'s `fit`, `evaluate`, `call` and `build` accept five formats:

- images: `images`;
- labelled images: `(images, labels)`;
- views computed in `tf.data`, as a tuple: `((view1, view2),)`,
  `((view1, view2), labels)` or `(view1, view2)` with rank-4 views;
- the same views as a dict: `{"view1": ..., "view2": ...}`, with or
  without labels;
- the two random crops of each image, made in `tf.data`:
  `{"crop1": ..., "crop2": ...}`, with or without labels.

`from_data` reads a batch of tensors and `from_shapes` the shapes Keras
builds with; both return a `Batch` with exactly one of `images`, `views`
and `crops` set.
"""

from typing import Any, NamedTuple

import keras

from keras_simclr import errors
from keras_simclr.data.crops import CROP_KEYS

__all__ = ["VIEW_KEYS", "Batch", "from_data", "from_shapes"]

# The keys of a dict of views computed in tf.data.
VIEW_KEYS = ("view1", "view2")


class Batch(NamedTuple):
    """One batch of SimCLR, whatever format it came in.

    Exactly one of `images`, `views` and `crops` is set.

    Attributes:
        images: images the step augments twice, or None.
        views: `(view1, view2)`, finished views, or None.
        crops: `(crop1, crop2)`, crops the step finishes augmenting, or None.
        labels: the probe's labels, or None.

    Example:

    >>> batch = Batch(views=("a", "b"), labels=[0, 1])
    >>> batch.names, batch.parts
    (('view1', 'view2'), ('a', 'b'))
    """

    images: Any = None
    views: Any = None
    crops: Any = None
    labels: Any = None

    @property
    def names(self):
        """The names of `parts`, as messages call them.

        Returns:
            `("images",)`, `VIEW_KEYS` or `CROP_KEYS`.

        Example:

        >>> Batch(crops=(1, 2)).names
        ('crop1', 'crop2')
        """
        if self.views is not None:
            return VIEW_KEYS
        if self.crops is not None:
            return CROP_KEYS
        return ("images",)

    @property
    def parts(self):
        """The image tensors of the batch: `(images,)`, the views or the crops.

        Returns:
            A tuple of one or two image batches (or shapes).

        Example:

        >>> Batch(images="x").parts
        ('x',)
        """
        if self.views is not None:
            return tuple(self.views)
        if self.crops is not None:
            return tuple(self.crops)
        return (self.images,)

    def with_parts(self, parts, labels):
        """This batch with its image tensors and labels replaced.

        Args:
            parts: as many image batches as `parts`, in its order.
            labels: the new labels (or None).

        Returns:
            A `Batch` of the same format.

        Example:

        >>> Batch(views=(1, 2)).with_parts([3, 4], None).views
        (3, 4)
        """
        if self.views is not None:
            return Batch(views=tuple(parts), labels=labels)
        if self.crops is not None:
            return Batch(crops=tuple(parts), labels=labels)
        return Batch(images=parts[0], labels=labels)

    def build_shape(self):
        """The input shape `SimCLR.build` takes for this batch of tensors.

        Returns:
            The images' (or first crop's) shape, or the two views' shapes.

        Example:

        >>> import numpy as np
        >>> Batch(views=(np.zeros((2, 8, 8, 3)),) * 2).build_shape()
        ((2, 8, 8, 3), (2, 8, 8, 3))
        """
        if self.views is not None:
            return tuple(tuple(view.shape) for view in self.views)
        return tuple(self.parts[0].shape)


def _from_inputs(x, labels):
    """The `Batch` of a model input `x` (tensors or shapes) and labels."""
    if isinstance(x, dict) and set(x) == set(VIEW_KEYS):
        return Batch(views=tuple(x[key] for key in VIEW_KEYS), labels=labels)
    if isinstance(x, dict) and set(x) == set(CROP_KEYS):
        return Batch(crops=tuple(x[key] for key in CROP_KEYS), labels=labels)
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise errors.UserInputError(
                f"A tuple of inputs must be the two views (view1, view2), got "
                f"{len(x)} elements."
            )
        return Batch(views=tuple(x), labels=labels)
    return Batch(images=x, labels=labels)


def from_data(data):
    """Reads one batch given to `fit`, `evaluate` or `call`, in any format.

    A 2-tuple whose second element has rank 4 is a pair of views, never
    `(images, labels)`. Sample weights are ignored.

    Args:
        data: the batch, in one of the module's five formats.

    Returns:
        A `Batch`.

    Raises:
        UserInputError: a tuple of inputs that is not two views.

    Example:

    >>> import numpy as np
    >>> images, labels = np.zeros((4, 8, 8, 3)), np.arange(4)
    >>> from_data((images, labels)).labels
    array([0, 1, 2, 3])
    >>> from_data((images, images)).names
    ('view1', 'view2')
    >>> from_data({"crop1": images, "crop2": images}).names
    ('crop1', 'crop2')
    """
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is not None and getattr(y, "shape", None) is not None and len(y.shape) == 4:
        return Batch(views=(x, y))
    return _from_inputs(x, y)


def from_shapes(input_shape):
    """Reads the input shape Keras (or a user) builds a `SimCLR` with.

    Args:
        input_shape: one image batch's shape, a pair of view shapes, or a
            dict of view or crop shapes.

    Returns:
        A `Batch` of shapes.

    Example:

    >>> from_shapes((None, 8, 8, 3)).images
    (None, 8, 8, 3)
    >>> from_shapes(((None, 8, 8, 3), (None, 8, 8, 3))).views[1]
    (None, 8, 8, 3)
    >>> from_shapes(((None, 8, 8, 3), (None,))).labels  # (images, labels)
    (None,)
    """
    if _is_shape(input_shape):
        return Batch(images=input_shape)
    if (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 2
        and _is_shape(input_shape[1])
        and len(input_shape[1]) != 4
    ):
        # (x, labels), as Keras's symbolic build passes a whole batch.
        x, labels = input_shape
        if _is_shape(x):
            return Batch(images=x, labels=labels)
        return _from_inputs(x, labels)
    return _from_inputs(input_shape, None)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        dim is None or isinstance(dim, int) for dim in value
    )
