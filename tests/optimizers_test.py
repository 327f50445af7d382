"""Tests for keras_simclr.optimizers.LARS against a NumPy float64 reference."""

import contextlib
import math
import os

import keras
import numpy as np
import pytest

from keras_simclr.optimizers import LARS
from keras_simclr.schedules import WarmupCosineDecay
from tests.backend_marks import tensorflow_only
from tests.replicas import run_with_replicas

pytestmark = pytest.mark.backend_neutral

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def np_lars_step(w, g, v, lr, momentum, wd, eeta, nesterov, use_wd, use_la):
    """One LARS step (You et al. 2017, as the SimCLR reference), float64.

    Returns the new (w, v).
    """
    w, g, v = (np.asarray(a, np.float64) for a in (w, g, v))
    if use_wd:
        g = g + wd * w
    tr = 1.0
    if use_la:
        w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
        if w_norm > 0 and g_norm > 0:
            tr = eeta * w_norm / g_norm
    lr_w = lr * tr
    v = momentum * v + lr_w * g
    if nesterov:
        w = w - (momentum * v + lr_w * g)
    else:
        w = w - v
    return w, v


def _variables(rng, specs):
    """Creates keras Variables named by path from {path: shape}."""
    out = []
    for path, shape in specs.items():
        *scopes, name = path.split("/")
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(keras.name_scope(scope))
            out.append(
                keras.Variable(rng.normal(size=shape).astype("float32"), name=name)
            )
        assert out[-1].path == path
    return out


def _run_against_numpy(opt, variables, grads_per_step, lr_fn, flags, hp):
    """Applies `grads_per_step` with `opt` and with NumPy; returns max diff."""
    ws = [np.array(v.numpy(), np.float64) for v in variables]
    vs = [np.zeros_like(w) for w in ws]
    max_diff = 0.0
    for step, grads in enumerate(grads_per_step):
        opt.apply_gradients(
            [(keras.ops.convert_to_tensor(g), v) for g, v in zip(grads, variables)]
        )
        lr = lr_fn(step)
        for i, g in enumerate(grads):
            ws[i], vs[i] = np_lars_step(
                ws[i], g, vs[i], lr, use_wd=flags[i][0], use_la=flags[i][1], **hp
            )
        for i, var in enumerate(variables):
            slot = opt._momentums[opt._get_variable_index(var)]
            np.testing.assert_allclose(var.numpy(), ws[i], rtol=2e-6, atol=1e-6)
            np.testing.assert_allclose(slot.numpy(), vs[i], rtol=2e-6, atol=1e-7)
            max_diff = max(
                max_diff,
                np.abs(var.numpy() - ws[i]).max(),
                np.abs(slot.numpy() - vs[i]).max(),
            )
    return max_diff


# Kernel: decay + adaptation. Bias (rank 1): neither. "probe" kernel excluded
# by regex from both. "head" kernel: decay only, layer adaptation kept.
SPECS = {
    "encoder/dense/kernel": (5, 4),
    "encoder/dense/bias": (4,),
    "probe/dense/kernel": (4, 3),
    "head/dense/kernel": (4, 2),
}
FLAGS = [(True, True), (False, False), (False, False), (False, True)]


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-4, 0.1])
def test_matches_numpy_reference(weight_decay, nesterov):
    rng = np.random.default_rng(0)
    variables = _variables(rng, SPECS)
    grads = [
        [rng.normal(size=s).astype("float32") * (1 + step) for s in SPECS.values()]
        for step in range(6)
    ]
    hp = dict(momentum=0.9, wd=weight_decay, eeta=0.05, nesterov=nesterov)
    opt = LARS(
        0.5,
        momentum=0.9,
        weight_decay=weight_decay,
        eeta=0.05,
        nesterov=nesterov,
        exclude_from_weight_decay=["probe", "head"],
        exclude_from_layer_adaptation=["probe"],
    )
    initial = [v.numpy().copy() for v in variables]
    diff = _run_against_numpy(opt, variables, grads, lambda s: 0.5, FLAGS, hp)
    assert diff < 1e-5
    # Every variable really moved (the comparison is not vacuous).
    for v, w0 in zip(variables, initial):
        assert np.abs(v.numpy() - w0).max() > 1e-3
    assert [opt.uses_weight_decay(v) for v in variables] == [f[0] for f in FLAGS]
    assert [opt.uses_layer_adaptation(v) for v in variables] == [f[1] for f in FLAGS]


def test_default_exclusions_and_inherited_layer_adaptation():
    rng = np.random.default_rng(1)
    variables = _variables(rng, SPECS)
    # "probe" given only for weight decay also removes layer adaptation
    # (as in the reference), rank <= 1 is always excluded.
    opt = LARS(0.1, weight_decay=1e-3, exclude_from_weight_decay="probe")
    opt.build(variables)
    assert [opt.uses_weight_decay(v) for v in variables] == [True, False, False, True]
    assert [opt.uses_layer_adaptation(v) for v in variables] == [
        True,
        False,
        False,
        True,
    ]
    # The base class's exclude_from_weight_decay() method is honoured too
    # (weight decay only; it matches variable names, not paths).
    opt = LARS(0.1, weight_decay=1e-3)
    opt.exclude_from_weight_decay(var_names=["kernel"])
    opt.build(variables)
    assert [opt.uses_weight_decay(v) for v in variables] == [False] * 4
    assert [opt.uses_layer_adaptation(v) for v in variables] == [
        True,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize("schedule", ["warmup_cosine", "keras_piecewise"])
def test_matches_numpy_with_learning_rate_schedule(schedule):
    if schedule == "warmup_cosine":
        lr = WarmupCosineDecay(2.0, warmup_steps=3, total_steps=7)

        def lr_fn(s):
            if s < 3:
                return 2.0 * s / 3
            return 0.5 * 2.0 * (1 + math.cos(math.pi * min(s - 3, 4) / 4))
    else:
        lr = keras.optimizers.schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.3, 0.05])

        def lr_fn(s):
            return 1.0 if s <= 2 else (0.3 if s <= 5 else 0.05)

    rng = np.random.default_rng(2)
    variables = _variables(rng, SPECS)
    grads = [
        [rng.normal(size=s).astype("float32") for s in SPECS.values()] for _ in range(9)
    ]
    opt = LARS(
        lr,
        weight_decay=1e-2,
        eeta=0.1,
        exclude_from_weight_decay=["probe", "head"],
        exclude_from_layer_adaptation=["probe"],
    )
    hp = dict(momentum=0.9, wd=1e-2, eeta=0.1, nesterov=False)
    assert _run_against_numpy(opt, variables, grads, lr_fn, FLAGS, hp) < 1e-5


def test_no_decoupled_weight_decay_from_base_class():
    # A bias with zero gradient and zero momentum must not move at all,
    # whatever the weight decay: the base class's decoupled decay is off.
    with keras.name_scope("m"):
        bias = keras.Variable(np.ones(3, "float32"), name="bias")
        kernel = keras.Variable(np.ones((2, 3), "float32"), name="kernel")
    opt = LARS(1.0, weight_decay=0.5)
    opt.apply_gradients(
        [(np.zeros(3, "float32"), bias), (np.zeros((2, 3), "float32"), kernel)]
    )
    np.testing.assert_array_equal(bias.numpy(), np.ones(3))
    # The kernel's coupled decay: g' = 0.5 w, tr = eeta |w| / |g'| = 0.002,
    # so w -= 1.0 * 0.002 * 0.5 w.
    np.testing.assert_allclose(kernel.numpy(), np.full((2, 3), 0.999), rtol=1e-6)
    assert opt.get_config()["weight_decay"] == 0.5


@pytest.mark.parametrize("case", ["zero_weights", "zero_grads", "both"])
def test_zero_weights_or_gradients_give_no_nan(case):
    w = (
        np.zeros((3, 4), "float32")
        if case != "zero_grads"
        else (np.arange(12, dtype="float32").reshape(3, 4) / 10)
    )
    g = (
        np.zeros((3, 4), "float32")
        if case != "zero_weights"
        else (np.full((3, 4), 0.5, "float32"))
    )
    with keras.name_scope("m"):
        var = keras.Variable(w, name="kernel")
    opt = LARS(0.1, weight_decay=0.0)
    ws, vs = w.astype(np.float64), np.zeros_like(w, np.float64)
    for _ in range(3):
        opt.apply_gradients([(g, var)])
        ws, vs = np_lars_step(ws, g, vs, 0.1, 0.9, 0.0, 0.001, False, True, True)
        assert np.all(np.isfinite(var.numpy()))
    np.testing.assert_allclose(var.numpy(), ws, rtol=1e-6, atol=1e-7)
    if case == "zero_weights":
        # tr = 1 on the first step (|w| = 0): a plain SGD step of lr * g.
        assert np.abs(var.numpy()).max() > 0.1


def test_zero_weights_no_nan_in_compiled_training():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, kernel_initializer="zeros"),
            keras.layers.Dense(1, kernel_initializer="zeros"),
        ]
    )
    model.compile(LARS(0.1, weight_decay=1e-4), "mse", jit_compile=True)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    history = model.fit(x, np.ones((16, 1)), batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    for v in model.weights + model.optimizer.variables:
        assert np.all(np.isfinite(np.asarray(v.numpy(), np.float64)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(momentum=-0.1), "momentum"),
        (dict(momentum=1.5), "momentum"),
        (dict(weight_decay=-1e-6), "weight_decay"),
        (dict(eeta=-0.001), "eeta"),
        (dict(eeta=0.0), "eeta"),
        (dict(nesterov="yes"), "nesterov"),
        (dict(exclude_from_weight_decay=["("]), "regular expression"),
        (dict(exclude_from_layer_adaptation=[3]), "exclude_from_layer"),
        (dict(learning_rate=-1.0), "learning_rate"),
    ],
)
def test_invalid_arguments(kwargs, message):
    kwargs = dict(dict(learning_rate=0.1), **kwargs)
    with pytest.raises(ValueError, match=message):
        LARS(**kwargs)


def test_config_round_trip():
    opt = LARS(
        WarmupCosineDecay(4.8, 10, 100),
        momentum=0.8,
        weight_decay=1e-6,
        eeta=0.002,
        nesterov=True,
        exclude_from_weight_decay=["probe"],
        exclude_from_layer_adaptation=["probe", "bn"],
        clipnorm=1.0,
    )
    config = opt.get_config()
    assert config["weight_decay"] == 1e-6
    restored = LARS.from_config(dict(config))  # from_config edits its input
    for attr in (
        "momentum",
        "weight_decay",
        "eeta",
        "nesterov",
        "clipnorm",
        "exclude_from_weight_decay_patterns",
        "exclude_from_layer_adaptation_patterns",
    ):
        assert getattr(restored, attr) == getattr(opt, attr), attr
    assert restored.get_config() == config
    # Through Keras's generic (de)serialization, by registered name.
    serialized = keras.optimizers.serialize(opt)
    assert serialized["registered_name"] == "keras_simclr>LARS"
    again = keras.optimizers.deserialize(serialized)
    assert isinstance(again, LARS)
    assert isinstance(again._learning_rate, WarmupCosineDecay)
    assert again.get_config() == config
    # The inherited default survives a round trip as "inherit".
    plain = LARS(0.1, exclude_from_weight_decay="probe")
    assert LARS.from_config(plain.get_config()).get_config() == (plain.get_config())


def _small_model(seed=0):
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, name="hidden"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Activation("relu"),
            keras.layers.Dense(3, name="probe"),
        ]
    )
    model.set_weights(
        [
            rng.normal(size=w.shape).astype("float32") * 0.5 if w.ndim else w
            for w in model.get_weights()
        ]
    )
    return model


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5, -x[:, 3]], 1)
    return x, y.astype("float32")


def _lars():
    return LARS(
        WarmupCosineDecay(0.5, 2, 20),
        weight_decay=1e-4,
        eeta=0.01,
        exclude_from_weight_decay=["probe"],
    )


def _state(model):
    return (
        [v.numpy().copy() for v in model.weights],
        [np.asarray(v.numpy()).copy() for v in model.optimizer.variables],
    )


def test_save_load_resumes_identically(tmp_path):
    x, y = _data()
    model = _small_model()
    model.compile(_lars(), "mse")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, LARS)
    assert int(loaded.optimizer.iterations.numpy()) == 4
    # Slots restored before any further step.
    for a, b in zip(_state(model)[1], _state(loaded)[1]):
        np.testing.assert_array_equal(a, b)
    slots = [
        np.asarray(v.numpy())
        for v in loaded.optimizer.variables
        if v.path.endswith("_momentum")
    ]
    assert len(slots) == len(loaded.trainable_variables)
    assert all(np.abs(s).max() > 0 for s in slots)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    (w1, s1), (w2, s2) = _state(model), _state(loaded)
    assert len(s1) == len(s2) == 1 + len(model.trainable_weights)
    for a, b in zip(w1 + s1, w2 + s2):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # Exclusions were decided again, identically, on the loaded copy.
    assert [
        loaded.optimizer.uses_weight_decay(v) for v in loaded.trainable_variables
    ] == [True, False, False, False, False, False]


def test_jit_compile_matches_eager_graph():
    x, y = _data()
    states = []
    for jit in (False, True):
        model = _small_model()
        model.compile(_lars(), "mse", jit_compile=jit)
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        states.append(_state(model))
    for a, b in zip(states[0][0] + states[0][1], states[1][0] + states[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@tensorflow_only(
    "an eager LossScaleOptimizer.apply (on JAX Keras applies it statelessly in fit)"
)
def test_loss_scale_optimizer_matches_plain_lars():
    rng = np.random.default_rng(3)
    grads = [
        [rng.normal(size=s).astype("float32") for s in SPECS.values()] for _ in range(4)
    ]
    finals = []
    for wrap in (False, True):
        variables = _variables(np.random.default_rng(4), SPECS)
        opt = LARS(0.5, weight_decay=1e-3, eeta=0.05)
        if wrap:
            opt = keras.optimizers.LossScaleOptimizer(opt, initial_scale=1024.0)
        for step_grads in grads:
            scale = 1024.0 if wrap else 1.0
            opt.apply([g * scale for g in step_grads], variables)
        finals.append([v.numpy() for v in variables])
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_mixed_float16_training():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(3, dtype="float32"),
            ]
        )
        model.compile(LARS(0.5, weight_decay=1e-4, eeta=0.01), "mse")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(model.optimizer.inner_optimizer, LARS)
        x, y = _data(128)
        history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    loss = history.history["loss"]
    assert np.all(np.isfinite(loss))
    assert loss[-1] < 0.7 * loss[0], loss
    for v in model.weights + model.optimizer.variables:
        assert np.all(np.isfinite(np.asarray(v.numpy(), np.float64)))


_REPLICA_SNIPPET = """
import keras_simclr
from keras_simclr.optimizers import LARS

seen = {}

class RecordingLARS(LARS):
    def update_step(self, gradient, variable, learning_rate):
        # Trace-time record of the (static) decisions update_step sees on
        # the per-replica component variables.
        seen[variable.name.split(":")[0]] = (
            self.uses_weight_decay(variable),
            self.uses_layer_adaptation(variable))
        return super().update_step(gradient, variable, learning_rate)

rng = np.random.default_rng(0)
x = rng.normal(size=(48, 6)).astype("float32")
y = np.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5, -x[:, 3]], 1)
with strategy.scope():
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, name="hidden"),
        keras.layers.BatchNormalization(name="bn", synchronized=True),
        keras.layers.Activation("relu"),
        keras.layers.Dense(3, name="probe"),
    ])
    wrng = np.random.default_rng(1)
    model.set_weights([wrng.normal(size=w.shape).astype("float32") * 0.5
                       if w.ndim else w for w in model.get_weights()])
    opt = RecordingLARS(0.3, weight_decay=1e-4, eeta=0.05,
                        exclude_from_weight_decay=["bias"],
                        exclude_from_layer_adaptation=["probe"])
    model.compile(opt, "mse")
model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
paths = [v.path for v in model.trainable_variables]
save(**{f"w{i}": w for i, w in enumerate(model.get_weights())},
     **{f"s{i}": np.asarray(v.numpy()) for i, v in enumerate(opt.variables)},
     flags=np.array([[opt.uses_weight_decay(v), opt.uses_layer_adaptation(v)]
                     for v in model.trainable_variables]),
     seen=np.array(sorted(f"{k}={int(a)}{int(b)}"
                          for k, (a, b) in seen.items())),
     paths=np.array(paths))
"""


def test_one_and_two_replicas_give_same_variables():
    env = {"PYTHONPATH": REPO_ROOT}
    one = run_with_replicas(_REPLICA_SNIPPET, 1, env=env)
    two = run_with_replicas(_REPLICA_SNIPPET, 2, env=env)
    paths = list(one["paths"])
    assert paths == [
        "sequential/hidden/kernel",
        "sequential/hidden/bias",
        "sequential/bn/gamma",
        "sequential/bn/beta",
        "sequential/probe/kernel",
        "sequential/probe/bias",
    ]
    # hidden kernel: both; probe kernel: decay only; rank-1: neither.
    expected = [[1, 1], [0, 0], [0, 0], [0, 0], [1, 0], [0, 0]]
    np.testing.assert_array_equal(one["flags"], expected)
    np.testing.assert_array_equal(two["flags"], expected)
    # The decisions update_step used, on every replica's component.
    seen_one = {f"{p}={a}{b}" for p, (a, b) in zip(paths, expected)}
    assert set(one["seen"]) == seen_one
    assert set(two["seen"]) == seen_one | {
        f"{p}/replica_1={a}{b}" for p, (a, b) in zip(paths, expected)
    }
    assert int(one["s0"]) == int(two["s0"]) == 3  # iterations
    keys = sorted(k for k in one if k[0] in "ws" and k[1:].isdigit())
    assert keys == sorted(k for k in two if k[0] in "ws" and k[1:].isdigit())
    for k in keys:
        np.testing.assert_allclose(one[k], two[k], rtol=1e-5, atol=1e-5, err_msg=k)
    # Training did move the momentum slots (the comparison is not vacuous).
    assert np.abs(one["s2"]).max() > 1e-3
