"""Stopping a classifier's training whose loss is no longer a number."""

import math

import keras

from keras_simclr import errors

__all__ = ["StopOnNonFiniteLoss"]


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `NonFiniteLoss` at the end of an epoch whose loss is NaN or inf.

    Once the loss is NaN the weights are too, and NaN logits pick class 0:
    an accuracy measured afterwards would be a plausible, wrong number.
    Checked once an epoch (no extra synchronisation per step); a NaN or
    infinite batch makes the epoch's mean loss NaN or infinite too.

    Args:
        what: the training, for the message ("linear evaluation").
        learning_rate: the peak learning rate, named in the fix (None
            when the user gave an optimizer object).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=3, verbose=0,
    ...               callbacks=[StopOnNonFiniteLoss("fine-tuning", 1e30)])
    ... except keras_simclr.errors.NonFiniteLoss as error:
    ...     print(error)
    the fine-tuning loss is inf at epoch 2; training stopped and no accuracy is
    reported — lower learning_rate (got 1e+30)
    """

    def __init__(self, what, learning_rate):
        super().__init__()
        self.what = what
        self.learning_rate = learning_rate

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        given = (
            f" (got {float(self.learning_rate):g})"
            if self.learning_rate is not None
            else ""
        )
        raise errors.NonFiniteLoss(
            f"the {self.what} loss is {float(loss)} at epoch {epoch + 1}; training "
            "stopped and no accuracy is reported — lower learning_rate" + given,
            field="learning_rate",
        )
