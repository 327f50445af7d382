"""Host input pipelines at 224 px: images/s from a folder of JPEG files.

A folder of photo-like JPEGs is generated on the fly (smooth colour fields,
shapes with edges, multi-scale texture and sensor noise, so that the files
are as large as ImageNet's: about 0.55 bytes per pixel at 375x500, quality
95; 0.25 at 3000x4000, quality 90, as phone photos). Pipelines, run side by
side in alternating rounds (median of the rounds), every image giving two
views (counted as one image):

- library device mode: `keras_simclr.data.pretraining_dataset(folder,
  augment_on="device")`: shuffle, read, two uint8 crops of the
  full-resolution image (decoding only their window), batch;
- library data mode: `augment_on="data"` with `SimCLRAugment.imagenet()`:
  the same crops, then flip, colour and blur of both views in tf.data;
  also without blur (`--no_blur_variant`), the reference's host work;
- reference crops only: per view `sample_distorted_bounding_box` and
  `decode_and_crop_jpeg`, bicubic resize (float32), as the SimCLR
  reference's crop;
- reference preprocess_image x 2: decode the whole JPEG, then twice the
  reference's per-image crop, flip and colour jitter (its blur runs on its
  accelerator);
- decode only: `decode_jpeg` of the whole file.

With `--ideas`, host-crop variants for the design choices: per-view
window decodes, one whole decode, the dct_method, antialiasing, the
reduced-scale decode of large photos, and PNG files (whole decode).

Usage:
    python benchmarks/decode_crop.py [--cases small photo] [--seconds 2]
        [--rounds 3] [--ideas]
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from augment import measure, reference_view  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from keras_simclr import data  # noqa: E402
from keras_simclr.data import crops  # noqa: E402
from keras_simclr.layers import SimCLRAugment  # noqa: E402
from keras_simclr.layers.augmentation.random_resized_crop import sample_crop_boxes  # noqa: E402

SIZE = 224
CASES = {
    # name: (shapes, files, quality, batch)
    "small": (((375, 500), (500, 375)), 128, 95, 64),
    "photo": (((3000, 4000), (4000, 3000)), 8, 90, 8),
}


def photo(rng, height, width):
    """A photo-like uint8 image (see the module docstring)."""
    coarse = rng.uniform(0, 255, (4, 5, 3)).astype(np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    side = min(height, width)
    for _ in range(rng.integers(8, 20)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.03, 0.25) * side
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 7)))
        draw.polygon(
            [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles], fill=colour
        )
    image = image.filter(ImageFilter.GaussianBlur(side / 400))
    x = np.asarray(image, np.float32)
    for octave, amplitude in ((8, 14.0), (32, 10.0), (128, 8.0), (side // 2, 12.0)):
        shape = (max(2, height * octave // side), max(2, width * octave // side))
        noise = rng.standard_normal(shape, dtype=np.float32)
        noise = Image.fromarray(noise, mode="F").resize((width, height), Image.BICUBIC)
        x += amplitude * np.asarray(noise)[..., None]
    x += 6.0 * rng.standard_normal(x.shape, dtype=np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


def write_folder(case, root, fmt="JPEG"):
    """Writes the case's files; a few syntheses, varied by shifts and
    channel orders (decoding cost depends on the content's entropy, not on
    its being unique)."""
    shapes, count, quality, _ = CASES[case]
    rng = np.random.default_rng(0)
    bases = {
        shape: [photo(rng, *shape) for _ in range(2 if count < 20 else 8)]
        for shape in shapes
    }
    sizes = []
    for i in range(count):
        shape = shapes[i % len(shapes)]
        base = bases[shape][(i // len(shapes)) % len(bases[shape])]
        image = np.roll(base[..., rng.permutation(3)], rng.integers(0, 200), axis=1)
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(
            buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {})
        )
        name = os.path.join(root, f"{i:04d}.{'jpg' if fmt == 'JPEG' else 'png'}")
        with open(name, "wb") as f:
            f.write(buffer.getvalue())
        sizes.append(len(buffer.getvalue()) / (shape[0] * shape[1]))
    return sizes


def _per_image(root, batch, fn):
    files = tf.data.Dataset.list_files(os.path.join(root, "*"), shuffle=False)
    return iter(
        files.repeat()
        .map(lambda p: fn(tf.io.read_file(p)), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch)
        .prefetch(2)
    )


def reference_crop(contents):
    """The reference's crop of one view, decoding only its window."""
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.image.extract_jpeg_shape(contents),
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]),
        min_object_covered=0.1,
        aspect_ratio_range=(3 / 4, 4 / 3),
        area_range=(0.08, 1.0),
        max_attempts=100,
        use_image_if_no_bounding_boxes=True,
    )
    offset_y, offset_x, _ = tf.unstack(begin)
    height, width, _ = tf.unstack(size)
    window = tf.io.decode_and_crop_jpeg(
        contents, tf.stack([offset_y, offset_x, height, width]), channels=3
    )
    return tf.image.resize([window], [SIZE, SIZE], method="bicubic")[0]


def _boxes(contents):
    shape = tf.image.extract_jpeg_shape(contents)
    key = tf.random.uniform([2], 0, 2**30, tf.int32)
    return sample_crop_boxes(key, 2, shape[0], shape[1])


def _library_crops(contents, decode=tf.io.decode_image):
    return crops.crop_encoded(
        contents,
        lambda h, w: sample_crop_boxes(
            tf.random.uniform([2], 0, 2**30, tf.int32), 2, h, w
        ),
        SIZE,
        decode,
    )


def _windows_per_view(contents):
    """A decode_and_crop_jpeg per view, each window resized."""
    y0, x0, h, w = _boxes(contents)
    views = []
    for v in range(2):
        box = tf.cast(tf.stack([y0[v], x0[v], h[v], w[v]]), tf.int32)
        window = tf.io.decode_and_crop_jpeg(contents, box, channels=3)
        views.append(tf.cast(tf.round(tf.image.resize(window, (SIZE, SIZE))), tf.uint8))
    return tf.stack(views)


def _whole_decode(contents, dct_method="", antialias=False):
    """The whole image decoded, then two slices resized."""
    y0, x0, h, w = (tf.cast(t, tf.int32) for t in _boxes(contents))
    image = tf.io.decode_jpeg(contents, channels=3, dct_method=dct_method)
    return tf.stack(
        [
            tf.cast(
                tf.round(
                    tf.image.resize(
                        image[y0[v] : y0[v] + h[v], x0[v] : x0[v] + w[v]],
                        (SIZE, SIZE),
                        antialias=antialias,
                    )
                ),
                tf.uint8,
            )
            for v in range(2)
        ]
    )


def pipelines(case, root, batch, no_blur_variant):
    def library(**kwargs):
        stream, _, _ = data.pretraining_dataset(
            root,
            global_batch_size=batch,
            image_size=SIZE,
            with_labels=False,
            seed=0,
            **kwargs,
        )
        return iter(stream)

    result = {
        "library device mode": library(augment_on="device"),
        "library data mode": library(
            augment_on="data", augment=SimCLRAugment.imagenet(seed=0)
        ),
    }
    if no_blur_variant:
        result["library data mode, no blur"] = library(
            augment_on="data", augment=SimCLRAugment.imagenet(blur=False, seed=0)
        )
    result.update(
        {
            "reference crops only": _per_image(
                root, batch, lambda c: tf.stack([reference_crop(c) for _ in range(2)])
            ),
            "reference preprocess_image x2": _per_image(
                root,
                batch,
                lambda c: _reference_twice(tf.io.decode_jpeg(c, channels=3)),
            ),
            "decode only": _per_image(
                root, batch, lambda c: tf.io.decode_jpeg(c, channels=3)
            ),
        }
    )
    return result


def _reference_twice(image):
    return tf.stack(
        [reference_view(image, SIZE, SIZE, 1.0, blur=False) for _ in range(2)]
    )


def idea_pipelines(case, root, png_root, batch):
    return {
        "one window for both views (library)": _per_image(root, batch, _library_crops),
        "one window per view": _per_image(root, batch, _windows_per_view),
        "whole decode, no reduced scale": _per_image(root, batch, _whole_decode),
        "whole decode, INTEGER_FAST": _per_image(
            root, batch, lambda c: _whole_decode(c, "INTEGER_FAST")
        ),
        "whole decode, antialiased resize": _per_image(
            root, batch, lambda c: _whole_decode(c, antialias=True)
        ),
        "PNG files, whole decode (library)": _per_image(
            png_root,
            batch,
            lambda c: _library_crops(c, lambda x: tf.io.decode_png(x, channels=3)),
        ),
    }


def run(case, seconds, rounds, ideas, no_blur_variant):
    shapes, _, _, batch = CASES[case]
    with (
        tempfile.TemporaryDirectory() as root,
        tempfile.TemporaryDirectory() as png_root,
    ):
        sizes = write_folder(case, root)
        if ideas:
            write_folder(case, png_root, fmt="PNG")
        named = (
            idea_pipelines(case, root, png_root, batch)
            if ideas
            else pipelines(case, root, batch, no_blur_variant)
        )
        steps = {
            name: (lambda it=it: tf.nest.flatten(next(it))[0])
            for name, it in named.items()
        }
        for step in steps.values():  # warm up: tracing, XLA, autotuning
            for _ in range(3):
                step().numpy()
        samples = {name: [] for name in steps}
        for _ in range(rounds):
            for name, step in steps.items():
                samples[name].append(measure(step, batch, seconds))
    rates = {name: statistics.median(v) for name, v in samples.items()}
    shape_text = " and ".join(f"{h}x{w}" for h, w in shapes)
    print(
        f"\n{case}: {CASES[case][1]} JPEGs of {shape_text}, "
        f"{np.mean(sizes):.2f} bytes/pixel, batch {batch}, {SIZE} px"
    )
    reference = rates.get("reference preprocess_image x2")
    crops_only = rates.get("reference crops only")
    for name, rate in rates.items():
        line = f"  {name:45s} {rate:8.1f} images/s"
        if reference:
            line += f"   x{rate / reference:.2f} preprocess_image x2"
        if crops_only:
            line += f"   x{rate / crops_only:.2f} crops only"
        if ideas:
            line += f"   x{rate / next(iter(rates.values())):.2f} library"
        print(line)
    sys.stdout.flush()
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", nargs="+", default=["small", "photo"], choices=sorted(CASES)
    )
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="length of one measurement"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds; the median is reported",
    )
    parser.add_argument(
        "--ideas",
        action="store_true",
        help="measure the host-crop design variants instead",
    )
    parser.add_argument(
        "--no_blur_variant", action="store_true", help="also data mode without blur"
    )
    args = parser.parse_args(argv)
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores; "
        f"median of {args.rounds} rounds of {args.seconds:g} s"
    )
    start = time.perf_counter()
    for case in args.cases:
        run(case, args.seconds, args.rounds, args.ideas, args.no_blur_variant)
    print(f"\n{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
