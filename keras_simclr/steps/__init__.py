"""SimCLR's training and evaluation steps, one module per Keras backend.

`SimCLR` holds the maths (views, encoder, head, NT-Xent, probe) in
`keras.ops`; a step module runs it the way its backend's Keras trainer
wants: `tensorflow_step` with a `GradientTape` (`train_step(data)`), `jax_step`
statelessly (`train_step(state, data)`). `BackendSteps` is the one for
Keras's backend.
"""

from keras_simclr import backends

if backends.is_jax():
    from keras_simclr.steps.jax_step import JaxSteps as BackendSteps
else:
    from keras_simclr.steps.tensorflow_step import TensorFlowSteps as BackendSteps

__all__ = ["BackendSteps"]
