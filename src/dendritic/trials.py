"""Statistics over runs: the numbers every figure and the verdict read from ``results/summary.csv``
(one row per run, see ``docs/ARCHITECTURE.md``), as pure functions of pandas frames. Nothing here
reads or writes files or draws; the definitions follow the paper's Methods ("Analyses"), and
each function's docstring quotes the one it implements and says exactly what is computed where
the paper leaves room.

Groups of functions
-------------------
* Over trials: :func:`aggregate_seeds` (mean, std, 95 % t-interval; diverged runs counted, never
  averaged), :func:`best_models`, :func:`match_vann` ("parameters needed to match vANN"),
  :func:`efficiency` (accuracy / loss efficiency scores).
* The networks of the later analyses: :func:`select_networks` (one per model, fixed from the clean
  main experiment: the paper's match-vANN rule or, as an option, each model's best), looked up in
  another experiment's runs with :func:`lookup_selected` / :func:`missing_cells`.
* The rows each efficiency panel plots: :func:`best_accuracy_runs`, :func:`best_efficiency`
  (Figs 3, 4), :func:`noise_runs` and :func:`sequential_runs` (Fig. 7, Table 2), each summarised by
  :func:`efficiency_table` (f normalised over exactly those rows); :func:`fig7_tables` (all of
  Fig. 7's tables), :func:`efficiency_deltas` (Fig. 4c-d).
* What the figures select and label: :func:`as_frame`, :func:`select`, :func:`with_labels`,
  :func:`best_rows`, :func:`matches`, :func:`present_pairs`, :func:`min_val_epoch_table`.
* Claims: :func:`spearman`.

Conventions
-----------
* ``test_acc`` is a fraction in [0, 1] (the summary contract), never a percentage.
* One module for one idea, the statistics over the rows of the summary, kept whole so that a figure
  and the verdict cannot compute a number two ways; it is longer than the others (~800 lines, about
  half of them the docstrings that quote the paper's definitions).
* Configuration columns (:data:`CONFIG_COLS`) identify one cell; a "configuration" is one row of the
  aggregated frame. Columns missing from a frame are simply not used as keys, so hand-made frames
  with only ``dataset, model, dendrites, somata, …`` work too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dendritic.paper import COMPARED_MODELS, PRIMARY_DATASET, SAMPLING_PAIRS, sort_datasets
from dendritic.wiring import model_label

__all__ = [
    "CONFIG_COLS",
    "diverged_mask",
    "aggregate_seeds",
    "best_models",
    "match_vann",
    "efficiency",
    "SELECTIONS",
    "PAPER_COMPARED",
    "select_networks",
    "lookup_selected",
    "missing_cells",
    "efficiency_table",
    "best_accuracy_runs",
    "best_efficiency",
    "noise_runs",
    "sequential_runs",
    "fig7_tables",
    "efficiency_deltas",
    "select",
    "with_labels",
    "best_rows",
    "matches",
    "present_pairs",
    "vann_best",
    "min_val_epoch_table",
    "spearman",
]

CONFIG_COLS: tuple[str, ...] = (
    "experiment",
    "dataset",
    "model",
    "dendrites",
    "somata",
    "layers",
    "dropout",
    "lr",
    "sigma",
)

#: Metrics a "best"/"match" analysis can rank by, and whether larger is better.
_METRIC_DIRECTION: dict[str, bool] = {"test_acc": True, "test_loss": False}

#: Columns that make up a "model family" for ranking: the configuration minus the size (D, S).
_FAMILY_COLS: tuple[str, ...] = tuple(c for c in CONFIG_COLS if c not in ("dendrites", "somata"))


def _present(df: pd.DataFrame, cols: Sequence[str]) -> list[str]:
    return [c for c in cols if c in df.columns]


def diverged_mask(df: pd.DataFrame) -> pd.Series:
    """Boolean ``diverged`` column; tolerant of bools, 0/1 and the strings 'True'/'False'.

    A missing column or a missing value counts as not diverged.
    """
    if "diverged" not in df.columns:
        return pd.Series(False, index=df.index)
    col = df["diverged"]
    if col.dtype == bool:
        return col
    mapped = col.map(
        lambda v: (
            False
            if v is None or (isinstance(v, float) and np.isnan(v))
            else str(v).strip().lower() in ("true", "1", "1.0", "yes")
        )
    )
    return mapped.astype(bool)


def _check_metric(metric: str) -> bool:
    if metric not in _METRIC_DIRECTION:
        raise ValueError(f"metric must be one of {sorted(_METRIC_DIRECTION)}, got {metric!r}")
    return _METRIC_DIRECTION[metric]


def _check_fraction(acc: pd.Series | np.ndarray) -> None:
    a = np.asarray(acc, dtype=float)
    if np.any(a[np.isfinite(a)] > 1.0 + 1e-12):
        raise ValueError("test_acc must be a fraction in [0, 1] (summary.csv contract); got values > 1 - percentages?")


# --------------------------------------------------------------------------------------------------
# over trials
# --------------------------------------------------------------------------------------------------
def aggregate_seeds(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("test_acc", "test_loss"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Average each configuration over its trials (seeds).

    The paper's Methods, "Best models": "average each (model, D, S) over trials"; Fig 2 plots mean ± 95 % CI.

    Rows are grouped by the configuration columns :data:`CONFIG_COLS` that are present (missing
    values in a key, e.g. an empty ``sigma``, form their own group rather than being dropped).
    Runs with ``diverged == True`` are **excluded** from every mean/std/CI and counted in
    ``n_diverged``; they are never silently averaged.

    Returns one row per configuration with

    * the key columns;
    * ``n`` – number of non-diverged seeds used, ``n_diverged`` – number of diverged seeds,
      ``n_runs`` – all seeds (``n + n_diverged``);
    * for each metric ``m`` in ``metrics``: ``m_mean``, ``m_std`` (sample std, ddof = 1) and
      ``m_ci95`` – half-width of the two-sided t confidence interval,
      ``t_{(1+confidence)/2, n-1} · std / sqrt(n)`` (NaN when n < 2; the column is named ``_ci95``
      whatever ``confidence`` is);
    * ``epoch_min_val_loss_mean`` – mean epoch of minimum validation loss (non-diverged seeds);
    * ``n_params`` – trainable parameters (mean over *all* seeds of the configuration: the count is
      architectural and identical across seeds for every model of the paper; an integer when all
      seeds agree).

    Configurations whose seeds all diverged keep a row with ``n == 0`` and NaN statistics.
    """
    keys = _present(df, CONFIG_COLS)
    if not keys:
        raise ValueError(f"no configuration column found; expected some of {CONFIG_COLS}")
    metrics = [m for m in metrics if m in df.columns]
    if "test_acc" in metrics:
        _check_fraction(df["test_acc"])

    work = df.copy()
    div = diverged_mask(work)
    work["_div"] = div.to_numpy()
    ok = work.loc[~work["_div"]]

    grouped_all = work.groupby(keys, dropna=False, sort=True)
    out = grouped_all.agg(n_runs=("_div", "size"), n_diverged=("_div", "sum"))
    if "n_params" in work.columns:
        npar = grouped_all["n_params"].agg(["mean", "min", "max"])
        exact = npar["min"] == npar["max"]
        out["n_params"] = np.where(exact, npar["min"], npar["mean"])
    out["n_diverged"] = out["n_diverged"].astype(int)

    stat_cols = metrics + (["epoch_min_val_loss"] if "epoch_min_val_loss" in work.columns else [])
    if stat_cols:
        g = ok.groupby(keys, dropna=False, sort=True)[stat_cols]
        means = g.mean().add_suffix("_mean")
        stds = g.std(ddof=1)
        counts = g.count()  # non-NaN values per metric
        out = out.join(means, how="left")
    else:
        counts = None
    out["n"] = out["n_runs"] - out["n_diverged"]

    q = 0.5 + confidence / 2.0
    for m in metrics:
        std = stds[m].reindex(out.index)
        cnt = counts[m].reindex(out.index).fillna(0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            tcrit = stats.t.ppf(q, cnt - 1.0)
            ci = tcrit * std / np.sqrt(cnt)
        ci = ci.where(cnt >= 2)
        out[f"{m}_std"] = std
        out[f"{m}_ci95"] = ci

    out = out.reset_index()
    if "n_params" in out.columns and (out["n_params"].dropna() % 1 == 0).all():
        out["n_params"] = out["n_params"].astype("Int64")
    order = (
        keys
        + ["n", "n_diverged", "n_runs"]
        + (["n_params"] if "n_params" in out.columns else [])
        + [f"{m}_{s}" for m in metrics for s in ("mean", "std", "ci95")]
        + (["epoch_min_val_loss_mean"] if "epoch_min_val_loss_mean" in out.columns else [])
    )
    return out[order]


def _families(agg: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    """Grouping columns for ranking: by default the configuration minus (D, S)."""
    cols = list(by) if by is not None else _present(agg, _FAMILY_COLS)
    missing = [c for c in cols if c not in agg.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the aggregated frame")
    return cols


def _size_sorted(agg: pd.DataFrame) -> pd.DataFrame:
    """Rows in the paper's order "D ascending, then S ascending" (stable, deterministic)."""
    size = _present(agg, ("dendrites", "somata"))
    return agg.sort_values(size, kind="mergesort") if size else agg


def best_models(agg: pd.DataFrame, metric: str = "test_acc", by: Sequence[str] | None = None) -> pd.DataFrame:
    """The best configuration of each model.

    The paper's Methods: "'Best' = highest mean test accuracy (or lowest mean test loss)"; Table 1 lists the
    best-accuracy model per (dataset, model).

    ``agg`` is the output of :func:`aggregate_seeds`. One row per group is returned, the
    configuration with the highest ``test_acc_mean`` (``metric='test_acc'``) or lowest
    ``test_loss_mean`` (``metric='test_loss'``). Groups are, by default, the configuration columns
    without D and S (``experiment, dataset, model, layers, dropout, lr, sigma`` – whichever are
    present), i.e. per (dataset, model) within one experiment and one setting of the remaining
    hyper-parameters; pass ``by=["dataset", "model"]`` to rank across everything else as well.
    Configurations with a NaN mean (all seeds diverged) are never chosen; ties go to the first
    configuration in D-ascending, S-ascending order.
    """
    higher = _check_metric(metric)
    col = f"{metric}_mean"
    fam = _families(agg, by)
    valid = _size_sorted(agg.loc[agg[col].notna()])
    if valid.empty:
        return valid.reset_index(drop=True)
    ranked = valid.sort_values(col, ascending=not higher, kind="mergesort")
    best = ranked.groupby(fam, dropna=False, sort=True).head(1) if fam else ranked.head(1)
    if fam:
        best = best.sort_values(fam, kind="mergesort")
    return best.reset_index(drop=True)


def match_vann(
    agg: pd.DataFrame,
    metric: str = "test_acc",
    reference: str = "vANN",
    by: Sequence[str] | None = None,
    reference_agg: pd.DataFrame | None = None,
    reference_on: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Parameters each model needs to match the reference model's (vANN's) best performance.

    The paper's Methods: "for each model, the first configuration (D ascending, then S ascending) whose mean
    accuracy exceeds vANN's best mean accuracy (loss: falls below vANN's minimum mean loss); its
    trainable parameters are 'parameters needed to match vANN'."

    For each group of ``agg`` (default: the configuration without D, S – see :func:`best_models`;
    in the main experiment that is per (dataset, model)):

    * the reference value is the best mean of ``reference`` (max ``test_acc_mean`` / min
      ``test_loss_mean``) among the reference rows sharing the group's *reference keys* – by default
      every group column except ``model``, so the reference comes from the same experiment, dataset,
      depth, lr, noise level … . To take the reference from elsewhere (e.g. the dropout-vANNs against
      the main-experiment vANN), pass ``reference_agg`` and the columns to join on in
      ``reference_on`` (default ``["dataset"]`` when ``reference_agg`` is given);
    * the rows of the model are scanned with D ascending, then S ascending, and the first whose mean
      is **strictly** better (``>`` for accuracy, ``<`` for loss) is the match. Note that this is the
      first in that order, not necessarily the smallest matching network.

    Returned columns: the group keys; ``status`` – ``"matched"``, ``"never matched"``,
    ``"reference"`` (the reference model itself, when the reference is taken from ``agg``; it
    cannot strictly beat its own best) or
    ``"no reference"`` (no reference rows for that group); ``matched`` (bool); ``dendrites``,
    ``somata``, ``n_params`` and ``value`` (its mean metric) of the matching configuration (NaN /
    <NA> unless matched); ``ref_value``, ``ref_dendrites``, ``ref_somata``, ``ref_n_params`` of the
    reference's best configuration; ``param_ratio = n_params / ref_n_params`` (< 1: fewer parameters
    than the best vANN) and ``fold_fewer = ref_n_params / n_params`` (the "× fewer parameters" of
    the paper's claims).
    """
    higher = _check_metric(metric)
    col = f"{metric}_mean"
    fam = _families(agg, by)
    if "model" not in fam:
        raise ValueError("the grouping must contain 'model'")

    if reference_agg is None:
        ref_source = agg
        ref_keys = [c for c in fam if c != "model"]
    else:
        ref_source = reference_agg
        ref_keys = list(reference_on) if reference_on is not None else ["dataset"]
    ref_rows = ref_source.loc[(ref_source["model"] == reference) & ref_source[col].notna()]
    ref_best = best_models(ref_rows, metric, by=ref_keys + ["model"]) if len(ref_rows) else ref_rows
    ref_best = ref_best[ref_keys + [col, "dendrites", "somata", "n_params"]].rename(
        columns={
            col: "ref_value",
            "dendrites": "ref_dendrites",
            "somata": "ref_somata",
            "n_params": "ref_n_params",
        }
    )

    work = _size_sorted(agg.loc[agg[col].notna()])
    if ref_keys:
        work = work.merge(ref_best, on=ref_keys, how="left", sort=False)
    else:
        fill = {c: (ref_best[c].iloc[0] if len(ref_best) else np.nan) for c in ref_best.columns}
        work = work.assign(**fill)
    work = _size_sorted(work)
    beats = (work[col] > work["ref_value"]) if higher else (work[col] < work["ref_value"])
    self_ref = reference_agg is None  # the reference rows are part of ``agg`` itself
    work["_beats"] = beats & ~((work["model"] == reference) & self_ref)

    groups = work.groupby(fam, dropna=False, sort=True)
    first = work.loc[work["_beats"]].groupby(fam, dropna=False, sort=True).head(1)
    summary = groups[["ref_value", "ref_dendrites", "ref_somata", "ref_n_params"]].first()
    summary = summary.reset_index()
    hit = first[fam + ["dendrites", "somata", "n_params", col]].rename(columns={col: "value"})
    out = summary.merge(hit, on=fam, how="left")

    out["matched"] = out["dendrites"].notna()
    status = np.where(out["matched"], "matched", "never matched")
    status = np.where(out["ref_value"].isna(), "no reference", status)
    if self_ref:
        status = np.where(out["model"] == reference, "reference", status)
    out["status"] = status
    npar = out["n_params"].astype(float)
    rpar = out["ref_n_params"].astype(float)
    out["param_ratio"] = npar / rpar
    out["fold_fewer"] = rpar / npar
    for c in ("dendrites", "somata", "n_params", "ref_dendrites", "ref_somata", "ref_n_params"):
        vals = out[c].astype(float)
        if (vals.dropna() % 1 == 0).all():
            out[c] = vals.astype("Int64")
    cols = fam + [
        "status",
        "matched",
        "dendrites",
        "somata",
        "n_params",
        "value",
        "ref_value",
        "ref_dendrites",
        "ref_somata",
        "ref_n_params",
        "param_ratio",
        "fold_fewer",
    ]
    return out[cols]


def efficiency(df: pd.DataFrame, by: Sequence[str] = ("experiment", "dataset")) -> pd.DataFrame:
    """Accuracy and loss efficiency scores of each run (one row of ``summary.csv`` each).

    The paper's Methods: "Efficiency scores (per dataset): f = log10(params × (epoch_of_min_val_loss + 1)),
    normalised by the minimum f over the rows being plotted (the best-configuration rows, all
    trials, of the models in that panel); accuracy efficiency = (acc/100)/f; loss efficiency =
    loss × f, both computed on the best-accuracy rows." The minimum is over the rows passed in, so
    pass exactly the plotted rows (:func:`best_accuracy_runs`, :func:`noise_runs`,
    :func:`efficiency_table`).

    Exactly what is computed, per row i, with the minimum taken within the row's group ``by``::

        f_i      = log10(n_params_i * (epoch_min_val_loss_i + 1))
        f_norm_i = f_i / min_{k in group, not diverged} f_k           (>= 1)
        acc_eff  = test_acc_i / f_norm_i     # test_acc is already a fraction: the paper's acc/100
        loss_eff = test_loss_i * f_norm_i

    so the "f" in the paper's two efficiency formulas is the *normalised* f. Higher ``acc_eff`` and
    lower ``loss_eff`` are better. ``epoch_min_val_loss`` is taken to be the 0-based index of the
    epoch with the lowest validation loss (``argmin`` over the per-epoch values, as in the authors'
    code), so ``epoch_min_val_loss + 1`` is the number of epochs trained up to the best one.

    Grouping: "per dataset" is implemented as per (``experiment``, ``dataset``) by default, so that
    rows of two experiments passed together never share a minimum. Pass ``by=("dataset",)`` for
    the literal reading over all rows given; in every case the minimum is over the rows *passed
    in*, so filter the frame first to the comparison set.
    Diverged runs get NaN scores and do not enter the minimum; rows with a missing
    ``epoch_min_val_loss`` or ``n_params`` get NaN.

    Returns a copy of ``df`` with columns ``f``, ``f_min``, ``f_norm``, ``acc_eff``, ``loss_eff``.
    """
    need = ["n_params", "epoch_min_val_loss", "test_acc", "test_loss"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise KeyError(f"efficiency needs columns {missing}")
    _check_fraction(df["test_acc"])
    out = df.copy()
    div = diverged_mask(out).to_numpy()
    npar = out["n_params"].astype(float).to_numpy()
    ep = out["epoch_min_val_loss"].astype(float).to_numpy()
    if np.any(ep[np.isfinite(ep)] < 0):
        raise ValueError("epoch_min_val_loss must be >= 0 (a 0-based epoch index)")
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.log10(npar * (ep + 1.0))
    f[div] = np.nan
    out["f"] = f
    keys = [c for c in by if c in out.columns]
    if keys:
        out["f_min"] = out.groupby(keys, dropna=False)["f"].transform("min")
    else:
        out["f_min"] = np.nanmin(f) if np.isfinite(f).any() else np.nan
    out["f_norm"] = out["f"] / out["f_min"]
    out["acc_eff"] = out["test_acc"].astype(float) / out["f_norm"]
    out["loss_eff"] = out["test_loss"].astype(float) * out["f_norm"]
    return out


# --------------------------------------------------------------------------------------------------
# the network each later analysis uses, and the rows each efficiency panel plots
# --------------------------------------------------------------------------------------------------
#: Values of the config key ``analysis.selection``: the paper's rule, or each model's most accurate
#: network (the choice this pipeline made before; kept as a documented option).
SELECTIONS: tuple[str, ...] = ("paper", "best")

#: Why :func:`select_networks` chose a network (its column ``reason``).
REASON_MATCHED = "matched vANN"
REASON_FALLBACK = "fell back to best"
REASON_REFERENCE = "best accuracy (vANN)"
REASON_BEST = "best (selection: best)"

#: The models the paper compares on its selected networks: Fig. 5, the Fig. 7 noise and sequential
#: panels and Table 2 (:data:`dendritic.paper.COMPARED_MODELS`).
PAPER_COMPARED: tuple[str, ...] = COMPARED_MODELS

#: Columns that fix a network's architecture: what a selected network is looked up by in the runs
#: of another experiment (σ, lr and the experiment itself are that experiment's own).
NETWORK_COLS: tuple[str, ...] = ("dataset", "model", "dendrites", "somata", "layers")

_SELECTED_EXTRA = [
    "selection",
    "reason",
    "match_status",
    "note",
    "ref_test_acc",
    "ref_dendrites",
    "ref_somata",
    "ref_n_params",
]


def select_networks(
    summary: pd.DataFrame,
    dataset: str,
    selection: str = "paper",
    experiment: str = "main",
    models: Sequence[str] | None = None,
    reference: str = "vANN",
) -> pd.DataFrame:
    """The one network per model that every later analysis uses, fixed from the clean main
    experiment.

    The paper's Methods ("The network each later analysis uses", the authors' ``find_best_models(...,
    compare=True)``): for each dendritic model its *match-vANN* configuration (the first, D
    ascending then S ascending, whose mean test accuracy over trials exceeds vANN's best mean
    accuracy; :func:`match_vann`), for vANN its best-accuracy configuration; a model that never
    matches falls back to its best-accuracy configuration. Table 2, the Fig. 7 noise and sequential
    panels, Fig. 5 and Fig. 6 all use these networks; none of them picks a new best among its own
    runs, which would select on the test set.

    ``summary``: rows of ``summary.csv`` (one per run); only ``experiment`` runs on ``dataset``
    are used, averaged over seeds by :func:`aggregate_seeds` (diverged runs left out). The
    reference for the match is always computed from every ``reference`` run, also when ``models``
    leaves the reference out of the answer.

    ``selection``: ``"paper"`` (the rule above) or ``"best"`` (every model's best-accuracy
    configuration; config key ``analysis.selection``).

    Returns one row per model (per configuration family of :func:`best_models`): the aggregated
    columns of its selected configuration (keys, ``n_params``, ``n``, ``n_diverged``, means, SDs
    and CIs) plus ``selection``; ``reason`` - ``"matched vANN"``, ``"fell back to best"``,
    ``"best accuracy (vANN)"`` or ``"best (selection: best)"``; ``match_status`` (the
    :func:`match_vann` status of the model, whatever the selection); ``note`` (one readable
    sentence); ``ref_test_acc``, ``ref_dendrites``, ``ref_somata``, ``ref_n_params`` (vANN's best
    mean accuracy and where it is). Empty (with these columns) when there are no such runs.
    """
    if selection not in SELECTIONS:
        raise ValueError(
            f"unknown network selection {selection!r}: config key analysis.selection must be one of "
            f"{list(SELECTIONS)} ('paper': the match-vANN networks of the paper, 'best': each model's "
            "most accurate network)"
        )
    runs = summary
    if "experiment" in runs.columns:
        runs = runs[runs["experiment"] == experiment]
    runs = runs[runs["dataset"] == dataset]
    if runs.empty:
        return pd.DataFrame(columns=list(_present(summary, CONFIG_COLS)) + ["n_params", "n"] + _SELECTED_EXTRA)
    agg = aggregate_seeds(runs)
    fam = _families(agg, None)
    best = best_models(agg, "test_acc")
    mv = match_vann(agg, "test_acc", reference=reference)
    ref = mv[fam + ["status", "ref_value", "ref_dendrites", "ref_somata", "ref_n_params"]].rename(
        columns={"status": "match_status", "ref_value": "ref_test_acc"}
    )
    if selection == "best":
        out = best.assign(reason=REASON_BEST)
    else:
        hit = mv.loc[mv["status"] == "matched", fam + ["dendrites", "somata"]].astype(
            {"dendrites": "int64", "somata": "int64"}
        )
        matched = agg.merge(hit, on=fam + ["dendrites", "somata"], how="inner").assign(reason=REASON_MATCHED)
        rest = best.merge(hit[fam], on=fam, how="left", indicator=True)
        rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
        rest["reason"] = np.where(rest["model"] == reference, REASON_REFERENCE, REASON_FALLBACK)
        out = pd.concat([matched, rest], ignore_index=True)
    out = out.merge(ref, on=fam, how="left")
    out["selection"] = selection
    out["note"] = [_selection_note(r, reference) for r in out.to_dict("records")]
    if models is not None:
        out = out[out["model"].isin(list(models))]
    cols = [c for c in best.columns if c in out.columns] + _SELECTED_EXTRA
    return out.sort_values(fam, kind="mergesort")[cols].reset_index(drop=True)


def _selection_note(r: Mapping[str, Any], reference: str) -> str:
    """One sentence on why the network of row ``r`` of :func:`select_networks` was chosen."""
    ref = (
        f"{reference}'s best mean accuracy {100 * r['ref_test_acc']:.2f}% (D={r['ref_dendrites']}, S={r['ref_somata']})"
        if pd.notna(r.get("ref_test_acc"))
        else ""
    )
    reason = r["reason"]
    if reason == REASON_MATCHED:
        return f"first configuration (D ascending, then S) above {ref}"
    if reason == REASON_REFERENCE:
        return f"{reference}'s own best-accuracy configuration, the reference of the match"
    if reason == REASON_FALLBACK:
        if r.get("match_status") == "no reference":
            return f"no {reference} runs to match: the model's best-accuracy configuration"
        return f"no configuration beats {ref}: the model's best-accuracy configuration"
    return "highest mean test accuracy over seeds (analysis.selection: best)"


def lookup_selected(runs: pd.DataFrame, selected: pd.DataFrame, on: Sequence[str] = NETWORK_COLS) -> pd.DataFrame:
    """The rows of ``runs`` (e.g. the noise or sequential experiment's) at the networks in
    ``selected`` (:func:`select_networks`), matched on the architecture columns ``on`` that both
    frames have; the selection's ``selection`` and ``reason`` columns are added. No new best is
    chosen here: every run of a selected network is kept, at every σ."""
    keys = [c for c in on if c in runs.columns and c in selected.columns]
    tag = selected[keys + [c for c in ("selection", "reason") if c in selected.columns]].copy()
    for c in ("dendrites", "somata", "layers"):
        if c in keys:
            tag[c] = tag[c].astype("int64")
    return runs.merge(tag, on=keys, how="inner")


def missing_cells(
    runs: pd.DataFrame,
    selected: pd.DataFrame,
    level_col: str | None = None,
    levels: Sequence[Any] | None = None,
    on: Sequence[str] = NETWORK_COLS,
) -> pd.DataFrame:
    """The selected networks (times each of ``levels`` of ``level_col``, e.g. every σ) for which
    ``runs`` has no finished, non-diverged run with a finite test loss. Columns: ``on`` (those
    present in ``selected``) and ``level_col``; empty when nothing is missing."""
    keys = [c for c in on if c in selected.columns]
    want = selected[keys].drop_duplicates()
    if level_col is not None:
        want = want.merge(pd.DataFrame({level_col: list(levels or [])}), how="cross")
        keys = keys + [level_col]
    ok = runs.loc[~diverged_mask(runs) & np.isfinite(runs["test_loss"].astype(float))] if len(runs) else runs
    have = ok[[k for k in keys if k in ok.columns]].drop_duplicates() if len(ok) else pd.DataFrame(columns=keys)
    for c in ("dendrites", "somata", "layers"):
        if c in keys:
            want[c] = want[c].astype("int64")
            have[c] = have[c].astype("int64")
    if level_col is not None:
        want[level_col] = want[level_col].astype(float)
        have[level_col] = have[level_col].astype(float)
    out = want.merge(have, on=keys, how="left", indicator=True)
    return out[out["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def efficiency_table(runs: pd.DataFrame, norm_by: Sequence[str] = ("experiment", "dataset")) -> pd.DataFrame:
    """Per configuration of ``runs``: mean, SD and 95 % CI over seeds of the test accuracy, the
    test loss and both efficiency scores, with f normalised by its minimum over exactly the rows
    passed in (within ``norm_by``).

    The paper's Methods: f is "normalised by the minimum f over the rows being plotted (the best-configuration
    rows, all trials, of the models in that panel)": pass those rows, e.g.
    :func:`best_accuracy_runs` of the panel's models (Figs 3, 4) or :func:`noise_runs` (Fig. 7).
    Error bars in the paper's Figs 3, 4 and 7 are 1 SD over trials: the ``*_std`` columns.
    """
    eff = efficiency(runs, by=[c for c in norm_by if c in runs.columns])
    return aggregate_seeds(eff, metrics=("test_acc", "test_loss", "acc_eff", "loss_eff"))


def best_accuracy_runs(runs: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run (all trials) of each family's best-accuracy configuration (:func:`best_models`
    with ``metric='test_acc'``): the rows both efficiency scores are computed on (the paper, Methods:
    "both computed on the best-accuracy rows")."""
    if runs.empty:
        return runs
    best = best_models(aggregate_seeds(runs), "test_acc", by=by)
    keys = [c for c in _present(runs, CONFIG_COLS) if c in best.columns]
    tag = best[keys].copy()
    for c in ("dendrites", "somata", "layers"):
        if c in keys:
            tag[c] = tag[c].astype("int64")
    return runs.merge(tag, on=keys, how="inner")


def best_efficiency(runs: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Figs 3c-d and 4c-d: the accuracy and loss efficiency of each model's best-accuracy
    configuration, f normalised per (experiment, dataset) over the best-accuracy rows of
    ``models`` only (the models of the panel). One row per (dataset, model) configuration, as
    :func:`efficiency_table`."""
    if models is not None:
        runs = runs[runs["model"].isin(list(models))]
    return efficiency_table(best_accuracy_runs(runs))


def _experiment_runs(
    summary: pd.DataFrame, experiment: str, dataset: str, models: Sequence[str] | None
) -> pd.DataFrame:
    sel = summary[(summary["experiment"] == experiment) & (summary["dataset"] == dataset)]
    return sel[sel["model"].isin(list(models))] if models is not None else sel


def noise_runs(
    summary: pd.DataFrame, dataset: str, selected: pd.DataFrame, models: Sequence[str] | None = PAPER_COMPARED
) -> pd.DataFrame:
    """Fig. 7b's rows: the noise experiment's runs of the selected networks (:func:`select_networks`)
    at every σ, plus the main experiment's runs of the same networks as σ = 0 (labelled
    ``experiment = "noise"``), for ``models`` (default: the four the paper compares). Empty when
    the summary has no noise runs on ``dataset``."""
    noise = _experiment_runs(summary, "noise", dataset, models)
    if noise.empty:
        return noise
    clean = _experiment_runs(summary, "main", dataset, models).assign(experiment="noise", sigma=0.0)
    sel = selected if models is None else selected[selected["model"].isin(list(models))]
    return lookup_selected(pd.concat([noise, clean], ignore_index=True), sel)


def sequential_runs(
    summary: pd.DataFrame, dataset: str, selected: pd.DataFrame, models: Sequence[str] | None = PAPER_COMPARED
) -> pd.DataFrame:
    """Table 2's and Fig. 7's sequential rows: the sequential experiment's runs of the selected
    networks (:func:`select_networks`) of ``models`` (``None``: every model run)."""
    seq = _experiment_runs(summary, "sequential", dataset, models)
    sel = selected if models is None else selected[selected["model"].isin(list(models))]
    return lookup_selected(seq, sel) if len(seq) else seq


# --------------------------------------------------------------------------------------------------
# the tables of the figures (and of the verdict)
# --------------------------------------------------------------------------------------------------
def select(
    df: pd.DataFrame, experiment: str, dataset: str | None = None, models: Sequence[str] | None = None
) -> pd.DataFrame:
    """The runs of ``experiment`` (on ``dataset``, of ``models``, when given)."""
    sel = df[df["experiment"] == experiment]
    if dataset is not None:
        sel = sel[sel["dataset"] == dataset]
    if models is not None:
        sel = sel[sel["model"].isin(models)]
    return sel


def with_labels(df: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """``df`` with the ``label`` column as the paper writes models (``vANN-0.2`` for vANN with
    dropout 0.2): ``df``'s own, else the one ``summary.csv`` stores for the same (model, dropout) in
    ``runs``, else :func:`dendritic.wiring.model_label` (frames made by hand, without labels)."""
    out = df.copy()
    if "label" in out.columns:
        return out
    keys = [c for c in ("model", "dropout") if c in out.columns]
    if runs is not None and "label" in runs.columns and set(keys) <= set(runs.columns):
        labels = runs[keys + ["label"]].drop_duplicates(keys)
        merged = out[keys].merge(labels, on=keys, how="left")
        out["label"] = merged["label"].to_numpy()
        if out["label"].notna().all():
            return out
    drop = out["dropout"].fillna(0.0).astype(float) if "dropout" in out else pd.Series(0.0, index=out.index)
    out["label"] = [model_label(m, p) for m, p in zip(out["model"], drop)]
    return out


def best_rows(agg: pd.DataFrame, metric: str, by: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`best_models` of an aggregated frame (empty frame in, empty frame out)."""
    if agg.empty:
        return agg
    return best_models(agg, metric, by=by)


def matches(agg: pd.DataFrame, metric: str) -> pd.DataFrame:
    """:func:`match_vann` (reference vANN) of an aggregated frame; empty without any vANN rows."""
    if agg.empty or not (agg["model"] == "vANN").any():
        return pd.DataFrame(columns=["dataset", "model", "status", "n_params", "ref_n_params"])
    return match_vann(agg, metric)


def vann_best(agg: pd.DataFrame, metric: str) -> tuple[float, float] | None:
    """vANN's best mean ``metric`` over its configurations (lowest loss, highest accuracy) and the
    trainable parameters of that configuration; None without finite vANN runs."""
    col = f"{metric}_mean"
    ref = agg[(agg["model"] == "vANN") & agg[col].notna()]
    if ref.empty:
        return None
    row = ref.loc[ref[col].idxmin() if metric == "test_loss" else ref[col].idxmax()]
    return float(row[col]), float(row["n_params"])


def min_val_epoch_table(df: pd.DataFrame, models: Sequence[str], experiment: str = "main") -> pd.DataFrame:
    """The runs Suppl. Fig. 7 draws: for every dataset and model, every non-diverged seed of its
    best-accuracy configuration (highest mean test accuracy over seeds, the paper's Methods, "Best
    models"), with ``epoch_min_val_loss`` (0-based, as the authors' ``num_epochs_min``) and
    ``max_epochs``."""
    sel = df[(df["experiment"] == experiment) & df["model"].isin(models)]
    if sel.empty:
        raise ValueError(f"no {experiment!r} runs of {list(models)} in the summary")
    ok = sel[~diverged_mask(sel)]
    parts = []
    for dataset, runs in ok.groupby("dataset", sort=False):
        best = best_models(aggregate_seeds(runs), "test_acc")
        keys = best[["model", "dendrites", "somata"]]
        parts.append(runs.merge(keys, on=["model", "dendrites", "somata"]))
    return pd.concat(parts, ignore_index=True) if parts else ok.iloc[:0]


def present_pairs(df: pd.DataFrame, pairs=SAMPLING_PAIRS, dataset: str | None = None) -> list[tuple[str, str, str]]:
    """The pairs whose two models both have main-experiment runs (on ``dataset`` if given)."""
    sel = select(df, "main", dataset)
    have = set(sel["model"])
    return [p for p in pairs if p[1] in have and p[2] in have]


def efficiency_deltas(runs: pd.DataFrame, pairs=SAMPLING_PAIRS) -> pd.DataFrame:
    """Fig. 4c-d: per dataset and pair (X, dANN-X, vANN-X), the difference dANN-X − vANN-X of the
    accuracy and the loss efficiency of the two best-accuracy configurations, trial by trial (the
    runs of the same seed paired, as in the paper), mean and 1 SD over the paired trials.

    ``runs``: main-experiment rows; f is normalised per dataset over the best-accuracy rows of the
    pairs' models only (the models of the panel). Columns: ``metric`` (``test_acc`` for accuracy
    efficiency, ``test_loss`` for loss efficiency), ``dataset, sampling, dann, vann, delta, sd,
    n`` (paired trials).
    """
    cols = ["metric", "dataset", "sampling", "dann", "vann", "delta", "sd", "n"]
    models = {m for _, a, b in pairs for m in (a, b)}
    sel = runs[runs["model"].isin(models)]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    eff = efficiency(best_accuracy_runs(sel))
    eff = eff[eff["acc_eff"].notna()]
    rows = []
    for metric, col in (("test_acc", "acc_eff"), ("test_loss", "loss_eff")):
        for d in sort_datasets(eff["dataset"]):
            e = eff[eff["dataset"] == d]
            for x, dm, vm in pairs:
                a = e.loc[e["model"] == dm, ["seed", col]]
                b = e.loc[e["model"] == vm, ["seed", col]]
                both = a.merge(b, on="seed", suffixes=("_a", "_b"))
                if both.empty:
                    continue
                diff = both[f"{col}_a"] - both[f"{col}_b"]
                rows.append(
                    dict(
                        metric=metric,
                        dataset=d,
                        sampling=x,
                        dann=dm,
                        vann=vm,
                        delta=float(diff.mean()),
                        sd=float(diff.std(ddof=1)) if len(diff) > 1 else np.nan,
                        n=len(diff),
                    )
                )
    return pd.DataFrame(rows, columns=cols)


def fig7_tables(
    summary: pd.DataFrame,
    dataset: str = PRIMARY_DATASET,
    selection: str = "paper",
    models: Sequence[str] | None = PAPER_COMPARED,
) -> dict[str, pd.DataFrame]:
    """The tables Fig. 7 plots, from the summary alone.

    ``selected``: :func:`select_networks` on ``dataset`` (one network per model,
    fixed from the clean main experiment); ``noise``: :func:`efficiency_table`
    of :func:`noise_runs` (every σ of the noise runs plus σ = 0 from the main
    runs, f normalised over all of them); ``sequential``: the same for
    :func:`sequential_runs`; ``noise_runs`` / ``sequential_runs``: the single
    runs; ``missing_noise`` / ``missing_sequential``: the selected networks (× σ) without runs
    (:func:`missing_cells`).
    """
    selected = select_networks(summary, dataset, selection)
    if models is not None:
        selected = selected[selected["model"].isin(list(models))].reset_index(drop=True)
    nr = noise_runs(summary, dataset, selected, models)
    sr = sequential_runs(summary, dataset, selected, models)
    noise_all = summary[(summary["experiment"] == "noise") & (summary["dataset"] == dataset)]
    seq_all = summary[(summary["experiment"] == "sequential") & (summary["dataset"] == dataset)]
    sigmas = [0.0] + sorted({float(x) for x in noise_all["sigma"] if x})
    return {
        "selected": selected,
        "noise_runs": nr,
        "sequential_runs": sr,
        "noise": efficiency_table(nr, norm_by=("dataset",)) if len(nr) else pd.DataFrame(),
        "sequential": efficiency_table(sr, norm_by=("dataset",)) if len(sr) else pd.DataFrame(),
        "missing_noise": (missing_cells(nr, selected, "sigma", sigmas) if len(noise_all) else pd.DataFrame()),
        "missing_sequential": missing_cells(sr, selected) if len(seq_all) else pd.DataFrame(),
    }


# --------------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------------
def spearman(x: Any, y: Any) -> tuple[float, float]:
    """Spearman rank correlation ``(rho, p)`` (``scipy.stats.spearmanr``, two-sided).

    Used for monotone claims such as "vANN's test loss grows with size". Pairs where either value
    is NaN are dropped; fewer than 3 pairs give ``(nan, nan)``.
    """
    a = np.asarray(x, dtype=float).ravel()
    b = np.asarray(y, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"x and y differ in length ({a.size} vs {b.size})")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return float("nan"), float("nan")
    res = stats.spearmanr(a[keep], b[keep])
    return float(res.statistic), float(res.pvalue)
