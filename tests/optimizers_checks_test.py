"""Bad LARS arguments: one line naming the fix (issue 19: a 43-line trace)."""

import numpy as np
import pytest

from keras_simclr.errors import UserInputError, check_momentum
from keras_simclr.optimizers import LARS

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"weight_decay": -10},
            "weight_decay must be a finite number >= 0, got -10. "
            "SimCLR uses 1e-6; 0 turns it off.",
        ),
        (
            {"momentum": -3},
            "momentum must be a finite number >= 0, got -3. SimCLR uses 0.9.",
        ),
        ({"momentum": 1.5}, "momentum must be in [0, 1], got 1.5. SimCLR uses 0.9."),
        (
            {"eeta": 0},
            "eeta must be a finite number > 0, got 0. SimCLR uses 0.001; "
            "0 would freeze every adapted variable.",
        ),
        (
            {"learning_rate": float("nan")},
            "learning_rate must be a finite number >= 0, got nan.",
        ),
    ],
)
def test_lars_refuses_bad_numbers_in_one_line(kwargs, message):
    with pytest.raises(UserInputError) as error:
        LARS(**{"learning_rate": 0.1, **kwargs})
    assert str(error.value) == message


def test_lars_accepts_numpy_numbers_and_no_weight_decay():
    lars = LARS(np.float32(0.5), momentum=np.float64(0.8), weight_decay=None)
    assert (lars.momentum, lars.weight_decay) == (0.8, 0.0)
    assert float(lars.learning_rate) == 0.5


@pytest.mark.parametrize("momentum", [0, 1, 0.9])
def test_check_momentum_accepts_the_unit_interval(momentum):
    assert check_momentum("momentum", momentum) == momentum
