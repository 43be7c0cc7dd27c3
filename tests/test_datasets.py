"""Tests of dendritic.datasets: finding, verifying, parsing, writing and loading the five datasets.

No test touches the internet: ``no_network`` makes every name lookup except localhost fail at once.
Small files in the real formats (IDX gz/raw, EMNIST's zip, CIFAR pickles in a tar.gz) are written by
the tests; the real Fashion-MNIST (Debian's dataset-fashion-mnist) is used where installed.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import shutil
import socket
import stat
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FMNIST_MIRROR as REAL_FMNIST
from conftest import requires_fmnist

from dendritic import datasets as ds
from dendritic.datasets import sources

N_TRAIN, N_TEST = 6, 4


# ----------------------------------------------------------------------------- fixtures/helpers


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every host name except localhost fails to resolve, instantly (tests never use the internet)."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("localhost", "127.0.0.1"):
            raise socket.gaierror(socket.EAI_NONAME, f"network disabled in tests ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """An array of uint8 in the IDX format (MNIST's)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def fake_arrays(seed: int, n_classes: int = 10, hw: int = 28) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (N_TRAIN, hw, hw), dtype=np.uint8),
        "train_labels": rng.integers(0, n_classes, N_TRAIN).astype(np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, hw, hw), dtype=np.uint8),
        "test_labels": rng.integers(0, n_classes, N_TEST).astype(np.uint8),
    }


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def write_mnist(folder: Path, arrays: dict, gz: bool = True) -> dict[str, str]:
    """The four IDX files (gzipped or not); returns file name -> md5 of the decompressed content."""
    sums = {}
    for key, name in MNIST_FILES.items():
        data = idx_bytes(arrays[key])
        write(folder / (name + (".gz" if gz else "")), data, gz)
        sums[name] = md5(data)
    return sums


def small_spec(monkeypatch, name: str, urls: tuple[str, ...] = ("http://data.invalid/",), **changes):
    """Shrink the registry entry of ``name`` to N_TRAIN/N_TEST images, with offline download URLs."""
    spec = ds.DATASETS[name]
    downloads = tuple(
        ds.Download(a, tuple(u + a for u in urls), None) for a in dict.fromkeys(s.archive for s in spec.sources)
    )
    small = dataclasses.replace(
        spec,
        n_train=changes.pop("n_train", N_TRAIN),
        n_test=changes.pop("n_test", N_TEST),
        downloads=downloads,
        **changes,
    )
    monkeypatch.setitem(ds.DATASETS, name, small)
    return small


# ----------------------------------------------------------------------------- registry


def test_registry_holds_the_five_datasets_with_torchvision_sources():
    tv = pytest.importorskip("dendritic.tvcompat").import_torchvision().datasets
    assert list(ds.DATASETS) == ["mnist", "fmnist", "kmnist", "emnist", "cifar10"]
    assert ds.DATASETS["fmnist"].class_names == tuple(tv.FashionMNIST.classes)
    assert ds.DATASETS["mnist"].class_names == tuple(tv.MNIST.classes)
    assert ds.DATASETS["kmnist"].class_names == tuple(tv.KMNIST.classes)
    assert ds.DATASETS["emnist"].class_names == tuple(tv.EMNIST.classes_split_dict["balanced"])
    assert ds.DATASETS["emnist"].n_classes == 47
    assert (ds.DATASETS["emnist"].n_train, ds.DATASETS["emnist"].n_test) == (112_800, 18_800)
    assert ds.DATASETS["cifar10"].image_shape == (3, 32, 32)
    fm = ds.resolve_downloads(ds.DATASETS["fmnist"])
    assert [(d.filename, d.md5) for d in fm] == [tuple(r) for r in tv.FashionMNIST.resources]
    assert fm[0].urls == (tv.FashionMNIST.mirrors[0] + "train-images-idx3-ubyte.gz",)
    assert len(ds.resolve_downloads(ds.DATASETS["mnist"])[0].urls) == len(tv.MNIST.mirrors)
    (em,) = ds.resolve_downloads(ds.DATASETS["emnist"])
    assert (em.urls, em.md5) == ((tv.EMNIST.url,), tv.EMNIST.md5)
    sums = ds.default_checksums(ds.DATASETS["cifar10"])
    assert sums["cifar-10-python.tar.gz"] == tv.CIFAR10.tgz_md5
    assert sums["data_batch_3"] == dict(tv.CIFAR10.train_list)["data_batch_3"]
    assert ds.default_checksums(ds.DATASETS["fmnist"])["t10k-labels-idx1-ubyte"] == "15d484375f8d13e6eb1aabb0c3f46965"


def test_unknown_dataset_lists_the_known_ones(tmp_path):
    with pytest.raises(ds.UnknownDatasetError) as info:
        ds.prepare("svhn", tmp_path / "svhn.pt", tmp_path / "raw")
    assert "'svhn'" in str(info.value)
    assert all(name in str(info.value) for name in ds.DATASETS)


# ----------------------------------------------------------------------------- round trips


def ds_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_image_shape_and_classes_are_those_of_wiring_inputs():
    from dendritic.wiring import INPUTS

    assert set(ds.DATASETS) == set(INPUTS)
    for name, spec in ds.DATASETS.items():
        assert (spec.image_shape, spec.n_classes) == INPUTS[name]
        assert len(spec.class_names) == spec.n_classes
    with pytest.raises(ValueError, match="INPUTS says 10 classes"):
        dataclasses.replace(ds.DATASETS["mnist"], class_names=("a", "b"))
    with pytest.raises(ValueError, match="no entry in dendritic.wiring.INPUTS"):
        dataclasses.replace(ds.DATASETS["mnist"], name="svhn")


def test_downloads_and_the_cache_share_the_one_atomic_writer():
    """No module of the package renames files into place itself: dendritic.runio.atomic_path does."""
    import inspect

    from dendritic.datasets import cache

    for module in (sources, cache):
        text = inspect.getsource(module)
        assert "os.replace" not in text and "runio.atomic_path" in text, module.__name__


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "decompressed"])
def test_idx_round_trip(tmp_path, monkeypatch, gz):
    small_spec(monkeypatch, "mnist")
    arrays = fake_arrays(1)
    sums = write_mnist(tmp_path / "mirror", arrays, gz=gz)
    out = tmp_path / "data" / "mnist.pt"
    meta = ds.prepare("mnist", out, tmp_path / "raw", mirrors=[tmp_path / "mirror"], checksums=sums)

    data = ds.load_prepared(out)
    assert data.x_train.dtype == torch.uint8 and data.y_train.dtype == torch.int64
    assert data.x_train.shape == (N_TRAIN, 1, 28, 28) and data.x_test.shape == (N_TEST, 1, 28, 28)
    assert torch.equal(data.x_train[:, 0], torch.from_numpy(arrays["train_images"]))
    assert torch.equal(data.x_test[:, 0], torch.from_numpy(arrays["test_images"]))
    assert data.y_train.tolist() == arrays["train_labels"].tolist()
    assert data.y_test.tolist() == arrays["test_labels"].tolist()
    assert (data.name, data.n_classes, data.image_shape) == ("mnist", 10, (1, 28, 28))
    assert data.class_names[3] == "3 - three"
    assert meta["sources"] == sums and meta["n_train"] == N_TRAIN
    assert {o["verified"] for o in meta["origins"].values()} == {"md5"}
    # the JSON beside the cache is its meta plus the file's own checksum and size
    assert json.loads(out.with_suffix(".json").read_text()) == meta
    assert meta == {**data.meta, "file_sha256": ds_sha256(out), "file_size": out.stat().st_size}
    assert data.meta["content_sha256"] == ds.content_checksum(data.__dict__)
    assert not (tmp_path / "raw").exists()  # nothing downloaded, nothing left behind


def test_structure_only_when_no_checksum_is_known(tmp_path, monkeypatch):
    small_spec(monkeypatch, "kmnist")
    sums = write_mnist(tmp_path / "mirror" / "KMNIST" / "raw", fake_arrays(2), gz=False)  # torchvision layout
    meta = ds.prepare("kmnist", tmp_path / "k.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"], checksums={})
    assert meta["sources"] == sums  # md5s recorded even though nothing could be compared
    assert {o["verified"] for o in meta["origins"].values()} == {"structure"}
    assert "KMNIST/raw" in meta["origins"]["train-images-idx3-ubyte"]["path"]


def test_downloaded_file_form_is_checked_against_torchvision_md5(tmp_path, monkeypatch):
    small_spec(monkeypatch, "mnist")
    write_mnist(tmp_path / "m", fake_arrays(3), gz=True)
    gz_sums = {f"{n}.gz": md5((tmp_path / "m" / f"{n}.gz").read_bytes()) for n in MNIST_FILES.values()}
    meta = ds.prepare("mnist", tmp_path / "a.pt", tmp_path / "raw", [tmp_path / "m"], checksums=gz_sums)
    assert {o["verified"] for o in meta["origins"].values()} == {"archive-md5"}

    wrong = {**gz_sums, "t10k-images-idx3-ubyte.gz": "0" * 32}  # e.g. a re-compressed copy
    with pytest.raises(ds.ChecksumError) as info:
        ds.prepare("mnist", tmp_path / "b.pt", tmp_path / "raw", [tmp_path / "m"], checksums=wrong)
    assert str(tmp_path / "m" / "t10k-images-idx3-ubyte.gz") in str(info.value)
    assert info.value.expected == "0" * 32
    assert not (tmp_path / "b.pt").exists()


def emnist_files(arrays: dict) -> dict[str, bytes]:
    """EMNIST balanced file name -> IDX bytes, images stored transposed as in the real files."""
    names = {
        "train_images": "emnist-balanced-train-images-idx3-ubyte",
        "train_labels": "emnist-balanced-train-labels-idx1-ubyte",
        "test_images": "emnist-balanced-test-images-idx3-ubyte",
        "test_labels": "emnist-balanced-test-labels-idx1-ubyte",
    }
    stored = {k: (v.transpose(0, 2, 1) if k.endswith("images") else v) for k, v in arrays.items()}
    return {names[k]: idx_bytes(stored[k]) for k in names}


@pytest.mark.parametrize("form", ["zip", "extracted-gzip-folder", "plain-files"])
def test_emnist_images_are_stored_upright(tmp_path, monkeypatch, form):
    small_spec(monkeypatch, "emnist")
    arrays = fake_arrays(4, n_classes=47)
    arrays["train_labels"][0] = 46  # the last class must be accepted
    arrays["train_images"][0] = 0
    arrays["train_images"][0, 2, 20] = 255  # an asymmetric mark: row 2, column 20
    files = emnist_files(arrays)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    if form == "zip":
        with zipfile.ZipFile(mirror / "gzip.zip", "w") as zf:
            for name, data in files.items():
                zf.writestr(f"gzip/{name}.gz", gzip.compress(data))
            zf.writestr("gzip/emnist-balanced-mapping.txt", "0 48\n")
    else:
        for name, data in files.items():
            if form == "plain-files":
                write(mirror / name, data)
            else:
                write(mirror / "gzip" / f"{name}.gz", data, gz=True)
    ds.prepare("emnist", tmp_path / "e.pt", tmp_path / "raw", [mirror], checksums={})
    data = ds.load_prepared(tmp_path / "e.pt")
    assert data.x_train[0, 0, 2, 20] == 255 and data.x_train[0, 0, 20, 2] == 0
    assert torch.equal(data.x_train[:, 0], torch.from_numpy(arrays["train_images"]))
    assert torch.equal(data.x_test[:, 0], torch.from_numpy(arrays["test_images"]))
    assert data.y_train[0] == 46 and data.n_classes == 47 and data.class_names[-1] == "t"


CIFAR_BATCHES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def cifar_batches(per_batch: int = 2) -> tuple[dict[str, bytes], np.ndarray, np.ndarray]:
    """Pickled CIFAR-10 python batches (bytes keys, like the originals) and all their rows/labels."""
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (6 * per_batch, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, 6 * per_batch)
    batches = {}
    for i, name in enumerate(CIFAR_BATCHES):
        part = slice(i * per_batch, (i + 1) * per_batch)
        batches[name] = pickle.dumps(
            {b"batch_label": name.encode(), b"data": rows[part], b"labels": labels[part].tolist()}, protocol=2
        )
    return batches, rows, labels


@pytest.mark.parametrize("form", ["tar.gz", "extracted"])
def test_cifar_round_trip_keeps_rgb(tmp_path, monkeypatch, form):
    small_spec(monkeypatch, "cifar10", n_train=10, n_test=2)
    batches, rows, labels = cifar_batches()
    mirror = tmp_path / "mirror"
    if form == "tar.gz":
        mirror.mkdir()
        with tarfile.open(mirror / "cifar-10-python.tar.gz", "w:gz") as tf:
            for name, data in batches.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    else:
        for name, data in batches.items():
            write(mirror / "cifar-10-batches-py" / name, data)
    sums = {name: md5(data) for name, data in batches.items()}
    meta = ds.prepare("cifar10", tmp_path / "c.pt", tmp_path / "raw", [mirror], checksums=sums)
    data = ds.load_prepared(tmp_path / "c.pt")
    assert data.x_train.shape == (10, 3, 32, 32) and data.x_test.shape == (2, 3, 32, 32)
    assert data.y_train.tolist() == labels[:10].tolist() and data.y_test.tolist() == labels[10:].tolist()
    # a CIFAR row is 1024 red, 1024 green, 1024 blue values, each row-major 32x32
    assert data.x_train[3, 1, 4, 5] == rows[3, 1024 + 4 * 32 + 5]
    assert data.x_test[1, 2, 31, 0] == rows[11, 2048 + 31 * 32]
    assert {o["verified"] for o in meta["origins"].values()} == {"md5"}
    assert list(meta["sources"]) == CIFAR_BATCHES


# ----------------------------------------------------------------------------- lookup order


def test_mirrors_are_searched_in_order_then_raw_dir(tmp_path, monkeypatch):
    small_spec(monkeypatch, "fmnist")
    first, second, raw = tmp_path / "first", tmp_path / "second", tmp_path / "raw"
    a, b, c = fake_arrays(10), fake_arrays(11), fake_arrays(12)
    write_mnist(first, a)
    write_mnist(second, b)
    write_mnist(raw / "fmnist", c)  # raw_dir/<dataset>/ is searched too
    (first / "t10k-images-idx3-ubyte.gz").unlink()  # -> from the second mirror
    for d in (first, second):
        (d / "t10k-labels-idx1-ubyte.gz").unlink()  # -> from raw_dir
    meta = ds.prepare("fmnist", tmp_path / "f.pt", raw, mirrors=[first, second], checksums={})
    data = ds.load_prepared(tmp_path / "f.pt")
    assert torch.equal(data.x_train[:, 0], torch.from_numpy(a["train_images"]))
    assert torch.equal(data.x_test[:, 0], torch.from_numpy(b["test_images"]))
    assert data.y_test.tolist() == c["test_labels"].tolist()
    origins = {k: Path(v["path"]).parent for k, v in meta["origins"].items()}
    assert origins == {
        "train-images-idx3-ubyte": first,
        "train-labels-idx1-ubyte": first,
        "t10k-images-idx3-ubyte": second,
        "t10k-labels-idx1-ubyte": raw / "fmnist",
    }


def test_bad_copy_is_skipped_when_a_good_one_follows(tmp_path, monkeypatch, caplog):
    small_spec(monkeypatch, "mnist")
    good = write_mnist(tmp_path / "good", fake_arrays(20))
    write_mnist(tmp_path / "bad", fake_arrays(21))  # same names, other content
    meta = ds.prepare(
        "mnist", tmp_path / "m.pt", tmp_path / "raw", [tmp_path / "bad", tmp_path / "good"], checksums=good
    )
    assert meta["sources"] == good
    assert all(Path(o["path"]).parent == tmp_path / "good" for o in meta["origins"].values())
    assert str(tmp_path / "bad" / "train-images-idx3-ubyte.gz") in caplog.text


# ----------------------------------------------------------------------------- failures


def test_checksum_failure_names_file_expected_and_actual(tmp_path, monkeypatch):
    small_spec(monkeypatch, "mnist")
    sums = write_mnist(tmp_path / "mirror", fake_arrays(30), gz=False)
    target = tmp_path / "mirror" / "train-labels-idx1-ubyte"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1  # one flipped bit, still a valid label file
    target.write_bytes(bytes(data))
    out = tmp_path / "data" / "mnist.pt"
    with pytest.raises(ds.ChecksumError) as info:
        ds.prepare("mnist", out, tmp_path / "raw", [tmp_path / "mirror"], checksums=sums)
    err = info.value
    assert (Path(err.path), err.expected, err.actual) == (target, sums[target.name], md5(bytes(data)))
    message = str(err)
    assert str(target) in message and err.expected in message and err.actual in message
    assert "delete it" in message
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_wrong_counts_and_labels_are_format_errors_naming_the_file(tmp_path, monkeypatch):
    small_spec(monkeypatch, "mnist", n_train=N_TRAIN + 1)
    write_mnist(tmp_path / "m", fake_arrays(31))
    with pytest.raises(ds.FileFormatError) as info:
        ds.prepare("mnist", tmp_path / "x.pt", tmp_path / "raw", [tmp_path / "m"], download=False, checksums={})
    assert str(tmp_path / "m" / "train-images-idx3-ubyte.gz") in str(info.value)
    assert f"expected ({N_TRAIN + 1}, 28, 28)" in str(info.value)

    small_spec(monkeypatch, "mnist")
    arrays = fake_arrays(32)
    arrays["test_labels"][0] = 10
    write_mnist(tmp_path / "n", arrays)
    with pytest.raises(ds.FileFormatError, match="label 10 found"):
        ds.prepare("mnist", tmp_path / "y.pt", tmp_path / "raw", [tmp_path / "n"], download=False, checksums={})

    write_mnist(tmp_path / "t", fake_arrays(33), gz=False)
    victim = tmp_path / "t" / "train-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(ds.FileFormatError) as info:
        ds.prepare("mnist", tmp_path / "z.pt", tmp_path / "raw", [tmp_path / "t"], download=False, checksums={})
    assert f"{victim}: {16 + N_TRAIN * 784 - 10} bytes" in str(info.value) and "truncated" in str(info.value)


def test_no_network_and_no_mirror_names_dataset_urls_and_remedy(tmp_path):
    started = time.monotonic()
    with pytest.raises(ds.DatasetUnavailableError) as info:
        ds.prepare("fmnist", tmp_path / "f.pt", tmp_path / "raw", mirrors=[tmp_path / "nowhere"])
    assert time.monotonic() - started < 5  # no hanging on the network
    message = str(info.value)
    assert "'fmnist'" in message and "Fashion-MNIST" in message
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz" in message
    assert "network disabled in tests" in message  # the real error of the attempt
    assert "did not try train-labels-idx1-ubyte.gz" in message  # gave up once the network was down
    assert "data.mirrors" in message and str(tmp_path / "raw") in message
    assert "t10k-labels-idx1-ubyte.gz" in message and "apt-get install dataset-fashion-mnist" in message
    assert f"{tmp_path / 'nowhere'} (does not exist)" in message
    assert not (tmp_path / "f.pt").exists()
    assert not list((tmp_path / "raw").glob("*"))  # no partial download left


def test_download_disabled_tries_nothing(tmp_path, monkeypatch):
    small_spec(monkeypatch, "kmnist")
    monkeypatch.setattr(sources, "_fetch", lambda *a, **k: pytest.fail("must not download"))
    with pytest.raises(
        ds.DatasetUnavailableError, match=r"download=False\); the source URLs are: http://data.invalid/train-images"
    ):
        ds.prepare("kmnist", tmp_path / "k.pt", tmp_path / "raw", download=False)


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server over tmp_path/'server'; yields its base URL."""
    root = tmp_path / "server"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


def test_download_goes_through_a_temp_name_and_checks_md5(tmp_path, monkeypatch, http_server):
    url, root = http_server
    small_spec(monkeypatch, "mnist", urls=("http://unreachable.invalid/", url))
    write_mnist(root, fake_arrays(40))
    gz_sums = {f"{n}.gz": md5((root / f"{n}.gz").read_bytes()) for n in MNIST_FILES.values()}
    raw = tmp_path / "raw"

    bad = {**gz_sums, "train-labels-idx1-ubyte.gz": "f" * 32}  # e.g. a truncated download
    with pytest.raises(ds.ChecksumError) as info:
        ds.prepare("mnist", tmp_path / "bad.pt", raw, checksums=bad)
    assert "f" * 32 in str(info.value) and url + "train-labels-idx1-ubyte.gz" in str(info.value)
    assert sorted(p.name for p in raw.iterdir()) == [  # good files kept, the bad one and temps gone
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
    ]
    assert not (tmp_path / "bad.pt").exists()

    meta = ds.prepare("mnist", tmp_path / "good.pt", raw, checksums=gz_sums)
    assert {Path(o["path"]).parent for o in meta["origins"].values()} == {raw}
    assert {o["verified"] for o in meta["origins"].values()} == {"archive-md5"}
    assert sorted(p.name for p in raw.iterdir()) == sorted(gz_sums)
    umask = os.umask(0)
    os.umask(umask)
    for written in [*raw.iterdir(), tmp_path / "good.pt", tmp_path / "good.json"]:  # as open() makes them
        assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask, written


def test_socket_timeout_is_set_for_downloads_and_restored(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(sources, "_fetch", lambda url, dest, md5, timeout: seen.append(timeout))
    before = socket.getdefaulttimeout()
    with sources._socket_timeout(7.0):
        assert socket.getdefaulttimeout() == 7.0
    assert socket.getdefaulttimeout() == before
    sources.download_files([ds.Download("x.gz", ("http://a/x.gz",), None)], tmp_path, {}, 3.0, [])
    assert seen == [3.0]


def test_failed_write_leaves_no_output_and_keeps_the_old_one(tmp_path, monkeypatch):
    small_spec(monkeypatch, "mnist")
    write_mnist(tmp_path / "m", fake_arrays(50))
    out = tmp_path / "data" / "mnist.pt"
    out.parent.mkdir()
    out.write_bytes(b"old")

    def broken_save(obj, path):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ds.prepare("mnist", out, tmp_path / "raw", [tmp_path / "m"], checksums={})
    assert sorted(p.name for p in out.parent.iterdir()) == ["mnist.pt"]
    assert out.read_bytes() == b"old"


def test_load_prepared_explains_missing_or_invalid_files(tmp_path):
    with pytest.raises(ds.DatasetError, match="prepare it first"):
        ds.load_prepared(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ds.DatasetError, match="prepares it anew"):
        ds.load_prepared(tmp_path / "junk.pt")
    torch.save(
        {
            "x_train": torch.zeros(2, 1, 28, 28),
            "y_train": torch.zeros(2, dtype=torch.int64),
            "x_test": torch.zeros(0, 1, 28, 28, dtype=torch.uint8),
            "y_test": torch.zeros(0, dtype=torch.int64),
            "meta": {"n_train": 2, "n_test": 0, "image_shape": [1, 28, 28]},
        },
        tmp_path / "f.pt",
    )
    with pytest.raises(ds.DatasetError, match="expected uint8/int64"):
        ds.load_prepared(tmp_path / "f.pt")


# ----------------------------------------------------------------------------- the real Fashion-MNIST


@pytest.fixture(scope="module")
def real_fmnist(tmp_path_factory):
    """The real Fashion-MNIST prepared once from Debian's files (tests must not change it)."""
    if not REAL_FMNIST.is_dir():
        pytest.skip(f"real Fashion-MNIST not installed at {REAL_FMNIST}")
    out = tmp_path_factory.mktemp("fmnist") / "fmnist.pt"
    meta = ds.prepare("fmnist", out, out.parent / "raw", mirrors=[REAL_FMNIST])
    return out, meta


@requires_fmnist
@pytest.mark.fmnist
def test_real_fmnist_end_to_end(real_fmnist, tmp_path):
    path, meta = real_fmnist
    assert meta["sources"] == ds.KNOWN_MD5["fmnist"]
    assert {o["verified"] for o in meta["origins"].values()} == {"md5"}
    started = time.perf_counter()
    data = ds.load_prepared(path)
    load_s = time.perf_counter() - started
    assert load_s < 0.5, f"loading took {load_s:.3f} s"
    assert data.x_train.shape == (60_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert data.y_train.bincount().tolist() == [6000] * 10 and data.y_test.bincount().tolist() == [1000] * 10
    assert data.y_train[:3].tolist() == [9, 0, 0]  # the first training image is an ankle boot
    # the same pixels as torchvision's own IDX reader gives
    from dendritic.tvcompat import import_torchvision

    raw = tmp_path / "t10k-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress((REAL_FMNIST / "t10k-images-idx3-ubyte.gz").read_bytes()))
    reference = import_torchvision().datasets.mnist.read_image_file(str(raw))
    assert torch.equal(data.x_test[:, 0], reference)


@requires_fmnist
@pytest.mark.fmnist
@pytest.mark.parametrize("form", ["decompressed", "gzipped"])
def test_flipped_byte_in_real_fmnist_copy_names_the_file(tmp_path, form):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (mirror / f"{name}.gz").symlink_to(REAL_FMNIST / f"{name}.gz")
    original = (REAL_FMNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()
    if form == "decompressed":
        data = bytearray(gzip.decompress(original))
        target = mirror / "t10k-labels-idx1-ubyte"
    else:
        data = bytearray(original)
        target = mirror / "t10k-labels-idx1-ubyte.gz"
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ds.DatasetError) as info:
        ds.prepare("fmnist", tmp_path / "f.pt", tmp_path / "raw", mirrors=[mirror])
    assert str(target) in str(info.value)
    if form == "decompressed":  # a valid label file with one wrong label: only the md5 can tell
        assert isinstance(info.value, ds.ChecksumError)
        assert info.value.expected == "15d484375f8d13e6eb1aabb0c3f46965"
        assert info.value.expected in str(info.value) and info.value.actual in str(info.value)
    else:  # gzip's own CRC catches it
        assert isinstance(info.value, ds.FileFormatError)
    assert not (tmp_path / "f.pt").exists()


@requires_fmnist
@pytest.mark.fmnist
def test_fmnist_files_are_not_taken_for_another_dataset(tmp_path):
    """The default mirror (Debian's Fashion-MNIST folder) is searched for every dataset; MNIST and
    KMNIST have the same file names. Those files must be ignored, and not called damaged."""
    mirror = tmp_path / "mirror"
    write(
        mirror / "t10k-labels-idx1-ubyte", gzip.decompress((REAL_FMNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())
    )  # decompressed copy
    for mirrors in ([mirror], [REAL_FMNIST]):
        with pytest.raises(ds.DatasetUnavailableError) as info:
            ds.prepare("mnist", tmp_path / "m.pt", tmp_path / "raw", mirrors=mirrors)
        message = str(info.value)
        assert "is fmnist/t10k-labels-idx1-ubyte, not MNIST's t10k-labels-idx1-ubyte: ignored" in message
        assert "Rejected files" not in message and "delete" not in message


def test_dataset_subfolder_is_searched_before_the_shared_root(tmp_path, monkeypatch):
    small_spec(monkeypatch, "mnist")
    small_spec(monkeypatch, "kmnist")
    write_mnist(tmp_path / "mirror" / "mnist", fake_arrays(60))
    k = fake_arrays(61)
    write_mnist(tmp_path / "mirror" / "kmnist", k)
    write_mnist(tmp_path / "mirror", fake_arrays(62))  # shared root: only used when nothing better
    ds.prepare("kmnist", tmp_path / "k.pt", tmp_path / "raw", [tmp_path / "mirror"], checksums={})
    assert torch.equal(ds.load_prepared(tmp_path / "k.pt").x_train[:, 0], torch.from_numpy(k["train_images"]))
    shutil.rmtree(tmp_path / "mirror" / "kmnist")
    meta = ds.prepare("kmnist", tmp_path / "k2.pt", tmp_path / "raw", [tmp_path / "mirror"], checksums={})
    assert Path(meta["origins"]["train-images-idx3-ubyte"]["path"]).parent == tmp_path / "mirror"
