"""The optimisation of a recipe: the learning-rate schedule and the optimizer."""

import keras

from keras_simclr import errors, optimizers, schedules
from keras_simclr.recipes.settings import RecipeError


def build_schedule(recipe, steps_per_epoch, total_steps):
    """Warmup then cosine decay of the recipe's scaled learning rate.

    Args:
        recipe: a `Recipe`.
        steps_per_epoch: steps of one epoch.
        total_steps: steps of the whole run.

    Returns:
        A `keras_simclr.schedules.WarmupCosineDecay`.

    Example:

    >>> from keras_simclr.recipes import Recipe
    >>> schedule = build_schedule(Recipe.from_preset("cifar10"), 10, 1000)
    >>> round(float(schedule(1000)), 6)  # decayed to 0 at the end
    0.0
    """
    peak = schedules.scaled_learning_rate(
        recipe.learning_rate, recipe.batch_size, recipe.learning_rate_scaling
    )
    warmup = min(int(round(recipe.warmup_epochs * steps_per_epoch)), total_steps)
    return schedules.WarmupCosineDecay(peak, warmup, total_steps)


def make_optimizer(
    name, learning_rate, momentum=None, weight_decay=0.0, lars_exclude=()
):
    """The optimizer called `name`, as every part of the library builds it.

    - `"lars"`: `keras_simclr.optimizers.LARS` (You et al. 2017) with
      coupled weight decay; variables whose names contain one of
      `lars_exclude` get neither weight decay nor the trust ratio;
    - `"sgd"`: `keras.optimizers.SGD` with momentum and decoupled weight
      decay;
    - `"momentum"`: the same with Nesterov momentum;
    - `"adam"`: `keras.optimizers.Adam` with decoupled weight decay.

    Args:
        name: "lars", "sgd", "momentum" or "adam".
        learning_rate: a float or a `keras.optimizers.schedules` schedule.
        momentum: momentum (not used by Adam); None is
            `keras_simclr.optimizers.DEFAULT_MOMENTUM`.
        weight_decay: weight decay coefficient, 0 for none.
        lars_exclude: name fragments of the variables LARS leaves out.

    Returns:
        A Keras optimizer.

    Raises:
        RecipeError: an unknown `name`.
        UserInputError: a negative `weight_decay`, a `momentum` outside
            [0, 1].

    Example:

    >>> opt = make_optimizer("momentum", 0.1, momentum=0.9)
    >>> type(opt).__name__, bool(opt.nesterov)
    ('SGD', True)
    >>> make_optimizer("sgd", 0.1, weight_decay=-10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_simclr.errors.UserInputError: weight_decay must be a finite number >= 0, got -10. ...
    """
    weight_decay = errors.check_positive_number(
        "weight_decay", weight_decay or 0.0, "Use 0 for none.", allow_zero=True
    )
    if name != "adam":
        if momentum is None:
            momentum = optimizers.DEFAULT_MOMENTUM
        momentum = errors.check_momentum("momentum", momentum, optimizers.MOMENTUM_HINT)
    if name == "lars":
        return optimizers.LARS(
            learning_rate,
            momentum=momentum,
            weight_decay=weight_decay,
            exclude_from_weight_decay=list(lars_exclude),
        )
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD(
            learning_rate,
            momentum=momentum,
            nesterov=name == "momentum",
            weight_decay=weight_decay or None,
        )
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)
    raise RecipeError(
        "optimizer",
        f"optimizer must be 'lars', 'sgd', 'momentum' or "
        f"'adam', got {name!r} — pass one of these.",
    )


def build_optimizer(recipe, model, steps_per_epoch, total_steps):
    """The recipe's optimizer for `model`, on `build_schedule`'s schedule.

    Weight decay leaves out biases, batch norm and the probe, as in LARS.

    Args:
        recipe: a `Recipe`.
        model: the `SimCLR` model it trains.
        steps_per_epoch: steps of one epoch.
        total_steps: steps of the whole run.

    Returns:
        A Keras optimizer (see `make_optimizer`).

    Example:

    >>> import keras
    >>> import keras_simclr as ks
    >>> from keras_simclr.recipes import Recipe
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
    ...                             keras.layers.GlobalAveragePooling2D()])
    >>> model = ks.SimCLR(encoder, augment=keras.layers.Identity())
    >>> recipe = Recipe.from_preset("cifar10", optimizer="sgd")
    >>> type(build_optimizer(recipe, model, 10, 100)).__name__
    'SGD'
    """
    schedule = build_schedule(recipe, steps_per_epoch, total_steps)
    wd = recipe.weight_decay
    optimizer = make_optimizer(
        recipe.optimizer,
        schedule,
        momentum=recipe.momentum,
        weight_decay=wd,
        lars_exclude=["probe"],
    )
    if wd and recipe.optimizer != "lars":
        contrastive, probe = model.contrastive_and_probe_variables()
        optimizer.exclude_from_weight_decay(
            var_list=probe + [v for v in contrastive if len(v.shape) <= 1]
        )
    return optimizer
