"""Learning-rate schedules and scaling rules used by SimCLR.

SimCLR (Chen et al. 2020, section 2.2; the square-root rule in appendix
B.1) scales its base learning rate with the batch size, warms it up
linearly over the first epochs and then decays it to zero with a single
cosine (no restarts):

>>> peak = ks.schedules.scaled_learning_rate(0.3, batch_size=4096)
>>> peak
4.8
>>> lr = ks.schedules.WarmupCosineDecay(peak, warmup_steps=12_510,
...                                     total_steps=125_100)
>>> optimizer = ks.optimizers.LARS(lr, weight_decay=1e-6)
"""

import math
import numbers

import keras
from keras import ops

from keras_simclr import errors

__all__ = ["WarmupCosineDecay", "scaled_learning_rate"]

_RULES = ("linear", "sqrt")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def scaled_learning_rate(base_learning_rate, batch_size, rule="linear"):
    """Scales a base learning rate with the batch size, as SimCLR does.

    - `"linear"`: `base_learning_rate * batch_size / 256`
      (reference default, e.g. 0.3 x 4096 / 256 = 4.8).
    - `"sqrt"`: `base_learning_rate * sqrt(batch_size)`. Note `sqrt(B)`, not
      `sqrt(B / 256)`: the reference pairs it with base 0.075, so batch 4096
      also gives 4.8.

    Args:
        base_learning_rate: non-negative float, the learning rate before
            scaling.
        batch_size: positive int, the global batch size (summed over
            replicas).
        rule: `"linear"` or `"sqrt"`. Defaults to `"linear"`.

    Returns:
        The scaled learning rate, a Python float.

    Raises:
        UserInputError: for an unknown `rule`, a batch size that is not a positive
            integer, or a negative or non-finite base learning rate.

    Example:

    >>> scaled_learning_rate(1.0, 512)
    2.0
    >>> scaled_learning_rate(0.075, 4096, rule="sqrt")
    4.8
    """
    if rule not in _RULES:
        raise errors.UserInputError(
            f"Unknown learning-rate scaling rule {rule!r}; expected one of {_RULES}."
        )
    if not _is_int(batch_size) or batch_size <= 0:
        raise errors.UserInputError(
            f"`batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    if (
        not _is_real(base_learning_rate)
        or not math.isfinite(base_learning_rate)
        or base_learning_rate < 0
    ):
        raise errors.UserInputError(
            "`base_learning_rate` must be a finite non-negative number. "
            f"Received: base_learning_rate={base_learning_rate!r}"
        )
    if rule == "linear":
        return float(base_learning_rate) * int(batch_size) / 256.0
    return float(base_learning_rate) * math.sqrt(int(batch_size))


@keras.saving.register_keras_serializable(package="keras_simclr")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup followed by a single cosine decay (SimCLR's schedule).

    With `p = peak_learning_rate`, `f = final_learning_rate`, `W =
    warmup_steps` and `T = total_steps`:

    ```
    lr(s) = p * s / W                                          s <  W
    lr(s) = f + (p - f) / 2 * (1 + cos(pi * (s - W) / (T - W)))  W <= s <  T
    lr(s) = f                                                  s >= T
    ```

    With `f = 0` this is the reference's schedule (google-research/simclr
    `tf2/model.py`, `WarmUpAndCosineDecay`), where `W = 10 epochs` and `T =
    epochs * num_examples // batch_size + 1`. Unlike
    `keras.optimizers.schedules.CosineDecay`, `total_steps` counts the
    warmup too.

    This is not a wrapper over `keras.optimizers.schedules.CosineDecay(0.0,
    decay_steps=T - W, warmup_target=p, warmup_steps=W, alpha=f / p)`. That
    is the same formula, but (checked with Keras 3.15):

    - it rejects `T == W` (`decay_steps` must be > 0). This class accepts
      it: warmup, then `f`. The reference divides 0 by 0 there.
    - its `ops.cond` needs a scalar step, so a tensor of steps fails.
    - it rounds differently in float32 (eager, in `tf.function` and under
      XLA): up to 7.2e-7 apart for peak 4.8 over 125,100 steps, 2.4e-7 for
      peak 2.0 over 97,657, so above 1e-7 on some steps. Neither is closer
      to the float64 formula: both stay within 2 float32 ulps of the peak.

    Args:
        peak_learning_rate: non-negative float, the learning rate reached at
            the end of warmup (usually `scaled_learning_rate(...)`).
        warmup_steps: non-negative int, the length of the linear warmup. 0
            starts directly at the peak.
        total_steps: positive int >= `warmup_steps`, the step at which the
            cosine reaches `final_learning_rate`.
        final_learning_rate: float in `[0, peak_learning_rate]`, the value at
            and after `total_steps`. Defaults to `0.0`.

    Returns (when called with a step):
        A float32 tensor of the step's shape (a scalar, or one rate per
        step of a tensor of steps).

    Example:

    The CIFAR-10 recipe: batch 512, base 1.0 (linear), 1000 epochs, 10 of
    warmup:

    >>> lr = WarmupCosineDecay(
    ...     peak_learning_rate=scaled_learning_rate(1.0, 512),  # 2.0
    ...     warmup_steps=10 * 50_000 // 512,                    # 976
    ...     total_steps=1000 * 50_000 // 512 + 1)               # 97,657
    >>> float(lr(488)), float(lr(976)), float(lr(97_657))
    (1.0, 2.0, 0.0)
    >>> lr(tf.constant([0, 488, 976])).numpy()
    array([0., 1., 2.], dtype=float32)
    >>> WarmupCosineDecay.from_config(lr.get_config()).total_steps
    97657
    """

    def __init__(
        self,
        peak_learning_rate,
        warmup_steps,
        total_steps,
        final_learning_rate=0.0,
    ):
        super().__init__()
        for arg, value in (
            ("peak_learning_rate", peak_learning_rate),
            ("final_learning_rate", final_learning_rate),
        ):
            if not _is_real(value) or not math.isfinite(value) or value < 0:
                raise errors.UserInputError(
                    f"`{arg}` must be a finite non-negative number. "
                    f"Received: {arg}={value!r}"
                )
        if final_learning_rate > peak_learning_rate:
            raise errors.UserInputError(
                "`final_learning_rate` must not exceed `peak_learning_rate`. "
                f"Received: final_learning_rate={final_learning_rate}, "
                f"peak_learning_rate={peak_learning_rate}"
            )
        if not _is_int(warmup_steps) or warmup_steps < 0:
            raise errors.UserInputError(
                "`warmup_steps` must be a non-negative integer. "
                f"Received: warmup_steps={warmup_steps!r}"
            )
        if not _is_int(total_steps) or total_steps <= 0:
            raise errors.UserInputError(
                "`total_steps` must be a positive integer. "
                f"Received: total_steps={total_steps!r}"
            )
        if warmup_steps > total_steps:
            raise errors.UserInputError(
                "`warmup_steps` must not exceed `total_steps`. Received: "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.final_learning_rate = float(final_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        final = ops.cast(self.final_learning_rate, "float32")
        # max(W, 1) and max(T - W, 1) keep both branches finite, so `where`
        # never evaluates a division by zero.
        warmup = ops.cast(max(self.warmup_steps, 1), "float32")
        decay = ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        warmup_lr = peak * step / warmup
        progress = ops.clip(
            (step - ops.cast(self.warmup_steps, "float32")) / decay, 0.0, 1.0
        )
        # At and after `total_steps`: the final value (also when W == T).
        progress = ops.where(step >= self.total_steps, 1.0, progress)
        cosine_lr = final + 0.5 * (peak - final) * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warmup_lr, cosine_lr)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "final_learning_rate": self.final_learning_rate,
        }
