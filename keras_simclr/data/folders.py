"""Folders of image files as a data source: scan, split, corrupt files, reading.

Class sub-folders give labels in sorted-name order (the training split's
order for every split); images directly in the folder (and no class
sub-folders) give an unlabelled set. Split "train" is the whole folder
unless it has a `train/` sub-folder; any other split name is a sub-folder.
"""

import os

import tensorflow as tf

from keras_simclr.data import images
from keras_simclr.data.data_error import DataError
from keras_simclr.data.dataset_info import DatasetInfo
from keras_simclr.data.splits import parse_split, shuffled_slice

__all__ = [
    "IMAGE_EXTENSIONS",
    "describe_folder",
    "find_corrupt_images",
    "folder_dataset",
    "folder_split",
    "read_encoded_file",
    "read_image_file",
]

#: File name endings of the images a folder holds (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _listing(folder):
    """(image file names, sub-folder names, broken links) of a folder, sorted.

    A broken link is an image name whose symlink leads nowhere (its target
    is missing, or the link points to itself); file systems reached by URL
    (gs://, ...) have no symlinks.
    """
    if "://" in folder:
        names = tf.io.gfile.listdir(folder)
        dirs = {n for n in names if tf.io.gfile.isdir(os.path.join(folder, n))}
        files = [n for n in names if n not in dirs]
        broken = []
    else:
        with os.scandir(folder) as entries:
            entries = list(entries)
        links = {e.name for e in entries if e.is_symlink()}
        # os.path.isdir is False for a link that loops; DirEntry.is_dir raises.
        dirs = {
            e.name
            for e in entries
            if (os.path.isdir(e.path) if e.name in links else e.is_dir())
        }
        files = [e.name for e in entries if e.name not in dirs]
        broken = [
            n
            for n in files
            if n in links and not os.path.exists(os.path.join(folder, n))
        ]
    images = sorted(n for n in files if n.lower().endswith(IMAGE_EXTENSIONS))
    subfolders = sorted(n.rstrip("/") for n in dirs if not n.startswith("."))
    broken = sorted(n for n in broken if n in images)
    return images, subfolders, broken


def _scan_folder(root):
    """Returns (paths, labels, class_names, broken links) of an image folder."""
    loose, subfolders, broken = _listing(root)
    broken = [os.path.join(root, name) for name in broken]
    listed = {}
    for name in subfolders:
        files, _, bad = _listing(os.path.join(root, name))
        if files:
            listed[name] = files
            broken += [os.path.join(root, name, f) for f in bad]
    classes = sorted(listed)
    if classes and loose:
        raise DataError(
            f"{root} has both images ({loose[0]}, ...) and class sub-folders "
            f"({classes[0]}/, ...) — move the loose images into a class folder, "
            "or point the dataset at a folder holding only one kind."
        )
    if loose:
        paths = [os.path.join(root, name) for name in loose]
        return paths, [-1] * len(loose), None, broken
    paths, labels = [], []
    for label, name in enumerate(classes):
        paths += [os.path.join(root, name, f) for f in listed[name]]
        labels += [label] * len(listed[name])
    if not paths:
        raise DataError(
            f"no .jpg/.jpeg/.png images in {root} or its sub-folders — check "
            "the path, or convert the images to JPEG or PNG."
        )
    return paths, labels, classes, broken


def _training_class_names(root):
    """The classes of `root/train/` (None when it has none), labels' owner."""
    names = []
    for name in _listing(os.path.join(root, "train"))[1]:
        if _listing(os.path.join(root, "train", name))[0]:
            names.append(name)
    return names or None


def _as_training_labels(root, folder, labels, classes):
    """`labels` renumbered by the training split's classes, and those classes.

    Every split of a folder with a `train/` sub-folder numbers its classes
    as training does, so that one name has one label everywhere.
    """
    training = _training_class_names(root)
    if classes is None or training is None:
        return labels, classes
    unknown = [name for name in classes if name not in training]
    if unknown:
        raise DataError(
            f"{folder} has class folders that {os.path.join(root, 'train')} lacks "
            f"({', '.join(unknown)}): their images have no training label — add "
            "those classes to train/, or remove them from this split."
        )
    index = [training.index(name) for name in classes]
    return [index[label] for label in labels], training


def _check_links(broken, on_corrupt):
    if broken and on_corrupt == "error":
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise DataError(
            f"image file {broken[0]}{more} is a broken link (its target is "
            "missing, or it points to itself) — fix or delete it, or skip "
            "unreadable files (on_corrupt='skip', --skip_corrupt)."
        )


def folder_split(root, split, on_corrupt="error"):
    """The files and labels of one split of an image folder.

    `root/<split>/` is used when it exists; otherwise split "train" is the
    whole folder. A slice ("train[:80%]") cuts a fixed shuffle of it.
    When `root/train/` exists, every split numbers its classes as the
    training split does (`test/{cat,fox}` of `train/{cat,dog,fox}` gives
    labels 0 and 2), and a class that training lacks is refused.

    Args:
        root: the folder (no `~`).
        split: a split name with an optional slice.
        on_corrupt: "error" refuses a broken symlink among the images;
            "skip" keeps it in the list, for `folder_dataset` to skip.

    Returns:
        `(paths, labels, class_names)`: lists of file paths and int labels
        (-1 when unlabelled), and the class names or None.

    Raises:
        DataError: no such split, no images, both loose images and class
            sub-folders, a class the training split lacks, or a broken
            symlink.

    Example:

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> for split, name in [("train", "cat"), ("train", "dog"), ("test", "dog")]:
    ...     os.makedirs(os.path.join(root, split, name))
    ...     tf.io.write_file(os.path.join(root, split, name, "0.png"),
    ...                      tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8)))
    >>> paths, labels, classes = folder_split(root, "train")
    >>> [os.path.relpath(p, root) for p in paths], labels, classes
    (['train/cat/0.png', 'train/dog/0.png'], [0, 1], ['cat', 'dog'])
    >>> folder_split(root, "test")[1:]
    ([1], ['cat', 'dog'])
    """
    name, start, stop = parse_split(split)
    folder = os.path.join(root, name)
    if not tf.io.gfile.isdir(folder):
        if name != "train":
            raise DataError(
                f"image folder {root} has no '{name}' split (no sub-folder "
                f"{folder}) — use a slice of the whole folder instead, e.g. "
                "split='train[:80%]' and eval_split='train[80%:]'."
            )
        folder = root
    paths, labels, classes, broken = _scan_folder(folder)
    _check_links(broken, on_corrupt)
    if name != "train":
        labels, classes = _as_training_labels(root, folder, labels, classes)
    if start or stop:
        order = shuffled_slice(len(paths), start, stop)
        paths = [paths[i] for i in order]
        labels = [labels[i] for i in order]
    return paths, labels, classes


def _decoded_size(index, path):
    # Return something computed from the image, or the decode is pruned.
    return index, tf.size(images.decode(tf.io.read_file(path)))


def find_corrupt_images(paths):
    """Returns the files among `paths` that TensorFlow cannot decode.

    Decodes every file once, in parallel; use it to name the culprit after
    a decode error, or before training on a folder of unknown quality.

    Args:
        paths: list of image file paths.

    Returns:
        The sorted list of paths that fail to read or decode.

    Example:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> good, bad = os.path.join(folder, "good.png"), os.path.join(folder, "bad.jpg")
    >>> tf.io.write_file(good, tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8)))
    >>> tf.io.write_file(bad, b"<html>not found</html>")
    >>> find_corrupt_images([good, bad]) == [bad]
    True
    """
    if not paths:
        return []
    indices = tf.data.Dataset.from_tensor_slices(
        (tf.range(len(paths)), tf.constant(list(paths)))
    )
    decoded = indices.map(_decoded_size, num_parallel_calls=tf.data.AUTOTUNE)
    decoded = decoded.ignore_errors()
    good = {int(i) for i, _ in decoded.as_numpy_iterator()}
    return sorted(p for i, p in enumerate(paths) if i not in good)


def _skip_corrupt(paths, labels):
    """Drops the files TensorFlow cannot decode, one warning line each."""
    bad = set(find_corrupt_images(paths))
    for path in sorted(bad):
        print(f"keras-simclr: warning: skipping corrupt image {path}", flush=True)
    kept = [i for i, path in enumerate(paths) if path not in bad]
    if not kept:
        raise DataError("every image of the folder is corrupt — check the files.")
    return [paths[i] for i in kept], [labels[i] for i in kept]


def read_encoded_file(path):
    """Reads one image file, still encoded (graph op); names non-image files.

    Files that are not images at all (empty, HTML error pages saved as
    .jpg, ...) fail here with their name: TensorFlow's own decode error
    does not name the file (`find_corrupt_images` names the rest).

    Args:
        path: scalar string tensor.

    Returns:
        The file's bytes, a scalar string tensor.

    Raises:
        tf.errors.InvalidArgumentError: when run, for a file that does not
            start like a JPEG or PNG; the message holds the path.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "page.jpg")
    >>> tf.io.write_file(path, b"<html>not found</html>")
    >>> try:
    ...     read_encoded_file(tf.constant(path))
    ... except tf.errors.InvalidArgumentError as error:
    ...     print("page.jpg" in str(error))
    True
    """
    contents = tf.io.read_file(path)
    check = tf.debugging.Assert(
        images.has_image_header(contents),
        ["keras-simclr: corrupt or non-JPEG/PNG image file:", path],
    )
    with tf.control_dependencies([check]):
        return tf.identity(contents)


def read_image_file(path):
    """Reads and decodes one image file (graph op); names non-image files.

    Args:
        path: scalar string tensor.

    Returns:
        A uint8 (H, W, 3) tensor.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> tf.io.write_file(path, tf.io.encode_png(tf.zeros((4, 6, 3), tf.uint8)))
    >>> read_image_file(tf.constant(path)).shape
    TensorShape([4, 6, 3])
    """
    return images.decode(read_encoded_file(path))


def describe_folder(dataset, split="train", on_corrupt="error"):
    """What a split of an image folder holds, from its file names.

    Args:
        dataset: the folder (`~` allowed).
        split: see `folder_split`.
        on_corrupt: see `folder_split`.

    Returns:
        A `DatasetInfo` of kind "folder" (`image_size` None: images may
        differ in size).

    Raises:
        DataError: no such folder; see `folder_split`.

    Example:

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> tf.io.write_file(os.path.join(root, "0.png"),
    ...                  tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8)))
    >>> info = describe_folder(root)
    >>> info.kind, info.num_classes, info.num_examples
    ('folder', None, 1)
    """
    root = os.path.expanduser(dataset)
    if not tf.io.gfile.isdir(root):
        raise DataError(f"no folder {dataset} — check the dataset path.")
    paths, _, classes = folder_split(root, split, on_corrupt)
    return DatasetInfo(
        dataset,
        "folder",
        len(classes) if classes else None,
        None,
        len(paths),
        classes,
    )


def folder_dataset(dataset, split="train", on_corrupt="error"):
    """A split of an image folder as `(path, label)` pairs, not yet read.

    Args:
        dataset: the folder (`~` allowed).
        split: see `folder_split`.
        on_corrupt: "error" keeps every file (a broken symlink is
            refused); "skip" decodes every file once and drops the bad
            ones, broken symlinks too, one warning line each.

    Returns:
        `(raw, count)`: an unbatched `tf.data.Dataset` of (string path,
        int32 label), to read with `read_image_file`, and its length.

    Raises:
        DataError: see `folder_split`; every file corrupt.

    Example:

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> tf.io.write_file(os.path.join(root, "0.png"),
    ...                  tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8)))
    >>> raw, count = folder_dataset(root)
    >>> path, label = next(iter(raw))
    >>> count, read_image_file(path).shape, int(label)
    (1, TensorShape([4, 4, 3]), -1)
    """
    paths, labels, _ = folder_split(os.path.expanduser(dataset), split, on_corrupt)
    if on_corrupt == "skip":
        paths, labels = _skip_corrupt(paths, labels)
    raw = tf.data.Dataset.from_tensor_slices(
        (tf.constant(paths), tf.constant(labels, tf.int32))
    )
    return raw, len(paths)
