"""circnn.datasets: the real Fashion-MNIST files, and small IDX files written here.

The real data set must be installed (Debian: dataset-fashion-mnist, or
CIRCNN_DATA=/folder): these tests fail, not skip, without it.
"""
import gzip
import os

import numpy as np
import pytest

from circnn import datasets
from circnn.datasets import CorruptDataSet, DataSetMissing


@pytest.fixture(scope="module")
def real():
    return datasets.fashion_mnist()


@pytest.mark.dataset
def test_real_shapes_dtypes_range(real):
    (x_train, y_train), (x_test, y_test) = real
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.uint8
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        assert x.flags.c_contiguous and x.flags.writeable


@pytest.mark.dataset
def test_real_label_balance_and_known_values(real):
    (x_train, y_train), (x_test, y_test) = real
    assert np.bincount(y_train, minlength=10).tolist() == [6000] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [1000] * 10
    # Fixed data set: the familiar normalisation constant and the first labels.
    assert round(float(x_train.mean(dtype=np.float64)), 3) == 0.286
    assert round(float(x_test.mean(dtype=np.float64)), 3) == 0.287
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]
    assert y_test[:5].tolist() == [9, 2, 1, 1, 6]
    # Pixels are k/255 exactly as float32 rounds them.
    assert np.array_equal(np.round(x_train[:100] * 255) / np.float32(255), x_train[:100])


@pytest.mark.dataset
def test_limit_slices_after_reading(real):
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist(limit=7)
    assert x_train.shape == (7, 28, 28, 1) and x_test.shape == (7, 28, 28, 1)
    assert np.array_equal(x_train, real[0][0][:7]) and np.array_equal(y_test, real[1][1][:7])
    (x, _), _ = datasets.fashion_mnist(limit=10**9)
    assert len(x) == 60000
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="limit"):
            datasets.fashion_mnist(limit=bad)


# --- small files written here --------------------------------------------------

def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def sample(n, rng, h=28, w=28):
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_folder(folder, rng, gz=False, n_train=5, n_test=3, h=28, w=28, files=None):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = dict(zip(datasets.FILES, sample(n_train, rng, h, w) + sample(n_test, rng, h, w)))
    for name, array in arrays.items():
        data = idx_bytes(array) if files is None or name not in files else files[name]
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return [arrays[name] for name in datasets.FILES]


@pytest.mark.parametrize("gz", [False, True])
def test_small_folder_round_trip(tmp_path, rng, gz):
    images, labels, t_images, t_labels = write_folder(tmp_path, rng, gz=gz)
    (x, y), (xt, yt) = datasets.idx_folder(tmp_path)
    assert x.shape == (5, 28, 28, 1) and xt.shape == (3, 28, 28, 1)
    assert x.dtype == np.float32 and y.dtype == np.uint8
    assert np.array_equal(np.round(x[..., 0] * 255).astype(np.uint8), images)
    assert np.array_equal(np.round(xt[..., 0] * 255).astype(np.uint8), t_images)
    assert np.array_equal(y, labels) and np.array_equal(yt, t_labels)
    assert np.array_equal(x[..., 0], images.astype(np.float32) / np.float32(255))
    assert datasets.fashion_mnist(path=tmp_path)[0][1].tolist() == labels.tolist()


def test_read_idx_plain_gz_and_file_object(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    for got in (datasets.read_idx(tmp_path / "a"), datasets.read_idx(str(tmp_path / "a.gz")),
                datasets.read_idx(open(tmp_path / "a.gz", "rb"))):
        assert got.dtype == np.uint8 and got.shape == (2, 3, 4)
        assert np.array_equal(got, array)
    with pytest.raises(CorruptDataSet, match="expected 1"):
        datasets.read_idx(tmp_path / "a", ndim=1)


def test_mixed_plain_and_gz_and_any_image_size(tmp_path, rng):
    images, labels, t_images, t_labels = write_folder(tmp_path, rng, h=5, w=7)
    os.replace(tmp_path / "t10k-images-idx3-ubyte", tmp_path / "x")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress((tmp_path / "x").read_bytes()))
    (x, y), (xt, yt) = datasets.idx_folder(tmp_path, limit=2)
    assert x.shape == (2, 5, 7, 1) and xt.shape == (2, 5, 7, 1)
    assert np.array_equal(yt, t_labels[:2])
    # Fashion-MNIST insists on 28x28.
    with pytest.raises(CorruptDataSet, match="28x28"):
        datasets.fashion_mnist(path=tmp_path)


def corrupt_case(rng, case):
    """(file name, its bytes, pattern the message must match) for one fault."""
    images, labels = sample(5, rng)
    good_images, good_labels = idx_bytes(images), idx_bytes(labels)
    li, ll = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
    return {
        "magic": (li, b"\x00\x00\x08\x01" + good_images[4:], "wrong magic number 0x00000801"),
        "not_idx": (ll, b"PK\x03\x04" + good_labels[4:], "wrong magic number.*not an IDX"),
        "type": (ll, b"\x00\x00\x0d\x01" + good_labels[4:], "data type 0x0D"),
        "truncated": (li, good_images[:-1], "truncated file"),
        "truncated_header": (li, good_images[:10], "truncated file.*header"),
        "empty": (ll, b"", "truncated file"),
        "extra": (ll, good_labels + b"\x00\x00", "2 extra bytes"),
        "count": (ll, idx_bytes(labels[:4]), "5 images but .* 4 labels"),
        "range": (ll, idx_bytes(np.r_[labels[:3], 10, 1]), "label 10 at index 3 is out of range"),
    }[case]


@pytest.mark.parametrize("case", ["magic", "not_idx", "type", "truncated", "truncated_header",
                                  "empty", "extra", "count", "range"])
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_file_is_refused(tmp_path, rng, case, gz):
    name, data, pattern = corrupt_case(rng, case)
    write_folder(tmp_path, rng, gz=gz, files={name: data})
    with pytest.raises(CorruptDataSet, match=pattern) as info:
        datasets.idx_folder(tmp_path)
    assert name in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(CorruptDataSet, match=pattern):
        datasets.fashion_mnist(path=tmp_path)


@pytest.mark.parametrize("damage", ["cut", "crc", "deflate", "header"])
def test_corrupt_gzip_is_refused(tmp_path, rng, damage):
    write_folder(tmp_path, rng, gz=True)
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    if damage == "cut":
        data = data[:len(data) // 2]
    elif damage == "crc":
        data[-8] ^= 0xFF
    elif damage == "deflate":
        data[10:] = b"\xff" * (len(data) - 10)
    else:
        data[:2] = b"xx"
    target.write_bytes(bytes(data))
    with pytest.raises(CorruptDataSet, match="t10k-labels-idx1-ubyte.gz: corrupt gzip stream"):
        datasets.idx_folder(tmp_path)


def test_train_and_test_image_sizes_must_agree(tmp_path, rng):
    write_folder(tmp_path, rng, files={"t10k-images-idx3-ubyte": idx_bytes(sample(3, rng, 28, 27)[0])})
    with pytest.raises(CorruptDataSet, match="28x28 images but .* 28x27"):
        datasets.idx_folder(tmp_path)


# --- finding the folder ----------------------------------------------------------

def test_missing_folder_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("CIRCNN_DATA", raising=False)
    with pytest.raises(DataSetMissing) as info:
        datasets.fashion_mnist(path=tmp_path / "nowhere")
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and "CIRCNN_DATA" in message
    assert "path=" in message and "nowhere" in message
    assert isinstance(info.value, FileNotFoundError)
    # The default folder gets the same message.
    monkeypatch.setattr(datasets, "DEFAULT_FOLDER", str(tmp_path / "gone"))
    with pytest.raises(DataSetMissing, match="apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist()


def test_partial_folder_names_the_missing_files(tmp_path, rng):
    write_folder(tmp_path, rng)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataSetMissing, match="missing t10k-labels-idx1-ubyte"):
        datasets.idx_folder(tmp_path)
    with pytest.raises(DataSetMissing, match="CIRCNN_DATA"):
        datasets.fashion_mnist(path=tmp_path)


def test_circnn_data_is_honoured_and_path_wins(tmp_path, rng, monkeypatch):
    env_labels = write_folder(tmp_path / "env", rng, gz=True)[1]
    arg_labels = write_folder(tmp_path / "arg", rng, n_train=4)[1]
    monkeypatch.setenv("CIRCNN_DATA", str(tmp_path / "env"))
    (_, y), _ = datasets.fashion_mnist()
    assert np.array_equal(y, env_labels)
    (_, y), _ = datasets.fashion_mnist(path=tmp_path / "arg")
    assert np.array_equal(y, arg_labels)
    # A CIRCNN_DATA that lacks the files is reported, not silently replaced by the default.
    monkeypatch.setenv("CIRCNN_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataSetMissing, match="empty.*apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist()
