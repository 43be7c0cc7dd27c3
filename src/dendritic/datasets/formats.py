"""Reading the two file formats the paper's datasets come in, with structural checks that say
what is wrong with which file: IDX (the MNIST family: MNIST, Fashion-MNIST, Kuzushiji-MNIST,
EMNIST) and CIFAR-10's python batches (the paper, Methods "Datasets").

Both parsers take the decompressed bytes (finding and verifying the files is
:mod:`dendritic.datasets.sources`) and raise :class:`FileFormatError` naming the file.
"""

from __future__ import annotations

import pickle

import numpy as np
import torch

from dendritic.datasets.catalog import DatasetSpec
from dendritic.datasets.errors import FileFormatError


def parse_idx(data: bytes, where: str, kind: str, n: int, spec: DatasetSpec) -> torch.Tensor:
    """Parse an IDX (MNIST format) file of uint8 images (N, H, W) or labels (N,), checking its structure.

    (torchvision's ``read_sn3_pascalvincent_tensor`` only reads uncompressed files from disk and checks
    with bare asserts; this reads bytes and says what is wrong with which file.)
    """
    ndim = 3 if kind == "images" else 1
    if len(data) < 4 + 4 * ndim or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise FileFormatError(
            f"{where}: not an IDX file of uint8 {kind} (header {data[:4].hex()}, expected 000008{ndim:02x})."
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = (n, *spec.image_shape[1:]) if kind == "images" else (n,)
    if dims != expected:
        raise FileFormatError(f"{where}: IDX dimensions {dims}, expected {expected} for {spec.title}.")
    offset = 4 + 4 * ndim
    if len(data) != offset + int(np.prod(dims)):
        raise FileFormatError(
            f"{where}: {len(data)} bytes, expected {offset + int(np.prod(dims))} (file truncated or padded)."
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)
    if kind == "labels":
        check_labels(array, where, spec)
        return torch.from_numpy(array.astype(np.int64))
    return torch.from_numpy(array.copy())


def check_labels(labels: np.ndarray, where: str, spec: DatasetSpec) -> None:
    if labels.size and int(labels.max()) >= spec.n_classes:
        raise FileFormatError(
            f"{where}: label {int(labels.max())} found, but {spec.title} has {spec.n_classes} classes."
        )


def parse_cifar_batch(data: bytes, where: str, spec: DatasetSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Parse one CIFAR-10 python batch (a pickle; only call this after its md5 was checked)."""
    try:
        batch = pickle.loads(data, encoding="latin1")
        images = np.asarray(batch.get("data", batch.get(b"data")), dtype=np.uint8)
        labels = np.asarray(batch.get("labels", batch.get(b"labels")), dtype=np.int64)
    except Exception as err:  # pickle raises many types on garbage
        raise FileFormatError(f"{where}: not a CIFAR-10 python batch ({type(err).__name__}: {err}).") from err
    c, h, w = spec.image_shape
    if images.ndim != 2 or images.shape[1] != c * h * w or labels.shape != (len(images),):
        raise FileFormatError(
            f"{where}: data {images.shape} / labels {labels.shape}, expected (N, {c * h * w}) / (N,)."
        )
    check_labels(labels, where, spec)
    return torch.from_numpy(images.reshape(-1, c, h, w).copy()), torch.from_numpy(labels)
