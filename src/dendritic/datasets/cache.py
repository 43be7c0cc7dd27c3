"""The prepared dataset: the source files assembled into four tensors (official train/test split,
the paper, Methods "Datasets"), written once with their checksums, and loaded, verified, by every
job that trains or analyses a network.

:func:`prepare` finds and verifies the source files (:mod:`dendritic.datasets.sources`), stacks
them into uint8 images (N, C, H, W) and int64 labels, and writes ``resources/data/<key>.pt`` with
its ``<key>.json`` beside it (the contract is in ``docs/ARCHITECTURE.md``). Both go through
:func:`dendritic.runio.atomic_path`, the one writer of every output, so a crash never leaves a
half-written cache. :func:`load_prepared` checks the tensors against the recorded content checksum.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dendritic import runio
from dendritic.datasets.catalog import (
    DOWNLOAD_TIMEOUT_S,
    DatasetSpec,
    default_checksums,
    get_spec,
    resolve_downloads,
)
from dendritic.datasets.errors import DatasetError, FileFormatError, PathLike
from dendritic.datasets.sources import Loaded, Problems, collect, download_files, missing_error

log = logging.getLogger("dendritic.datasets")

#: The tensors of a prepared dataset, in the order :func:`content_checksum` hashes them.
_TENSOR_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _assemble(spec: DatasetSpec, loaded: Mapping[str, Loaded]) -> dict[str, torch.Tensor]:
    """Stack the parsed sources into x_train/y_train/x_test/y_test (x: uint8 (N, C, H, W))."""
    out = {}
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        parts = [s for s in spec.sources if s.split == split]
        if parts[0].kind == "batch":
            x = torch.cat([loaded[s.name].value[0] for s in parts])
            y = torch.cat([loaded[s.name].value[1] for s in parts])
        else:
            by_kind = {s.kind: loaded[s.name].value for s in parts}
            x, y = by_kind["images"], by_kind["labels"]
            if spec.transposed:
                x = x.transpose(1, 2)
            x = x.unsqueeze(1).contiguous()
        if len(x) != n or len(y) != n:
            raise FileFormatError(f"{spec.title} {split}: {len(x)} images and {len(y)} labels, expected {n} of each.")
        out[f"x_{split}"], out[f"y_{split}"] = x, y.to(torch.int64)
    return out


def _meta(spec: DatasetSpec, loaded: Mapping[str, Loaded]) -> dict:
    return {
        "name": spec.name,
        "title": spec.title,
        "image_shape": list(spec.image_shape),
        "n_classes": spec.n_classes,
        "class_names": list(spec.class_names),
        "n_train": spec.n_train,
        "n_test": spec.n_test,
        "split": "official train/test split",
        "sources": {s.name: loaded[s.name].md5 for s in spec.sources},
        "origins": {s.name: loaded[s.name].origin for s in spec.sources},
    }


def content_checksum(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a prepared dataset's tensors: for each of x_train, y_train, x_test, y_test
    its name, dtype, shape and bytes. It identifies the data themselves, whatever file holds them
    (two preparations of the same source files give the same checksum); the workflow records it
    with every training cell and retrains a cell when it changes. ~30 ms for Fashion-MNIST."""
    h = hashlib.sha256()
    for key in _TENSOR_KEYS:
        t = tensors[key].detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(memoryview(t.view(torch.uint8).reshape(-1).numpy()))
    return h.hexdigest()


def save_prepared(out_path: PathLike, arrays: Mapping[str, torch.Tensor], meta: dict) -> dict:
    """Write a prepared dataset (the contract of ``docs/ARCHITECTURE.md``) with its checksums.

    ``meta`` gets ``content_sha256`` (:func:`content_checksum`) and is stored inside the file; the
    JSON copy beside it (``<stem>.json``) also records ``file_sha256`` and ``file_size`` of the
    file, which the workflow verifies without loading it (:func:`dendritic.runio.verify_prepared_file`).
    Both are written through :func:`dendritic.runio.atomic_path`, the ``.pt`` last, so that a
    crash never leaves a half-written output behind. Returns the JSON meta.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: arrays[k] for k in _TENSOR_KEYS}
    meta = {**meta, "content_sha256": content_checksum(arrays)}
    with runio.atomic_path(out_path) as tmp_pt:
        torch.save({**arrays, "meta": meta}, tmp_pt)
        meta = {**meta, "file_sha256": runio.sha256_file(tmp_pt), "file_size": tmp_pt.stat().st_size}
        runio.write_json(out_path.with_suffix(".json"), meta)
    return meta


def _kept_identical(out_path: Path, arrays: Mapping[str, torch.Tensor], meta: dict) -> dict | None:
    """If ``out_path`` already holds exactly these tensors (checksums verified), keep the file as it
    is (its bytes and modification time) and only refresh its JSON; return the JSON meta, else None."""
    try:
        old = runio.verify_prepared_file(out_path)
    except (OSError, runio.IntegrityError):
        return None
    if old.get("content_sha256") != content_checksum(arrays):
        return None
    new = {**meta, **{k: old[k] for k in ("content_sha256", "file_sha256", "file_size")}}
    if new != old:
        runio.write_json(out_path.with_suffix(".json"), new)
    return new


def prepare(
    name: str,
    out_path: PathLike,
    raw_dir: PathLike,
    mirrors: Sequence[PathLike] | None = (),
    download: bool = True,
    checksums: Mapping[str, str] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> dict:
    """Find, verify and parse dataset ``name``; write ``out_path`` (+ ``.json``); return its meta.

    Args:
        name: a key of :data:`DATASETS`.
        out_path: the prepared file, e.g. ``resources/data/fmnist.pt``; ``fmnist.json`` is written beside it.
        raw_dir: where downloaded files go (and are looked for after the mirrors).
        mirrors: directories searched first, in order (config key ``data.mirrors``).
        download: whether to download files found nowhere.
        checksums: file name → md5 to use instead of :func:`default_checksums` (keys are downloaded
            file names such as ``train-images-idx3-ubyte.gz`` or decompressed names).
        timeout: socket timeout in seconds for each download attempt.

    Raises:
        UnknownDatasetError, DatasetUnavailableError, ChecksumError, FileFormatError (all DatasetError).
    """
    spec = get_spec(name)
    raw_dir, out_path = Path(raw_dir), Path(out_path)
    if isinstance(mirrors, (str, os.PathLike)):
        mirrors = [mirrors]
    directories = [Path(m) for m in mirrors or ()] + [raw_dir]
    sums = default_checksums(spec) if checksums is None else dict(checksums)
    problems: Problems = []
    loaded = collect(spec, spec.sources, directories, sums, problems)
    missing = [s for s in spec.sources if s.name not in loaded]
    attempts: list[str] = []
    if missing and download:
        wanted = {s.archive for s in missing}
        downloads = [d for d in resolve_downloads(spec) if d.filename in wanted]
        attempts = download_files(downloads, raw_dir, sums, timeout, problems)
        loaded.update(collect(spec, missing, [raw_dir], sums, problems))
        missing = [s for s in spec.sources if s.name not in loaded]
    if missing:
        raise missing_error(spec, missing, directories, raw_dir, attempts, download, problems)
    arrays = _assemble(spec, loaded)
    meta = _kept_identical(out_path, arrays, _meta(spec, loaded))
    if meta is not None:
        log.info(
            "%s already holds exactly these %s images (content sha256 %s…): kept as it is",
            out_path,
            spec.title,
            meta["content_sha256"][:16],
        )
        return meta
    meta = save_prepared(out_path, arrays, _meta(spec, loaded))
    log.info(
        "prepared %s: %d train / %d test images -> %s (content sha256 %s…)",
        spec.title,
        spec.n_train,
        spec.n_test,
        out_path,
        meta["content_sha256"][:16],
    )
    return meta


@dataclass
class PreparedDataset:
    """A prepared dataset: uint8 images (N, C, H, W), int64 labels, official split, and its meta."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def n_classes(self) -> int:
        return int(self.meta["n_classes"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["image_shape"])

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    def __repr__(self) -> str:  # the default repr would print whole tensors
        return (
            f"PreparedDataset({self.name!r}, train={tuple(self.x_train.shape)}, "
            f"test={tuple(self.x_test.shape)}, n_classes={self.n_classes}, "
            f"device={self.x_train.device})"
        )


def load_prepared(path: PathLike, device: str | torch.device | None = None) -> PreparedDataset:
    """Load a file written by :func:`prepare` (memory-mapped: fast), optionally moved to ``device``.

    The tensors are checked against the ``content_sha256`` recorded when the file was prepared
    (~30 ms for Fashion-MNIST): a changed or damaged cache is an error naming the file and the
    remedy, never used silently.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path} does not exist: prepare it first (the workflow's dataset step, or `python -m dendritic prepare`)."
        )
    try:
        data = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as err:
        raise DatasetError(
            f"{path} is not a readable prepared dataset ({type(err).__name__}: {err}). {runio.remake_hint(path)}"
        ) from err
    _check_prepared(data, path)
    expected = data["meta"].get("content_sha256")
    if not expected:
        raise DatasetError(
            f"{path} records no checksum of its content (prepared by an older version of "
            f"this pipeline, or not by `prepare`), so it cannot be verified. "
            f"{runio.remake_hint(path)}"
        )
    actual = content_checksum(data)
    if actual != expected:
        raise DatasetError(
            f"{path}: its images or labels do not match the checksum recorded when it was "
            f"prepared (sha256 {actual[:16]}…, expected {expected[:16]}…): the file was "
            f"changed or damaged afterwards. {runio.remake_hint(path)}"
        )
    tensors = {k: data[k] for k in _TENSOR_KEYS}
    if device is not None:
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return PreparedDataset(**tensors, meta=data["meta"])


def _check_prepared(data: Any, path: Path) -> None:
    """Cheap consistency checks of a loaded prepared file (keys, dtypes, shapes)."""
    try:
        problem = _prepared_problem(data)
    except (KeyError, TypeError, AttributeError) as err:
        problem = f"{type(err).__name__}: {err}"
    if problem:
        raise DatasetError(f"{path} is not a valid prepared dataset ({problem}). {runio.remake_hint(path)}")


def _prepared_problem(data: Any) -> str | None:
    """What is wrong with a loaded prepared file, or None."""
    if not isinstance(data, dict) or any(k not in data for k in (*_TENSOR_KEYS, "meta")):
        return f"expected a dict with keys {_TENSOR_KEYS + ('meta',)}"
    meta = data["meta"]
    for split in ("train", "test"):
        x, y, n = data[f"x_{split}"], data[f"y_{split}"], meta[f"n_{split}"]
        if x.dtype != torch.uint8 or y.dtype != torch.int64:
            return f"{split}: dtypes {x.dtype}/{y.dtype}, expected uint8/int64"
        if tuple(x.shape) != (n, *meta["image_shape"]) or tuple(y.shape) != (n,):
            return f"{split}: shapes {tuple(x.shape)}/{tuple(y.shape)} do not match its meta"
    return None
