"""Fashion-MNIST (and any MNIST-style folder of IDX files) as numpy arrays.

    (x_train, y_train), (x_test, y_test) = circnn.datasets.fashion_mnist()

Images are float32 in [0, 1], shape (N, 28, 28, 1) (NHWC, one channel);
labels are uint8 class numbers 0..9, shape (N,).  Use ``y.astype(np.int64)``
where a framework wants wider integers.

A folder holds the four files train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each plain or gzipped
(name + ".gz"; the plain file is read when both exist).  Every file is checked
(magic number, declared dimensions against the byte count, images and labels
counts, label range, gzip stream) and any fault raises CorruptDataSet naming
the file.  Nothing is cached on disk.
"""
import gzip
import os
import zlib

import numpy as np

__all__ = ["fashion_mnist", "idx_folder", "read_idx", "DataSetMissing", "CorruptDataSet",
           "DEFAULT_FOLDER", "FILES"]

DEFAULT_FOLDER = "/usr/share/datasets/fashion-mnist"   # Debian's dataset-fashion-mnist
ENV_VAR = "CIRCNN_DATA"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
NUM_CLASSES = 10

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
_INSTALL_HINT = ("Install Fashion-MNIST with `sudo apt-get install dataset-fashion-mnist` "
                 "on Debian/Ubuntu, or set CIRCNN_DATA=/folder/with/idx/files, or pass path= "
                 "(a folder of the four IDX files).")


class DataSetMissing(FileNotFoundError):
    """No folder holds the four IDX files; the message says how to install them."""


class CorruptDataSet(ValueError):
    """An IDX file is malformed; the message names the file and the fault."""


def read_idx(file, ndim=None):
    """The uint8 array stored in an IDX file (plain or gzip), shaped as its header says.

    file: a path or a binary file object.  ndim: if given, the number of
    dimensions the header must declare (1 for labels, magic 0x00000801;
    3 for images, magic 0x00000803).  Only the unsigned byte type (0x08) is
    read.  Raises CorruptDataSet when the header, the byte count or the gzip
    stream is wrong.
    """
    if hasattr(file, "read"):
        name = str(getattr(file, "name", file))
        raw = file.read()
    else:
        name = os.fspath(file)
        with open(name, "rb") as f:
            raw = f.read()
    if raw[:2] == _GZIP_MAGIC or name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            raise CorruptDataSet(f"{name}: corrupt gzip stream ({e})") from None

    if len(raw) < 4:
        raise CorruptDataSet(f"{name}: truncated file: {len(raw)} bytes, "
                             "shorter than the 4-byte IDX magic number")
    zero, dtype, dims = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero != 0 or dims == 0:
        raise CorruptDataSet(f"{name}: wrong magic number 0x{magic:08X}: not an IDX file")
    if dtype != _UBYTE:
        raise CorruptDataSet(f"{name}: wrong magic number 0x{magic:08X}: data type 0x{dtype:02X} "
                             f"is not unsigned byte (0x{_UBYTE:02X})")
    if ndim is not None and dims != ndim:
        raise CorruptDataSet(f"{name}: wrong magic number 0x{magic:08X}: {dims} dimension(s), "
                             f"expected {ndim} (magic 0x{0x800 | ndim:08X})")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise CorruptDataSet(f"{name}: truncated file: {len(raw)} bytes, "
                             f"shorter than the {header}-byte header")
    shape = tuple(int.from_bytes(raw[i:i + 4], "big") for i in range(4, header, 4))
    expected = int(np.prod(shape, dtype=object))
    actual = len(raw) - header
    declared = "x".join(map(str, shape))
    if actual < expected:
        raise CorruptDataSet(f"{name}: truncated file: header declares {declared} = {expected} "
                             f"data bytes, the file holds {actual}")
    if actual > expected:
        raise CorruptDataSet(f"{name}: {actual - expected} extra bytes after the data "
                             f"(header declares {declared} = {expected} data bytes)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find(folder):
    """Paths of FILES in folder (plain preferred over .gz), or raise DataSetMissing."""
    paths, missing = [], []
    for base in FILES:
        for candidate in (base, base + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                paths.append(path)
                break
        else:
            missing.append(base)
    if missing:
        raise DataSetMissing(f"{folder}: missing {', '.join(missing)} (plain or .gz)")
    return paths


def _split(images_path, labels_path, limit):
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if len(images) != len(labels):
        raise CorruptDataSet(f"{images_path} holds {len(images)} images but {labels_path} "
                             f"holds {len(labels)} labels: the counts must match")
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise CorruptDataSet(f"{labels_path}: label {labels[bad]} at index {bad} is out of "
                             f"range 0..{NUM_CLASSES - 1}")
    images, labels = images[:limit], labels[:limit].copy()
    x = images.astype(np.float32)[..., np.newaxis]
    x /= np.float32(255)
    return x, labels


def idx_folder(path, limit=None):
    """((x_train, y_train), (x_test, y_test)) from a folder of the four IDX files.

    Images: float32 in [0, 1], shape (N, H, W, 1); labels: uint8 0..9, shape (N,).
    limit: read at most this many samples of each split (the whole files are
    still validated).  Raises DataSetMissing if a file is absent and
    CorruptDataSet if one is malformed.
    """
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ValueError(f"limit must be a non-negative integer or None, not {limit!r}")
        limit = int(limit)
    folder = os.fspath(path)
    train_x, train_y, test_x, test_y = _find(folder)
    train = _split(train_x, train_y, limit)
    test = _split(test_x, test_y, limit)
    if train[0].shape[1:] != test[0].shape[1:]:
        raise CorruptDataSet(f"{train_x} holds {train[0].shape[1]}x{train[0].shape[2]} images but "
                             f"{test_x} holds {test[0].shape[1]}x{test[0].shape[2]}: sizes differ")
    return train, test


def fashion_mnist(path=None, limit=None):
    """Fashion-MNIST: ((x_train, y_train), (x_test, y_test)).

    x: float32 in [0, 1], shape (N, 28, 28, 1) with N = 60000 (train), 10000 (test);
    y: uint8 class numbers 0..9, shape (N,).

    The folder is the first of: path, the environment variable CIRCNN_DATA,
    DEFAULT_FOLDER (Debian's dataset-fashion-mnist).  A folder named by path
    or CIRCNN_DATA is used as given, without falling back to the next one, so
    a wrong setting is reported rather than silently replaced.
    limit: read at most this many samples of each split.
    Raises DataSetMissing (with installation instructions) when the folder
    lacks the files, CorruptDataSet when a file is malformed.
    """
    if path is not None:
        folder, origin = os.fspath(path), "folder given as path="
    elif os.environ.get(ENV_VAR):
        folder, origin = os.environ[ENV_VAR], "folder from " + ENV_VAR
    else:
        folder, origin = DEFAULT_FOLDER, "the default folder"
    try:
        (train, test) = idx_folder(folder, limit=limit)
    except DataSetMissing as e:
        raise DataSetMissing(f"Fashion-MNIST not found ({origin}): {e}. {_INSTALL_HINT}") from None
    for x, name in ((train[0], FILES[0]), (test[0], FILES[2])):
        if x.shape[1:] != (28, 28, 1):
            raise CorruptDataSet(f"{os.path.join(folder, name)}: {x.shape[1]}x{x.shape[2]} images, "
                                 "Fashion-MNIST images are 28x28")
    return train, test
