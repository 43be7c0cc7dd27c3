"""Analyses of Chavlis & Poirazi (2025) on finished runs and on trained networks.

Everything here is a pure function of pandas DataFrames (rows of ``results/summary.csv``, see
``docs/ARCHITECTURE.md``) or of numpy / torch arrays; nothing reads or writes files. The definitions
follow the paper's Methods, "Analyses" (cited below as "paper §4"); each function's docstring quotes the one it
implements and says exactly what is computed where the paper leaves room.

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
  :func:`efficiency_table` (f normalised over exactly those rows).
* Per hidden node, on the test set: :func:`activation_counts` (the matrix HM), :func:`node_entropy`,
  :func:`sparsity`, :func:`selectivity_index`, and :func:`node_statistics` (all of them in one table).
* Weights: :func:`weight_stats` (non-zero / in-mask weights of one layer), :func:`weight_stats_frame`.
* Representations: :func:`tsne_embedding`, :func:`silhouette`, :func:`neighbourhood_hit`,
  :func:`trustworthiness`, and :func:`representation_scores` (all four in one call).
* Claims: :func:`spearman`.

Conventions
-----------
* ``test_acc`` is a fraction in [0, 1] (the summary contract), never a percentage.
* Configuration columns (:data:`CONFIG_COLS`) identify one cell; a "configuration" is one row of the
  aggregated frame. Columns missing from a frame are simply not used as keys, so hand-made frames
  with only ``dataset, model, dendrites, somata, …`` work too.
* The node analyses never loop over nodes: counts are built per class (at most C = 47 passes over
  the activation matrix) and everything else is array arithmetic over all nodes at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "CONFIG_COLS",
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
    "selectivity_shares",
    "activation_counts",
    "active_nodes",
    "node_entropy",
    "sparsity",
    "selectivity_index",
    "node_statistics",
    "weight_stats",
    "weight_stats_frame",
    "tsne_embedding",
    "silhouette",
    "neighbourhood_hit",
    "trustworthiness",
    "representation_scores",
    "spearman",
]

#: Columns of ``summary.csv`` that together identify one configuration (everything but the seed).
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


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _to_numpy(a: Any) -> np.ndarray:
    """numpy view of a numpy array, list or torch tensor (detached, on the CPU)."""
    if hasattr(a, "detach"):  # torch.Tensor without importing torch
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _present(df: pd.DataFrame, cols: Sequence[str]) -> list[str]:
    return [c for c in cols if c in df.columns]


def _diverged_mask(df: pd.DataFrame) -> pd.Series:
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
        raise ValueError(
            "test_acc must be a fraction in [0, 1] (summary.csv contract); got values > 1 - "
            "percentages?"
        )


# --------------------------------------------------------------------------------------------------
# over trials
# --------------------------------------------------------------------------------------------------
def aggregate_seeds(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("test_acc", "test_loss"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Average each configuration over its trials (seeds).

    Paper §4 "Best models": "average each (model, D, S) over trials"; Fig 2 plots mean ± 95 % CI.

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
    div = _diverged_mask(work)
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


def best_models(
    agg: pd.DataFrame, metric: str = "test_acc", by: Sequence[str] | None = None
) -> pd.DataFrame:
    """The best configuration of each model.

    Paper §4: "'Best' = highest mean test accuracy (or lowest mean test loss)"; Table 1 lists the
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

    Paper §4: "for each model, the first configuration (D ascending, then S ascending) whose mean
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

    Paper §4: "Efficiency scores (per dataset): f = log10(params × (epoch_of_min_val_loss + 1)),
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
    div = _diverged_mask(out).to_numpy()
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
#: panels and Table 2 (paper Fig. 7b; spec §4-5).
PAPER_COMPARED: tuple[str, ...] = ("dANN-R", "dANN-LRF", "dANN-GRF", "vANN")

#: Columns that fix a network's architecture: what a selected network is looked up by in the runs
#: of another experiment (σ, lr and the experiment itself are that experiment's own).
NETWORK_COLS: tuple[str, ...] = ("dataset", "model", "dendrites", "somata", "layers")

_SELECTED_EXTRA = ["selection", "reason", "match_status", "note", "ref_test_acc", "ref_dendrites",
                   "ref_somata", "ref_n_params"]


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

    Paper §4 ("The network each later analysis uses", the authors' ``find_best_models(...,
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
        columns={"status": "match_status", "ref_value": "ref_test_acc"})
    if selection == "best":
        out = best.assign(reason=REASON_BEST)
    else:
        hit = mv.loc[mv["status"] == "matched", fam + ["dendrites", "somata"]].astype(
            {"dendrites": "int64", "somata": "int64"})
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
    ref = (f"{reference}'s best mean accuracy {100 * r['ref_test_acc']:.2f}% (D={r['ref_dendrites']}, "
           f"S={r['ref_somata']})" if pd.notna(r.get("ref_test_acc")) else "")
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


def lookup_selected(runs: pd.DataFrame, selected: pd.DataFrame,
                    on: Sequence[str] = NETWORK_COLS) -> pd.DataFrame:
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


def missing_cells(runs: pd.DataFrame, selected: pd.DataFrame, level_col: str | None = None,
                  levels: Sequence[Any] | None = None, on: Sequence[str] = NETWORK_COLS) -> pd.DataFrame:
    """The selected networks (times each of ``levels`` of ``level_col``, e.g. every σ) for which
    ``runs`` has no finished, non-diverged run with a finite test loss. Columns: ``on`` (those
    present in ``selected``) and ``level_col``; empty when nothing is missing."""
    keys = [c for c in on if c in selected.columns]
    want = selected[keys].drop_duplicates()
    if level_col is not None:
        want = want.merge(pd.DataFrame({level_col: list(levels or [])}), how="cross")
        keys = keys + [level_col]
    ok = runs.loc[~_diverged_mask(runs) & np.isfinite(runs["test_loss"].astype(float))] if len(runs) else runs
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

    Paper §4: f is "normalised by the minimum f over the rows being plotted (the best-configuration
    rows, all trials, of the models in that panel)": pass those rows, e.g.
    :func:`best_accuracy_runs` of the panel's models (Figs 3, 4) or :func:`noise_runs` (Fig. 7).
    Error bars in the paper's Figs 3, 4 and 7 are 1 SD over trials: the ``*_std`` columns.
    """
    eff = efficiency(runs, by=[c for c in norm_by if c in runs.columns])
    return aggregate_seeds(eff, metrics=("test_acc", "test_loss", "acc_eff", "loss_eff"))


def best_accuracy_runs(runs: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run (all trials) of each family's best-accuracy configuration (:func:`best_models`
    with ``metric='test_acc'``): the rows both efficiency scores are computed on (paper §4:
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


def _experiment_runs(summary: pd.DataFrame, experiment: str, dataset: str,
                     models: Sequence[str] | None) -> pd.DataFrame:
    sel = summary[(summary["experiment"] == experiment) & (summary["dataset"] == dataset)]
    return sel[sel["model"].isin(list(models))] if models is not None else sel


def noise_runs(summary: pd.DataFrame, dataset: str, selected: pd.DataFrame,
               models: Sequence[str] | None = PAPER_COMPARED) -> pd.DataFrame:
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


def sequential_runs(summary: pd.DataFrame, dataset: str, selected: pd.DataFrame,
                    models: Sequence[str] | None = PAPER_COMPARED) -> pd.DataFrame:
    """Table 2's and Fig. 7's sequential rows: the sequential experiment's runs of the selected
    networks (:func:`select_networks`) of ``models`` (``None``: every model run)."""
    seq = _experiment_runs(summary, "sequential", dataset, models)
    sel = selected if models is None else selected[selected["model"].isin(list(models))]
    return lookup_selected(seq, sel) if len(seq) else seq


# --------------------------------------------------------------------------------------------------
# per hidden node (entropy, selectivity)
# --------------------------------------------------------------------------------------------------
def activation_counts(acts: Any, labels: Any, n_classes: int) -> np.ndarray:
    """The matrix HM of a hidden layer on the test set.

    Paper §4 "Entropy": "HM[c,j] = number of test images of class c for which the node's activation
    is > 0; add one row with the count of images for which it is ≤ 0".

    ``acts``: (N_test, J) activations (numpy or torch), ``labels``: (N_test,) integer classes in
    [0, C). Returns an int64 array of shape (C + 1, J); each column sums to N_test. Built with one
    vectorised count per class (no loop over nodes).
    """
    a = _to_numpy(acts)
    y = _to_numpy(labels).astype(np.int64).ravel()
    if a.ndim != 2:
        raise ValueError(f"acts must be 2-D (N_test, J), got shape {a.shape}")
    if a.shape[0] != y.shape[0]:
        raise ValueError(f"{a.shape[0]} activation rows but {y.shape[0]} labels")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    active = a > 0
    hm = np.empty((n_classes + 1, a.shape[1]), dtype=np.int64)
    for c in range(n_classes):  # loop over classes only
        hm[c] = np.count_nonzero(active[y == c], axis=0)
    hm[n_classes] = a.shape[0] - hm[:n_classes].sum(axis=0)
    return hm


def active_nodes(hm: np.ndarray) -> np.ndarray:
    """Boolean (J,): nodes active (> 0) for at least one test image (first C rows of HM)."""
    hm = np.asarray(hm)
    return hm[:-1].sum(axis=0) > 0


def sparsity(hm: np.ndarray) -> float:
    """Fraction of nodes never active on the test set (paper §4: the dropped nodes' "sparsity")."""
    act = active_nodes(hm)
    return float(1.0 - act.mean()) if act.size else float("nan")


def node_entropy(hm: np.ndarray, drop_inactive: bool = True) -> np.ndarray:
    """Entropy of each node's activation pattern over the C + 1 categories.

    Paper §4: "p = HM / N_test; H_j = −Σ p log2 p over the C+1 categories. Nodes never active are
    dropped (their fraction = 'sparsity')."

    Returns a float array (J,) in bits, 0 log 0 = 0. A node active on exactly one class's images and
    inactive on the rest has low entropy; one whose C + 1 categories are equally filled reaches the
    maximum log2(C + 1). Never-active nodes (all mass in the ≤ 0 row, H = 0) are NaN when
    ``drop_inactive`` (use :func:`active_nodes` for the mask).
    """
    hm = np.asarray(hm, dtype=float)
    n = hm.sum(axis=0)  # = N_test in every column
    with np.errstate(divide="ignore", invalid="ignore"):
        p = hm / n
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    h = terms.sum(axis=0)
    h[n == 0] = np.nan
    if drop_inactive:
        h = np.where(active_nodes(hm), h, np.nan)
    return h


def selectivity_index(hm: np.ndarray, class_counts: Any, threshold: float = 0.4) -> np.ndarray:
    """Number of classes each node responds to.

    Paper §4 "Selectivity index": "number of classes c with HM[c,j] > 40% of that class's test
    images (400 of 1000 on FMNIST). 1 = class-specific, C = fully mixed."

    ``class_counts``: (C,) test images per class. The comparison is strict: a node active on exactly
    ``threshold × class_counts[c]`` images of class c does not count that class (guarded against
    floating-point round-off of the product). Returns a float array (J,) with values in {0, …, C}
    (0: active, but on no class above the threshold) and NaN for never-active nodes, which are
    excluded as in the entropy analysis.
    """
    hm = np.asarray(hm)
    counts = _to_numpy(class_counts).astype(float).ravel()
    c = hm.shape[0] - 1
    if counts.shape[0] != c:
        raise ValueError(f"class_counts has {counts.shape[0]} entries, HM has {c} class rows")
    per_class = hm[:c].astype(float)
    limit = threshold * counts[:, None]
    above = (per_class > limit) & ~np.isclose(per_class, limit, rtol=1e-12, atol=1e-9)
    si = above.sum(axis=0).astype(float)
    si[~active_nodes(hm)] = np.nan
    return si


def selectivity_shares(selectivity: Any) -> dict[str, Any]:
    """Shares of class-specific and mixed-selective nodes, over the nodes with SI ≥ 1.

    Paper §4 "Selectivity index": "Histograms and shares use nodes with SI ≥ 1 (never-active nodes
    and active nodes above the threshold for no class are left out)" (the authors keep
    ``SI > 0``). ``selectivity``: values of :func:`selectivity_index` (NaN = never active).

    Returns ``n_nodes`` (all), ``n_never_active`` (NaN), ``n_si0`` (active, SI = 0), ``n_counted``
    (SI ≥ 1), ``specific`` (share of the counted nodes with SI = 1) and ``mixed`` (share with
    SI ≥ 2); both shares are NaN when no node is counted.
    """
    si = np.asarray(_to_numpy(selectivity), dtype=float).ravel()
    never = ~np.isfinite(si)
    counted = si[~never & (si >= 1)]
    n = int(counted.size)
    return dict(
        n_nodes=int(si.size),
        n_never_active=int(never.sum()),
        n_si0=int(np.sum(si[~never] == 0)),
        n_counted=n,
        specific=float(np.mean(counted == 1)) if n else float("nan"),
        mixed=float(np.mean(counted >= 2)) if n else float("nan"),
    )


def node_statistics(
    acts: Any, labels: Any, n_classes: int, threshold: float = 0.4
) -> pd.DataFrame:
    """All per-node statistics of one hidden layer in a tidy table (one row per node).

    Columns: ``node`` (index j), ``n_active`` (test images with activation > 0), ``frac_active``,
    ``active`` (ever active), ``entropy`` (:func:`node_entropy`, NaN if never active),
    ``selectivity`` (:func:`selectivity_index`, NaN if never active) and ``preferred_class`` (the
    class with the largest fraction of its images activating the node; -1 if never active).
    ``df.attrs`` holds ``sparsity`` (:func:`sparsity`), ``n_test``, ``n_classes`` and ``threshold``.
    """
    y = _to_numpy(labels).astype(np.int64).ravel()
    hm = activation_counts(acts, y, n_classes)
    class_counts = np.bincount(y, minlength=n_classes)
    act = active_nodes(hm)
    n_active = hm[:n_classes].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = hm[:n_classes] / np.maximum(class_counts, 1)[:, None]
    pref = np.where(act, rate.argmax(axis=0), -1)
    df = pd.DataFrame(
        {
            "node": np.arange(hm.shape[1]),
            "n_active": n_active,
            "frac_active": n_active / max(len(y), 1),
            "active": act,
            "entropy": node_entropy(hm),
            "selectivity": selectivity_index(hm, class_counts, threshold),
            "preferred_class": pref,
        }
    )
    df.attrs.update(
        sparsity=sparsity(hm), n_test=int(len(y)), n_classes=int(n_classes), threshold=threshold
    )
    return df


# --------------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------------
def weight_stats(
    weights: Any,
    mask: Any | None = None,
    bins: int = 50,
    hist_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Distribution of one layer's non-zero weights.

    Paper §4 "Weights": "distributions of the non-zero weights per layer (histogram, kurtosis,
    skewness, range)".

    The weights used are those inside ``mask`` (if given; same shape, truthy = connection exists)
    **and** non-zero; masked-out entries, which stay exactly zero in training, never enter.
    Returns a dict with ``n``, ``mean``, ``std`` (population, ddof = 0), ``kurtosis`` (excess,
    ``scipy.stats.kurtosis`` with Fisher's definition, biased estimator – scipy's default; 0 for a
    normal distribution), ``skewness`` (``scipy.stats.skew``), ``min``, ``max``, ``range``
    (max − min), and ``hist_counts`` (int, length ``bins``) / ``hist_edges`` (length ``bins + 1``)
    from ``numpy.histogram`` over ``hist_range`` (default: the data's min–max; give a common range
    to compare layers or models bin by bin). With no weights left every statistic is NaN and the
    counts are zero.
    """
    w = _to_numpy(weights).astype(float)
    if mask is not None:
        m = _to_numpy(mask).astype(bool)
        if m.shape != w.shape:
            raise ValueError(f"mask shape {m.shape} != weight shape {w.shape}")
        w = w[m]
    w = w.ravel()
    w = w[w != 0]
    n = int(w.size)
    if n == 0:
        edges = np.linspace(*(hist_range or (0.0, 1.0)), bins + 1)
        nan = float("nan")
        return dict(n=0, mean=nan, std=nan, kurtosis=nan, skewness=nan, min=nan, max=nan,
                    range=nan, hist_counts=np.zeros(bins, dtype=np.int64), hist_edges=edges)
    counts, edges = np.histogram(w, bins=bins, range=hist_range)
    wmin, wmax = float(w.min()), float(w.max())
    return dict(
        n=n,
        mean=float(w.mean()),
        std=float(w.std()),
        kurtosis=float(stats.kurtosis(w, fisher=True)),
        skewness=float(stats.skew(w)),
        min=wmin,
        max=wmax,
        range=wmax - wmin,
        hist_counts=counts.astype(np.int64),
        hist_edges=edges,
    )


def weight_stats_frame(
    layers: Mapping[str, Any], bins: int = 50, hist_range: tuple[float, float] | None = None
) -> pd.DataFrame:
    """:func:`weight_stats` of several layers as one table (one row per layer, no histograms).

    ``layers`` maps a layer name to a weight array or to a ``(weights, mask)`` pair (mask may be
    ``None``). Histogram counts/edges are left out; call :func:`weight_stats` for them.
    """
    rows = []
    for name, item in layers.items():
        w, m = item if isinstance(item, tuple) else (item, None)
        s = weight_stats(w, m, bins=bins, hist_range=hist_range)
        rows.append({"layer": name, **{k: v for k, v in s.items() if not k.startswith("hist_")}})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# representations
# --------------------------------------------------------------------------------------------------
def tsne_embedding(
    acts: Any, perplexity: float = 50.0, seed: int = 0, **tsne_kwargs: Any
) -> np.ndarray:
    """2-D t-SNE of hidden activations (paper §4 "Representations": "t-SNE (2-D, perplexity 50)").

    ``sklearn.manifold.TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed)``
    on the (N, J) activations (float64). Extra keyword arguments go to ``TSNE``. The paper embeds
    2000 test images; choose them before calling. Requires ``perplexity < N``.
    """
    from sklearn.manifold import TSNE

    x = _to_numpy(acts).astype(np.float64)
    if x.ndim != 2:
        raise ValueError(f"acts must be 2-D (N, J), got shape {x.shape}")
    if perplexity >= x.shape[0]:
        raise ValueError(f"perplexity ({perplexity}) must be smaller than the {x.shape[0]} samples")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, **tsne_kwargs)
    return tsne.fit_transform(x)


def silhouette(embedding: Any, labels: Any) -> float:
    """Mean silhouette coefficient of the embedding with the class labels as clusters.

    ``sklearn.metrics.silhouette_score`` (Euclidean) – in [-1, 1], high when classes form compact,
    well-separated clusters.
    """
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(_to_numpy(embedding), _to_numpy(labels).ravel()))


def neighbourhood_hit(embedding: Any, labels: Any, n_neighbors: int = 11,
                      include_self: bool = True) -> float:
    """Neighbourhood hit: mean fraction of each point's k nearest neighbours with its own label.

    Paper §4: "neighbourhood hit (fraction of the 11 nearest neighbours with the same label)".
    Neighbours are Euclidean in the embedding. ``include_self`` (the default, and what the
    authors' code computes, Fig. 6) counts the point itself as the first of its k neighbours, i.e.
    (1 + hits among its k − 1 nearest others) / k: the query points are passed to sklearn's
    ``kneighbors`` explicitly, so a point finds itself at distance 0. ``include_self=False`` takes k
    true neighbours instead (``kneighbors()`` without a query, which never returns a point as its
    own neighbour, even with duplicates); the score is then lower by about (1 − hit) / k.
    Returns the mean over all points, in [0, 1].
    """
    from sklearn.neighbors import NearestNeighbors

    x = _to_numpy(embedding)
    y = _to_numpy(labels).ravel()
    if n_neighbors >= x.shape[0]:
        raise ValueError(
            f"n_neighbors ({n_neighbors}) must be smaller than the {x.shape[0]} points"
        )
    nn = NearestNeighbors(n_neighbors=n_neighbors).fit(x)
    idx = nn.kneighbors(x, return_distance=False) if include_self else nn.kneighbors(return_distance=False)
    return float((y[idx] == y[:, None]).mean())


def trustworthiness(x_high: Any, embedding: Any, n_neighbors: int = 11) -> float:
    """Trustworthiness of the embedding (``sklearn.manifold.trustworthiness``, k = 11 by default).

    1 when every point's k nearest neighbours in the embedding are also among its nearest neighbours
    in the original activation space; penalises "false" neighbours by their original rank.
    Requires ``n_neighbors < N / 2``.
    """
    from sklearn.manifold import trustworthiness as _tw

    return float(_tw(_to_numpy(x_high).astype(np.float64), _to_numpy(embedding),
                     n_neighbors=n_neighbors))


def representation_scores(
    acts: Any,
    labels: Any,
    n_neighbors: int = 11,
    perplexity: float = 50.0,
    seed: int = 0,
    include_self: bool = True,
    **tsne_kwargs: Any,
) -> dict[str, Any]:
    """t-SNE of a hidden layer plus the paper's three representation scores.

    Paper §4 "Representations": "t-SNE (2-D, perplexity 50) of each hidden layer's activations on
    2000 test images; silhouette score, neighbourhood hit (fraction of the 11 nearest neighbours
    with the same label) and trustworthiness (11 neighbours)".

    Returns ``{"embedding": (N, 2) array, "silhouette", "neighbourhood_hit", "trustworthiness"}``;
    silhouette and neighbourhood hit are measured on the embedding, trustworthiness compares the
    embedding with ``acts``; ``include_self`` goes to :func:`neighbourhood_hit` (default: the
    point counts as one of its own neighbours, as in the authors' code). Extra keyword arguments go
    to ``sklearn.manifold.TSNE``; ``seed`` is its ``random_state``.
    """
    x = _to_numpy(acts).astype(np.float64)
    y = _to_numpy(labels).ravel()
    emb = tsne_embedding(x, perplexity=perplexity, seed=seed, **tsne_kwargs)
    return {
        "embedding": emb,
        "silhouette": silhouette(emb, y),
        "neighbourhood_hit": neighbourhood_hit(emb, y, n_neighbors, include_self=include_self),
        "trustworthiness": trustworthiness(x, emb, n_neighbors),
    }


# --------------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------------
def spearman(x: Any, y: Any) -> tuple[float, float]:
    """Spearman rank correlation ``(rho, p)`` (``scipy.stats.spearmanr``, two-sided).

    Used for monotone claims such as "vANN's test loss grows with size". Pairs where either value
    is NaN are dropped; fewer than 3 pairs give ``(nan, nan)``.
    """
    a = np.asarray(_to_numpy(x), dtype=float).ravel()
    b = np.asarray(_to_numpy(y), dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"x and y differ in length ({a.size} vs {b.size})")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return float("nan"), float("nan")
    res = stats.spearmanr(a[keep], b[keep])
    return float(res.statistic), float(res.pvalue)
