"""The linear classifier evaluations train, and how they compile it."""

import keras

__all__ = ["classifier", "compile_classifier"]


def classifier(num_classes, weight_decay, name="classifier"):
    """A zero-initialised linear layer of logits, as the reference's.

    The reference's linear evaluation zero-initialises its logits
    (`zero_init_logits_layer`). Its L2 term is `wd * sum(w ** 2) / 2`
    (`tf.nn.l2_loss`), hence `weight_decay / 2` in Keras's L2.

    Args:
        num_classes: number of logits.
        weight_decay: L2 coefficient on the kernel (0 for none).
        name: the layer's name.

    Returns:
        A float32 `keras.layers.Dense`.

    Example:

    >>> layer = classifier(10, weight_decay=1e-4)
    >>> layer.units, layer.kernel_regularizer.l2
    (10, 5e-05)
    """
    return keras.layers.Dense(
        num_classes,
        kernel_initializer="zeros",
        kernel_regularizer=(
            keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        ),
        name=name,
        dtype="float32",
    )


def compile_classifier(model, optimizer, num_classes):
    """Compiles a model of logits with cross-entropy, top-1 and top-5.

    Args:
        model: a Keras model whose outputs are logits.
        optimizer: its optimizer.
        num_classes: number of classes (top-5 becomes top-k for fewer).

    Returns:
        None; `model` is compiled in place, its metrics named `train_top1`
        and `train_top5`: Keras's progress lines show training accuracies,
        not the test top-1 the evaluation reports at the end.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), classifier(3, 0.0)])
    >>> compile_classifier(model, "sgd", 3)
    >>> history = model.fit(np.zeros((2, 4)), np.array([0, 1]), verbose=0)
    >>> model.loss.from_logits, sorted(history.history)
    (True, ['loss', 'train_top1', 'train_top5'])
    """
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="train_top1"),
            keras.metrics.SparseTopKCategoricalAccuracy(
                k=min(5, num_classes), name="train_top5"
            ),
        ],
    )
