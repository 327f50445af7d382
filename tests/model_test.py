import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from tests.tiny_models import tiny_encoder

pytestmark = pytest.mark.backend_neutral


def data(n=32, size=8, seed=0):
    rng = np.random.default_rng(seed)
    images = 0.7 * rng.uniform(size=(n, 1, 1, 3)) + 0.3 * rng.uniform(
        size=(n, size, size, 3)
    )
    return images.astype(np.float32), (np.arange(n) % 4).astype(np.int32)


def make_model(**kwargs):
    kwargs.setdefault("augment", keras.layers.GaussianNoise(0.05, seed=1))
    kwargs.setdefault("projection_head", ks.layers.ProjectionHead(2, output_dim=16))
    return ks.SimCLR(tiny_encoder(), temperature=0.5, **kwargs)


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_fit_reports_the_metrics_and_the_loss_falls():
    keras.utils.set_random_seed(0)
    images, labels = data(64)
    model = make_model(num_classes=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # 12 epochs: from some initial weights (JAX draws other ones than
    # TensorFlow from the same seed) the loss takes 11 to fall by 0.2.
    history = model.fit(images, labels, batch_size=32, epochs=12, verbose=0)
    logs = history.history
    assert set(logs) == {
        "loss",
        "contrastive_accuracy",
        "contrastive_entropy",
        "probe_loss",
        "probe_accuracy",
    }
    assert logs["loss"][-1] < logs["loss"][0] - 0.2
    assert logs["contrastive_accuracy"][-1] > logs["contrastive_accuracy"][0]
    # The entropy of a softmax over 2N - 1 = 63 candidates is at most log 63.
    assert 0 < logs["contrastive_entropy"][-1] < np.log(63)


def test_model_call_returns_the_representation():
    model = make_model()
    images, _ = data(4)
    h = model(images)
    np.testing.assert_allclose(h, model.encoder(images, training=False), atol=1e-6)
    uint8 = (images * 255).astype(np.uint8)
    np.testing.assert_allclose(model(uint8), model.encoder(uint8 / 255.0), atol=1e-5)


def test_views_from_tf_data_skip_augmentation():
    images, labels = data(32)
    view2 = images[:, ::-1]
    model = make_model(num_classes=4)
    model.compile(optimizer="sgd")
    # Three ways to hand over views, with and without labels.
    for batch in [
        tf.data.Dataset.from_tensor_slices((images, view2)),
        tf.data.Dataset.from_tensor_slices(((images, view2), labels)),
        tf.data.Dataset.from_tensor_slices({"view1": images, "view2": view2}),
    ]:
        results = model.evaluate(batch.batch(16), verbose=0, return_dict=True)
        assert np.isfinite(results["loss"])
    # Views are not re-augmented: evaluating identical views twice gives the
    # same loss, which random augmentation would not.
    pairs = tf.data.Dataset.from_tensor_slices((images, view2)).batch(32)
    first = model.evaluate(pairs, verbose=0, return_dict=True)["loss"]
    assert model.evaluate(pairs, verbose=0, return_dict=True)["loss"] == pytest.approx(
        first
    )


def test_unlabelled_images_do_not_train_the_probe():
    images, labels = data(32)
    model = make_model(num_classes=4)
    model.compile(optimizer="sgd")
    model.build((None, 8, 8, 3))
    initial = model.probe.get_weights()
    model.fit(images, np.full(32, -1), batch_size=16, epochs=1, verbose=0)
    for a, b in zip(initial, model.probe.get_weights()):  # still the initializer's
        np.testing.assert_array_equal(a, b)
    before = model.probe.get_weights()
    model.fit(images, np.full(32, -1), batch_size=16, epochs=1, verbose=0)
    for a, b in zip(before, model.probe.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(before[0], model.probe.get_weights()[0])


def test_probe_can_read_a_middle_head_layer():
    model = make_model(
        num_classes=4,
        probe_layer=1,
        projection_head=ks.layers.ProjectionHead(3, hidden_dim=12, output_dim=6),
    )
    images, labels = data(16)
    model.compile(optimizer="sgd")
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    assert model.probe.kernel.shape == (12, 4)


def test_save_and_load_round_trip(tmp_path):
    images, labels = data(32)
    model = make_model(num_classes=4, probe_layer=1)
    model.compile(optimizer=ks.optimizers.LARS(0.1))
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "run.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, ks.SimCLR)
    np.testing.assert_array_equal(
        restored.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    assert (
        restored.temperature == 0.5
        and restored.num_classes == 4
        and restored.probe_layer == 1
    )
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_jit_compile_gives_the_same_step():
    images, labels = data(32)
    pairs = ((images, images[:, ::-1]), labels)
    results = []
    for jit in (False, True):
        keras.utils.set_random_seed(3)
        model = make_model(num_classes=4, augment=keras.layers.Identity())
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9), jit_compile=jit
        )
        model.build((None, 8, 8, 3))
        initial = model.get_weights()
        history = model.fit(*pairs, batch_size=16, epochs=2, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.get_weights()))
    # XLA fuses and reorders float32 arithmetic, and the batch norms amplify
    # the round-off a little: equal to 1e-3 after steps that move the
    # weights by far more.
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, atol=1e-3)
    assert max(np.abs(a - b).max() for a, b in zip(initial, results[0][1])) > 0.05


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_a_float32_loss(policy):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    images, labels = data(32)
    model = ks.SimCLR(
        tiny_encoder(),
        ks.layers.ProjectionHead(2, output_dim=16),
        augment=keras.layers.GaussianNoise(0.05),
        temperature=0.05,
        num_classes=4,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(images, labels, batch_size=16, epochs=3, verbose=0)
    assert model.encoder.compute_dtype == policy.split("_")[1]
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.all(np.isfinite(model.get_weights()[0]))
    assert model.probe.compute_dtype == "float32"


@pytest.mark.parametrize(
    "batch, message",
    [
        (np.zeros((4, 8, 8), np.float32), "rank|shape"),
        (np.zeros((4, 8, 8, 1), np.float32), "3 channels"),
        (np.zeros((4, 8, 8, 3), np.int32), "dtype"),
    ],
)
def test_bad_images_are_clear_errors(batch, message):
    model = make_model()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=message):
        model.fit(batch, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, "temperature must be"),
        ({"temperature": -0.5}, "temperature must be"),
        ({"num_classes": 1}, "num_classes"),
        ({"probe_layer": -1}, "probe_layer"),
        (
            {"probe_layer": 1, "projection_head": keras.layers.Dense(4)},
            "ProjectionHead",
        ),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ks.SimCLR(tiny_encoder(), **kwargs)


def test_default_augmentation_is_simclr_for_the_input_size():
    model = ks.SimCLR(tiny_encoder(8))
    model.build((None, 8, 8, 3))
    assert isinstance(model.augment, ks.layers.SimCLRAugment)
    images, _ = data(4)
    views = model.augment(images, training=True)
    assert views.shape == (4, 8, 8, 3)


def test_uint8_images_reach_any_augmentation_as_floats():
    images, _ = data(16)
    model = make_model()  # GaussianNoise, which cannot add noise to uint8
    model.compile(optimizer="sgd")
    history = model.fit(
        (images * 255).astype(np.uint8), batch_size=16, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])


def test_the_private_keras_build_hook_simclr_overrides_is_unchanged():
    # SimCLR overrides Keras's private TensorFlowTrainer._maybe_symbolic_build
    # (Keras 3.15): no public hook runs before fit's symbolic build. If this
    # fails, Keras changed the hook: check SimCLR._maybe_symbolic_build.
    import inspect

    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    hook = TensorFlowTrainer._maybe_symbolic_build
    expected = ["self", "iterator", "data_batch"]
    assert list(inspect.signature(hook).parameters) == expected
    assert (
        list(inspect.signature(ks.SimCLR._maybe_symbolic_build).parameters) == expected
    )
    assert "for _, _, it in iterator:" in inspect.getsource(hook)
    for method in (TensorFlowTrainer.fit, TensorFlowTrainer.evaluate):
        assert "self._maybe_symbolic_build(iterator=" in inspect.getsource(method)
