"""Writing results so that nothing half-written is ever taken as finished, and provenance.

Every file is written to a temporary name in its destination folder and renamed into place
(``os.replace`` is atomic on POSIX). A cell's ``metrics.csv`` is renamed last, so its presence
means the whole cell finished.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger("dendritic")


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
            capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip() or None
    except Exception:
        return None


def provenance(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where and with what a result was produced."""
    import numpy
    import torch

    from dendritic import __version__

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
    """Log to stderr and, when given, to ``logfile`` (Snakemake's ``log:``)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(
        level=level, handlers=handlers, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S",
    )
