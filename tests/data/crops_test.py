"""Views are crops of the full-resolution image (keras_simclr.data.crops and
the pretraining pipeline), and evaluation crops the full-resolution image."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_simclr as ks
from keras_simclr import data
from keras_simclr.data import crops
from keras_simclr.data.pipeline import _view_seed
from keras_simclr.evaluation import eval_preprocess_fn
from keras_simclr.layers import SimCLRAugment
from keras_simclr.layers.augmentation import random_draws as aug
from keras_simclr.layers.augmentation.random_resized_crop import sample_crop_boxes
from tests.tiny_models import tiny_encoder


def _smooth(height, width, seed=0, periods=(40, 90)):
    """A photo-like uint8 image: smooth colours with some texture."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    image = np.stack(
        [
            128 + 100 * np.sin(2 * np.pi * x / rng.uniform(*periods)),
            128 + 100 * np.sin(2 * np.pi * y / rng.uniform(*periods)),
            255 * x / width,
        ],
        -1,
    ) + rng.normal(0, 4, (height, width, 3))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _encode(image, fmt):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, quality=90)
    return buffer.getvalue()


def _expected_crops(image, boxes, size):
    """Independent: tf.image.crop_and_resize of the full image at the
    half-pixel sample positions of each box (all inside the box when the box
    is at least `size` on both sides), rounded to uint8."""
    height, width = image.shape[:2]
    rows = []
    for y0, x0, h, w in zip(*[np.asarray(b, np.float64) for b in boxes]):
        assert h >= size and w >= size  # else samples would leave the box

        def first(start, side):
            return start + 0.5 * side / size - 0.5

        def last(start, side):
            return start + (size - 0.5) * side / size - 0.5

        rows.append(
            [
                first(y0, h) / (height - 1),
                first(x0, w) / (width - 1),
                last(y0, h) / (height - 1),
                last(x0, w) / (width - 1),
            ]
        )
    out = tf.image.crop_and_resize(
        image[None].astype(np.float32),
        np.array(rows, np.float32),
        np.zeros(len(rows), np.int32),
        (size, size),
    )
    return np.clip(np.round(out.numpy()), 0, 255)


def test_pipeline_views_are_crops_of_the_full_resolution_image(tmp_path):
    """A JPEG (crop window decoded) and a PNG (whole decode), both non-square;
    shipped as uint8 crops in device mode. At 80 px no box is twice the
    output (no reduced-scale JPEG decode)."""
    size, seed = 80, 3
    jpeg, png = _smooth(150, 230, 0), _smooth(230, 150, 1)
    (tmp_path / "a.jpg").write_bytes(_encode(jpeg, "JPEG"))
    (tmp_path / "b.png").write_bytes(_encode(png, "PNG"))
    decoded = [tf.io.decode_jpeg((tmp_path / "a.jpg").read_bytes()).numpy(), png]
    stream, _, _ = data.pretraining_dataset(
        str(tmp_path),
        global_batch_size=2,
        image_size=size,
        seed=seed,
        shuffle_buffer=0,
        with_labels=False,
    )
    batch = next(iter(stream))
    assert set(batch) == {"crop1", "crop2"}
    assert batch["crop1"].dtype == tf.uint8 and batch["crop1"].shape == (
        2,
        size,
        size,
        3,
    )
    checked = 0
    for position, image in enumerate(decoded):
        key = aug.normalize_key(_view_seed(seed, position, 0))
        boxes = sample_crop_boxes(key, 2, *image.shape[:2])
        for view, name in enumerate(("crop1", "crop2")):
            got = batch[name][position].numpy().astype(int)
            # Exactly the crop-then-resize of the full-resolution image.
            y0, x0, h, w = (int(b[view]) for b in boxes)
            window = image[y0 : y0 + h, x0 : x0 + w]
            exact = np.round(tf.image.resize(window, (size, size)).numpy())
            np.testing.assert_array_equal(got, exact)
            if h >= size and w >= size:
                # tf.image.crop_and_resize agrees (up to round-off at .5).
                one = tuple(b[view : view + 1] for b in boxes)
                expected = _expected_crops(image, one, size)[0]
                assert np.abs(got - expected).max() <= 1
                assert np.mean(got != expected) < 0.01
                checked += 1
    assert checked >= 1


def test_large_jpeg_windows_decode_at_reduced_scale():
    image = _smooth(1200, 1600, 2, periods=(150, 300))
    contents = tf.constant(_encode(image, "JPEG"))
    full = tf.io.decode_jpeg(contents).numpy()
    size = 64
    assert (
        int(crops.decode_scale(tf.constant([900.0]), tf.constant([600.0]), size)) == 8
    )
    assert (
        int(
            crops.decode_scale(
                tf.constant([300.0, 900.0]), tf.constant([600.0, 600.0]), size
            )
        )
        == 4
    )
    assert (
        int(crops.decode_scale(tf.constant([127.0]), tf.constant([600.0]), size)) == 1
    )
    boxes = (
        tf.constant([100.0, 500.0]),
        tf.constant([300.0, 40.0]),
        tf.constant([700.0, 260.0]),
        tf.constant([900.0, 300.0]),
    )
    got = (
        crops.crop_encoded(contents, lambda h, w: boxes, size, tf.io.decode_image)
        .numpy()
        .astype(float)
    )
    for view in range(2):
        y0, x0, h, w = (int(b[view]) for b in boxes)
        # The full-resolution crop, downsampled with antialiasing.
        exact = tf.image.resize(
            full[y0 : y0 + h, x0 : x0 + w], (size, size), antialias=True
        ).numpy()
        error = np.abs(got[view] - exact).mean()
        assert error < 1.5
        # A box 2 px off is clearly worse: the boxes are placed exactly.
        shifted = tf.image.resize(
            full[y0 + 2 : y0 + 2 + h, x0 + 2 : x0 + 2 + w], (size, size), antialias=True
        ).numpy()
        assert np.abs(got[view] - shifted).mean() > 2 * error


def test_kept_area_and_aspect_in_original_coordinates_match_the_sampler():
    """Boxes read back from the views of coordinate-ramp images (R = 2y,
    G = x) follow the sampler on the original 120x200 size."""
    height, width, size = 120, 200, 32
    y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    ramp = np.stack([2 * y, x, 0 * x], -1).astype(np.uint8)
    images = np.repeat(ramp[None], 50, axis=0)
    stream, _, _ = data.pretraining_dataset(
        images, global_batch_size=50, image_size=size, seed=0, with_labels=False
    )
    areas, aspects = [], []
    for batch in stream.take(6):
        for name in ("crop1", "crop2"):
            views = batch[name].numpy().astype(float)
            # Samples at start + (i + 0.5) * side / size - 0.5: the first and
            # last rows (columns) are (size - 1) * side / size apart.
            h = (views[:, -1, :, 0] - views[:, 0, :, 0]).mean(1) / 2
            w = (views[:, :, -1, 1] - views[:, :, 0, 1]).mean(1)
            h, w = h * size / (size - 1), w * size / (size - 1)
            areas.append(h * w / (height * width))
            aspects.append(w / h)
    areas, aspects = np.concatenate(areas), np.concatenate(aspects)
    _, _, h, w = (
        b.numpy() for b in sample_crop_boxes(tf.constant([7, 7]), 20_000, height, width)
    )
    ref_areas, ref_aspects = h * w / (height * width), w / h
    assert len(areas) == 600
    assert 0.75 - 0.03 <= aspects.min() and aspects.max() <= 4 / 3 + 0.03
    assert areas.min() >= 0.08 - 0.01
    assert abs(areas.mean() - ref_areas.mean()) < 0.03
    assert abs(np.log(aspects).mean() - np.log(ref_aspects).mean()) < 0.03

    def ks_distance(a, b):
        grid = np.sort(np.concatenate([a, b]))

        def cdf(s):
            return np.searchsorted(np.sort(s), grid, side="right") / len(s)

        return np.abs(cdf(a) - cdf(b)).max()

    assert ks_distance(areas, ref_areas) < 0.08
    assert ks_distance(aspects, ref_aspects) < 0.08


def test_images_of_the_model_size_still_go_whole():
    """32 px sources at 32 px: plain uint8 images, cropped on the device."""
    x, _ = data.make_shapes(8, image_size=32)
    stream, _, _ = data.pretraining_dataset(
        x, global_batch_size=8, image_size=32, shuffle_buffer=0, with_labels=False
    )
    np.testing.assert_array_equal(next(iter(stream)).numpy(), x)


def test_data_mode_augments_host_crops_and_resumes():
    x = np.stack([_smooth(40, 56, i) for i in range(8)])
    augment = SimCLRAugment(16, 16, blur=False, seed=0)
    kwargs = dict(
        global_batch_size=4,
        image_size=16,
        augment_on="data",
        augment=augment,
        with_labels=False,
        seed=1,
    )
    stream, _, _ = data.pretraining_dataset(x, **kwargs)
    ((view1, view2),) = [b for b in stream.take(2)][1]
    assert view1.shape == (4, 16, 16, 3) and view1.dtype == tf.float32
    assert not np.allclose(view1, view2)
    resumed, _, _ = data.pretraining_dataset(x, start_step=1, **kwargs)
    ((again1, again2),) = next(iter(resumed))
    np.testing.assert_allclose(again1, view1, atol=1e-6)
    np.testing.assert_allclose(again2, view2, atol=1e-6)
    with pytest.raises(data.PipelineError, match="crop=False"):
        data.pretraining_dataset(
            x,
            global_batch_size=4,
            image_size=16,
            augment_on="data",
            augment=ks.layers.RandomResizedCrop(16, 16),
        )


def test_augment_without_crop_is_the_chain_after_an_identity_crop():
    crops_in = _smooth(16, 16, 4)[None].repeat(3, 0)
    augment = SimCLRAugment(16, 16, seed=0)
    params = augment.get_random_transformation(crops_in, seed=5)
    whole = dict(
        params,
        y0=0 * params["y0"],
        x0=0 * params["x0"],
        h=0 * params["h"] + 16,
        w=0 * params["w"] + 16,
    )
    np.testing.assert_allclose(
        augment.transform_images(crops_in, params, crop=False),
        augment.transform_images(crops_in, whole),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="crop=False takes crops"):
        augment.transform_images(_smooth(20, 16)[None], params, crop=False)


def test_simclr_trains_on_crop_batches():
    x = np.stack([_smooth(24, 40, i) for i in range(8)])
    stream, _, steps = data.pretraining_dataset(
        (x, np.arange(8) % 2), global_batch_size=4, image_size=8
    )
    model = ks.SimCLR(
        tiny_encoder(8),
        ks.layers.ProjectionHead(num_layers=2, output_dim=4),
        num_classes=2,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x[:2, :8, :8], verbose=0).shape == (2, 8)
    plain = ks.SimCLR(tiny_encoder(8), augment=lambda v: v)
    plain.compile(optimizer=keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="crop=False"):
        plain.fit(stream, steps_per_epoch=1, epochs=1, verbose=0)


def test_evaluation_crops_the_full_resolution_image(tmp_path):
    image = _smooth(90, 120, 5)
    (tmp_path / "a.png").write_bytes(_encode(image, "PNG"))
    loaded = next(iter(data.load(str(tmp_path))))[0].numpy()
    assert loaded.shape == (90, 120, 3)  # not resized before the crop
    view = eval_preprocess_fn(32)(loaded).numpy()
    side = round(0.875 * 90)  # 87.5% of the shorter side: 79
    y0, x0 = (90 - side + 1) // 2, (120 - side + 1) // 2
    expected = tf.image.resize(image[y0 : y0 + side, x0 : x0 + side] / 255.0, (32, 32))
    np.testing.assert_allclose(view, expected, atol=1e-5)
