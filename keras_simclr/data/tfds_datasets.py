"""TensorFlow Datasets (tfds) by name as a data source: "cifar10", "stl10", ...

Images are read still encoded, in file order, from a dataset prepared in
`data_dir`; tfds downloads and prepares it first when the machine can reach
tfds's storage. Offline, tfds's download would retry for minutes, so there a
dataset that is not prepared is refused with one line saying how to prepare
it (`tfds build`, on a machine with network access).
"""

import difflib
import os
import re
import socket
import urllib.parse
import urllib.request

import tensorflow as tf

from keras_simclr.data.data_error import DataError
from keras_simclr.data.dataset_info import DatasetInfo
from keras_simclr.data.shapes import EMBEDDED
from keras_simclr.data.splits import parse_split

__all__ = ["check_data_dir", "describe_tfds", "tfds_dataset"]


def _close_names(name):
    """The tfds names closest to `name` ("cifar-10" -> cifar10), as a hint."""
    import tensorflow_datasets as tfds

    base = name.split(":")[0].split("/")[0]
    # tfds names are snake_case: compare without "-", "_" and case. The
    # community list is fetched from the network: left out.
    names = tfds.list_builders(with_community_datasets=False)
    folded = {re.sub(r"[-_]", "", n.lower()): n for n in names}
    close = difflib.get_close_matches(re.sub(r"[-_]", "", base.lower()), folded, n=3)
    return [folded[n] for n in close]


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # DatasetNotFoundError, or a malformed name.
        text = str(error).lower()
        if "not found" not in text and "parsing builder name" not in text:
            raise
        close = _close_names(name)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise DataError(
            f"unknown dataset '{name}' — {hint}use a tfds name (e.g. cifar10, "
            f"stl10, imagenet2012), a folder of images, a .npz file, or "
            f"'{EMBEDDED}' (embedded, no download)."
        ) from None


# Where tfds fetches prepared datasets from; a quick connection to it tells
# an online machine (download) from an offline one (one line, no retries).
TFDS_STORAGE = ("storage.googleapis.com", 443)
_PROBE_SECONDS = 3


def _first_hop():
    """(host, port) a download connects to: the HTTPS proxy if one is set."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(TFDS_STORAGE[0]):
        parts = urllib.parse.urlsplit(proxy if "//" in proxy else f"//{proxy}")
        return parts.hostname, parts.port or 80
    return TFDS_STORAGE


def _online():
    try:
        socket.create_connection(_first_hop(), timeout=_PROBE_SECONDS).close()
    except OSError:
        return False
    return True


def _not_prepared_error(name, data_dir):
    """The one-line DataError for a tfds dataset not prepared in `data_dir`."""
    where = data_dir or "tfds's default data_dir (~/tensorflow_datasets)"
    folder = data_dir or "DIR"
    return DataError(
        f"tfds dataset '{name}' is not downloaded and prepared in {where} — "
        f"on a machine with network access run `tfds build {name} "
        f"--data_dir={folder}` (or tfds.load('{name}', download=True) in "
        f"Python), copy that folder here if needed, and pass data_dir={folder}."
    )


def _tfds_features(builder):
    """Returns (image_key, label_key or None, num_classes, class_names)."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    if not images:
        raise DataError(
            f"tfds dataset '{builder.name}' has no image feature — pick an "
            "image dataset."
        )
    image_key = "image" if "image" in images else images[0]
    labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    if not labels:
        return image_key, None, None, None
    label_key = "label" if "label" in labels else labels[0]
    label = features[label_key]
    return image_key, label_key, label.num_classes, list(label.names)


def _tfds_split_size(builder, split):
    try:
        return builder.info.splits[split].num_examples
    except Exception:  # Unknown split, or no split metadata (mock data).
        return None


def _is_unlabelled_split(split):
    return parse_split(split)[0] == "unlabelled"


def check_data_dir(data_dir):
    """Refuses a tfds data directory that does not exist.

    Args:
        data_dir: a directory, or None (tfds's default).

    Raises:
        DataError: `data_dir` is not an existing directory.

    Example:

    >>> check_data_dir(None)
    >>> try:
    ...     check_data_dir("/no/such/dir")
    ... except DataError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    data_dir /no/such/dir does not exist — create it, or fix the path (tfds
    downloads and prepares datasets there).
    """
    if data_dir is not None and not tf.io.gfile.isdir(os.path.expanduser(data_dir)):
        raise DataError(
            f"data_dir {data_dir} does not exist — create it, or fix the path "
            "(tfds downloads and prepares datasets there)."
        )


def describe_tfds(name, split="train", data_dir=None):
    """What a split of a tfds dataset holds, from its metadata.

    Args:
        name: a tfds name, with an optional "/config" or ":version".
        split: a tfds split expression ("train", "unlabelled",
            "train+unlabelled", "train[:10%]"); "unlabelled" has no classes.
        data_dir: tfds data directory.

    Returns:
        A `DatasetInfo` of kind "tfds"; `num_examples` None when tfds has
        no split metadata.

    Raises:
        DataError: unknown or malformed dataset name (the message offers
            the close tfds names), missing data_dir, no image feature.

    Example:

    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=4):
    ...     info = describe_tfds("cifar10", "test")
    >>> info.num_classes, info.image_size
    (10, (32, 32))
    """
    check_data_dir(data_dir)
    builder = _tfds_builder(name, data_dir)
    image_key, _, num_classes, class_names = _tfds_features(builder)
    shape = builder.info.features[image_key].shape
    size = tuple(shape[:2]) if None not in shape[:2] else None
    if _is_unlabelled_split(split):
        num_classes = class_names = None
    return DatasetInfo(
        name,
        "tfds",
        num_classes,
        size,
        _tfds_split_size(builder, split),
        class_names,
    )


def _encoded_example(example, image_key, label_key):
    if label_key is None:
        label = tf.constant(-1, tf.int32)
    else:
        # stl10's unlabelled images carry -1 already.
        label = tf.maximum(tf.cast(example[label_key], tf.int32), -1)
    return example[image_key], label


def tfds_dataset(name, split="train", data_dir=None):
    """A tfds split as (encoded image bytes, int32 label), files in order.

    Args:
        name: see `describe_tfds`.
        split: see `describe_tfds`.
        data_dir: tfds data directory.

    Returns:
        An unbatched `tf.data.Dataset` of (scalar string, int32), label -1
        for unlabelled splits and datasets; decode with
        `keras_simclr.data.images.decode`.

    Raises:
        DataError: unknown split, a dataset not prepared in `data_dir` on
            a machine that cannot download it; see `describe_tfds`.

    Example:

    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=4):
    ...     contents, label = next(iter(tfds_dataset("cifar10", "test")))
    >>> contents.dtype.name, label.dtype.name
    ('string', 'int32')
    >>> import tempfile
    >>> from unittest import mock
    >>> try:
    ...     with mock.patch(f"{__name__}._online", return_value=False):
    ...         tfds_dataset("cifar10", data_dir=tempfile.mkdtemp())
    ... except DataError as error:
    ...     print(str(error).split(" in ")[0])
    tfds dataset 'cifar10' is not downloaded and prepared
    """
    import tensorflow_datasets as tfds

    builder = _tfds_builder(name, data_dir)
    image_key, label_key, _, _ = _tfds_features(builder)
    if _is_unlabelled_split(split):
        label_key = None

    def load():
        return tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            shuffle_files=False,
            download=False,
            decoders={image_key: tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(interleave_cycle_length=1),
        )

    try:
        try:
            ds = load()
        except AssertionError as error:  # tfds: "Dataset ... could not find data"
            if "could not find data" not in str(error).lower():
                raise
            if not _online():
                raise _not_prepared_error(name, data_dir) from None
            builder.download_and_prepare()
            ds = load()
    except DataError:
        raise
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "split" in message.lower() and "unknown" in message.lower():
            raise DataError(f"{message} — pick one of the dataset's splits.") from None
        raise
    return ds.map(
        lambda example: _encoded_example(example, image_key, label_key),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
