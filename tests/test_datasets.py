"""The dataset stage: readers on small files in the real formats, mirrors, checksums, errors, the cache.

No test touches the network: downloads are replaced by a function that fails as an unreachable
host does. Small datasets are described by shrunken copies of the real specs.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import shutil
import subprocess
import sys
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FMNIST_MIRROR, requires_fmnist
from dendritic import datasets as ds

N_TRAIN, N_TEST = 30, 12


# ----------------------------------------------------------------------------- writers


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file (MNIST format) of uint8 data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_idx_dataset(rng, n_classes=10, shape=(28, 28)):
    return {
        "train": (rng.integers(0, 256, (N_TRAIN, *shape)), rng.integers(0, n_classes, N_TRAIN)),
        "test": (rng.integers(0, 256, (N_TEST, *shape)), rng.integers(0, n_classes, N_TEST)),
    }


def write_idx_files(folder: Path, spec: ds.DatasetSpec, data, gz=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for src in spec.sources:
        x, y = data[src.split]
        raw = idx_bytes(x if src.kind == "images" else y)
        (folder / (src.name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)


def small(monkeypatch, name, **changes) -> ds.DatasetSpec:
    """Register a shrunken copy of a dataset's spec (no torchvision look-ups, no real sizes)."""
    fields = dict(n_train=N_TRAIN, n_test=N_TEST,
                  downloads=(ds.Download("x.gz", ("https://example.invalid/x.gz",), None),))
    spec = dataclasses.replace(ds.DATASETS[name], **{**fields, **changes})
    monkeypatch.setitem(ds.DATASETS, name, spec)
    return spec


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download attempt fails at once, like an unreachable host."""
    def unreachable(url, dest, md5, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ds, "_fetch", unreachable)


# ----------------------------------------------------------------------------- readers


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, monkeypatch, gz):
    spec = small(monkeypatch, "mnist")
    data = fake_idx_dataset(np.random.default_rng(0))
    write_idx_files(tmp_path / "mirror", spec, data, gz=gz)
    meta = ds.prepare("mnist", tmp_path / "out" / "mnist.pt", tmp_path / "raw",
                      mirrors=[tmp_path / "mirror"], download=False, checksums={})
    p = ds.load_prepared(tmp_path / "out" / "mnist.pt")
    assert p.x_train.dtype == torch.uint8 and p.y_train.dtype == torch.int64
    assert tuple(p.x_train.shape) == (N_TRAIN, 1, 28, 28) and tuple(p.x_test.shape) == (N_TEST, 1, 28, 28)
    assert np.array_equal(p.x_train[:, 0].numpy(), data["train"][0])
    assert np.array_equal(p.y_test.numpy(), data["test"][1])
    assert meta["n_classes"] == 10 and p.class_names[3] == "3 - three"
    assert all(o["verified"] == "structure" for o in meta["origins"].values())
    assert (tmp_path / "out" / "mnist.json").exists()


def test_emnist_is_stored_upright(tmp_path, monkeypatch):
    spec = small(monkeypatch, "emnist")
    data = fake_idx_dataset(np.random.default_rng(1), n_classes=47)
    stored = {k: (x.transpose(0, 2, 1), y) for k, (x, y) in data.items()}  # as in the source files
    folder = tmp_path / "mirror" / "gzip"
    write_idx_files(folder, spec, stored)
    for f in folder.iterdir():  # the source names carry the gzip/ member folder
        f.rename(folder / f.name)
    ds.prepare("emnist", tmp_path / "emnist.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"],
               download=False, checksums={})
    p = ds.load_prepared(tmp_path / "emnist.pt")
    assert np.array_equal(p.x_train[:, 0].numpy(), data["train"][0]), "EMNIST images must be upright"
    assert p.n_classes == 47


def cifar_batch(rng, n):
    return pickle.dumps({b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                         b"labels": rng.integers(0, 10, n).tolist()}, protocol=2)


@pytest.mark.parametrize("form", ["tar.gz", "extracted"])
def test_cifar_round_trip(tmp_path, monkeypatch, form):
    spec = small(monkeypatch, "cifar10", n_train=5 * 6)
    rng = np.random.default_rng(2)
    batches = {s.member: cifar_batch(rng, 6 if s.split == "train" else N_TEST) for s in spec.sources}
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    if form == "tar.gz":
        with tarfile.open(mirror / "cifar-10-python.tar.gz", "w:gz") as tf:
            for member, blob in batches.items():
                info = tarfile.TarInfo(member)
                info.size = len(blob)
                tf.addfile(info, io.BytesIO(blob))
    else:
        for member, blob in batches.items():
            (mirror / member).parent.mkdir(parents=True, exist_ok=True)
            (mirror / member).write_bytes(blob)
    ds.prepare("cifar10", tmp_path / "c.pt", tmp_path / "raw", mirrors=[mirror], download=False,
               checksums={})
    p = ds.load_prepared(tmp_path / "c.pt")
    assert tuple(p.x_train.shape) == (30, 3, 32, 32) and tuple(p.x_test.shape) == (N_TEST, 3, 32, 32)
    first = pickle.loads(batches["cifar-10-batches-py/data_batch_1"])
    assert np.array_equal(p.x_train[0].numpy().ravel(), first[b"data"][0])  # CHW order kept
    assert p.y_train[:6].tolist() == first[b"labels"]


# ----------------------------------------------------------------------------- mirrors and checksums


def test_mirrors_are_searched_in_order_before_raw_dir(tmp_path, monkeypatch):
    spec = small(monkeypatch, "kmnist")
    a, b = fake_idx_dataset(np.random.default_rng(3)), fake_idx_dataset(np.random.default_rng(4))
    write_idx_files(tmp_path / "m1", spec, a)
    write_idx_files(tmp_path / "m2", spec, b)
    write_idx_files(tmp_path / "raw", spec, b)
    meta = ds.prepare("kmnist", tmp_path / "k.pt", tmp_path / "raw", mirrors=[tmp_path / "m1", tmp_path / "m2"],
                      download=False, checksums={})
    p = ds.load_prepared(tmp_path / "k.pt")
    assert np.array_equal(p.x_test[:, 0].numpy(), a["test"][0])
    assert all(str(tmp_path / "m1") in o["path"] for o in meta["origins"].values())


def test_checksum_mismatch_names_the_file_and_falls_back(tmp_path, monkeypatch):
    spec = small(monkeypatch, "mnist")
    data = fake_idx_dataset(np.random.default_rng(5))
    write_idx_files(tmp_path / "mirror", spec, data, gz=False)
    good = {s.name: ds._md5((tmp_path / "mirror" / s.name).read_bytes()) for s in spec.sources}
    bad = dict(good, **{"t10k-labels-idx1-ubyte": "0" * 32})
    with pytest.raises(ds.ChecksumError) as err:
        ds.prepare("mnist", tmp_path / "m.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"],
                   download=False, checksums=bad)
    assert "t10k-labels-idx1-ubyte" in str(err.value) and "0" * 32 in str(err.value)
    assert not (tmp_path / "m.pt").exists()
    # a good copy further down the search path is used instead of the damaged one
    write_idx_files(tmp_path / "raw", spec, data, gz=False)
    meta = ds.prepare("mnist", tmp_path / "m.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"],
                      download=False, checksums=good)
    assert all(o["verified"] == "md5" for o in meta["origins"].values())


def test_structure_errors_name_the_file(tmp_path, monkeypatch):
    spec = small(monkeypatch, "mnist")
    data = fake_idx_dataset(np.random.default_rng(6))
    write_idx_files(tmp_path / "mirror", spec, data, gz=False)
    f = tmp_path / "mirror" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])  # truncated
    with pytest.raises(ds.DatasetError, match="train-images-idx3-ubyte.*truncated"):
        ds.prepare("mnist", tmp_path / "m.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"],
                   download=False, checksums={})


def test_no_mirror_no_network_names_dataset_url_and_remedy(tmp_path):
    with pytest.raises(ds.DatasetUnavailableError) as err:
        ds.prepare("fmnist", tmp_path / "f.pt", tmp_path / "raw", mirrors=[tmp_path / "nowhere"])
    msg = str(err.value)
    assert "'fmnist'" in msg and "Fashion-MNIST" in msg
    assert "http" in msg and "train-images-idx3-ubyte.gz" in msg  # the URL it tried
    assert "data.mirrors" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert not (tmp_path / "f.pt").exists()
    assert not [p for p in (tmp_path / "raw").rglob("*") if p.is_file()], "no partial download left"


def test_download_disabled_lists_urls(tmp_path):
    with pytest.raises(ds.DatasetUnavailableError, match="download=False.*http"):
        ds.prepare("kmnist", tmp_path / "k.pt", tmp_path / "raw", download=False)


def test_unknown_dataset_lists_known_ones(tmp_path):
    with pytest.raises(ds.UnknownDatasetError, match="mnist, fmnist, kmnist, emnist, cifar10"):
        ds.prepare("svhn", tmp_path / "s.pt", tmp_path / "raw")


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    spec = small(monkeypatch, "mnist")
    write_idx_files(tmp_path / "mirror", spec, fake_idx_dataset(np.random.default_rng(7)))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ds.torch, "save", boom)
    with pytest.raises(OSError):
        ds.prepare("mnist", tmp_path / "out" / "m.pt", tmp_path / "raw", mirrors=[tmp_path / "mirror"],
                   download=False, checksums={})
    assert list((tmp_path / "out").iterdir()) == []


def test_damaged_cache_is_reported(tmp_path):
    bad = tmp_path / "fmnist.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ds.DatasetError, match="delete it and prepare it again"):
        ds.load_prepared(bad)


# ----------------------------------------------------------------------------- the real Fashion-MNIST


@pytest.fixture(scope="module")
def real_fmnist(tmp_path_factory):
    if not FMNIST_MIRROR.is_dir():
        pytest.skip(f"real Fashion-MNIST not installed at {FMNIST_MIRROR}")
    out = tmp_path_factory.mktemp("fmnist") / "fmnist.pt"
    meta = ds.prepare("fmnist", out, out.parent / "raw", mirrors=[FMNIST_MIRROR], download=False)
    return out, meta


@requires_fmnist
def test_real_fashion_mnist_from_debian_mirror(real_fmnist):
    out, meta = real_fmnist
    p = ds.load_prepared(out)
    assert tuple(p.x_train.shape) == (60_000, 1, 28, 28) and tuple(p.x_test.shape) == (10_000, 1, 28, 28)
    assert meta["sources"]["train-images-idx3-ubyte"] == "f4a8712d7a061bf5bd6d2ca38dc4d50a"
    assert meta["sources"]["t10k-labels-idx1-ubyte"] == "15d484375f8d13e6eb1aabb0c3f46965"
    assert torch.bincount(p.y_test).tolist() == [1000] * 10
    assert p.class_names[9] == "Ankle boot"


@requires_fmnist
@pytest.mark.parametrize("form", ["gz", "decompressed"])
def test_flipped_byte_in_real_mirror_fails_naming_the_file(tmp_path, form):
    mirror = tmp_path / "mirror"
    shutil.copytree(FMNIST_MIRROR, mirror)
    victim = mirror / "t10k-labels-idx1-ubyte.gz"
    if form == "decompressed":
        raw = bytearray(gzip.decompress(victim.read_bytes()))
        victim.unlink()
        victim = mirror / "t10k-labels-idx1-ubyte"
    else:
        raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    victim.write_bytes(bytes(raw))
    with pytest.raises(ds.DatasetError) as err:
        ds.prepare("fmnist", tmp_path / "f.pt", tmp_path / "raw", mirrors=[mirror], download=False)
    assert str(victim) in str(err.value)
    if form == "decompressed":
        assert isinstance(err.value, ds.ChecksumError) and "15d484375f8d13e6eb1aabb0c3f46965" in str(err.value)


@requires_fmnist
def test_suppl_fig1_from_real_data(real_fmnist, tmp_path):
    from dendritic.plots.examples import plot_examples

    out, _ = real_fmnist
    plot_examples({"fmnist": out}, [tmp_path / "s1.png", tmp_path / "s1.pdf"])
    assert (tmp_path / "s1.png").stat().st_size > 20_000 and (tmp_path / "s1.pdf").stat().st_size > 5_000


# ----------------------------------------------------------------------------- torchvision on a CPU torch


def test_torchvision_imports_through_the_compat_shim():
    code = ("from dendritic.tvcompat import import_torchvision; tv = import_torchvision(); "
            "from torchvision.datasets import FashionMNIST; "
            "print(FashionMNIST.resources[0][0], tv.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "train-images-idx3-ubyte.gz" in proc.stdout
