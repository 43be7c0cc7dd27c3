"""Aggregate finished cells into ``results/summary.csv`` (one row per finished run).

Only cells whose ``metrics.csv`` exists are read, and a cell writes that file last, so a summary
never includes a half-finished run. :func:`find_metrics` lets a partial grid (``--keep-going``,
a cluster run still in progress) be summarised and plotted from whatever has finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from dendritic import runio
from dendritic.cells import SUMMARY_COLUMNS, SUMMARY_DEFAULTS


def find_metrics(root: str | Path = "results/runs") -> list[Path]:
    """Every finished cell's metrics.csv under ``root``, sorted."""
    return sorted(Path(root).glob("*/*/*/*/metrics.csv"))


def collect(metrics_files: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate metrics files into one frame with the summary columns first."""
    frames = [pd.read_csv(f) for f in metrics_files]
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    df["diverged"] = df["diverged"].astype(bool)
    for col, default in SUMMARY_DEFAULTS.items():  # runs from before the column existed
        df[col] = df[col].fillna(default) if col in df else default
    extra = [c for c in df.columns if c not in SUMMARY_COLUMNS]
    return df[[c for c in SUMMARY_COLUMNS if c in df.columns] + extra]


def write_summary(metrics_files: Iterable[str | Path], out: str | Path) -> pd.DataFrame:
    """Write the summary CSV atomically and return it."""
    df = collect(metrics_files)
    runio.write_atomic(out, lambda p: df.to_csv(p, index=False))
    return df


def load_summary(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    if "diverged" in df:
        df["diverged"] = df["diverged"].astype(bool)
    return df


def write_selected_networks(
    metrics_files: Iterable[str | Path], out: str | Path, dataset: str, selections: Iterable[str] = ("paper",)
) -> pd.DataFrame:
    """Each model's selected network on ``dataset`` (:func:`dendritic.trials.select_networks`)
    from the main experiment's finished cells, one block of rows per selection rule, atomically."""
    from dendritic.trials import select_networks

    runs = collect(metrics_files)
    df = pd.concat(
        [select_networks(runs, dataset, selection) for selection in dict.fromkeys(selections)], ignore_index=True
    )
    runio.write_atomic(out, lambda p: df.to_csv(p, index=False))
    return df
