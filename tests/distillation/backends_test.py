"""`Distillation` on JAX against TensorFlow: the same weights and images give the same steps."""

import functools

import numpy as np

from tests.replicas import run_with_replicas

# Two steps of 8 images: weights from NumPy (the backends' initialisers
# differ), no augmentation, a plain batch norm, labelled and unlabelled
# images, momentum (so the second step depends on the first).
TWO_STEPS = """
import keras_simclr as ks
from keras_simclr import distillation

def classifier(name):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
    encoder = keras.Model(inputs, x, name=name + "_encoder")
    model = distillation.classifier_student(encoder, 4, name=name)
    rng = np.random.default_rng(len(name))
    for v in model.weights:
        value = rng.normal(size=v.shape) * 0.5
        if "variance" in v.path:
            value = np.abs(value) + 0.5
        v.assign(value.astype("float32"))
    return model

rng = np.random.default_rng(0)
images = (0.6 * rng.uniform(size=(16, 1, 1, 3))
          + 0.4 * rng.uniform(size=(16, 8, 8, 3))).astype(np.float32)
labels = (np.arange(16) % 4).astype(np.int32)
labels[::3] = -1
if distribution is not None:
    keras.distribution.set_distribution(distribution)
teacher, student = classifier("teacher"), classifier("student_net")
model = ks.Distillation(teacher, student, temperature=2.0, alpha=0.5,
                        augment=keras.layers.Identity())
model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
history = model.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
save(**{f"w{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(student.weights)},
     **{k: np.array(v) for k, v in history.history.items()})
"""

_PRELUDES = {
    "tensorflow": "distribution = None\n",
    "jax": "",  # the JAX prelude defines `distribution`
}


@functools.cache  # the one-device JAX run serves both tests
def _run(backend, devices=1):
    return run_with_replicas(_PRELUDES[backend] + TWO_STEPS, devices, backend=backend)


# Not backend_neutral: each backend runs in its own process, whatever the
# test process' backend; CI's TensorFlow pass runs them once.
def test_jax_steps_equal_tensorflow_steps():
    tensorflow, jax = _run("tensorflow"), _run("jax")
    assert set(jax) == set(tensorflow)
    assert {"loss", "distillation_loss", "label_loss", "accuracy"} <= set(jax)
    for key in tensorflow:
        np.testing.assert_allclose(
            jax[key], tensorflow[key], rtol=1e-5, atol=1e-5, err_msg=key
        )
    # The student learnt: its weights left their initial values.
    assert not np.allclose(tensorflow["w0"], _initial_kernel())


def test_jax_data_parallel_equals_one_device():
    single, parallel = _run("jax"), _run("jax", devices=2)
    for key in single:
        np.testing.assert_allclose(
            parallel[key], single[key], rtol=1e-5, atol=1e-6, err_msg=key
        )


def _initial_kernel():
    rng = np.random.default_rng(len("student_net"))
    return rng.normal(size=(3, 3, 3, 8)) * 0.5
