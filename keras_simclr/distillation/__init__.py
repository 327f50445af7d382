"""SimCLRv2's third stage: distillation (self-training) of a fine-tuned teacher.

SimCLRv2 (Chen et al., 2020, section 2 and eq. 3) pretrains a big network,
fine-tunes it on a few labels, then trains a student (smaller, or the same
architecture: self-distillation) to match the teacher's softened predictions
on unlabelled images:

    L = T^2 * mean_i CE(softmax(t_i / T), softmax(s_i / T))
        + alpha * mean_{i labelled} CE(y_i, softmax(s_i))

with t the teacher's logits, s the student's and T the temperature. The T^2
factor is the reference's (`add_kd_loss` in google-research/simclr
`tf2/colabs/distillation_self_training.ipynb`, after Hinton et al. 2015): it
keeps the gradients' size independent of T. The paper weighs the two terms
`(1 - alpha, alpha)`; here the distillation term has weight 1 and `alpha`
multiplies the label term, 0 by default (distillation on unlabelled images
only, the paper's main setting).

- `Distillation` (`model.py`): the `keras.Model` whose `train_step` does it;
- `distillation_loss` (`loss.py`): the per-image distillation term;
- `SavedModelTeacher` (`teacher.py`): a teacher read from a SavedModel;
- `self_distillation_student`, `classifier_student` (`students.py`): students;
- `distill` (`workflow.py`): the stage end to end, with its test accuracy;
- `DistillationError` (`errors.py`): the error of its inputs and settings.
"""

from keras_simclr.distillation.errors import DistillationError
from keras_simclr.distillation.loss import distillation_loss
from keras_simclr.distillation.model import Distillation
from keras_simclr.distillation.students import (
    classifier_student,
    self_distillation_student,
)
from keras_simclr.distillation.teacher import SavedModelTeacher
from keras_simclr.distillation.workflow import distill

__all__ = [
    "Distillation",
    "DistillationError",
    "SavedModelTeacher",
    "classifier_student",
    "distill",
    "distillation_loss",
    "self_distillation_student",
]
