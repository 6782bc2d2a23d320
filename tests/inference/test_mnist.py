import functools
import gzip
import http.server
import shutil
import threading

import numpy as np
import pytest
from smtjlab.inference import mnist
from smtjlab.inference.mnist import MnistError, download, load_mnist, read_idx

from smtjlab.cli import main


def test_loads_both_splits_with_verified_checksums(mnist_dir):
    train_images, train_labels = load_mnist("train", mnist_dir)
    test_images, test_labels = load_mnist("test", mnist_dir)
    assert train_images.shape == (60000, 28, 28) and train_images.dtype == np.uint8
    assert test_images.shape == (10000, 28, 28) and test_images.dtype == np.uint8
    assert train_labels.shape == (60000,) and test_labels.shape == (10000,)
    assert set(np.unique(test_labels)) == set(range(10))


def test_shipped_test_set_needs_no_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(mnist.ENV_FOLDER, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images, labels = load_mnist("test")
    assert images.shape == (10000, 28, 28) and labels[:3].tolist() == [7, 2, 1]


def test_raw_files_load_like_gzipped_ones(tmp_path):
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(mnist.SHIPPED_FOLDER / f"{name}.gz") as stream:
            (tmp_path / name).write_bytes(stream.read())
    images, _ = load_mnist("test", tmp_path)
    assert images.shape == (10000, 28, 28)


@pytest.fixture
def labels_gz(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    shutil.copy(mnist.SHIPPED_FOLDER / path.name, path)
    return path


def test_truncated_gzip_is_named(labels_gz):
    labels_gz.write_bytes(labels_gz.read_bytes()[:2000])
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte\.gz: truncated"):
        read_idx(labels_gz)


def test_wrong_magic_is_named(labels_gz):
    content = bytearray(gzip.decompress(labels_gz.read_bytes()))
    content[3] = 3
    labels_gz.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(MnistError, match="wrong magic number 2051, expected 2049"):
        read_idx(labels_gz)


def test_wrong_checksum_is_named(labels_gz):
    content = bytearray(gzip.decompress(labels_gz.read_bytes()))
    content[100] ^= 1
    labels_gz.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(MnistError, match="SHA-256 does not match"):
        read_idx(labels_gz)


def test_cli_reports_a_bad_file_in_one_line(labels_gz, capsys):
    labels_gz.write_bytes(b"not gzip at all")
    shutil.copy(mnist.SHIPPED_FOLDER / "t10k-images-idx3-ubyte.gz", labels_gz.parent)
    assert main(["mnist", "--folder", str(labels_gz.parent)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "t10k-labels-idx1-ubyte.gz" in err or "train" in err


@pytest.fixture
def loopback_mirror(mnist_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mnist_dir))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_falls_back_to_a_working_mirror(loopback_mirror, tmp_path):
    mirrors = (f"{loopback_mirror}/no-such-folder/", f"{loopback_mirror}/")
    folder = download(tmp_path / "cache", mirrors=mirrors, timeout_s=5)
    images, labels = load_mnist("train", folder)
    assert images.shape == (60000, 28, 28) and len(labels) == 60000


def test_download_fails_clearly_when_no_mirror_serves(loopback_mirror, tmp_path):
    with pytest.raises(MnistError, match="could not download train-images-idx3-ubyte"):
        download(tmp_path, mirrors=(f"{loopback_mirror}/missing/",), timeout_s=5)
