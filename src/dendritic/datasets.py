"""The paper's five datasets: where their files come from, how they are verified and read, and the
prepared cache the rest of the pipeline loads.

Overview
--------
``DATASETS`` maps each dataset key (``mnist``, ``fmnist``, ``kmnist``, ``emnist``, ``cifar10``) to a
:class:`DatasetSpec`: title, image shape, classes, official split sizes and the source files. Download
URLs and their md5s are taken from torchvision's dataset classes (resolved lazily, because importing
torchvision costs ~2 s and training jobs only need :func:`load_prepared`).

:func:`prepare` finds every source file, verifies it, parses it and writes ``resources/data/<key>.pt``
(+ ``<key>.json``); see ``docs/ARCHITECTURE.md`` for that contract. Files are looked for

1. in each *mirror* directory, in the order given (the config key ``data.mirrors``),
2. then in ``raw_dir``,
3. and only then downloaded into ``raw_dir`` (temp name, md5 checked, then renamed).

Inside a directory ``D`` the folders ``D/<key>/``, ``D/<TorchvisionClass>/raw/`` (torchvision's own
layout, e.g. ``D/FashionMNIST/raw/``) and ``D/`` are tried, and a file may be there gzipped or
decompressed; for EMNIST also as the original ``gzip.zip`` or its extracted ``gzip/`` folder, for
CIFAR-10 as ``cifar-10-python.tar.gz`` or the extracted ``cifar-10-batches-py/``.

Verification of one source file (its *content* is the decompressed file):

* if a content md5 is known (``KNOWN_MD5``, and torchvision's CIFAR-10 batch md5s) it must match;
* else, if the file is the very file torchvision downloads (e.g. ``train-images-idx3-ubyte.gz``,
  ``gzip.zip``), its md5 must equal torchvision's;
* else (e.g. a decompressed MNIST file, whose md5 nobody publishes) only its structure is checked.

The structure (IDX magic, dimensions, counts, label range; CIFAR batch layout) is always checked. A
file that fails is skipped, with a warning, and the search goes on; if no good copy turns up, the
error names every rejected file and why. ``meta["origins"]`` records where each file came from and
how it was verified.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import logging
import os
import pickle
import socket
import tarfile
import urllib.error
import uuid
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class DatasetError(Exception):
    """Base class of every error raised by this module."""


class UnknownDatasetError(DatasetError, LookupError):
    """A dataset name that is not in :data:`DATASETS`."""


class DatasetUnavailableError(DatasetError):
    """Source files are missing locally and could not be downloaded."""


class ChecksumError(DatasetError):
    """A file's md5 differs from the known one. ``path``, ``expected`` and ``actual`` say which."""

    def __init__(self, message: str, path: PathLike | None = None, expected: str | None = None,
                 actual: str | None = None):
        super().__init__(message)
        self.path, self.expected, self.actual = path, expected, actual


class FileFormatError(DatasetError):
    """A file that is not what it should be (wrong IDX header, counts, damaged archive, ...)."""


class _OtherDatasetsFile(DatasetError):
    """A file with a source's name whose content is a known file of another dataset (e.g. Fashion-MNIST's
    files in a mirror folder shared with MNIST, same names). Such files are skipped, not reported as bad."""


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One file of a dataset as it is parsed (decompressed).

    ``archive`` is the file that is downloaded and holds it: ``<name>.gz`` for the MNIST family,
    a zip or tar.gz with the file at ``member`` for EMNIST and CIFAR-10.
    """

    name: str
    split: str  # "train" | "test"
    kind: str  # "images" | "labels" | "batch" (a CIFAR pickle with images and labels)
    archive: str
    member: str | None = None


@dataclass(frozen=True)
class Download:
    """A file that can be downloaded: its name, the URLs to try in order, torchvision's md5."""

    filename: str
    urls: tuple[str, ...]
    md5: str | None


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one dataset. ``downloads=None``: take URLs/md5s from torchvision."""

    name: str
    title: str
    image_shape: tuple[int, int, int]  # (C, H, W)
    class_names: tuple[str, ...]
    n_train: int
    n_test: int
    sources: tuple[Source, ...]
    torchvision_class: str
    transposed: bool = False  # EMNIST stores every image transposed
    hint: str = ""  # dataset-specific remedy for the "not available" message
    downloads: tuple[Download, ...] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def _idx_sources(prefix: str = "", archive: str | None = None, member_dir: str = "") -> tuple[Source, ...]:
    """The four IDX files of an MNIST-like dataset (train/test images/labels)."""
    out = []
    for split, stem in (("train", "train"), ("test", "t10k" if not prefix else "test")):
        for kind, idx in (("images", "idx3"), ("labels", "idx1")):
            name = f"{prefix}{stem}-{kind}-{idx}-ubyte"
            member = f"{member_dir}{name}.gz" if archive else None
            out.append(Source(name, split, kind, archive or f"{name}.gz", member))
    return tuple(out)


def _cifar_sources() -> tuple[Source, ...]:
    names = [("train", f"data_batch_{i}") for i in range(1, 6)] + [("test", "test_batch")]
    return tuple(Source(n, split, "batch", "cifar-10-python.tar.gz", f"cifar-10-batches-py/{n}")
                 for split, n in names)


#: EMNIST *balanced*: 10 digits, 26 upper-case letters and the 11 lower-case letters that do not
#: look like their capitals (torchvision's ``EMNIST.classes_split_dict["balanced"]``).
EMNIST_BALANCED_CLASSES = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")

_MNIST_CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
                  "7 - seven", "8 - eight", "9 - nine")

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST", (1, 28, 28), _MNIST_CLASSES, 60_000, 10_000, _idx_sources(), "MNIST"),
    "fmnist": DatasetSpec(
        "fmnist", "Fashion-MNIST", (1, 28, 28),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"),
        60_000, 10_000, _idx_sources(), "FashionMNIST",
        hint="on Debian/Ubuntu, `apt-get install dataset-fashion-mnist` puts them in "
             "/usr/share/datasets/fashion-mnist (then list that folder under `data.mirrors`)"),
    "kmnist": DatasetSpec(
        "kmnist", "Kuzushiji-MNIST", (1, 28, 28),
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),  # romanised hiragana
        60_000, 10_000, _idx_sources(), "KMNIST"),
    "emnist": DatasetSpec(
        "emnist", "EMNIST (balanced)", (1, 28, 28), EMNIST_BALANCED_CLASSES, 112_800, 18_800,
        _idx_sources("emnist-balanced-", archive="gzip.zip", member_dir="gzip/"), "EMNIST",
        transposed=True),
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10", (3, 32, 32),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        50_000, 10_000, _cifar_sources(), "CIFAR10"),
}

#: md5 of the *decompressed* content of source files, per dataset, where known for certain.
#: Fashion-MNIST: measured on the original files (Debian's dataset-fashion-mnist re-compressed the
#: .gz files, so only these identify them). CIFAR-10's batch md5s come from torchvision.
#: Tests monkeypatch this dict or pass ``checksums=`` to :func:`prepare`.
KNOWN_MD5: dict[str, dict[str, str]] = {
    "fmnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

#: Seconds a download may wait on the network before it counts as failed.
DOWNLOAD_TIMEOUT_S = 20.0


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; :class:`UnknownDatasetError` lists the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownDatasetError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.") from None


@functools.lru_cache(maxsize=None)
def _from_torchvision(class_name: str) -> tuple[tuple[Download, ...], dict[str, str]]:
    """Downloads (URLs, md5s) and known content md5s from torchvision's dataset class."""
    from dendritic.tvcompat import import_torchvision

    cls = getattr(import_torchvision().datasets, class_name)
    if class_name == "EMNIST":
        return (Download(os.path.basename(cls.url), (cls.url,), cls.md5),), {}
    if class_name == "CIFAR10":
        content = {name: md5 for name, md5 in cls.train_list + cls.test_list}
        return (Download(cls.filename, (cls.url,), cls.tgz_md5),), content
    downloads = tuple(Download(f, tuple(m + f for m in cls.mirrors), md5) for f, md5 in cls.resources)
    return downloads, {}


def resolve_downloads(spec: DatasetSpec) -> tuple[Download, ...]:
    """The downloadable files of ``spec`` (its own ``downloads``, else torchvision's)."""
    return spec.downloads if spec.downloads is not None else _from_torchvision(spec.torchvision_class)[0]


def default_checksums(spec: DatasetSpec) -> dict[str, str]:
    """File name → md5: downloaded files (torchvision) and known decompressed contents."""
    sums = {d.filename: d.md5 for d in resolve_downloads(spec) if d.md5}
    if spec.downloads is None:
        sums.update(_from_torchvision(spec.torchvision_class)[1])
    sums.update(KNOWN_MD5.get(spec.name, {}))
    return sums


# --------------------------------------------------------------------------------------------
# Finding and reading source files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A place a source file may be: ``path`` read as plain/gzip file, or ``member`` of an archive."""

    path: Path
    how: str  # "plain" | "gzip" | "archive"
    member: str | None = None
    is_download: bool = False  # ``path`` is the very file torchvision downloads

    def __str__(self) -> str:
        return f"{self.path} (member {self.member})" if self.member else str(self.path)


@dataclass
class _Loaded:
    value: Any  # parsed tensor(s)
    md5: str  # of the decompressed content
    origin: dict


def _folders(directory: Path, spec: DatasetSpec) -> list[Path]:
    """Folders of ``directory`` where ``spec``'s files may lie, most specific first."""
    folders = [directory / spec.name, directory / spec.torchvision_class / "raw", directory]
    return [f for f in folders if f.is_dir()]


def _candidates(source: Source, folder: Path) -> Iterator[_Candidate]:
    """Every form in which ``source`` may be found in ``folder``, in order of preference."""
    yield _Candidate(folder / source.name, "plain")
    yield _Candidate(folder / f"{source.name}.gz", "gzip", is_download=source.archive == f"{source.name}.gz")
    if source.member:
        extracted = folder / source.member
        if source.member.endswith(".gz"):
            yield _Candidate(extracted.with_suffix(""), "plain")
            yield _Candidate(extracted, "gzip")
        else:
            yield _Candidate(extracted, "plain")
        yield _Candidate(folder / source.archive, "archive", source.member, is_download=True)


class _Reader:
    """Reads candidates' contents; caches archive members and file md5s within one prepare()."""

    def __init__(self, spec: DatasetSpec):
        self._members = {s.member for s in spec.sources if s.member}
        self._tar_cache: dict[Path, dict[str, bytes]] = {}
        self._md5_cache: dict[Path, str] = {}

    def content(self, cand: _Candidate) -> bytes:
        """The decompressed bytes of ``cand``; :class:`FileFormatError` if it cannot be read."""
        try:
            if cand.how == "plain":
                return cand.path.read_bytes()
            if cand.how == "gzip":
                return gzip.decompress(cand.path.read_bytes())
            data = self._archive_member(cand.path, cand.member)
            return gzip.decompress(data) if cand.member.endswith(".gz") else data
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, KeyError) as err:
            raise FileFormatError(
                f"cannot read {cand}: {type(err).__name__}: {err}. The file is damaged or not what its "
                f"name says: delete it (it will be looked for elsewhere or downloaded again).") from err

    def file_md5(self, path: Path) -> str:
        if path not in self._md5_cache:
            self._md5_cache[path] = _md5_of_file(path)
        return self._md5_cache[path]

    def _archive_member(self, path: Path, member: str) -> bytes:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return zf.read(member)
        if path not in self._tar_cache:  # read every member we need in one pass over the tar.gz
            with tarfile.open(path, "r:*") as tf:
                self._tar_cache[path] = {m.name: tf.extractfile(m).read() for m in tf
                                         if m.isfile() and m.name in self._members}
        return self._tar_cache[path][member]


def _md5_of_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------------------------
# Verification and parsing
# --------------------------------------------------------------------------------------------


def _foreign_owner(md5: str, name: str) -> str | None:
    """``'<dataset>/<file>'`` if ``md5`` is a known content md5 of *another* dataset's file."""
    for other, sums in KNOWN_MD5.items():
        for fname, known in sums.items():
            if other != name and known == md5:
                return f"{other}/{fname}"
    return None


def _check_checksum(spec: DatasetSpec, source: Source, cand: _Candidate, content_md5: str,
                    checksums: Mapping[str, str], reader: _Reader) -> str:
    """Verify ``cand`` against the known md5s; return how it was verified or raise ChecksumError."""
    foreign = _foreign_owner(content_md5, spec.name)
    if foreign:
        raise _OtherDatasetsFile(f"{cand} is {foreign}, not {spec.title}'s {source.name}: ignored (keep "
                                 f"{spec.name}'s files in their own folder, e.g. <mirror>/{spec.name}/).")
    expected = checksums.get(source.name)
    if expected:
        if content_md5 != expected:
            raise ChecksumError(
                f"{cand}: the md5 of its decompressed content is {content_md5}, expected {expected}. "
                f"The file is damaged or a different version: delete it and fetch the original again.",
                cand.path, expected, content_md5)
        return "md5"
    expected = checksums.get(source.archive)
    if cand.is_download and expected:
        actual = reader.file_md5(cand.path)
        if actual != expected:
            raise ChecksumError(
                f"{cand.path}: md5 {actual}, expected {expected} (torchvision's md5 of "
                f"{source.archive}). Delete it and fetch the original again; if it is a re-compressed "
                f"copy of the original, store it decompressed instead (then its structure is checked).",
                cand.path, expected, actual)
        return "archive-md5"
    return "structure"


def _parse_idx(data: bytes, where: str, kind: str, n: int, spec: DatasetSpec) -> torch.Tensor:
    """Parse an IDX (MNIST format) file of uint8 images (N, H, W) or labels (N,), checking its structure.

    (torchvision's ``read_sn3_pascalvincent_tensor`` only reads uncompressed files from disk and checks
    with bare asserts; this reads bytes and says what is wrong with which file.)
    """
    ndim = 3 if kind == "images" else 1
    if len(data) < 4 + 4 * ndim or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise FileFormatError(f"{where}: not an IDX file of uint8 {kind} (header {data[:4].hex()}, "
                              f"expected 000008{ndim:02x}).")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = (n, *spec.image_shape[1:]) if kind == "images" else (n,)
    if dims != expected:
        raise FileFormatError(f"{where}: IDX dimensions {dims}, expected {expected} for {spec.title}.")
    offset = 4 + 4 * ndim
    if len(data) != offset + int(np.prod(dims)):
        raise FileFormatError(f"{where}: {len(data)} bytes, expected {offset + int(np.prod(dims))} "
                              f"(file truncated or padded).")
    array = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)
    if kind == "labels":
        _check_labels(array, where, spec)
        return torch.from_numpy(array.astype(np.int64))
    return torch.from_numpy(array.copy())


def _check_labels(labels: np.ndarray, where: str, spec: DatasetSpec) -> None:
    if labels.size and int(labels.max()) >= spec.n_classes:
        raise FileFormatError(f"{where}: label {int(labels.max())} found, but {spec.title} has "
                              f"{spec.n_classes} classes.")


def _parse_cifar_batch(data: bytes, where: str, spec: DatasetSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Parse one CIFAR-10 python batch (a pickle; only call this after its md5 was checked)."""
    try:
        batch = pickle.loads(data, encoding="latin1")
        images = np.asarray(batch.get("data", batch.get(b"data")), dtype=np.uint8)
        labels = np.asarray(batch.get("labels", batch.get(b"labels")), dtype=np.int64)
    except Exception as err:  # pickle raises many types on garbage
        raise FileFormatError(f"{where}: not a CIFAR-10 python batch ({type(err).__name__}: {err}).") from err
    c, h, w = spec.image_shape
    if images.ndim != 2 or images.shape[1] != c * h * w or labels.shape != (len(images),):
        raise FileFormatError(f"{where}: data {images.shape} / labels {labels.shape}, expected "
                              f"(N, {c * h * w}) / (N,).")
    _check_labels(labels, where, spec)
    return torch.from_numpy(images.reshape(-1, c, h, w).copy()), torch.from_numpy(labels)


def _load_candidate(spec: DatasetSpec, source: Source, cand: _Candidate,
                    checksums: Mapping[str, str], reader: _Reader) -> _Loaded:
    """Read, verify and parse one candidate (raises ChecksumError / FileFormatError)."""
    content = reader.content(cand)
    content_md5 = _md5(content)
    verified = _check_checksum(spec, source, cand, content_md5, checksums, reader)
    where = str(cand)
    if source.kind == "batch":
        value = _parse_cifar_batch(content, where, spec)
    else:
        n = spec.n_train if source.split == "train" else spec.n_test
        value = _parse_idx(content, where, source.kind, n, spec)
    return _Loaded(value, content_md5, {"path": where, "verified": verified})


#: Files rejected on the way: (source or downloaded file name, the error), for the final message.
_Problems = list[tuple[str, DatasetError]]


def _search_folders(spec: DatasetSpec, directories: Sequence[Path]) -> list[Path]:
    """All folders to search, in order, each once."""
    seen, out = set(), []
    for folder in (f for d in directories for f in _folders(d, spec)):
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            out.append(folder)
    return out


def _find(spec: DatasetSpec, source: Source, folders: Sequence[Path], checksums: Mapping[str, str],
          reader: _Reader, problems: _Problems) -> _Loaded | None:
    """The first good copy of ``source`` in ``folders``; rejected copies are logged and recorded."""
    for folder in folders:
        for cand in _candidates(source, folder):
            if not cand.path.is_file():
                continue
            try:
                return _load_candidate(spec, source, cand, checksums, reader)
            except _OtherDatasetsFile as err:
                log.info("%s", err)
                problems.append((source.name, err))
            except (ChecksumError, FileFormatError) as err:
                log.warning("skipping a copy of %s: %s", source.name, err)
                problems.append((source.name, err))
    return None


def _collect(spec: DatasetSpec, sources: Sequence[Source], directories: Sequence[Path],
             checksums: Mapping[str, str], problems: _Problems) -> dict[str, _Loaded]:
    """Load each of ``sources`` from the first directory holding a good copy."""
    reader, folders = _Reader(spec), _search_folders(spec, directories)
    found = {s.name: _find(spec, s, folders, checksums, reader, problems) for s in sources}
    return {name: item for name, item in found.items() if item is not None}


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    """Temporarily set the default socket timeout (urllib has none by default: it could hang)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _fetch(url: str, dest: Path, md5: str | None, timeout: float) -> None:
    """Download ``url`` to ``dest`` via a temporary name; only a complete file with the right md5
    is renamed to ``dest`` (a partial download is never taken as finished)."""
    from dendritic.tvcompat import import_torchvision

    download_url = import_torchvision().datasets.utils.download_url
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    try:
        with _socket_timeout(timeout):
            download_url(url, str(dest.parent), filename=tmp.name, md5=None)
        actual = _md5_of_file(tmp)
        if md5 and actual != md5:
            raise ChecksumError(f"download of {url} has md5 {actual}, expected {md5}; it was discarded. "
                                f"Try again later or fetch the file by hand.", url, md5, actual)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _is_network_down(err: BaseException) -> bool:
    """True for errors that mean "cannot reach the host" (DNS failure, refused, timeout), as opposed
    to e.g. HTTP 404 (URLError and socket.timeout are OSErrors)."""
    return isinstance(err, OSError) and not isinstance(err, urllib.error.HTTPError)


def _download(downloads: Sequence[Download], raw_dir: Path, checksums: Mapping[str, str],
              timeout: float, problems: _Problems) -> list[str]:
    """Download each file (first URL that works) into ``raw_dir``; return "url: error" lines for
    failed attempts. Stops early once the network is clearly unreachable (no long hangs)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    attempts: list[str] = []
    for dl in downloads:
        network_down = True
        for url in dl.urls:
            try:
                log.info("downloading %s", url)
                _fetch(url, raw_dir / dl.filename, checksums.get(dl.filename), timeout)
                break
            except ChecksumError as err:
                problems.append((dl.filename, err))
                attempts.append(f"{url}: {err}")
                network_down = False
            except Exception as err:  # any failure of one attempt: report it, try the next URL
                attempts.append(f"{url}: {type(err).__name__}: {err}")
                network_down = network_down and _is_network_down(err)
        else:
            if network_down:
                rest = [d.filename for d in downloads[downloads.index(dl) + 1:]]
                if rest:
                    attempts.append(f"(network unreachable: did not try {', '.join(rest)})")
                break
    return attempts


# --------------------------------------------------------------------------------------------
# Errors for missing files
# --------------------------------------------------------------------------------------------


def _accepted_forms(spec: DatasetSpec) -> str:
    archives = list(dict.fromkeys(s.archive for s in spec.sources))  # unique, in order
    if spec.sources[0].member is None:
        return f"the files {', '.join(archives)} (gzipped or decompressed)"
    members = list(dict.fromkeys(s.member.split("/")[0] + "/" for s in spec.sources))
    names = ", ".join(s.name for s in spec.sources)
    return (f"{' / '.join(archives)}, or its extracted {' / '.join(members)} folder, or the files "
            f"{names} (gzipped or decompressed)")


def _missing_error(spec: DatasetSpec, missing: Sequence[Source], directories: Sequence[Path],
                   raw_dir: Path, attempts: Sequence[str], download: bool,
                   problems: _Problems) -> DatasetError:
    """The error to raise when some source files could not be found: names what, where, and the fix."""
    lines = [f"Dataset {spec.name!r} ({spec.title}) is not available: no usable copy of "
             f"{', '.join(s.name for s in missing)}."]
    lines.append("Looked in (in this order): " + ", ".join(
        f"{d}{'' if d.is_dir() else ' (does not exist)'}" for d in directories))
    keys = {s.name for s in missing} | {s.archive for s in missing}
    relevant = [err for key, err in problems if key in keys and not isinstance(err, _OtherDatasetsFile)]
    ignored = [err for key, err in problems if key in keys and isinstance(err, _OtherDatasetsFile)]
    if relevant:
        lines.append("Rejected files:")
        lines += [f"  - {p}" for p in relevant]
    if ignored:
        lines.append("Ignored files of other datasets:")
        lines += [f"  - {p}" for p in ignored]
    if download:
        lines.append("Download attempts:")
        lines += [f"  - {a}" for a in attempts] or ["  - (none)"]
    else:
        urls = [u for d in _safe_downloads(spec) for u in d.urls]
        lines.append(f"Downloading was disabled (download=False); the source URLs are: {', '.join(urls)}")
    lines.append("To fix this, do one of:")
    lines.append(f"  - put {_accepted_forms(spec)} into a folder listed under the config key "
                 f"`data.mirrors` (its subfolder {spec.name}/ is searched first), or into {raw_dir};")
    if spec.hint:
        lines.append(f"  - {spec.hint};")
    lines.append("  - run the dataset step once on a machine with internet access and copy the folder "
                 f"{raw_dir} over.")
    message = "\n".join(lines)
    checksum_errors = [p for p in relevant if isinstance(p, ChecksumError)]
    if checksum_errors:
        first = checksum_errors[0]
        return ChecksumError(message, first.path, first.expected, first.actual)
    if any(isinstance(p, FileFormatError) for p in relevant):
        return FileFormatError(message)
    return DatasetUnavailableError(message)


def _safe_downloads(spec: DatasetSpec) -> tuple[Download, ...]:
    try:
        return resolve_downloads(spec)
    except Exception:  # never let a torchvision problem hide the real error
        return ()


# --------------------------------------------------------------------------------------------
# Assembling and writing the prepared dataset
# --------------------------------------------------------------------------------------------


def _assemble(spec: DatasetSpec, loaded: Mapping[str, _Loaded]) -> dict[str, torch.Tensor]:
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
            raise FileFormatError(f"{spec.title} {split}: {len(x)} images and {len(y)} labels, expected "
                                  f"{n} of each.")
        out[f"x_{split}"], out[f"y_{split}"] = x, y.to(torch.int64)
    return out


def _meta(spec: DatasetSpec, loaded: Mapping[str, _Loaded]) -> dict:
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
    Both are written via temp files in the same folder + ``os.replace``, the ``.pt`` last, so that a
    crash never leaves a half-written output behind. Returns the JSON meta.
    """
    from dendritic import runio

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
    from dendritic import runio

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


def prepare(name: str, out_path: PathLike, raw_dir: PathLike, mirrors: Sequence[PathLike] | None = (),
            download: bool = True, checksums: Mapping[str, str] | None = None,
            timeout: float = DOWNLOAD_TIMEOUT_S) -> dict:
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
    problems: _Problems = []
    loaded = _collect(spec, spec.sources, directories, sums, problems)
    missing = [s for s in spec.sources if s.name not in loaded]
    attempts: list[str] = []
    if missing and download:
        wanted = {s.archive for s in missing}
        downloads = [d for d in resolve_downloads(spec) if d.filename in wanted]
        attempts = _download(downloads, raw_dir, sums, timeout, problems)
        loaded.update(_collect(spec, missing, [raw_dir], sums, problems))
        missing = [s for s in spec.sources if s.name not in loaded]
    if missing:
        raise _missing_error(spec, missing, directories, raw_dir, attempts, download, problems)
    arrays = _assemble(spec, loaded)
    meta = _kept_identical(out_path, arrays, _meta(spec, loaded))
    if meta is not None:
        log.info("%s already holds exactly these %s images (content sha256 %s…): kept as it is",
                 out_path, spec.title, meta["content_sha256"][:16])
        return meta
    meta = save_prepared(out_path, arrays, _meta(spec, loaded))
    log.info("prepared %s: %d train / %d test images -> %s (content sha256 %s…)", spec.title,
             spec.n_train, spec.n_test, out_path, meta["content_sha256"][:16])
    return meta


# --------------------------------------------------------------------------------------------
# Loading the prepared dataset
# --------------------------------------------------------------------------------------------

_TENSOR_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
        return (f"PreparedDataset({self.name!r}, train={tuple(self.x_train.shape)}, "
                f"test={tuple(self.x_test.shape)}, n_classes={self.n_classes}, "
                f"device={self.x_train.device})")


def load_prepared(path: PathLike, device: str | torch.device | None = None) -> PreparedDataset:
    """Load a file written by :func:`prepare` (memory-mapped: fast), optionally moved to ``device``.

    The tensors are checked against the ``content_sha256`` recorded when the file was prepared
    (~30 ms for Fashion-MNIST): a changed or damaged cache is an error naming the file and the
    remedy, never used silently.
    """
    from dendritic.runio import remake_hint

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path} does not exist: prepare it first (the workflow's dataset step, "
                           f"or `python -m dendritic prepare`).")
    try:
        data = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as err:
        raise DatasetError(f"{path} is not a readable prepared dataset ({type(err).__name__}: {err}). "
                           f"{remake_hint(path)}") from err
    _check_prepared(data, path)
    expected = data["meta"].get("content_sha256")
    if not expected:
        raise DatasetError(f"{path} records no checksum of its content (prepared by an older version of "
                           f"this pipeline, or not by `prepare`), so it cannot be verified. {remake_hint(path)}")
    actual = content_checksum(data)
    if actual != expected:
        raise DatasetError(f"{path}: its images or labels do not match the checksum recorded when it was "
                           f"prepared (sha256 {actual[:16]}…, expected {expected[:16]}…): the file was "
                           f"changed or damaged afterwards. {remake_hint(path)}")
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
        from dendritic.runio import remake_hint

        raise DatasetError(f"{path} is not a valid prepared dataset ({problem}). {remake_hint(path)}")


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
