"""keras_simclr.data.batching: whole batches that split over the replicas."""

import pytest

from keras_simclr import data


def test_batch_size_checks():
    data.check_batch_size(512, 8)
    with pytest.raises(data.PipelineError, match="multiple of 8, e.g. batch_size=8"):
        data.check_batch_size(12, 8)
    with pytest.raises(data.PipelineError, match="fewer than one batch"):
        data.steps_per_epoch(100, 128)
    assert data.steps_per_epoch(50_000, 512) == 97
