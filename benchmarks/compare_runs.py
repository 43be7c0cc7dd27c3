"""Same seed, same numbers: train a fixed set of cells and compare two such recordings.

    PYTHONPATH=src .venv/bin/python benchmarks/compare_runs.py train /tmp/before   # with the old code
    PYTHONPATH=src .venv/bin/python benchmarks/compare_runs.py train /tmp/after    # with the new code
    PYTHONPATH=src .venv/bin/python benchmarks/compare_runs.py diff /tmp/before /tmp/after

``train`` runs every cell of :data:`CELLS` (the main models at D = 2, S = 32, the dropout,
noise, early-stopping, sequential and divergence variants, both engines; 2 seeds, 2-3 epochs) on
the prepared Fashion-MNIST cache ``resources/data/fmnist.pt`` through the cell runner, one folder
per cell. ``diff`` compares every ``metrics.csv`` and ``history.csv`` of the two folders as text,
column by column, leaving out the wall-clock columns (``wall_s``, ``time_s``): every other column
must be byte-identical. Exit status 1 when one is not. Used for the refactoring of issue #11
(one training protocol): the report quotes its output.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

#: Columns that measure time, not numbers of the run.
TIME_COLUMNS = {"wall_s", "time_s"}

_BASE = dict(dataset="fmnist", dendrites=2, somata=32, epochs=2, lr=1e-3, seeds=(0, 1))

#: (folder name, Cell keyword arguments)
CELLS = [
    *[(f"main-{m}", dict(experiment="main", model=m)) for m in ("dANN-R", "dANN-LRF", "vANN", "pdANN", "sANN")],
    *[(f"main-{m}-ref", dict(experiment="main", model=m, engine="reference")) for m in ("dANN-R", "vANN")],
    ("dropout-vANN", dict(experiment="dropout", model="vANN", dropout=0.2)),
    ("dropout-vANN-ref", dict(experiment="dropout", model="vANN", dropout=0.2, engine="reference")),
    ("dropout-dANN-R", dict(experiment="dropout", model="dANN-R", dropout=0.5)),
    ("noise-dANN-LRF", dict(experiment="noise", model="dANN-LRF", sigma=0.5)),
    ("noise-dANN-LRF-ref", dict(experiment="noise", model="dANN-LRF", sigma=0.5, engine="reference")),
    ("early-vANN", dict(experiment="early_stopping", model="vANN", epochs=4, patience=1, lr=0.05)),
    (
        "early-vANN-ref",
        dict(experiment="early_stopping", model="vANN", epochs=4, patience=1, lr=0.05, engine="reference"),
    ),
    ("early-dANN-R", dict(experiment="early_stopping", model="dANN-R", epochs=3, patience=2)),
    ("sequential-dANN-R", dict(experiment="sequential", model="dANN-R", sequential=True)),
    ("sequential-vANN-ref", dict(experiment="sequential", model="vANN", sequential=True, engine="reference")),
    ("diverge-vANN", dict(experiment="learning_rate", model="vANN", lr=0.5, divergence_loss=0.8)),
    (
        "diverge-vANN-ref",
        dict(experiment="learning_rate", model="vANN", lr=0.5, divergence_loss=0.8, engine="reference"),
    ),
]


def _run_cell():
    try:  # the cell runner's home after issue #11
        from dendritic.cells import run_cell
    except ImportError:  # before it
        from dendritic.training import run_cell
    return run_cell


def train(out: Path, data: Path = Path("resources/data/fmnist.pt")) -> None:
    from dendritic.config import Cell

    run_cell = _run_cell()
    for name, kw in CELLS:
        t0 = time.perf_counter()
        cell = Cell(**{**_BASE, **kw})
        df = run_cell(cell, data, out / name, device="cpu")
        print(
            f"{name:22s} {time.perf_counter() - t0:6.1f} s  acc {df.test_acc.round(4).tolist()}  "
            f"diverged {df.diverged.tolist()}",
            flush=True,
        )


def _columns(path: Path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return {col: [r[i] for r in rows[1:]] for i, col in enumerate(rows[0])}


def diff(a: Path, b: Path) -> int:
    bad = 0
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv"))
    missing = sorted(set(p.relative_to(b) for p in b.rglob("*.csv")) ^ set(files))
    for rel in missing:
        print(f"only in one recording: {rel}")
        bad += 1
    for rel in files:
        if not (b / rel).exists():
            continue
        ca, cb = _columns(a / rel), _columns(b / rel)
        if list(ca) != list(cb):
            print(f"{rel}: columns differ: {list(ca)} vs {list(cb)}")
            bad += 1
            continue
        for col in ca:
            if col in TIME_COLUMNS:
                continue
            if ca[col] != cb[col]:
                print(f"{rel}: column {col} differs: {ca[col][:4]} vs {cb[col][:4]}")
                bad += 1
    print(
        f"{len(files)} csv files compared (all columns but {', '.join(sorted(TIME_COLUMNS))}): "
        f"{'identical' if not bad else f'{bad} difference(s)'}"
    )
    return int(bad > 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["train"] and len(sys.argv) == 3:
        train(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["diff"] and len(sys.argv) == 4:
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
