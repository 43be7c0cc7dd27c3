"""The DAC comparisons (Metta et al., WACV 2024, arXiv 2301.00924; ``docs/neighbours/dac.md``):
the numbers the verdict rows A1-A3 (:mod:`dendritic.reproduction.related_dac`) and the figure
``related_dac`` (:mod:`dendritic.plots.related_dac`) both read, as pure functions of the rows of
``results/summary.csv``. Nothing here draws or writes files.

Every comparison is a table of paired differences, one row per (DAC cell, seed): the DAC run of
experiment ``dac`` against a run of the main experiment on the same dataset and seed (the same
seed gives a DAC model and its base model the same masks and initial weights). Diverged runs
(:func:`dendritic.trials.diverged_mask`) are left out before pairing, so a pair exists only where
both runs finished.

* ``budget``: X-DAC(D, S) − X(2D, S), "more biases" against "more weights" at almost equal
  parameters (dANN-X-DAC has 34DS + 20S + 10 against 36DS + 11S + 10);
* ``same``: X-DAC(D, S) − X(D, S), the same architecture with and without DAC;
* :func:`vann_interp_deltas`: vANN-DAC against vANN interpolated at equal parameters (linear in
  log10 parameters, per seed, within vANN's range of parameters only).

:func:`bootstrap_mean` pools a table into one mean with a seed-bootstrap 95 % interval (seeds
resampled with replacement, jointly over the cells; fixed generator, so reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dendritic.trials import aggregate_seeds, diverged_mask, match_vann
from dendritic.wiring import DAC_MODELS, base_model

#: The experiment of the DAC cells (config ``experiments.dac``).
EXPERIMENT = "dac"
#: The base models A1 compares at equal parameters (the spec: X ∈ {dANN-R, dANN-LRF}).
BUDGET_MODELS = ("dANN-R", "dANN-LRF")
#: Bootstrap draws and the fixed seed of their generator.
N_BOOT, BOOT_SEED = 4000, 20240101

#: Columns of a paired-difference table.
PAIR_COLUMNS = [
    "dataset",
    "model",
    "base",
    "dendrites",
    "somata",
    "base_dendrites",
    "seed",
    "n_params",
    "base_n_params",
    "test_acc",
    "base_test_acc",
    "test_loss",
    "base_test_loss",
    "delta_acc",
    "delta_loss",
    "epochs",
]


def _finished(df: pd.DataFrame, experiment: str) -> pd.DataFrame:
    runs = df[(df["experiment"] == experiment) & ~diverged_mask(df)]
    runs = runs[np.isfinite(runs["test_acc"].astype(float))]
    planned = runs["max_epochs"] if "max_epochs" in runs else runs["epochs"]
    return runs.assign(_epochs=planned.astype(float))


def paired_deltas(df: pd.DataFrame, kind: str = "budget", models: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (DAC cell, seed) whose partner run exists: the DAC run minus the main
    experiment's base-model run at 2D (``kind="budget"``) or at D (``kind="same"``), same S,
    dataset and seed. ``models``: the base models to pair (default: all). ``epochs`` is the
    smaller of the two runs' planned epochs. Columns :data:`PAIR_COLUMNS`."""
    if kind not in ("budget", "same"):
        raise ValueError(f"kind must be 'budget' or 'same', got {kind!r}")
    dac, main = _finished(df, EXPERIMENT), _finished(df, "main")
    dac = dac[dac["model"].isin(DAC_MODELS)].assign(base=lambda d: d["model"].map(base_model))
    if models is not None:
        dac = dac[dac["base"].isin(list(models))]
    dac = dac.assign(base_dendrites=dac["dendrites"] * (2 if kind == "budget" else 1))
    keep = ["dataset", "model", "dendrites", "somata", "seed", "n_params", "test_acc", "test_loss", "_epochs"]
    base = main[keep].rename(
        columns={
            "model": "base",
            "dendrites": "base_dendrites",
            "n_params": "base_n_params",
            "test_acc": "base_test_acc",
            "test_loss": "base_test_loss",
            "_epochs": "_base_epochs",
        }
    )
    out = dac.merge(base, on=["dataset", "base", "base_dendrites", "somata", "seed"], how="inner")
    out["delta_acc"] = out["test_acc"].astype(float) - out["base_test_acc"].astype(float)
    out["delta_loss"] = out["test_loss"].astype(float) - out["base_test_loss"].astype(float)
    out["epochs"] = np.minimum(out["_epochs"], out["_base_epochs"])
    return out[PAIR_COLUMNS].sort_values(["dataset", "model", "dendrites", "somata", "seed"]).reset_index(drop=True)


def vann_interp_deltas(df: pd.DataFrame) -> pd.DataFrame:
    """vANN-DAC against vANN at equal parameters: per vANN-DAC run, its accuracy minus the
    accuracy of the same seed's vANN runs (main experiment, same dataset) interpolated at the
    vANN-DAC's parameter count, linear in log10 parameters. Cells outside the range of vANN's
    parameter counts get no row (no extrapolation). Columns :data:`PAIR_COLUMNS` (``base`` =
    vANN, ``base_n_params`` = the vANN-DAC's own count, ``base_dendrites`` NaN)."""
    dac, main = _finished(df, EXPERIMENT), _finished(df, "main")
    dac = dac[dac["model"] == "vANN-DAC"]
    rows = []
    for (dataset, seed), runs in dac.groupby(["dataset", "seed"]):
        ref = main[(main["model"] == "vANN") & (main["dataset"] == dataset) & (main["seed"] == seed)]
        if ref["n_params"].nunique() < 2:
            continue
        ref = ref.groupby("n_params")[["test_acc", "test_loss", "_epochs"]].mean().sort_index()
        logp = np.log10(ref.index.to_numpy(float))
        for r in runs.to_dict("records"):
            x = np.log10(float(r["n_params"]))
            if not logp[0] <= x <= logp[-1]:
                continue
            acc = float(np.interp(x, logp, ref["test_acc"].to_numpy(float)))
            loss = float(np.interp(x, logp, ref["test_loss"].to_numpy(float)))
            rows.append(
                dict(
                    dataset=dataset,
                    model=r["model"],
                    base="vANN",
                    dendrites=r["dendrites"],
                    somata=r["somata"],
                    base_dendrites=np.nan,
                    seed=seed,
                    n_params=r["n_params"],
                    base_n_params=r["n_params"],
                    test_acc=r["test_acc"],
                    base_test_acc=acc,
                    test_loss=r["test_loss"],
                    base_test_loss=loss,
                    delta_acc=float(r["test_acc"]) - acc,
                    delta_loss=float(r["test_loss"]) - loss,
                    epochs=min(r["_epochs"], float(ref["_epochs"].min())),
                )
            )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def bootstrap_mean(
    pairs: pd.DataFrame, column: str = "delta_acc", n_boot: int = N_BOOT, seed: int = BOOT_SEED
) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean over cells of each cell's mean ``column`` over its seeds,
    and its seed-bootstrap 95 % percentile interval (the seed labels resampled with replacement,
    the same draw for every cell; a cell none of whose seeds is drawn is left out of that draw).
    NaNs for an empty table."""
    if pairs.empty:
        return (np.nan, np.nan, np.nan)
    cells = ["dataset", "model", "dendrites", "somata"]
    mat = pairs.pivot_table(index=cells, columns="seed", values=column, aggfunc="mean")
    values = mat.to_numpy(float)  # cells × seeds, NaN where a cell lacks the seed
    mean = float(np.nanmean(np.nanmean(values, axis=1)))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.shape[1], size=(n_boot, values.shape[1]))
    stats = np.empty(n_boot)
    with np.errstate(invalid="ignore"):
        for i, idx in enumerate(draws):
            sample = values[:, idx]
            counts = np.isfinite(sample).sum(axis=1)
            per_cell = np.where(counts > 0, np.nansum(sample, axis=1) / np.maximum(counts, 1), np.nan)
            stats[i] = np.nanmean(per_cell) if np.isfinite(per_cell).any() else np.nan
    lo, hi = np.nanpercentile(stats, [2.5, 97.5])
    return (mean, float(lo), float(hi))


def cell_deltas(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per DAC cell of a paired table: ``n`` (paired seeds) and the mean, SD and 95 % t-interval
    half-width of ``delta_acc`` over its seeds (:func:`dendritic.trials.aggregate_seeds`'s
    interval, as every figure's CI), with the two models' parameter counts."""
    if pairs.empty:
        return pd.DataFrame(columns=["dataset", "model", "base", "dendrites", "somata", "n"])
    work = pairs.drop(columns=["test_acc"]).rename(columns={"delta_acc": "test_acc"}).assign(experiment=EXPERIMENT)
    agg = aggregate_seeds(work[["experiment", "dataset", "model", "dendrites", "somata", "n_params", "test_acc"]])
    extra = pairs.groupby(["dataset", "model", "dendrites", "somata"], as_index=False).agg(
        base=("base", "first"), base_dendrites=("base_dendrites", "first"), base_n_params=("base_n_params", "first")
    )
    agg = agg.rename(
        columns={"test_acc_mean": "delta_mean", "test_acc_std": "delta_std", "test_acc_ci95": "delta_ci95"}
    )
    return agg.drop(columns=["experiment"]).merge(extra, on=["dataset", "model", "dendrites", "somata"])


def match_folds(df: pd.DataFrame, models: Sequence[str] = BUDGET_MODELS) -> pd.DataFrame:
    """Claim (a)'s "parameters to match vANN" (:func:`dendritic.trials.match_vann`) for each
    X-DAC of experiment ``dac`` and its base model X of the main experiment, against the best
    vANN of the main experiment on the same dataset: one row per (dataset, X) with the columns
    ``status``, ``n_params``, ``dendrites``, ``somata`` and ``fold_fewer`` of both (the DAC
    model's prefixed ``dac_``) and ``ref_n_params``, ``ref_value``, ``ref_dendrites``,
    ``ref_somata`` (vANN's best)."""
    runs = df[df["experiment"].isin(["main", EXPERIMENT])]
    if runs.empty:
        return pd.DataFrame()
    agg = aggregate_seeds(runs)
    main = agg[agg["experiment"] == "main"]
    dac = agg[agg["experiment"] == EXPERIMENT]
    base = match_vann(main) if (main["model"] == "vANN").any() else pd.DataFrame()
    with_dac = match_vann(dac, reference_agg=main, reference_on=["dataset"]) if len(dac) else pd.DataFrame()
    rows = []
    for m in models:
        for dataset in sorted(set(runs["dataset"])):
            b = base[(base["model"] == m) & (base["dataset"] == dataset)] if len(base) else base
            d = (
                with_dac[(with_dac["model"] == f"{m}-DAC") & (with_dac["dataset"] == dataset)]
                if len(with_dac)
                else with_dac
            )
            if b.empty or d.empty:
                continue
            b, d = b.iloc[0], d.iloc[0]
            row = {"dataset": dataset, "model": m}
            for c in ("status", "n_params", "dendrites", "somata", "fold_fewer"):
                row[c], row[f"dac_{c}"] = b[c], d[c]
            for c in ("ref_n_params", "ref_value", "ref_dendrites", "ref_somata"):
                row[c] = b[c]
            rows.append(row)
    return pd.DataFrame(rows)
