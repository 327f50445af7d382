import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import losses
from keras_simclr.errors import UserInputError
from tests.backend_marks import tensorflow_only
from tests.replicas import run_with_replicas

pytestmark = pytest.mark.backend_neutral


def reference_nt_xent(z1, z2, temperature):
    """NT-Xent (Chen et al. 2020, eq. 1) in float64, one anchor at a time."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    sim = z @ z.T / temperature
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = np.delete(sim[i], i)
        total += (
            np.log(np.sum(np.exp(others - others.max()))) + others.max() - sim[i, j]
        )
    return total / (2 * n)


@pytest.mark.parametrize(
    "n, d, temperature",
    [(2, 4, 0.1), (2, 3, 1.0), (7, 16, 0.5), (32, 128, 0.1), (16, 8, 0.05)],
)
def test_nt_xent_matches_numpy(n, d, temperature):
    rng = np.random.default_rng(n * 100 + d)
    z1 = rng.normal(size=(n, d)).astype(np.float32)
    z2 = (z1 + rng.normal(scale=0.5, size=(n, d))).astype(np.float32)
    got = float(losses.nt_xent(z1, z2, temperature))
    np.testing.assert_allclose(
        got, reference_nt_xent(z1, z2, temperature), rtol=1e-5, atol=1e-6
    )


def test_a_single_image_is_refused_it_has_no_negatives():
    # It used to give loss 0 and zero gradients, every step.
    z = np.ones((1, 4), np.float32)
    with pytest.raises(UserInputError, match="global batch of at least 2 images"):
        losses.nt_xent(z, -z, 0.1)


@tensorflow_only("tf.GradientTape")
def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    z1 = rng.normal(size=(4, 5))
    z2 = rng.normal(size=(4, 5))
    v1 = tf.Variable(z1.astype(np.float32))
    v2 = tf.Variable(z2.astype(np.float32))
    with tf.GradientTape() as tape:
        loss = losses.nt_xent(v1, v2, 0.5)
    g1, _ = tape.gradient(loss, [v1, v2])
    eps = 1e-5
    numeric = np.zeros_like(z1)
    for idx in np.ndindex(z1.shape):
        plus, minus = z1.copy(), z1.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = (
            reference_nt_xent(plus, z2, 0.5) - reference_nt_xent(minus, z2, 0.5)
        ) / (2 * eps)
    np.testing.assert_allclose(np.asarray(g1), numeric, atol=1e-4)


def test_metrics_terms():
    # Positives identical, negatives orthogonal: accuracy 1, low entropy.
    z = np.eye(4, dtype=np.float32)
    terms = losses.contrastive_terms(z, z, temperature=0.1)
    np.testing.assert_array_equal(np.asarray(terms.correct), np.ones(8))
    # The softmax over 7 candidates: positive logit 10, the other 6 at 0
    # (self-similarity is masked out).
    p = np.exp(10.0) / (np.exp(10.0) + 6)
    q = 1 / (np.exp(10.0) + 6)
    entropy = -(p * np.log(p) + 6 * q * np.log(q))
    np.testing.assert_allclose(
        np.asarray(terms.entropy), np.full(8, entropy), rtol=1e-4
    )
    assert float(terms.global_anchors) == 8


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_inputs_stay_finite(dtype):
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=(16, 32)).astype(np.float32)
    z2 = z1 + 0.01 * rng.normal(size=(16, 32)).astype(np.float32)
    low = losses.nt_xent(tf.cast(z1, dtype), tf.cast(z2, dtype), 0.05)
    assert low.dtype == tf.float32
    assert np.isfinite(float(low))
    np.testing.assert_allclose(float(low), reference_nt_xent(z1, z2, 0.05), rtol=0.05)


@pytest.mark.parametrize(
    "z1, z2, temperature, message",
    [
        (
            np.ones((4, 3)),
            np.ones((4, 3)),
            0.0,
            "temperature must be a finite number > 0",
        ),
        (
            np.ones((4, 3)),
            np.ones((4, 3)),
            -1.0,
            "temperature must be a finite number > 0",
        ),
        (np.ones((4, 3)), np.ones((4, 3)), np.inf, "got inf"),
        (np.ones((4, 3)), np.ones((4, 3)), tf.constant(0.0), "got 0"),
        (np.ones((4, 3)), np.ones((4, 3)), "0.5", "got '0.5'"),
        (np.ones((4, 3, 1)), np.ones((4, 3, 1)), 0.1, "rank 2"),
        (np.ones((4, 3)), np.ones((5, 3)), 0.1, "same shape"),
        (np.ones((0, 3)), np.ones((0, 3)), 0.1, "empty batch"),
    ],
)
def test_bad_input_is_a_clear_error(z1, z2, temperature, message):
    with pytest.raises(UserInputError, match=message):
        losses.nt_xent(z1.astype(np.float32), z2.astype(np.float32), temperature)


@tensorflow_only("symbolic tensors")
def test_a_symbolic_zero_temperature_fails_when_the_graph_runs():
    # It used to return NaN.
    from keras_simclr import errors

    z = np.eye(4, dtype=np.float32)
    loss = tf.function(lambda t: losses.nt_xent(z, z, t))
    with pytest.raises(
        UserInputError, match="temperature must be a finite number > 0, got 0"
    ):
        with errors.graph_errors_as_user_errors():
            loss(tf.constant(0.0))
    assert np.isfinite(float(loss(tf.constant(0.5))))


def test_numpy_scalar_temperatures_are_numbers():
    z = np.eye(4, dtype=np.float32)
    expected = reference_nt_xent(z, z, 0.5)
    for temperature in (np.float32(0.5), np.float64(0.5), np.array(0.5)):
        np.testing.assert_allclose(
            float(losses.nt_xent(z, z, temperature)), expected, rtol=1e-5
        )
    assert losses.NTXent(np.float32(0.5)).get_config()["temperature"] == 0.5


def test_keras_loss_wrapper_round_trips():
    loss = losses.NTXent(temperature=0.5)
    restored = losses.NTXent.from_config(loss.get_config())
    rng = np.random.default_rng(1)
    z = rng.normal(size=(8, 6)).astype(np.float32)
    expected = reference_nt_xent(z[:4], z[4:], 0.5)
    np.testing.assert_allclose(float(restored(np.zeros(8), z)), expected, rtol=1e-5)
    for bad in (0, float("inf"), float("nan"), None):
        with pytest.raises(UserInputError, match="temperature"):
            losses.NTXent(temperature=bad)


# -- on replicas: each strategy size in its own process (tests/replicas.py) ---


LOSS_AND_GRADIENTS = """
from keras_simclr import losses
rng = np.random.default_rng(0)
z1 = rng.normal(size=(8, 6)).astype(np.float32)
z2 = (z1 + rng.normal(scale=0.3, size=(8, 6))).astype(np.float32)
R = strategy.num_replicas_in_sync
n = 8 // R

def per_replica(ctx):
    i = ctx.replica_id_in_sync_group
    return z1[i * n:(i + 1) * n], z2[i * n:(i + 1) * n]

def step(a, b):
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        loss = losses.nt_xent(a, b, temperature=0.2)
    return (loss,) + tuple(tape.gradient(loss, [a, b]))

@tf.function
def run(a, b):
    return strategy.run(step, args=(a, b))

a, b = (strategy.experimental_distribute_values_from_function(
    lambda ctx, k=k: per_replica(ctx)[k]) for k in range(2))
loss, g1, g2 = (strategy.experimental_local_results(t) for t in run(a, b))
save(loss=np.sum([l.numpy() for l in loss]),
     g1=np.concatenate([g.numpy() for g in g1]),
     g2=np.concatenate([g.numpy() for g in g2]))
"""


@pytest.mark.parametrize("replicas", [2, 4])
def test_distributed_loss_and_gradients_equal_single_device(replicas):
    single = run_with_replicas(LOSS_AND_GRADIENTS, 1)
    multi = run_with_replicas(LOSS_AND_GRADIENTS, replicas)
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=(8, 6)).astype(np.float32)
    z2 = (z1 + rng.normal(scale=0.3, size=(8, 6))).astype(np.float32)
    np.testing.assert_allclose(
        single["loss"], reference_nt_xent(z1, z2, 0.2), rtol=1e-5
    )
    np.testing.assert_allclose(multi["loss"], single["loss"], rtol=1e-6)
    # Without the gradient of all_gather, the other replicas' share of
    # every gradient would be lost and this would fail by a wide margin.
    np.testing.assert_allclose(multi["g1"], single["g1"], atol=1e-6)
    np.testing.assert_allclose(multi["g2"], single["g2"], atol=1e-6)


UNEVEN_LOSS = """
from keras_simclr import losses
rng = np.random.default_rng(0)
z1 = rng.normal(size=(7, 6)).astype(np.float32)
z2 = (z1 + rng.normal(scale=0.3, size=(7, 6))).astype(np.float32)
# A last partial batch of 7 images: 4 + 3 on 2 replicas, 3 + 1 + 3 on 3.
bounds = {2: [0, 4, 7], 3: [0, 3, 4, 7]}[strategy.num_replicas_in_sync]

def step(a, b):
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        terms = losses.contrastive_terms(a, b, temperature=0.2)
        loss = terms.replica_loss()
    return (loss, terms.correct) + tuple(tape.gradient(loss, [a, b]))

a, b = (strategy.experimental_distribute_values_from_function(
    lambda ctx, z=z: z[bounds[ctx.replica_id_in_sync_group]:
                       bounds[ctx.replica_id_in_sync_group + 1]]) for z in (z1, z2))
results = tf.function(lambda a, b: strategy.run(step, args=(a, b)))(a, b)
loss, correct, g1, g2 = (strategy.experimental_local_results(t) for t in results)
save(loss=np.sum([l.numpy() for l in loss]),
     correct=np.concatenate([c.numpy().reshape(2, -1) for c in correct], axis=1),
     g1=np.concatenate([g.numpy() for g in g1]),
     g2=np.concatenate([g.numpy() for g in g2]))
"""


@tensorflow_only("tf.distribute replicas")
@pytest.mark.parametrize("replicas", [2, 3])
def test_uneven_replica_batches_equal_one_device(replicas):
    # Positives used to be placed at replica_id * n_local: with 4 + 3
    # images, replica 1's anchors were paired with the wrong views.
    multi = run_with_replicas(UNEVEN_LOSS, replicas)
    rng = np.random.default_rng(0)
    z1 = tf.constant(rng.normal(size=(7, 6)).astype(np.float32))
    z2 = tf.constant(
        (z1.numpy() + rng.normal(scale=0.3, size=(7, 6))).astype(np.float32)
    )
    with tf.GradientTape() as tape:
        tape.watch([z1, z2])
        terms = losses.contrastive_terms(z1, z2, temperature=0.2)
        loss = terms.replica_loss()
    g1, g2 = tape.gradient(loss, [z1, z2])
    np.testing.assert_allclose(
        float(loss), reference_nt_xent(z1.numpy(), z2.numpy(), 0.2), rtol=1e-5
    )
    np.testing.assert_allclose(multi["loss"], float(loss), rtol=1e-5)
    np.testing.assert_array_equal(
        multi["correct"].reshape(-1), np.asarray(terms.correct)
    )
    np.testing.assert_allclose(multi["g1"], np.asarray(g1), atol=1e-6)
    np.testing.assert_allclose(multi["g2"], g2.numpy(), atol=1e-6)
