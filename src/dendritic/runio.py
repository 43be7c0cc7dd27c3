"""Writing results so that nothing half-written is ever taken as finished; file checksums; one
trainer per cell; job logs that hold the error; provenance.

Every file is written to a temporary name in its destination folder and renamed into place
(``os.replace`` is atomic on POSIX). A cell's ``metrics.csv`` is renamed last, so its presence
means the whole cell finished. ``docs/RELIABILITY.md`` lists what this guarantees and how it is tested.

Kept free of heavy imports (torch, pandas) at module level: the workflow calls
:func:`verify_prepared_file` while Snakemake builds its DAG. :func:`atomic_path` is the one writer of
every output, run results and the prepared datasets (downloads included) alike.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from dendritic import __version__
from dendritic.wiring import INPUTS

log = logging.getLogger("dendritic")

#: How :func:`atomic_path` names its temporary files: ``.{name}.{random}.tmp`` beside the target.
TEMP_GLOB = ".*.tmp"


class IntegrityError(ValueError):
    """A file does not match the checksum recorded when it was written."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results are for everyone to read
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted :func:`atomic_path` left in ``folder`` (a process
    killed with SIGKILL runs no ``finally``). Call it only while no other process writes there
    (a train job holds :func:`cell_lock`). Returns what was removed."""
    removed = []
    for tmp in Path(folder).glob(TEMP_GLOB):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    if removed:
        log.info(
            "removed %d temporary file(s) of an interrupted earlier run in %s: %s",
            len(removed),
            folder,
            ", ".join(p.name for p in removed),
        )
    return removed


@contextlib.contextmanager
def cell_lock(folder: str | Path, name: str = ".lock") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder/.lock`` while the block runs: a second trainer of the same
    cell (an orphaned job of a killed Snakemake, a parallel CLI run) waits until the first one has
    finished or died, instead of writing the same files at the same time.

    The lock is ``flock(2)`` on the open file, so the kernel releases it when its holder dies, even
    by SIGKILL: a lock is never stale. The file holds the holder's pid and host, for the message.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            log.warning("%s is being trained by another process (%s); waiting until it ends", folder, holder)
            fcntl.flock(fh, fcntl.LOCK_EX)
            log.info("the other process has ended; training %s now", folder)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stop_when_orphaned(interval_s: float = 1.0) -> threading.Thread:
    """Exit this process soon after the process that started it has died.

    A Snakemake job runs as a child of Snakemake; when Snakemake is killed (``kill -9``, a closed
    terminal) the job would go on as an orphan, and a rerun would train the same cell a second time
    beside it. A daemon thread notices the re-parenting (``os.getppid()`` changes) and exits with
    status 1. The cell is left unfinished (no ``metrics.csv``) and is redone by the next run, which
    also removes the temporary files the exit may leave.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                log.error(
                    "the process that started this job (pid %d) is gone: stopping, so that a "
                    "rerun does not train this cell twice (it will be redone)",
                    parent,
                )
                logging.shutdown()
                os._exit(1)

    thread = threading.Thread(target=watch, name="stop-when-orphaned", daemon=True)
    thread.start()
    return thread


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remake_hint(path: str | Path) -> str:
    """How to get a prepared dataset file back without losing finished results."""
    path = Path(path)
    name = path.stem if path.stem in INPUTS else "DATASET"
    return (
        f"Delete {path} and run snakemake again: the first job that needs it prepares it anew "
        f"from the source files, and finished training results are kept (only data that differ "
        f"from what they were trained on retrain them). Outside the workflow: "
        f"`python -m dendritic prepare {name} --out {path}`."
    )


def verify_prepared_file(path: str | Path) -> dict[str, Any]:
    """Check a prepared dataset file against the checksum that ``prepare`` recorded in the JSON
    beside it (``{stem}.json``: ``file_sha256``, ``file_size``, ``content_sha256``); return that JSON.

    This is the cheap check the workflow runs while it builds its DAG (no torch needed; ~0.1 s for
    Fashion-MNIST's 55 MB), so that a damaged cache stops the workflow before any job starts.
    Raises :class:`IntegrityError` naming the file and the remedy.
    """
    path = Path(path)
    meta_path = path.with_suffix(".json")
    remedy = remake_hint(path)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise IntegrityError(
            f"{path} has no {meta_path.name} beside it, so its checksum is unknown. {remedy}"
        ) from None
    except (OSError, ValueError) as err:
        raise IntegrityError(f"{meta_path} is unreadable ({err}). {remedy}") from err
    if not isinstance(meta, dict) or not all(k in meta for k in ("file_sha256", "file_size", "content_sha256")):
        raise IntegrityError(
            f"{meta_path} records no checksum of {path.name} (prepared by an older version of this pipeline). {remedy}"
        )
    size = path.stat().st_size
    if size != meta["file_size"]:
        raise IntegrityError(
            f"{path} has {size} bytes, but {meta['file_size']} were written when it was "
            f"prepared: the file was truncated, damaged or replaced. {remedy}"
        )
    actual = sha256_file(path)
    if actual != meta["file_sha256"]:
        raise IntegrityError(
            f"{path} does not match the checksum recorded when it was prepared "
            f"(sha256 {actual[:16]}…, expected {meta['file_sha256'][:16]}…): the file "
            f"was damaged or changed afterwards. {remedy}"
        )
    return meta


def trained_data_checksum(provenance_path: str | Path) -> str | None:
    """The ``content_sha256`` of the data a finished cell was trained on (its ``provenance.json``),
    or None when the file or the record is absent."""
    try:
        return json.loads(Path(provenance_path).read_text())["data"]["content_sha256"] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_atomic(path: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and move the result to ``path`` only if it succeeded."""
    with atomic_path(path) as tmp:
        writer(tmp)


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


def git_commit(start: str | Path | None = None) -> str | None:
    """The commit of the repository holding this package (or ``start``), if there is one."""
    where = Path(start) if start else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or None
    except Exception:
        return None


def provenance(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where and with what a result was produced."""
    import numpy
    import torch

    info: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {"dendritic": __version__, "torch": torch.__version__, "numpy": numpy.__version__},
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "git_commit": git_commit(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    if extra:
        info.update(extra)
    return info


def setup_logging(logfile: str | Path | None = None, level: int = logging.INFO) -> None:
    """Log to stderr and, when given, to ``logfile`` (Snakemake's ``log:``).

    An exception that ends the program is logged too (with its traceback), so that a failed
    job's log file holds its error and not only Snakemake's screen.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(
        level=level,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )

    def log_uncaught(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("failed: %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = log_uncaught
