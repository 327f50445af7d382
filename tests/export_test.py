"""Export: the SavedModel serves and fine-tunes without keras_simclr."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_simclr as ks
from keras_simclr import export
from keras_simclr.errors import UserInputError
from tests.replicas import run_with_replicas
from tests.tiny_models import tiny_simclr

SIZE = 16
HEAD = dict(num_layers=3, hidden_dim=32, output_dim=16)


def _randomize(layers, seed=0):
    """Non-trivial weights: no zero gamma, moving statistics away from 0/1."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        for v in layer.variables:
            if "moving_variance" in v.path:
                value = rng.uniform(0.5, 1.5, v.shape)
            elif "moving_mean" in v.path:
                value = rng.normal(0, 0.1, v.shape)
            elif "gamma" in v.path:
                value = rng.uniform(0.2, 0.6, v.shape)
            elif "beta" in v.path:
                value = rng.normal(0, 0.1, v.shape)
            else:
                value = rng.normal(0, 1 / np.sqrt(np.prod(v.shape[:-1])), v.shape)
            v.assign(value.astype("float32"))


def _simclr(size=SIZE):
    encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(size, size, 3))
    model = ks.SimCLR(
        encoder,
        projection_head=ks.layers.ProjectionHead(**HEAD),
        augment=keras.layers.RandomFlip("horizontal"),
        num_classes=4,
    )
    model(np.zeros((1, size, size, 3), "uint8"))
    _randomize([model.encoder, model.projection_head])
    return model


def _expected(model, images):
    h = model.encoder(images.astype("float32") / 255.0, training=False)
    hidden = model.projection_head.hidden_outputs(h, training=False)
    return {
        "representation": hidden[0].numpy(),
        "head_layer_1": hidden[1].numpy(),
        "head_layer_2": hidden[2].numpy(),
        "projection": hidden[3].numpy(),
    }


# Runs in a fresh interpreter where `import keras_simclr` fails.
_FRESH_PROCESS = r"""
import sys

class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "keras_simclr" or name.startswith("keras_simclr."):
            raise ImportError("keras_simclr is blocked in this process")

sys.meta_path.insert(0, _Block())
import json
import numpy as np
import tensorflow as tf
import keras

try:
    import keras_simclr  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
keras.utils.set_random_seed(0)
path, data = sys.argv[1], np.load(sys.argv[2])
images = data["images"]
result = {"blocked": blocked}
loaded = tf.saved_model.load(path)
serve = loaded.signatures["serving_default"]
spec = serve.structured_input_signature[1]["images"]
result["signatures"] = sorted(loaded.signatures)
result["input"] = [spec.dtype.name, list(spec.shape)]
out = serve(images=tf.constant(images))
result["outputs"] = sorted(out)
result["diff"] = {k: float(np.abs(out[k].numpy() - data[k]).max()) for k in out}
small = serve(images=tf.constant(images[:3]))
result["diff_batch3"] = float(
    np.abs(small["representation"].numpy() - data["representation"][:3]).max())
floats = loaded(tf.constant(images.astype("float32") / 255.0), training=False)
result["diff_float_call"] = float(
    np.abs(floats["representation"].numpy() - data["representation"]).max())
layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
result["diff_tfsm"] = float(
    np.abs(layer(tf.constant(images))["projection"].numpy() - data["projection"]).max())

# Gradients in training mode, against the in-memory model's.
variables = loaded.trainable_variables
result["num_trainable"] = len(variables)
x = tf.constant(images.astype("float32") / 255.0)
with tf.GradientTape() as tape:
    out = loaded(x, training=True)
    loss = tf.reduce_sum(out["representation"] * data["w_rep"]) + tf.reduce_sum(
        out["projection"] * data["w_proj"])
grads = tape.gradient(loss, variables)
result["none_grads"] = sum(g is None for g in grads)
result["grad_rel_err"] = max(
    float(np.abs(g.numpy() - data[f"grad_{i}"]).max()
          / (np.abs(data[f"grad_{i}"]).max() + 1e-12))
    for i, g in enumerate(grads))

# A few steps of supervised training on top of the loaded encoder.
labels = tf.constant(data["labels"])
classifier = keras.layers.Dense(4)
optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
before = [v.numpy().copy() for v in loaded.variables]
def step():
    with tf.GradientTape() as tape:
        h = loaded(x, training=True)["representation"]
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            labels, classifier(h), from_logits=True))
    trainable = loaded.trainable_variables + classifier.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, trainable), trainable))
    return float(loss)
losses = [step() for _ in range(15)]
result["losses"] = [losses[0], losses[-1]]
result["changed"] = [
    int(not np.array_equal(b, v.numpy())) for b, v in zip(before, loaded.variables)]
result["num_variables"] = len(loaded.variables)

# The same with Keras: TFSMLayer trained by fit, BN in training mode. Plain
# SGD: Keras 3.15's TFSMLayer names its weights "...:0", which optimizers
# with slot variables (momentum, Adam) reject as scope names.
layer = keras.layers.TFSMLayer(
    path, call_endpoint="serving_default", call_training_endpoint="train")
inputs = keras.Input((images.shape[1], images.shape[2], 3), dtype="uint8")
logits = keras.layers.Dense(4)(layer(inputs)["representation"])
model = keras.Model(inputs, logits)
model.compile(keras.optimizers.SGD(0.3),
              keras.losses.SparseCategoricalCrossentropy(from_logits=True))
weights = [w.numpy().copy() for w in layer.trainable_weights]
history = model.fit(images, data["labels"], epochs=15, batch_size=len(images), verbose=0)
result["tfsm_losses"] = [history.history["loss"][0], history.history["loss"][-1]]
result["tfsm_trainable"] = len(layer.trainable_weights)
result["tfsm_changed"] = sum(
    int(not np.array_equal(a, w.numpy())) for a, w in zip(weights, layer.trainable_weights))
print("RESULT" + json.dumps(result))
"""


def _run_fresh_process(tmp, model):
    """Exports `model`, runs _FRESH_PROCESS on it; returns (path, result, stderr)."""
    images = np.random.default_rng(1).integers(0, 256, (6, SIZE, SIZE, 3), "uint8")
    expected = _expected(model, images)
    path = model.export_encoder(str(tmp / "encoder"))
    rng = np.random.default_rng(2)
    arrays = dict(expected, images=images, labels=np.arange(6) % 4)
    arrays["w_rep"] = rng.normal(size=expected["representation"].shape)
    arrays["w_proj"] = rng.normal(size=expected["projection"].shape)
    x = tf.constant(images.astype("float32") / 255.0)
    variables = model.encoder.trainable_variables + (
        model.projection_head.trainable_variables
    )
    with tf.GradientTape() as tape:
        h = model.encoder(x, training=True)
        z = model.projection_head(h, training=True)
        loss = tf.reduce_sum(h * arrays["w_rep"]) + tf.reduce_sum(z * arrays["w_proj"])
    for i, g in enumerate(tape.gradient(loss, variables)):
        arrays[f"grad_{i}"] = g.numpy()
    np.savez(tmp / "data.npz", **arrays)
    script = tmp / "fresh.py"
    script.write_text(_FRESH_PROCESS)
    run = subprocess.run(
        [sys.executable, str(script), path, str(tmp / "data.npz")],
        capture_output=True,
        text=True,
        cwd=tmp,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT")]
    assert run.returncode == 0 and lines, run.stderr[-4000:]
    return path, json.loads(lines[0][len("RESULT") :]), run.stderr


# One test, one export and one fresh process: the checks share them (a
# module fixture would be rebuilt on every pytest-xdist worker).
def test_export_serves_and_finetunes_without_keras_simclr(tmp_path):
    keras.utils.set_random_seed(0)
    model = _simclr()
    path, result, stderr = _run_fresh_process(tmp_path, model)
    num_trainable = len(model.encoder.trainable_variables) + len(
        model.projection_head.trainable_variables
    )
    head_trainable = len(model.projection_head.trainable_variables)

    # Serving: signature, outputs equal to the in-memory model's, any batch.
    assert result["blocked"]
    assert result["signatures"] == ["serving_default", "train"]
    assert result["input"] == ["uint8", [None, SIZE, SIZE, 3]]
    assert result["outputs"] == [
        "head_layer_1",
        "head_layer_2",
        "projection",
        "representation",
    ]
    for name, diff in result["diff"].items():
        assert diff < 1e-5, name
    assert result["diff_batch3"] < 1e-5
    assert result["diff_float_call"] < 1e-5
    assert result["diff_tfsm"] < 1e-5

    # Gradients in training mode match the in-memory model's, and the
    # exported functions carry no gradient the loader cannot restore.
    assert result["num_trainable"] == num_trainable
    assert result["none_grads"] == 0
    assert result["grad_rel_err"] < 1e-3
    assert "unsaved custom gradients" not in stderr

    # Fine-tuning: the loss falls; every variable moves (weights by the
    # optimizer, moving statistics by batch norm in training mode) but the
    # head's weights, outside the loss.
    first, last = result["losses"]
    assert last < 0.5 * first
    assert sum(result["changed"]) == result["num_variables"] - head_trainable
    first, last = result["tfsm_losses"]
    assert last < 0.7 * first
    assert result["tfsm_trainable"] == num_trainable
    assert result["tfsm_changed"] == result["tfsm_trainable"] - head_trainable

    with open(os.path.join(path, export.METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["image_size"] == [SIZE, SIZE]
    assert metadata["outputs"] == {
        "head_layer_1": 32,
        "head_layer_2": 32,
        "projection": 16,
        "representation": 512,
    }


def _tiny_encoder(size=SIZE):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, use_bias=False)(inputs)
    x = ks.layers.batch_norm()(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def test_representation_only(tmp_path):
    model = ks.SimCLR(
        _tiny_encoder(),
        projection_head=ks.layers.ProjectionHead(**HEAD),
        augment=keras.layers.Identity(),
    )
    model(np.zeros((1, SIZE, SIZE, 3), "uint8"))
    _randomize([model.encoder, model.projection_head])
    images = np.random.default_rng(3).integers(0, 256, (2, SIZE, SIZE, 3), "uint8")
    expected = _expected(model, images)["representation"]
    for path, source in (
        (tmp_path / "no_head", model),
        (tmp_path / "encoder_only", model.encoder),
    ):
        kwargs = {"include_projection": False} if source is model else {}
        export.export_encoder(source, path, **kwargs)
        out = tf.saved_model.load(str(path)).signatures["serving_default"](
            images=tf.constant(images)
        )
        assert sorted(out) == ["representation"]
        np.testing.assert_allclose(out["representation"], expected, atol=1e-5)
    # Evaluation reads an exported encoder as it reads the Keras one.
    data = (images, np.arange(2))
    from_saved_model, _ = ks.evaluation.extract_features(str(path), data)
    from_keras, _ = ks.evaluation.extract_features(model, data)
    np.testing.assert_allclose(from_saved_model, from_keras, atol=1e-5)


def test_free_input_size_and_errors(tmp_path):
    encoder = _tiny_encoder(size=None)
    export.export_encoder(encoder, tmp_path / "free")
    loaded = tf.saved_model.load(str(tmp_path / "free"))
    spec = loaded.signatures["serving_default"].structured_input_signature[1]
    assert list(spec["images"].shape) == [None, None, None, 3]
    out = loaded.signatures["serving_default"](
        images=tf.zeros((2, 24, 20, 3), tf.uint8)
    )
    assert out["representation"].shape == (2, 8)
    fixed = _tiny_encoder()
    with pytest.raises(ValueError, match="differs from the encoder's input size"):
        export.export_encoder(fixed, tmp_path / "bad", image_size=32)
    with pytest.raises(ValueError, match="SimCLR model or a Keras encoder"):
        export.export_encoder(object(), tmp_path / "bad")


def test_whole_model_keras_file_loads_in_safe_mode(tmp_path):
    encoder = ks.encoders.ResNet(18, cifar_stem=True, input_shape=(SIZE, SIZE, 3))
    model = ks.SimCLR(
        encoder,
        projection_head=ks.layers.ProjectionHead(**HEAD),
        augment=ks.layers.SimCLRAugment(SIZE, SIZE, strength=0.5, blur=False),
        temperature=0.5,
        num_classes=4,
    )
    model.compile(
        optimizer=ks.optimizers.LARS(
            ks.schedules.WarmupCosineDecay(1.0, warmup_steps=10, total_steps=100),
            weight_decay=1e-6,
            exclude_from_weight_decay=["probe"],
        )
    )
    images = np.random.default_rng(0).integers(0, 256, (4, SIZE, SIZE, 3), "uint8")
    model(images)
    model.optimizer.build(model.trainable_variables)
    _randomize([model.encoder, model.projection_head])
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(restored, ks.SimCLR)
    assert isinstance(restored.augment, ks.layers.SimCLRAugment)
    assert restored.augment.get_config() == model.augment.get_config()
    assert isinstance(restored.optimizer, ks.optimizers.LARS)
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(restored(images), model(images))


def test_model_trained_under_mirrored_strategy_exports_and_evaluates():
    # Colab's GPU path: the model's variables are MirroredVariables.
    out = run_with_replicas(
        """
        import tempfile
        import keras_simclr as ks
        from keras_simclr.callbacks import KNNMonitor

        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        labels = (np.arange(64) % 4).astype(np.int32)
        images = rng.integers(0, 256, (64, 8, 8, 3)).astype(np.uint8)
        from tests.tiny_models import tiny_encoder
        with strategy.scope():
            model = ks.SimCLR(
                tiny_encoder(8),
                projection_head=ks.layers.ProjectionHead(2, output_dim=8),
                augment=keras.layers.GaussianNoise(0.05, seed=1),
            )
            model.compile(optimizer=keras.optimizers.SGD(0.1))
        monitor = KNNMonitor((images, labels), (images, labels), k=1)
        history = model.fit(
            images / 255.0, batch_size=32, epochs=1, verbose=0, callbacks=[monitor])
        path = tempfile.mkdtemp() + "/encoder"
        model.export_encoder(path)
        served = tf.saved_model.load(path).signatures["serving_default"](
            images=tf.constant(images))
        h = model.encoder.predict(images.astype(np.float32) / 255.0, verbose=0)
        save(replicas=strategy.num_replicas_in_sync,
             knn=history.history["knn_accuracy"][0],
             diff=np.abs(served["representation"].numpy() - h).max())
        """,
        2,
    )
    assert out["replicas"] == 2
    assert out["knn"] == 1.0  # k = 1 on its own bank: every image finds itself
    assert out["diff"] < 1e-5


def test_an_export_never_overwrites_unless_asked_and_then_replaces_whole(tmp_path):
    model = tiny_simclr()
    model(np.zeros((1, 8, 8, 3), "uint8"))
    target = tmp_path / "encoder"
    model.export_encoder(str(target))
    stale = target / "assets" / "old_vocabulary.txt"
    stale.parent.mkdir(exist_ok=True)
    stale.write_text("another model's")
    graph = (target / "saved_model.pb").read_bytes()
    for write in (
        lambda **kw: export.export_encoder(model, target, **kw),
        lambda **kw: model.export_encoder(str(target), **kw),
    ):
        with pytest.raises(UserInputError) as refused:
            write()
        assert str(refused.value) == (
            f"{target} already holds files (assets, assets.extra, "
            "fingerprint.pb, saved_model.pb, ...) — pass overwrite=True to replace "
            "all of them, or export to a new folder"
        )
        assert (target / "saved_model.pb").read_bytes() == graph
        assert stale.read_text() == "another model's"
    model.export_encoder(str(target), overwrite=True)
    assert not stale.exists()
    assert sorted(os.listdir(target / "assets")) == []
    served = tf.saved_model.load(str(target)).signatures["serving_default"]
    h = served(images=tf.zeros((2, 8, 8, 3), tf.uint8))["representation"]
    np.testing.assert_allclose(h, model.encoder(tf.zeros((2, 8, 8, 3))), atol=1e-5)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export.export_encoder(model, empty) == str(empty)  # an empty folder: fine


def test_an_export_into_checkpoints_is_refused(tmp_path):
    model = tiny_simclr()
    model(np.zeros((1, 8, 8, 3), "uint8"))
    (tmp_path / "checkpoints" / "ckpt-10").mkdir(parents=True)
    for target in (
        tmp_path / "checkpoints" / "ckpt-10",
        tmp_path / "checkpoints" / "ckpt-20" / "encoder",
        tmp_path / "checkpoints",
    ):
        with pytest.raises(UserInputError, match="inside a run's checkpoints"):
            export.export_encoder(model, target, overwrite=True)
    assert os.listdir(tmp_path / "checkpoints") == ["ckpt-10"]
    assert os.listdir(tmp_path / "checkpoints" / "ckpt-10") == []


# Serves an export with TensorFlow alone: keras_simclr and JAX cannot load.
_SERVE_ALONE = r"""
import sys

class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras_simclr", "jax", "jaxlib"):
            raise ImportError(f"{name} is blocked in this process")

sys.meta_path.insert(0, _Block())
import numpy as np
import tensorflow as tf

loaded = tf.saved_model.load(sys.argv[1])
serve = loaded.signatures["serving_default"]
spec = serve.structured_input_signature[1]["images"]
out = serve(images=tf.constant(np.load(sys.argv[2])["images"]))
np.savez(
    sys.argv[3],
    signatures=np.array(sorted(loaded.signatures)),
    input=np.array([spec.dtype.name, str(spec.shape.as_list())]),
    **{name: value.numpy() for name, value in out.items()},
)
"""

# On JAX: a tiny SimCLR with a 3-layer head, its outputs, and its export.
_EXPORT_ON_JAX = """
import keras_simclr as ks
from tests.tiny_models import tiny_encoder
keras.utils.set_random_seed(0)
model = ks.SimCLR(
    tiny_encoder({size}, synchronized=False),
    ks.layers.ProjectionHead(3, hidden_dim=8, output_dim=6),
    augment=keras.layers.Identity(),
)
images = np.random.default_rng(1).integers(0, 256, (5, {size}, {size}, 3), "uint8")
model(images)
for v in model.non_trainable_variables:  # moving statistics away from 0 and 1
    v.assign(np.random.default_rng(2).uniform(0.5, 1.5, v.shape).astype(v.dtype))
h = model.encoder(images.astype("float32") / 255.0, training=False)
hidden = model.projection_head.hidden_outputs(h, training=False)
model.export_encoder({path!r})
save(images=images, backend=np.array(keras.backend.backend()),
     **{{name: np.asarray(x) for name, x in zip(
         ["representation", "head_layer_1", "head_layer_2", "projection"], hidden)}})
"""


def test_an_export_on_jax_is_the_tensorflow_savedmodel_served_alone(tmp_path):
    path = str(tmp_path / "encoder")
    expected = run_with_replicas(
        _EXPORT_ON_JAX.format(size=SIZE, path=path), 1, backend="jax"
    )
    assert str(expected.pop("backend")) == "jax"
    np.savez(tmp_path / "images.npz", images=expected.pop("images"))
    (tmp_path / "serve.py").write_text(_SERVE_ALONE)
    run = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "serve.py"),
            path,
            str(tmp_path / "images.npz"),
            str(tmp_path / "served.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert run.returncode == 0, run.stderr[-4000:]
    served = dict(np.load(tmp_path / "served.npz"))
    # The signatures of a TensorFlow export (test above).
    assert list(served.pop("signatures")) == ["serving_default", "train"]
    assert list(served.pop("input")) == ["uint8", f"[None, {SIZE}, {SIZE}, 3]"]
    assert sorted(served) == sorted(expected)
    for name, value in expected.items():
        assert np.abs(served[name] - value).max() < 1e-5, name
