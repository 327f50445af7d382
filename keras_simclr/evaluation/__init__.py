"""Evaluation of a pretrained encoder: linear evaluation, fine-tuning, kNN.

Pretraining only matters through the encoder it produces (Chen et al.
2020, section 4):

- `linear_eval` (`linear.py`): a linear classifier on the frozen
  representation h;
- `finetune` (`finetuning.py`): the encoder (and, SimCLRv2, the first
  layers of its head) trained with a classifier on a class-balanced
  fraction of the labels (`class_balanced_subset`, `subsets.py`);
- `knn_accuracy` (`knn.py`): weighted k-nearest-neighbour accuracy on
  normalised features, as `keras_simclr.callbacks.KNNMonitor` reports
  during training;
- `extract_features` (`features.py`): h of every image, after
  `eval_preprocess_fn` (`preprocessing.py`).

The shared pieces are in modules named for what they hold: `inputs` (the
data's forms and checks), `batches`, `classifier`, `metrics`, `errors`,
`divergence` (a NaN or infinite loss stops training with `NonFiniteLoss`).

Data, everywhere: an unbatched `tf.data.Dataset` of `(image, label)` (as
`keras_simclr.data.load` returns) or a tuple `(images, labels)` of NumPy
arrays; images uint8 in [0, 255] or float in [0, 1]. Labels < 0 mark
unlabelled images, which are skipped.

Example:

>>> import keras
>>> import numpy as np
>>> from keras_simclr import evaluation
>>> encoder = keras.Sequential(
...     [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
>>> h, y = evaluation.extract_features(encoder, (np.zeros((2, 8, 8, 3), np.uint8), [0, 1]))
>>> h.shape
(2, 3)
"""

from keras_simclr.evaluation.errors import EvaluationError
from keras_simclr.evaluation.features import extract_features
from keras_simclr.evaluation.finetuning import finetune
from keras_simclr.evaluation.knn import knn_accuracy
from keras_simclr.evaluation.linear import linear_eval
from keras_simclr.evaluation.preprocessing import eval_preprocess_fn
from keras_simclr.evaluation.subsets import class_balanced_subset

__all__ = [
    "EvaluationError",
    "class_balanced_subset",
    "eval_preprocess_fn",
    "extract_features",
    "finetune",
    "knn_accuracy",
    "linear_eval",
]
