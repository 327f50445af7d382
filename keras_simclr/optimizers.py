"""LARS, the layer-wise adaptive optimizer SimCLR trains with.

You et al. 2017, "Large Batch Training of Convolutional Networks"; SimCLR
(Chen et al. 2020, section 2.2) trains every batch size with it.
"""

import numbers
import re

import keras
from keras import ops

from keras_simclr import errors

__all__ = ["DEFAULT_EETA", "DEFAULT_MOMENTUM", "LARS"]

# The reference's momentum and LARS trust coefficient (SimCLR, tf2/run.py).
DEFAULT_MOMENTUM = 0.9
DEFAULT_EETA = 0.001

MOMENTUM_HINT = f"SimCLR uses {DEFAULT_MOMENTUM}."


def _as_patterns(patterns, arg):
    """Validates and compiles a list of regex patterns (or a single one)."""
    if patterns is None:
        return [], []
    if isinstance(patterns, str):
        patterns = [patterns]
    try:
        patterns = list(patterns)
    except TypeError:
        raise errors.UserInputError(
            f"`{arg}` must be a string or a list of strings. "
            f"Received: {arg}={patterns!r}"
        ) from None
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise errors.UserInputError(
                f"`{arg}` must contain only strings (regular expressions). "
                f"Received: {pattern!r}"
            )
        try:
            compiled.append(re.compile(pattern))
        except re.error as e:
            raise errors.UserInputError(
                f"Invalid regular expression {pattern!r} in `{arg}`: {e}"
            ) from None
    return patterns, compiled


def _variable_path(variable):
    path = getattr(variable, "path", None)
    if path is None:
        path = str(getattr(variable, "name", ""))
    return path


@keras.saving.register_keras_serializable(package="keras_simclr")
class LARS(keras.optimizers.Optimizer):
    """Layer-wise Adaptive Rate Scaling (You et al., 2017) with momentum.

    For each variable `w` with gradient `g`, learning rate `lr` and momentum
    buffer `v`:

    ```
    g'   = g + weight_decay * w           (if w gets weight decay)
    tr   = eeta * |w| / |g'|              (if |w| > 0 and |g'| > 0, else 1)
    lr_w = lr * tr                        (if w gets layer adaptation,
                                           else lr_w = lr)
    v    = momentum * v + lr_w * g'
    w    = w - v                          (nesterov=False)
    w    = w - (momentum * v + lr_w * g')  (nesterov=True, with the new v)
    ```

    `|.|` is the L2 norm over the whole variable. This is the
    `classic_momentum=True` path of the reference implementation
    (google-research/simclr, `tf2/lars_optimizer.py`).

    **Weight decay is coupled**: it is added to the gradient before the trust
    ratio and the momentum, as in the reference. This is *not* the
    decoupled weight decay of Keras's base `Optimizer(weight_decay=...)`
    (`w -= lr * wd * w` applied separately), which LARS never applies.

    **Exclusions.** Every variable of rank <= 1 (biases, batch-normalization
    scales and offsets) is excluded from both weight decay and layer
    adaptation, so it gets plain momentum SGD. `exclude_from_weight_decay`
    and `exclude_from_layer_adaptation` add regular expressions, searched
    (`re.search`) in each variable's `path` (e.g. `"probe"` for SimCLR's
    online linear probe, `"bias"`). A pattern given only to
    `exclude_from_weight_decay` also excludes from layer adaptation (as in
    the reference), unless `exclude_from_layer_adaptation` is given
    explicitly. Variables named through the base class's
    `exclude_from_weight_decay()` method are honoured too. Exclusions are
    decided once, in `build()`.

    Args:
        learning_rate: A float, a
            `keras.optimizers.schedules.LearningRateSchedule` (e.g.
            `keras_simclr.schedules.WarmupCosineDecay`), or a callable taking
            no arguments. `lr` above.
        momentum: float in `[0, 1]`. Defaults to `0.9`.
        weight_decay: non-negative float, the coupled L2 coefficient.
            Defaults to `0.0`. SimCLR uses `1e-6` (reference TF2 default).
        eeta: positive float, the trust coefficient. Defaults to `0.001`.
        nesterov: bool, whether to use Nesterov momentum. Defaults to
            `False`.
        exclude_from_weight_decay: a regex or list of regexes matched
            against variable paths; matches get no weight decay.
        exclude_from_layer_adaptation: a regex or list of regexes matched
            against variable paths; matches get no trust ratio (`tr = 1`).
            Defaults to `exclude_from_weight_decay`.
        name: the optimizer's name. Defaults to `"lars"`.
        **kwargs: the base optimizer's keyword arguments (`clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`). `weight_decay` is this class's
            own, coupled one.

    Example:

    The paper's ImageNet recipe (batch 4096, 100 epochs, 10 of warmup),
    ready for `model.compile(optimizer=optimizer)`:

    >>> batch_size = 4096
    >>> lr = ks.schedules.WarmupCosineDecay(
    ...     ks.schedules.scaled_learning_rate(0.3, batch_size),  # 4.8
    ...     warmup_steps=10 * 1_281_167 // batch_size,
    ...     total_steps=100 * 1_281_167 // batch_size + 1)
    >>> optimizer = ks.optimizers.LARS(
    ...     lr, momentum=0.9, weight_decay=1e-6,
    ...     exclude_from_weight_decay=["probe"])

    One step on a kernel with |w| = 5 and a gradient with |g| = 1: the
    trust ratio is 0.001 x 5 / 1, so w moves by 0.1 x 0.005 x g. The bias
    (rank 1) gets plain momentum SGD, w -= 0.1 x g:

    >>> kernel = keras.Variable([[3.0, 4.0]], name="kernel")
    >>> bias = keras.Variable([1.0, 1.0], name="bias")
    >>> optimizer = LARS(learning_rate=0.1, momentum=0.9)
    >>> optimizer.apply([tf.constant([[0.6, 0.8]]), tf.constant([1.0, 1.0])],
    ...                 [kernel, bias])
    >>> print(*[f"{v:.4f}" for v in kernel.numpy().ravel()])
    2.9997 3.9996
    >>> print(*[f"{v:.4f}" for v in bias.numpy()])
    0.9000 0.9000
    >>> optimizer.uses_layer_adaptation(kernel), optimizer.uses_layer_adaptation(bias)
    (True, False)

    Under `tf.distribute.MirroredStrategy`, Keras sums the per-replica
    gradients (each replica's loss is already divided by the number of
    replicas), so LARS sees the gradient of the global-batch mean loss, and
    the same global batch gives the same update on any number of replicas.
    """

    def __init__(
        self,
        learning_rate,
        momentum=DEFAULT_MOMENTUM,
        weight_decay=0.0,
        eeta=DEFAULT_EETA,
        nesterov=False,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        name="lars",
        **kwargs,
    ):
        if isinstance(learning_rate, numbers.Real) and not isinstance(
            learning_rate, bool
        ):
            learning_rate = errors.check_positive_number(
                "learning_rate", learning_rate, allow_zero=True
            )
        momentum = errors.check_momentum("momentum", momentum, MOMENTUM_HINT)
        weight_decay = errors.check_positive_number(
            "weight_decay",
            0.0 if weight_decay is None else weight_decay,
            "SimCLR uses 1e-6; 0 turns it off.",
            allow_zero=True,
        )
        eeta = errors.check_positive_number(
            "eeta",
            eeta,
            f"SimCLR uses {DEFAULT_EETA}; 0 would freeze every adapted variable.",
        )
        if not isinstance(nesterov, bool):
            raise errors.UserInputError(
                f"`nesterov` must be a bool. Received: nesterov={nesterov!r}"
            )
        wd_patterns, wd_regexes = _as_patterns(
            exclude_from_weight_decay, "exclude_from_weight_decay"
        )
        if exclude_from_layer_adaptation is None:
            la_patterns, la_regexes = None, wd_regexes
        else:
            la_patterns, la_regexes = _as_patterns(
                exclude_from_layer_adaptation, "exclude_from_layer_adaptation"
            )
        # The base class gets `weight_decay=None`: its decoupled decay must
        # never run. The coupled coefficient is stored just below.
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=None,
            name=name,
            **kwargs,
        )
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.eeta = eeta
        self.nesterov = nesterov
        self.exclude_from_weight_decay_patterns = wd_patterns
        self.exclude_from_layer_adaptation_patterns = la_patterns
        self._wd_regexes = wd_regexes
        self._la_regexes = la_regexes

    def _apply_weight_decay(self, variables):
        # `self.weight_decay` is LARS's coupled coefficient, applied inside
        # `update_step`; the base class's decoupled decay is disabled.
        return

    def _excluded(self, variable, regexes):
        if len(variable.shape) <= 1:
            return True
        path = _variable_path(variable)
        return any(regex.search(path) for regex in regexes)

    def build(self, var_list):
        """Creates one momentum slot per variable and decides exclusions.

        Called by the first `apply` (or by `model.fit`); call it yourself
        to ask `uses_weight_decay` before training.

        Args:
            var_list: the model's trainable variables.

        Returns:
            None.

        Example:

        >>> kernel = keras.Variable(tf.ones((3, 2)), name="probe_kernel")
        >>> optimizer = LARS(0.1, weight_decay=1e-6,
        ...                  exclude_from_weight_decay=["probe"])
        >>> optimizer.build([kernel])
        >>> optimizer.uses_weight_decay(kernel)
        False
        """
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        # Static per-variable decisions, indexed like `var_list` (and thus
        # like `_get_variable_index`, whose key also resolves the per-replica
        # components that `update_step` receives under tf.distribute).
        use_wd, use_la = [], []
        for variable in var_list:
            use_wd.append(
                not self._excluded(variable, self._wd_regexes)
                and self._use_weight_decay(variable)
            )
            use_la.append(not self._excluded(variable, self._la_regexes))
        self._lars_use_weight_decay = tuple(use_wd)
        self._lars_use_layer_adaptation = tuple(use_la)

    def uses_weight_decay(self, variable):
        """Whether `variable` gets (coupled) weight decay; after `build()`.

        Args:
            variable: one of the variables the optimizer was built with.

        Returns:
            A bool: False for rank <= 1 variables, matches of
            `exclude_from_weight_decay` and variables excluded through
            the base class's `exclude_from_weight_decay()`, whatever the
            value of `weight_decay`.

        Example:

        >>> kernel = keras.Variable(tf.ones((3, 2)), name="kernel")
        >>> optimizer = LARS(0.1, weight_decay=1e-6)
        >>> optimizer.build([kernel])
        >>> optimizer.uses_weight_decay(kernel)
        True
        """
        return self._lars_use_weight_decay[self._get_variable_index(variable)]

    def uses_layer_adaptation(self, variable):
        """Whether `variable` gets a trust ratio; after `build()`.

        Args:
            variable: one of the variables the optimizer was built with.

        Returns:
            A bool: False for rank <= 1 variables and matches of
            `exclude_from_layer_adaptation`.

        Example:

        >>> bias = keras.Variable(tf.zeros((2,)), name="bias")
        >>> optimizer = LARS(0.1)
        >>> optimizer.build([bias])
        >>> optimizer.uses_layer_adaptation(bias)
        False
        """
        return self._lars_use_layer_adaptation[self._get_variable_index(variable)]

    def update_step(self, gradient, variable, learning_rate):
        """Applies the LARS update to one variable (see the class doc).

        Called by `apply` for each variable; not called directly.

        Args:
            gradient: the variable's gradient.
            variable: the variable to update.
            learning_rate: the current learning rate (`lr`).
        """
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        v = self._momentums[index]

        if self.weight_decay > 0 and self._lars_use_weight_decay[index]:
            gradient = gradient + ops.cast(self.weight_decay, dtype) * variable

        if self._lars_use_layer_adaptation[index]:
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            g_norm = ops.sqrt(ops.sum(ops.square(gradient)))
            ok = ops.logical_and(w_norm > 0, g_norm > 0)
            # A safe denominator keeps the unused branch finite as well.
            safe_g_norm = ops.where(g_norm > 0, g_norm, ops.ones_like(g_norm))
            trust_ratio = ops.where(
                ok,
                ops.cast(self.eeta, dtype) * w_norm / safe_g_norm,
                ops.ones_like(w_norm),
            )
            lr = lr * trust_ratio

        scaled_gradient = lr * gradient
        momentum = ops.cast(self.momentum, dtype)
        new_v = momentum * v + scaled_gradient
        self.assign(v, new_v)
        if self.nesterov:
            self.assign_sub(variable, momentum * new_v + scaled_gradient)
        else:
            self.assign_sub(variable, new_v)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "weight_decay": self.weight_decay,
                "eeta": self.eeta,
                "nesterov": self.nesterov,
                "exclude_from_weight_decay": list(
                    self.exclude_from_weight_decay_patterns
                ),
                "exclude_from_layer_adaptation": (
                    None
                    if self.exclude_from_layer_adaptation_patterns is None
                    else list(self.exclude_from_layer_adaptation_patterns)
                ),
            }
        )
        return config
