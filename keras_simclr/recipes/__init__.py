"""Pretraining recipes: every setting of a run, its presets and its checks.

A `Recipe` is the one place where a pretraining setting is declared: its
default, its help text, its range check and whether a resumed run must keep
it. The command line makes one flag per field (`keras_simclr.cli.options`),
`keras_simclr.pretrain` trains from a recipe, and `PRESETS` holds the named
recipes (the settings of Chen et al. 2020, section 4 and appendix B.9, and
of SimCLRv2, Chen et al. 2020b).

The modules:

- `recipe.py`: the `Recipe` dataclass, its fields and its checks;
- `settings.py`: how a field is declared (`setting`), `RecipeError` and the
  size-dependent defaults (`augment_defaults`, `SMALL_IMAGE_MAX`);
- `presets.py`: the named recipes, `PRESETS`;
- `model_builders.py`: the model of a completed recipe (`build_augment`,
  `build_encoder`, `build_model`);
- `optimizer_builders.py`: its schedule and optimizer (`build_schedule`,
  `build_optimizer`, and `make_optimizer`, which evaluation uses too).

To add a setting, add a field to `Recipe` with its `setting(...)` metadata,
then wire it where it is used (`build_encoder`, `build_model`,
`build_optimizer` or `keras_simclr.runs.training`); the flag follows. To add
a preset, add an entry to `PRESETS`.

Example:

    import keras_simclr as ks
    recipe = ks.recipes.Recipe.from_preset("cifar10", epochs=100)
    ks.pretrain(recipe, "gs://bucket/runs/cifar10")
"""

from keras_simclr.layers.augmentation.simclr_augment import SMALL_IMAGE_MAX
from keras_simclr.recipes.model_builders import (
    build_augment,
    build_encoder,
    build_model,
)
from keras_simclr.recipes.optimizer_builders import (
    build_optimizer,
    build_schedule,
    make_optimizer,
)
from keras_simclr.recipes.presets import PRESETS
from keras_simclr.recipes.recipe import Recipe
from keras_simclr.recipes.settings import (
    RecipeError,
    augment_defaults,
    setting,
)

__all__ = [
    "PRESETS",
    "Recipe",
    "RecipeError",
    "SMALL_IMAGE_MAX",
    "augment_defaults",
    "build_augment",
    "build_encoder",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "make_optimizer",
]
