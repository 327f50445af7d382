"""keras_simclr.data.pipeline: the resumable, shardable pretraining stream."""

import numpy as np
import pytest
import tensorflow as tf

from keras_simclr import data
from keras_simclr.layers import SimCLRAugment
from tests.replicas import run_with_replicas


def _batches(dataset, count):
    iterator = iter(dataset)
    return [tf.nest.map_structure(np.asarray, next(iterator)) for _ in range(count)]


def test_stream_depends_on_the_step_only():
    x, y = data.make_shapes(40, image_size=8)
    kwargs = dict(global_batch_size=8, image_size=8, seed=5)
    stream, info, steps = data.pretraining_dataset((x, y), **kwargs)
    assert steps == 5 and info.num_examples == 40
    batches = _batches(stream, 12)  # more than 2 epochs
    # Each epoch is a permutation of the data, a different one every epoch.

    def epoch(e):
        return np.sort(np.concatenate([b[1] for b in batches[5 * e : 5 * e + 5]]))

    np.testing.assert_array_equal(epoch(0), np.sort(y))
    np.testing.assert_array_equal(epoch(1), np.sort(y))
    assert not np.array_equal(batches[0][1], batches[5][1])
    # Restarting at step 7 reads what step 7 read.
    resumed, _, _ = data.pretraining_dataset((x, y), start_step=7, **kwargs)
    for a, b in zip(batches[7:], _batches(resumed, 5)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_views_augmented_in_tf_data_are_reproducible():
    x, y = data.make_shapes(16, image_size=16)
    augment = SimCLRAugment(16, 16, strength=0.5, blur=False)
    kwargs = dict(
        global_batch_size=4,
        image_size=16,
        augment_on="data",
        augment=augment,
        with_labels=False,
        seed=1,
    )
    stream, _, _ = data.pretraining_dataset(x, **kwargs)
    first = _batches(stream, 3)
    ((view1, view2),) = first[2]
    assert view1.shape == (4, 16, 16, 3) and view1.dtype == np.float32
    assert 0 <= view1.min() and view1.max() <= 1
    assert not np.allclose(view1, view2)
    resumed, _, _ = data.pretraining_dataset(x, start_step=2, **kwargs)
    ((again1, again2),) = _batches(resumed, 1)[0]
    np.testing.assert_allclose(again1, view1, atol=1e-6)
    np.testing.assert_allclose(again2, view2, atol=1e-6)
    with pytest.raises(data.PipelineError, match="augment layer"):
        data.pretraining_dataset(
            x, global_batch_size=4, image_size=16, augment_on="data"
        )


def test_replicas_get_their_slice_of_the_global_batch():
    """2 replicas read the two halves of the batch one replica reads."""
    out = run_with_replicas(
        """
        from keras_simclr import data
        from keras_simclr.layers import SimCLRAugment
        x, y = data.make_shapes(32, image_size=16)
        kwargs = dict(global_batch_size=8, image_size=16, augment_on="data",
                      augment=SimCLRAugment(16, 16, blur=False), seed=2)
        single, _, _ = data.pretraining_dataset(
            (x, y), strategy=tf.distribute.get_strategy(), **kwargs)
        split, _, _ = data.pretraining_dataset((x, y), strategy=strategy, **kwargs)
        (views, labels), = [next(iter(single))]
        ((rviews, rlabels),) = [next(iter(split))]
        local = lambda t: np.concatenate(
            [np.asarray(v) for v in strategy.experimental_local_results(t)])
        save(v1=np.asarray(views[0]), r1=local(rviews[0]),
             v2=np.asarray(views[1]), r2=local(rviews[1]),
             y=np.asarray(labels), ry=local(rlabels))
        """,
        2,
    )
    np.testing.assert_array_equal(out["y"], out["ry"])
    np.testing.assert_allclose(out["v1"], out["r1"], atol=1e-6)
    np.testing.assert_allclose(out["v2"], out["r2"], atol=1e-6)
