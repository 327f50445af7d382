"""`distillation_loss` against its formula in NumPy."""

import numpy as np
import pytest

from keras_simclr import distillation
from tests.distillation.fixtures import reference_loss

pytestmark = pytest.mark.backend_neutral


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_distillation_loss_equals_numpy(temperature):
    rng = np.random.default_rng(0)
    t, s = rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3
    got = distillation.distillation_loss(
        t.astype(np.float32), s.astype(np.float32), temperature
    )
    np.testing.assert_allclose(got, reference_loss(t, s, temperature), rtol=1e-5)
    # Matching the teacher exactly leaves T^2 times its entropy.
    same = distillation.distillation_loss(t, t, temperature)
    assert np.all(np.asarray(same) <= np.asarray(got) + 1e-6)
