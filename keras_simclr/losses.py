"""The NT-Xent contrastive loss of SimCLR, with negatives from every replica.

The maths is `keras.ops`, one implementation for every backend. Only the
gathering of the global batch is TensorFlow's: under `tf.distribute` each
replica holds a share of it, while on JAX a `keras.distribution` runs the
step on the whole global batch, which needs no gathering.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_simclr import backends, errors

# Added to self-similarity logits so they drop out of the softmax, as in the
# reference. Finite (not -inf) so that the entropy metric's p * log(p) stays 0.
_SELF_MASK = 1e9
# NT-Xent's temperature unless one is given: SimCLR's ImageNet value
# (Chen et al. 2020, appendix B.9).
DEFAULT_TEMPERATURE = 0.1


class ContrastiveTerms:
    """Per-anchor quantities of one NT-Xent evaluation on this replica.

    Attributes:
        loss: (2n,) float32, -log softmax probability of each local anchor's
            positive among its 2N - 1 candidates.
        correct: (2n,) float32, 1.0 where the positive has the largest logit.
        entropy: (2n,) float32, entropy of the softmax over the candidates.
        global_anchors: scalar float32, 2N (all anchors of the global batch).

    Args:
        loss, correct, entropy, global_anchors: the attributes above.

    Example:

    Each anchor's softmax over its 3 candidates is (e, 1, 1) / (e + 2):

    >>> terms = contrastive_terms(tf.eye(2), tf.eye(2), temperature=1.0)
    >>> print(f"{float(tf.reduce_mean(terms.entropy)):.4f}")
    0.9753
    """

    def __init__(self, loss, correct, entropy, global_anchors):
        self.loss = loss
        self.correct = correct
        self.entropy = entropy
        self.global_anchors = global_anchors

    def replica_loss(self):
        """This replica's share of the global loss (shares sum to the loss).

        Returns:
            A float32 scalar: the sum of this replica's terms over 2N.

        Example:

        >>> terms = contrastive_terms(tf.eye(2), tf.eye(2), temperature=1.0)
        >>> print(f"{float(terms.replica_loss()):.4f}")  # nt_xent's value
        0.5514
        """
        return ops.sum(self.loss) / self.global_anchors


TEMPERATURE_HINT = "SimCLR uses 0.1 for ImageNet-size batches and 0.5 for CIFAR-10."


def check_temperature(temperature):
    """Returns a Python or NumPy temperature as a float, if finite and > 0.

    The one check of a temperature, shared by the loss, the model, the kNN
    evaluation and its callback.

    Args:
        temperature: what the user passed.

    Returns:
        `float(temperature)`.

    Raises:
        UserInputError: not a finite real number > 0.

    Example:

    >>> check_temperature(np.float32(0.5))
    0.5
    >>> check_temperature(-1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: temperature must be a finite number > 0, got
    -1. SimCLR uses 0.1 for ImageNet-size batches and 0.5 for CIFAR-10.
    """
    return errors.check_positive_number("temperature", temperature, TEMPERATURE_HINT)


def _checked_temperature(temperature):
    """A float32 temperature, checked now if its value is known."""
    if backends.is_jax() and tf.is_tensor(temperature):
        temperature = np.asarray(temperature).item()  # a TensorFlow constant
    if backends.is_jax() or not (
        tf.is_tensor(temperature) or isinstance(temperature, tf.Variable)
    ):
        return check_temperature(temperature)
    value = tf.get_static_value(tf.convert_to_tensor(temperature))
    if value is None:  # Symbolic: checked when the graph runs.
        temperature = tf.cast(temperature, tf.float32)
        with tf.control_dependencies(
            [
                errors.graph_check(
                    tf.math.is_finite(temperature) & (temperature > 0),
                    "temperature must be a finite number > 0, got ",
                    temperature,
                    ". " + TEMPERATURE_HINT,
                )
            ]
        ):
            return tf.identity(temperature)
    check_temperature(value)
    return tf.cast(temperature, tf.float32)


def _validate(z1, z2):
    for name, z in (("z1", z1), ("z2", z2)):
        if len(z.shape) != 2:
            raise errors.UserInputError(
                f"{name} must have rank 2 (batch, dim), got shape "
                f"{tuple(z.shape)}. Flatten or pool the projections before the loss."
            )
    shapes = tuple(z1.shape), tuple(z2.shape)
    if None not in shapes[0] + shapes[1] and shapes[0] != shapes[1]:
        raise errors.UserInputError(
            f"z1 and z2 must have the same shape (z1[i] and z2[i] are the "
            f"two views of image i), got {shapes[0]} and {shapes[1]}."
        )
    if z1.shape[0] == 0:
        raise errors.UserInputError(
            "NT-Xent needs at least one image per replica, got an empty batch."
        )


# The one line refusing a global batch of one image (also under XLA, by
# `batch_checks.input_record`).
BATCH_OF_ONE = (
    "NT-Xent needs a global batch of at least 2 images (the other images are "
    "the negatives), got 1 - use batch_size >= 2, and drop_remainder=True so "
    "that no last batch holds a single image."
)


def _check_global_batch(global_views):
    """The global number of views, refused if 1: no negative, loss 0."""
    static = global_views if isinstance(global_views, int) else None
    if static is None:
        static = tf.get_static_value(global_views)
    if static is not None:
        if static < 2:
            raise errors.UserInputError(BATCH_OF_ONE)
        return global_views
    with tf.control_dependencies([errors.graph_check(global_views >= 2, BATCH_OF_ONE)]):
        return tf.identity(global_views)


def _gather_from_replicas(z1, z2):
    """Returns (z1_all, z2_all, offset): the global batch and where ours starts.

    `ReplicaContext.all_gather` has a gradient: the gathered copies' gradients
    are summed over replicas and sliced back to their owner, so negatives
    drawn from other replicas still train this replica's encoder. Replicas
    may hold different numbers of images (a last partial batch): the offset
    is the number of images of the replicas before this one. On JAX there
    are no replicas: the step sees the global batch.
    """
    if backends.is_jax():
        return z1, z2, 0
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return z1, z2, 0
    z1_all, z2_all = context.all_gather([z1, z2], axis=0)
    sizes = context.all_gather(tf.shape(z1)[:1], axis=0)
    replica_id = tf.cast(context.replica_id_in_sync_group, tf.int32)
    return z1_all, z2_all, tf.reduce_sum(sizes[:replica_id])


def contrastive_terms(z1, z2, temperature=DEFAULT_TEMPERATURE):
    """Computes the per-anchor NT-Xent terms of this replica's anchors.

    The building block of `nt_xent` and of SimCLR's metrics. Inside a
    `tf.distribute` replica context the candidates are the 2N views of the
    global batch, gathered from every replica.

    Args:
        z1: (n, d) projections of the first view of each local image.
        z2: (n, d) projections of the second view, z2[i] pairs with z1[i].
        temperature: softmax temperature T > 0.

    Returns:
        A `ContrastiveTerms`.

    Example:

    >>> z = tf.eye(4)  # 4 images whose two views agree, orthogonal to the rest
    >>> terms = contrastive_terms(z, z, temperature=0.5)
    >>> terms.loss.shape  # one term per view: 2n anchors
    TensorShape([8])
    >>> terms.correct.numpy()  # every positive has the largest logit
    array([1., 1., 1., 1., 1., 1., 1., 1.], dtype=float32)
    >>> float(terms.global_anchors)
    8.0
    """
    z1 = ops.convert_to_tensor(z1)
    z2 = ops.convert_to_tensor(z2)
    _validate(z1, z2)
    temperature = _checked_temperature(temperature)
    # Logits in float32 whatever the compute dtype: at T = 0.05 the logits
    # reach 20 and float16's exp overflows at 11.
    z1 = _l2_normalize(ops.cast(z1, "float32"))
    z2 = _l2_normalize(ops.cast(z2, "float32"))

    z1_all, z2_all, offset = _gather_from_replicas(z1, z2)
    n = ops.shape(z1)[0]
    global_views = _check_global_batch(ops.shape(z1_all)[0])
    positives = offset + ops.arange(n, dtype="int32")
    self_mask = ops.one_hot(positives, global_views) * _SELF_MASK

    def anchor_logits(anchors, same_view, other_view):
        # Candidates: the other view of every image (the positive among them)
        # then this view of every image except the anchor itself.
        cross = ops.matmul(anchors, ops.transpose(other_view)) / temperature
        same = ops.matmul(anchors, ops.transpose(same_view)) / temperature
        return ops.concatenate([cross, same - self_mask], axis=1)

    logits = ops.concatenate(
        [anchor_logits(z1, z1_all, z2_all), anchor_logits(z2, z2_all, z1_all)],
        axis=0,
    )
    labels = ops.concatenate([positives, positives], axis=0)
    loss = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    correct = ops.cast(
        ops.equal(ops.cast(ops.argmax(logits, axis=1), "int32"), labels), "float32"
    )
    log_probs = ops.log_softmax(logits, axis=1)
    entropy = -ops.sum(ops.exp(log_probs) * log_probs, axis=1)
    global_anchors = ops.cast(2 * global_views, "float32")
    return ContrastiveTerms(loss, correct, entropy, global_anchors)


def _l2_normalize(z):
    """Rows of z over their l2 norms, as `tf.math.l2_normalize` computes them."""
    return z * ops.rsqrt(
        ops.maximum(ops.sum(ops.square(z), axis=1, keepdims=True), 1e-12)
    )


def nt_xent(z1, z2, temperature=DEFAULT_TEMPERATURE):
    """NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR.

    With z l2-normalised and sim(u, v) = u.v, each of the 2N views is an
    anchor whose positive is the other view of its image and whose
    candidates are the other 2N - 1 views:

        l(i, j) = -log(exp(sim(z_i, z_j) / T) / sum_{k != i} exp(sim(z_i, z_k) / T))

    and the loss is the mean of l over all 2N anchors. The reference code
    (google-research/simclr) returns mean over images of (loss_a + loss_b),
    which is exactly twice this value.

    Inside a `tf.distribute` replica context with R > 1 replicas, the
    projections of every replica are gathered so that all 2N views of the
    global batch are candidates, gradients flow back through the gathered
    copies, and the value returned is this replica's share: the shares sum
    to the global loss (the convention of `tf.nn.compute_average_loss`).
    Outside a replica context, or with R = 1, it is the global loss.

    Args:
        z1: (n, d) projections of the first view of each image.
        z2: (n, d) projections of the second view; z2[i] pairs with z1[i].
        temperature: softmax temperature T > 0 (0.1 for ImageNet batches,
            0.5 for CIFAR-10 in the paper).

    Returns:
        A float32 scalar.

    Raises:
        UserInputError: a temperature that is not a finite number > 0,
            ranks other than 2, shapes that differ, an empty batch, or a
            global batch of one image (no negatives).

    Example:

    Two images whose views agree and are orthogonal to the other image's
    (sim 1 with the positive, 0 with the 2 negatives), at T = 1: every
    anchor's term is log(1 + 2 / e).

    >>> z = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    >>> print(f"{float(nt_xent(z, z, temperature=1.0)):.4f}")
    0.5514
    >>> import math
    >>> print(f"{math.log(1 + 2 / math.e):.4f}")
    0.5514
    """
    return contrastive_terms(z1, z2, temperature).replica_loss()


@keras.saving.register_keras_serializable(package="keras_simclr")
class NTXent(keras.losses.Loss):
    """NT-Xent as a Keras `Loss`, for models whose output is a pair of views.

    `y_pred` is the concatenation [z1; z2] of the projections of the two
    views along the batch axis (2n rows); `y_true` is ignored (any tensor,
    e.g. zeros). See `nt_xent`
    for the formula and the distributed behaviour. Keras's own
    distributed-loss scaling is bypassed: the value is already this
    replica's share.

    Args:
        temperature: softmax temperature T > 0.
        name: name of the loss.

    Example:

    >>> loss = NTXent(temperature=1.0)
    >>> z = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    >>> y_pred = tf.concat([z, z], axis=0)  # [z1; z2]: 2 images, 2 views
    >>> print(f"{float(loss(tf.zeros(4), y_pred)):.4f}")  # as nt_xent(z, z, 1.0)
    0.5514
    >>> NTXent.from_config(loss.get_config()).temperature
    1.0
    """

    def __init__(self, temperature=DEFAULT_TEMPERATURE, name="nt_xent", **kwargs):
        super().__init__(name=name, reduction="none", **kwargs)
        self.temperature = check_temperature(temperature)

    def call(self, y_true, y_pred):
        z1, z2 = ops.split(y_pred, 2, axis=0)
        return nt_xent(z1, z2, self.temperature)

    def get_config(self):
        return {"name": self.name, "temperature": self.temperature}
