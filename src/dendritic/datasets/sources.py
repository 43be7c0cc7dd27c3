"""Finding a dataset's source files, verifying them, and downloading the ones found nowhere
(the paper's datasets, Methods "Datasets": the official files of each).

Files are looked for

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
* else (e.g. a decompressed MNIST file, whose md5 nobody publishes) only its structure is checked
  (:mod:`dendritic.datasets.formats`).

A file that fails is skipped, with a warning, and the search goes on; if no good copy turns up,
:func:`missing_error` names every rejected file and why. Each loaded file records where it came
from and how it was verified (``meta["origins"]`` of the prepared cache).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import socket
import tarfile
import urllib.error
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dendritic import runio
from dendritic.datasets.catalog import KNOWN_MD5, DatasetSpec, Download, Source, resolve_downloads
from dendritic.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetUnavailableError,
    FileFormatError,
    OtherDatasetsFile,
)
from dendritic.datasets.formats import parse_cifar_batch, parse_idx

log = logging.getLogger("dendritic.datasets")

# ------------------------------------------------------------------------------ finding and reading


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
class Loaded:
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
                f"name says: delete it (it will be looked for elsewhere or downloaded again)."
            ) from err

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
                self._tar_cache[path] = {
                    m.name: tf.extractfile(m).read() for m in tf if m.isfile() and m.name in self._members
                }
        return self._tar_cache[path][member]


def _md5_of_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# ------------------------------------------------------------------------------ verification


def _foreign_owner(md5: str, name: str) -> str | None:
    """``'<dataset>/<file>'`` if ``md5`` is a known content md5 of *another* dataset's file."""
    for other, sums in KNOWN_MD5.items():
        for fname, known in sums.items():
            if other != name and known == md5:
                return f"{other}/{fname}"
    return None


def _check_checksum(
    spec: DatasetSpec, source: Source, cand: _Candidate, content_md5: str, checksums: Mapping[str, str], reader: _Reader
) -> str:
    """Verify ``cand`` against the known md5s; return how it was verified or raise ChecksumError."""
    foreign = _foreign_owner(content_md5, spec.name)
    if foreign:
        raise OtherDatasetsFile(
            f"{cand} is {foreign}, not {spec.title}'s {source.name}: ignored (keep "
            f"{spec.name}'s files in their own folder, e.g. <mirror>/{spec.name}/)."
        )
    expected = checksums.get(source.name)
    if expected:
        if content_md5 != expected:
            raise ChecksumError(
                f"{cand}: the md5 of its decompressed content is {content_md5}, expected {expected}. "
                f"The file is damaged or a different version: delete it and fetch the original again.",
                cand.path,
                expected,
                content_md5,
            )
        return "md5"
    expected = checksums.get(source.archive)
    if cand.is_download and expected:
        actual = reader.file_md5(cand.path)
        if actual != expected:
            raise ChecksumError(
                f"{cand.path}: md5 {actual}, expected {expected} (torchvision's md5 of "
                f"{source.archive}). Delete it and fetch the original again; if it is a re-compressed "
                f"copy of the original, store it decompressed instead (then its structure is checked).",
                cand.path,
                expected,
                actual,
            )
        return "archive-md5"
    return "structure"


def _load_candidate(
    spec: DatasetSpec, source: Source, cand: _Candidate, checksums: Mapping[str, str], reader: _Reader
) -> Loaded:
    """Read, verify and parse one candidate (raises ChecksumError / FileFormatError)."""
    content = reader.content(cand)
    content_md5 = _md5(content)
    verified = _check_checksum(spec, source, cand, content_md5, checksums, reader)
    where = str(cand)
    if source.kind == "batch":
        value = parse_cifar_batch(content, where, spec)
    else:
        n = spec.n_train if source.split == "train" else spec.n_test
        value = parse_idx(content, where, source.kind, n, spec)
    return Loaded(value, content_md5, {"path": where, "verified": verified})


#: Files rejected on the way: (source or downloaded file name, the error), for the final message.
Problems = list[tuple[str, DatasetError]]


def _search_folders(spec: DatasetSpec, directories: Sequence[Path]) -> list[Path]:
    """All folders to search, in order, each once."""
    seen, out = set(), []
    for folder in (f for d in directories for f in _folders(d, spec)):
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            out.append(folder)
    return out


def _find(
    spec: DatasetSpec,
    source: Source,
    folders: Sequence[Path],
    checksums: Mapping[str, str],
    reader: _Reader,
    problems: Problems,
) -> Loaded | None:
    """The first good copy of ``source`` in ``folders``; rejected copies are logged and recorded."""
    for folder in folders:
        for cand in _candidates(source, folder):
            if not cand.path.is_file():
                continue
            try:
                return _load_candidate(spec, source, cand, checksums, reader)
            except OtherDatasetsFile as err:
                log.info("%s", err)
                problems.append((source.name, err))
            except (ChecksumError, FileFormatError) as err:
                log.warning("skipping a copy of %s: %s", source.name, err)
                problems.append((source.name, err))
    return None


def collect(
    spec: DatasetSpec,
    sources: Sequence[Source],
    directories: Sequence[Path],
    checksums: Mapping[str, str],
    problems: Problems,
) -> dict[str, Loaded]:
    """Load each of ``sources`` from the first directory holding a good copy."""
    reader, folders = _Reader(spec), _search_folders(spec, directories)
    found = {s.name: _find(spec, s, folders, checksums, reader, problems) for s in sources}
    return {name: item for name, item in found.items() if item is not None}


# ------------------------------------------------------------------------------ downloading


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
    """Download ``url`` to ``dest`` through :func:`dendritic.runio.atomic_path` (the writer of every
    output): only a complete file with the right md5 is renamed to ``dest``, so a partial download is
    never taken as finished, and a failed one leaves nothing behind."""
    from dendritic.tvcompat import import_torchvision  # lazy: importing torchvision costs ~2 s

    download_url = import_torchvision().datasets.utils.download_url
    with runio.atomic_path(dest) as tmp:
        tmp.unlink()  # torchvision skips a download whose file exists; it writes a new one
        with _socket_timeout(timeout):
            download_url(url, str(tmp.parent), filename=tmp.name, md5=None)
        actual = _md5_of_file(tmp)
        if md5 and actual != md5:
            raise ChecksumError(
                f"download of {url} has md5 {actual}, expected {md5}; it was discarded. "
                f"Try again later or fetch the file by hand.",
                url,
                md5,
                actual,
            )


def _is_network_down(err: BaseException) -> bool:
    """True for errors that mean "cannot reach the host" (DNS failure, refused, timeout), as opposed
    to e.g. HTTP 404 (URLError and socket.timeout are OSErrors)."""
    return isinstance(err, OSError) and not isinstance(err, urllib.error.HTTPError)


def download_files(
    downloads: Sequence[Download], raw_dir: Path, checksums: Mapping[str, str], timeout: float, problems: Problems
) -> list[str]:
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
                rest = [d.filename for d in downloads[downloads.index(dl) + 1 :]]
                if rest:
                    attempts.append(f"(network unreachable: did not try {', '.join(rest)})")
                break
    return attempts


# ------------------------------------------------------------------------------ what is missing


def _accepted_forms(spec: DatasetSpec) -> str:
    archives = list(dict.fromkeys(s.archive for s in spec.sources))  # unique, in order
    if spec.sources[0].member is None:
        return f"the files {', '.join(archives)} (gzipped or decompressed)"
    members = list(dict.fromkeys(s.member.split("/")[0] + "/" for s in spec.sources))
    names = ", ".join(s.name for s in spec.sources)
    return (
        f"{' / '.join(archives)}, or its extracted {' / '.join(members)} folder, or the files "
        f"{names} (gzipped or decompressed)"
    )


def missing_error(
    spec: DatasetSpec,
    missing: Sequence[Source],
    directories: Sequence[Path],
    raw_dir: Path,
    attempts: Sequence[str],
    download: bool,
    problems: Problems,
) -> DatasetError:
    """The error to raise when some source files could not be found: names what, where, and the fix."""
    lines = [
        f"Dataset {spec.name!r} ({spec.title}) is not available: no usable copy of "
        f"{', '.join(s.name for s in missing)}."
    ]
    lines.append(
        "Looked in (in this order): "
        + ", ".join(f"{d}{'' if d.is_dir() else ' (does not exist)'}" for d in directories)
    )
    keys = {s.name for s in missing} | {s.archive for s in missing}
    relevant = [err for key, err in problems if key in keys and not isinstance(err, OtherDatasetsFile)]
    ignored = [err for key, err in problems if key in keys and isinstance(err, OtherDatasetsFile)]
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
    lines.append(
        f"  - put {_accepted_forms(spec)} into a folder listed under the config key "
        f"`data.mirrors` (its subfolder {spec.name}/ is searched first), or into {raw_dir};"
    )
    if spec.hint:
        lines.append(f"  - {spec.hint};")
    lines.append(f"  - run the dataset step once on a machine with internet access and copy the folder {raw_dir} over.")
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
