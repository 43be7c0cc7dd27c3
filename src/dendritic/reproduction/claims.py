"""The reproduction verdict: this pipeline's numbers next to the paper's, and the paper's claims
checked one by one, each check with the number that decides it, or with what the run would need
to decide it.

This module computes the checks as frames (columns :data:`CSV_COLUMNS`), from the rows of
``results/summary.csv`` (one row per run, see ``docs/ARCHITECTURE.md``) and, optionally, the
per-node table of the node analyses (``results/analysis/node_stats.csv``);
:mod:`dendritic.reproduction.report` writes them as Markdown. The paper's numbers and design are
in :mod:`dendritic.paper`.

Every check ends in one of three statuses:

* ``reproduced`` - the run had everything the check needs and the paper's claim holds;
* ``not reproduced`` - the run had everything the check needs and the claim fails;
* ``inconclusive`` - the run is short of something the check needs (too few epochs, seeds or
  sizes, a reference optimum at the edge of the sizes tried, missing noise cells, …); the
  ``missing`` column names it and the remedy. A short run is never counted against the paper.

Each check's ``needs`` column states its requirements. Common to all: the runs that decide it
were trained for at least the paper's epochs (:data:`dendritic.paper.PAPER_DESIGN`: FMNIST 25, the sequential
task 50) and every configuration that decides it has at least :data:`MIN_SEEDS` non-diverged
seeds (the paper has 5); diverged runs are left out of every mean and counted in ``detail``.
Every number comes from :mod:`dendritic.trials`, the functions the figures call too
(:func:`~dendritic.trials.select_networks` for the networks of Table 2 and claims (c), (d);
:func:`~dendritic.trials.noise_runs` / :func:`~dendritic.trials.sequential_runs` and
:func:`~dendritic.trials.efficiency_table` for Fig. 7), so the report and the figures never
disagree. This module imports neither matplotlib nor :mod:`dendritic.plots`.

The claims (paper, Results and Discussion; reference numbers in Tables 1-2):

(a) *dANNs reach vANN's best accuracy and minimum loss with one to three orders of magnitude fewer
    parameters (dANN-LRF: more than 10× fewer on FMNIST).* Per dataset of the main experiment,
    dANN with sampled inputs (dANN-R, -LRF, -GRF; pdANN's smallest network is as large as
    vANN's smallest, see :data:`CLAIM_A_MODELS`) and metric: the fold = parameters of vANN's
    best / parameters of the first configuration (D ascending, then S) that beats it
    (:func:`~dendritic.trials.match_vann`). Reproduced when fold ≥ 10. Needs vANN's best to be
    established: not at the largest (smallest) vANN size the run tried, unless that size is the
    paper's largest (smallest), D = 64, S = 512 (D = 1, S = 32); else vANN may still improve
    beyond the sizes tried. A fold < 10 is "not reproduced" only when the run tried every size of
    the paper's grid that comes before the match in the scan; a dANN that never matches is "not
    reproduced" only when its sizes reach the paper's largest.
(b) *vANN's test loss grows with size, the dANNs' does not.* Spearman ρ (two-sided p) between the
    trainable parameters and the test loss over all finite runs of a model. vANN: reproduced when
    ρ > 0 and p < 0.05; each dANN: reproduced unless it grows that way. Needs ≥ 4 sizes spanning
    ≥ 10× in parameters.
(c) *dANN nodes are mostly mixed-selective, vANN nodes mostly class-specific* (Fig. 5: dANN-R,
    -LRF, -GRF, vANN). Shares over the nodes with selectivity index ≥ 1 of all hidden layers
    (never-active and SI = 0 nodes left out and counted): dANN mixed (SI ≥ 2) share > 0.5, vANN
    class-specific (SI = 1) share > 0.5. Needs the node table of the paper's networks
    (``analysis.selection: paper``) and a determined selection (vANN's best accuracy established;
    a dANN that never matched tried up to the paper's largest size).
(d) *dANN-LRF is the best model under noise and in the sequential task* (Fig. 7b, Table 2:
    dANN-R, -LRF, -GRF, vANN only; other models run are reported, never ranked). At every σ of
    the noise experiment dANN-LRF must have the highest accuracy efficiency and the lowest loss
    efficiency, f normalised over the four models' rows at every σ (σ = 0: the clean runs); in
    the sequential task the highest mean test accuracy and the lowest mean test loss. All on the
    paper's networks, fixed from the clean main experiment and looked up in the noise (every σ)
    and sequential runs. Needs those runs at each selected (D, S) and a determined selection.

A claim's overall status: ``not reproduced`` if any of its checks is, else ``inconclusive`` if any
is, else ``reproduced``.

Longer than the house's ~450 lines (about 670, a tenth of them this docstring) for one idea: each
check and the requirements it shares with the others (epochs, seeds, a determined reference), kept
together so that a requirement is stated once and every check reads it the same way.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from dendritic.analysis import selectivity_shares
from dendritic.paper import (
    DANNS,
    DATASET_ORDER,
    FIG2_MODELS,
    PAPER_DESIGN,
    PAPER_LARGEST,
    PAPER_SMALLEST,
    PRIMARY_DATASET,
    SEQUENTIAL_EPOCHS,
    TABLE1_ACC,
    TABLE1_LOSS,
    TABLE2,
    dataset_title,
    legend_key,
    sort_datasets,
)
from dendritic.trials import (
    PAPER_COMPARED,
    REASON_FALLBACK,
    aggregate_seeds,
    best_models,
    diverged_mask,
    efficiency_table,
    match_vann,
    missing_cells,
    noise_runs,
    select_networks,
    sequential_runs,
    spearman,
)

__all__ = [
    "REPRODUCED",
    "NOT_REPRODUCED",
    "INCONCLUSIVE",
    "STATUSES",
    "COMPARED",
    "NOT_RUN",
    "CLAIM_A_MODELS",
    "TABLE_MODELS",
    "COMPARED_MODELS",
    "DATASETS",
    "ALPHA",
    "MIN_SEEDS",
    "MIN_SIZES",
    "MIN_SPAN",
    "FOLD",
    "MOSTLY",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "MISSING_SEP",
    "CSV_COLUMNS",
    "overall",
    "table1",
    "table2",
    "claim_a",
    "claim_b",
    "claim_c",
    "claim_d",
    "check_claims",
    "is_finite",
    "fmt",
]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
#: The statuses of a claim check.
STATUSES = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: The statuses of a table cell (Tables 1, 2): compared with the paper, or no runs for it.
COMPARED, NOT_RUN = "compared", "not run"

#: Claim (a)'s models: the dANNs with sampled inputs. pdANN (every input on every dendrite) is left
#: out: its smallest network (D = 1, S = 32: 25,514 parameters on FMNIST) is already 96 % of vANN's
#: smallest (26,506), so "one to three orders of magnitude fewer" cannot be about it; Fig. 3 still
#: shows it.
CLAIM_A_MODELS = ["dANN-R", "dANN-LRF", "dANN-GRF"]
#: The models of Table 1 (:data:`dendritic.paper.FIG2_MODELS`); claim (b) checks
#: :data:`dendritic.paper.DANNS` against vANN.
TABLE_MODELS = FIG2_MODELS
#: The models the paper compares on its selected networks (Fig. 5, Fig. 7b, Table 2).
COMPARED_MODELS = list(PAPER_COMPARED)
#: The datasets of Table 1, in the paper's order.
DATASETS = DATASET_ORDER

#: Significance level of the Spearman test in claim (b).
ALPHA = 0.05
#: Non-diverged seeds every deciding configuration needs (the paper has 5).
MIN_SEEDS = 3
#: Claim (b): sizes per model, and the span of their parameter counts (largest / smallest).
MIN_SIZES, MIN_SPAN = 4, 10.0
#: Claim (a): "one to three orders of magnitude fewer parameters" (dANN-LRF on FMNIST: > 10×).
FOLD = 10.0
#: Claims (c), (d): a share above this is "mostly".
MOSTLY = 0.5

# --------------------------------------------------------------------------------------------------
# The paper's numbers (Tables 1, 2 of the paper; :mod:`dendritic.paper`) as frames.
# --------------------------------------------------------------------------------------------------
#: Table 1 as a long frame: model, dataset, test_acc_pct, test_loss.
PAPER_TABLE1 = pd.DataFrame(
    [
        dict(model=m, dataset=d, test_acc_pct=TABLE1_ACC[m][i], test_loss=TABLE1_LOSS[m][i])
        for m in TABLE_MODELS
        for i, d in enumerate(DATASETS)
    ]
)
#: Table 2 (sequential FMNIST): model, test_acc_pct, test_acc_sd (given for vANN only), test_loss.
PAPER_TABLE2 = pd.DataFrame(
    [
        dict(model=m, test_acc_pct=acc, test_acc_sd=np.nan if sd is None else sd, test_loss=loss)
        for m, (acc, sd, loss) in TABLE2.items()
    ]
)

#: Separator of the requirements in the ``missing`` column.
MISSING_SEP = " | "

#: Columns of the CSV: one row per table cell (section "Table 1" / "Table 2") or claim check
#: (section "claim"; ``check`` "overall" for a claim's overall status).
CSV_COLUMNS = [
    "section",
    "claim",
    "check",
    "dataset",
    "model",
    "status",
    "value",
    "paper",
    "difference",
    "criterion",
    "needs",
    "missing",
    "detail",
]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def is_finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt(x, spec: str = ".3g") -> str:
    return format(float(x), spec) if is_finite(x) else "–"


def _p_txt(p) -> str:
    return "–" if not is_finite(p) else ("< 1e-12" if p < 1e-12 else f"= {p:.2g}")


def _fmt_metric(metric: str, v) -> str:
    return f"{100 * float(v):.2f}%" if metric == "test_acc" else fmt(v, ".4g")


def _ds(r) -> str:
    """'D=4, S=128' of a row with ``dendrites`` and ``somata``."""
    return f"D={int(r['dendrites'])}, S={int(r['somata'])}"


def _datasets(df: pd.DataFrame) -> list[str]:
    return sort_datasets(df["dataset"])


def _experiment(df: pd.DataFrame, experiment: str, dataset: str | None = None) -> pd.DataFrame:
    sel = df[df["experiment"] == experiment]
    return sel if dataset is None else sel[sel["dataset"] == dataset]


def _main(df: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    return _experiment(df, "main", dataset)


def _aggregate(df: pd.DataFrame) -> pd.DataFrame:
    return aggregate_seeds(df) if len(df) else pd.DataFrame()


def _table_row(
    section: str,
    dataset: str,
    model: str,
    quantity: str,
    value=np.nan,
    paper=np.nan,
    status: str = COMPARED,
    detail: str = "",
) -> dict:
    diff = float(value) - float(paper) if is_finite(value) and is_finite(paper) else np.nan
    return dict(
        section=section,
        claim="",
        check=quantity,
        dataset=dataset,
        model=model,
        status=status,
        value=value,
        paper=paper,
        difference=diff,
        criterion="",
        needs="",
        missing="",
        detail=detail,
    )


def _check(
    claim: str,
    check: str,
    dataset: str,
    model: str,
    decided: str | None,
    missing: Sequence[str],
    needs: str,
    criterion: str,
    value=np.nan,
    paper=np.nan,
    detail: str = "",
) -> dict:
    """One claim check: ``inconclusive`` when anything in ``missing``, else ``decided``."""
    missing = [m for m in dict.fromkeys(missing) if m]
    status = INCONCLUSIVE if missing or decided is None else decided
    diff = float(value) - float(paper) if is_finite(value) and is_finite(paper) else np.nan
    return dict(
        section="claim",
        claim=claim,
        check=check,
        dataset=dataset,
        model=model,
        status=status,
        value=value,
        paper=paper,
        difference=diff,
        criterion=criterion,
        needs=needs,
        missing=MISSING_SEP.join(missing),
        detail=detail,
    )


def overall(statuses) -> str:
    """A claim's status from its checks' (module docstring): any not reproduced → not reproduced;
    else any inconclusive (or no check at all) → inconclusive; else reproduced."""
    st = list(statuses)
    if NOT_REPRODUCED in st:
        return NOT_REPRODUCED
    if not st or INCONCLUSIVE in st:
        return INCONCLUSIVE
    return REPRODUCED


# --------------------------------------------------------------------------------------------------
# what a check needs
# --------------------------------------------------------------------------------------------------
def _epochs_missing(runs: pd.DataFrame, required: int, what: str, key: str) -> list[str]:
    """The runs were trained for fewer epochs than the paper's ``required`` (planned epochs:
    ``max_epochs``, else ``epochs``)."""
    col = next((c for c in ("max_epochs", "epochs") if c in runs and runs[c].notna().any()), None)
    if runs.empty or col is None:
        return []
    got = int(runs[col].min())
    if got >= required:
        return []
    return [f"{what} at the paper's {required} epochs (this run: {got}): set {key}: {required}"]


def _main_epochs_missing(runs: pd.DataFrame, dataset: str) -> list[str]:
    need = PAPER_DESIGN["epochs"].get(dataset)
    return _epochs_missing(runs, need, f"{dataset_title(dataset)} runs", f"training.epochs.{dataset}") if need else []


def _seeds_missing(agg_rows: pd.DataFrame, what: str) -> list[str]:
    """Deciding configurations with fewer than :data:`MIN_SEEDS` non-diverged seeds."""
    if agg_rows.empty or "n" not in agg_rows:
        return []
    low = agg_rows[agg_rows["n"] < MIN_SEEDS]
    if low.empty:
        return []
    cells = ", ".join(f"{r['model']} {_ds(r)}: {int(r['n'])}" for r in low.to_dict("records"))
    return [
        f"≥ {MIN_SEEDS} non-diverged seeds for {what} (paper: {PAPER_DESIGN['seeds']}, this run: {cells}): add seeds"
    ]


def _n_diverged_txt(agg_rows: pd.DataFrame) -> str:
    k = int(agg_rows["n_diverged"].sum()) if "n_diverged" in agg_rows and len(agg_rows) else 0
    return f"; {k} diverged run{'s' if k != 1 else ''} left out" if k else ""


def _is_at(r, size: tuple[int, int], larger: bool) -> bool:
    d, s = int(r["dendrites"]), int(r["somata"])
    return (d >= size[0] and s >= size[1]) if larger else (d <= size[0] and s <= size[1])


def _reference_missing(vann: pd.DataFrame, metric: str, role: str = "") -> list[str]:
    """vANN's best ``metric`` must be established within the sizes the run tried: not at its
    largest (smallest) size unless that size is the paper's largest (smallest). ``role``: what
    the reference is for, said in the message."""
    col = f"{metric}_mean"
    a = vann[vann[col].notna()]
    if a.empty:
        return ["finite vANN main runs (all diverged)"]
    ref = best_models(a, metric, by=[c for c in ("dataset", "model") if c in a]).iloc[0]
    what = "best mean accuracy" if metric == "test_acc" else "lowest mean loss"
    out = []
    for larger, edge, paper in ((True, "largest", PAPER_LARGEST), (False, "smallest", PAPER_SMALLEST)):
        r = a.loc[a["n_params"].astype(float).idxmax() if larger else a["n_params"].astype(float).idxmin()]
        if (int(r["dendrites"]), int(r["somata"])) == (int(ref["dendrites"]), int(ref["somata"])) and not _is_at(
            r, paper, larger
        ):
            out.append(
                f"vANN's {what}{role} inside the sizes tried: it is at the {edge} vANN size the run tried "
                f"({_ds(r)}), so vANN may still improve beyond it: extend the grid towards "
                f"D={paper[0]}, S={paper[1]}"
            )
    return out


def _selection_missing(df: pd.DataFrame, dataset: str, selected: pd.DataFrame, model: str) -> list[str]:
    """What keeps ``model``'s selected network from being the paper's network: vANN's best accuracy
    (the reference of the match) not established, or a dANN that never matched without reaching
    the paper's largest size."""
    main = _main(df, dataset)
    agg = _aggregate(main)
    if agg.empty or not (agg["model"] == "vANN").any():
        return [f"vANN main runs on {dataset_title(dataset)} (the reference that fixes the paper's networks)"]
    out = _reference_missing(agg[agg["model"] == "vANN"], "test_acc", " (which fixes the paper's networks)")
    s = selected[selected["model"] == model]
    if s.empty:
        return out + [f"{model} main runs on {dataset_title(dataset)}"]
    s = s.iloc[0]
    if s["reason"] == REASON_FALLBACK and s["match_status"] == "never matched":
        a = agg[(agg["model"] == model) & agg["test_acc_mean"].notna()]
        top = a.loc[a["n_params"].astype(float).idxmax()]
        if not _is_at(top, PAPER_LARGEST, True):
            out.append(
                f"{model} never beat vANN's best mean accuracy within the sizes tried (largest {_ds(top)}), "
                f"so its paper network is not determined: extend the grid towards "
                f"D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}"
            )
    return out


def _preceding_untried(tried: set[tuple[int, int]], match: tuple[int, int]) -> list[tuple[int, int]]:
    """The paper's grid sizes that come before ``match`` in the scan (D ascending, then S) and
    that the run did not try."""
    dm, sm = match
    before = [
        (d, s) for d in PAPER_DESIGN["dendrites"] for s in PAPER_DESIGN["somata"] if d < dm or (d == dm and s < sm)
    ]
    return [c for c in before if c not in tried]


# --------------------------------------------------------------------------------------------------
# Tables 1 and 2
# --------------------------------------------------------------------------------------------------
def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Table 1: per dataset and model, the best-accuracy configuration of the main experiment
    (highest mean test accuracy over seeds): its mean test accuracy (%) and mean test loss, next to
    the paper's. Rows for every (model, dataset) of the paper's table; ``status`` is "not run"
    where the summary has no such runs."""
    agg = _aggregate(_main(df))
    best = best_models(agg, "test_acc") if len(agg) else agg
    rows = []
    for _, ref in PAPER_TABLE1.iterrows():
        m, d = ref["model"], ref["dataset"]
        b = best[(best["model"] == m) & (best["dataset"] == d)] if len(best) else best
        if b is None or b.empty:
            for q, pv in (("test accuracy (%)", ref["test_acc_pct"]), ("test loss", ref["test_loss"])):
                rows.append(_table_row("Table 1", d, m, q, paper=pv, status=NOT_RUN, detail="no main-experiment runs"))
            continue
        b = b.iloc[0]
        detail = (
            f"best-accuracy configuration {_ds(b)}, {int(b['n_params'])} parameters, {int(b['n'])} seeds"
            + _n_diverged_txt(b.to_frame().T)
        )
        rows.append(
            _table_row(
                "Table 1", d, m, "test accuracy (%)", 100 * b["test_acc_mean"], ref["test_acc_pct"], detail=detail
            )
        )
        rows.append(_table_row("Table 1", d, m, "test loss", b["test_loss_mean"], ref["test_loss"], detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def table2(df: pd.DataFrame, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """Table 2: the sequential task on the paper's networks: each model's network is fixed from the
    clean main experiment (:func:`~dendritic.trials.select_networks`, selection "paper") and
    looked up in the sequential runs; mean test accuracy (%) and mean test loss (SD over seeds in
    ``detail``) next to the paper's. Models run but not in the paper's table are listed without a
    paper value."""
    seq = _experiment(df, "sequential", dataset)
    selected = select_networks(df, dataset, "paper")
    runs = sequential_runs(df, dataset, selected, models=None) if len(seq) and len(selected) else seq.iloc[:0]
    agg = _aggregate(runs)
    extra = sorted(set(seq["model"]) - set(PAPER_TABLE2["model"]), key=legend_key)
    refs = pd.concat([PAPER_TABLE2, pd.DataFrame({"model": extra})], ignore_index=True)
    rows = []
    for _, ref in refs.iterrows():
        m = ref["model"]
        s = selected[selected["model"] == m]
        where = f"its network {_ds(s.iloc[0])} ({s.iloc[0]['reason']})" if len(s) else ""
        b = agg[agg["model"] == m] if len(agg) else agg
        if seq.empty or b.empty:
            why = (
                "no sequential-task runs"
                if seq.empty
                else f"no sequential runs at {where}"
                if where
                else "no main runs to fix its network from"
            )
            for q, pv in (("test accuracy (%)", ref["test_acc_pct"]), ("test loss", ref["test_loss"])):
                rows.append(_table_row("Table 2", dataset, m, q, paper=pv, status=NOT_RUN, detail=why))
            continue
        b = b.iloc[0]
        cfg = f"{where}, {int(b['n_params'])} parameters, {int(b['n'])} seeds" + _n_diverged_txt(b.to_frame().T)
        rows.append(
            _table_row(
                "Table 2",
                dataset,
                m,
                "test accuracy (%)",
                100 * b["test_acc_mean"],
                ref["test_acc_pct"],
                detail=f"± {fmt(100 * b['test_acc_std'], '.2f')} (SD over seeds); {cfg}",
            )
        )
        rows.append(
            _table_row(
                "Table 2",
                dataset,
                m,
                "test loss",
                b["test_loss_mean"],
                ref["test_loss"],
                detail=f"± {fmt(b['test_loss_std'], '.3g')} (SD over seeds); {cfg}",
            )
        )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


# --------------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------------
_METRIC_NAME = {"test_acc": "best accuracy", "test_loss": "minimum loss"}


def claim_a(df: pd.DataFrame) -> pd.DataFrame:
    """(a) parameters each dANN needs to beat vANN's best accuracy / minimum loss (module
    docstring): fold fewer, decided against ≥ 10×."""
    main = _main(df)
    rows = []
    for d in _datasets(main):
        runs = main[main["dataset"] == d]
        agg = _aggregate(runs)
        vann = agg[agg["model"] == "vANN"]
        for metric in ("test_acc", "test_loss"):
            name = _METRIC_NAME[metric]
            mv = match_vann(agg, metric) if len(vann) and vann[f"{metric}_mean"].notna().any() else None
            for m in CLAIM_A_MODELS:
                check = f"{m} reaches vANN's {name} with ≥ {FOLD:g}× fewer parameters"
                needs = (
                    f"main runs of vANN and the dANN at the paper's epochs; ≥ {MIN_SEEDS} seeds per deciding "
                    f"configuration; vANN's {name} inside the sizes tried (or at the paper's grid edge); a "
                    f"matching configuration (a fold < {FOLD:g} counts only when the sizes before it in the "
                    f"paper's scan were tried), or sizes up to D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]} "
                    "without one"
                )
                criterion = f"fold = vANN-best params / match params ≥ {FOLD:g}"
                paper = FOLD
                if mv is None:
                    rows.append(
                        _check(
                            "a",
                            check,
                            d,
                            m,
                            None,
                            [f"vANN main runs on {dataset_title(d)}"],
                            needs,
                            criterion,
                            paper=paper,
                        )
                    )
                    continue
                mine = agg[(agg["model"] == m) & agg[f"{metric}_mean"].notna()]
                if mine.empty:
                    rows.append(
                        _check(
                            "a",
                            check,
                            d,
                            m,
                            None,
                            [f"{m} main runs on {dataset_title(d)}"],
                            needs,
                            criterion,
                            paper=paper,
                        )
                    )
                    continue
                r = mv[mv["model"] == m].iloc[0]
                ref_row = vann[(vann["dendrites"] == r["ref_dendrites"]) & (vann["somata"] == r["ref_somata"])]
                missing = _main_epochs_missing(runs[runs["model"].isin(["vANN", m])], d) + _reference_missing(
                    vann, metric
                )
                ref_txt = (
                    f"vANN's {name} {_fmt_metric(metric, r['ref_value'])} at D={r['ref_dendrites']}, "
                    f"S={r['ref_somata']} ({int(r['ref_n_params'])} parameters)"
                )
                if r["status"] == "matched":
                    fold = float(r["fold_fewer"])
                    hit = mine[(mine["dendrites"] == r["dendrites"]) & (mine["somata"] == r["somata"])]
                    missing += _seeds_missing(pd.concat([ref_row, hit]), "vANN's best and the match")
                    decided = REPRODUCED if fold >= FOLD else NOT_REPRODUCED
                    if fold < FOLD:
                        tried = {(int(a), int(b)) for a, b in zip(mine["dendrites"], mine["somata"])}
                        skipped = _preceding_untried(tried, (int(r["dendrites"]), int(r["somata"])))
                        if skipped:
                            missing.append(
                                f"the paper's sizes that come before the match in the scan (D ascending, "
                                f"then S): the run skipped {len(skipped)} of them, e.g. "
                                + ", ".join(f"D={a}, S={b}" for a, b in skipped[:3])
                                + ", and one of them might match first"
                            )
                    detail = (
                        f"first beats it at D={r['dendrites']}, S={r['somata']} "
                        f"({int(r['n_params'])} parameters, {name.split()[-1]} "
                        f"{_fmt_metric(metric, r['value'])}); {ref_txt}" + _n_diverged_txt(pd.concat([ref_row, hit]))
                    )
                    rows.append(
                        _check(
                            "a", check, d, m, decided, missing, needs, criterion, value=fold, paper=paper, detail=detail
                        )
                    )
                else:
                    top = mine.loc[mine["n_params"].astype(float).idxmax()]
                    missing += _seeds_missing(pd.concat([ref_row, mine]), f"vANN's best and every {m} size")
                    if not _is_at(top, PAPER_LARGEST, True):
                        missing.append(
                            f"{m} never matched within the sizes tried (largest {_ds(top)}), the paper's "
                            f"grid reaches D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}: extend it"
                        )
                    rows.append(
                        _check(
                            "a",
                            check,
                            d,
                            m,
                            NOT_REPRODUCED,
                            missing,
                            needs,
                            criterion,
                            paper=paper,
                            detail=f"never matched: no configuration beats {ref_txt}" + _n_diverged_txt(mine),
                        )
                    )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def claim_b(df: pd.DataFrame) -> pd.DataFrame:
    """(b) Spearman ρ of the test loss against the parameters over all finite runs of each model."""
    main = _main(df)
    rows = []
    for d in _datasets(main):
        runs = main[main["dataset"] == d]
        for m in ["vANN"] + DANNS:
            grows_expected = m == "vANN"
            check = f"{m}'s test loss {'grows' if grows_expected else 'does not grow'} with size"
            criterion = (
                f"Spearman ρ > 0 and p < {ALPHA} (ρ ≤ 0: not reproduced; ρ > 0 with p ≥ {ALPHA}: inconclusive)"
                if grows_expected
                else f"not (Spearman ρ > 0 and p < {ALPHA})"
            )
            needs = (
                f"main runs at the paper's epochs; ≥ {MIN_SIZES} sizes spanning ≥ {MIN_SPAN:g}× in "
                f"parameters; ≥ {MIN_SEEDS} seeds per size; no significant rise for a dANN, a significant "
                "rise for vANN"
            )
            r = runs[runs["model"] == m]
            if r.empty:
                rows.append(_check("b", check, d, m, None, [f"{m} main runs on {dataset_title(d)}"], needs, criterion))
                continue
            agg = _aggregate(r)
            ok = r[~diverged_mask(r) & np.isfinite(r["test_loss"].astype(float))]
            sizes = sorted({float(p) for p in agg.loc[agg["n"] > 0, "n_params"]})
            span = sizes[-1] / sizes[0] if sizes else float("nan")
            missing = _main_epochs_missing(r, d) + _seeds_missing(agg, f"every {m} size")
            if len(sizes) < MIN_SIZES:
                missing.append(f"≥ {MIN_SIZES} {m} sizes (this run: {len(sizes)}; add sizes to experiments.main)")
            if not (span >= MIN_SPAN):
                missing.append(f"{m} sizes spanning ≥ {MIN_SPAN:g}× in parameters (this run: {fmt(span, '.3g')}×)")
            rho, p = spearman(ok["n_params"].astype(float), ok["test_loss"].astype(float))
            if not is_finite(rho):
                missing.append("a test loss that varies across ≥ 3 finite runs")
                decided = None
            elif grows_expected and rho > 0 and not p < ALPHA:
                # a rise that this run cannot tell from noise neither confirms nor refutes the claim
                decided = None
                missing.append(
                    f"a significant rise or none at all (ρ = {fmt(rho, '.2f')} > 0, p {_p_txt(p)}): "
                    f"more seeds or larger {m} sizes"
                )
            else:
                grows = rho > 0 and p < ALPHA
                decided = REPRODUCED if grows == grows_expected else NOT_REPRODUCED
            dropped = len(r) - len(ok)
            detail = (
                f"ρ = {fmt(rho, '.2f')}, p {_p_txt(p)} over {len(ok)} finite runs at {len(sizes)} sizes "
                f"({fmt(span, '.3g')}× span)"
                + (f"; {dropped} diverged run{'s' if dropped != 1 else ''} left out" if dropped else "")
            )
            rows.append(_check("b", check, d, m, decided, missing, needs, criterion, value=rho, detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _active(nodes: pd.DataFrame) -> pd.Series:
    if nodes["active"].dtype == bool:
        return nodes["active"]
    return nodes["active"].astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


def claim_c(nodes: pd.DataFrame | None, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """(c) share of mixed-selective (SI ≥ 2) and class-specific (SI = 1) nodes among the nodes with
    SI ≥ 1 of the paper's networks of dANN-R, dANN-LRF, dANN-GRF and vANN (Fig. 5).

    ``df``: the summary, to check that the node table is of the paper's networks
    (:func:`~dendritic.trials.select_networks`) and the run's epochs; without it those two
    requirements are reported missing."""
    rows = []
    crit = {
        m: (
            "class-specific (SI = 1) share of the SI ≥ 1 nodes > 0.5"
            if m == "vANN"
            else "mixed-selective (SI ≥ 2) share of the SI ≥ 1 nodes > 0.5"
        )
        for m in COMPARED_MODELS
    }
    needs = (
        "the node table of the paper's networks (analysis.selection: paper) from main runs at the paper's "
        f"epochs with ≥ {MIN_SEEDS} seeds; vANN's best accuracy inside the sizes tried (it fixes the networks)"
    )
    if nodes is None or nodes.empty:
        for m in COMPARED_MODELS:
            rows.append(
                _check(
                    "c",
                    f"{m} nodes are mostly {'class-specific' if m == 'vANN' else 'mixed-selective'}",
                    "",
                    m,
                    None,
                    [
                        "the node analyses (results/analysis/node_stats.csv, run when "
                        "analysis.dataset has main-experiment runs)"
                    ],
                    needs,
                    crit[m],
                )
            )
        return pd.DataFrame(rows, columns=CSV_COLUMNS)
    nodes = nodes.assign(_active=_active(nodes).to_numpy())
    for d in sorted(set(nodes["dataset"])):
        selected = select_networks(df, d, "paper") if df is not None else pd.DataFrame()
        for m in COMPARED_MODELS:
            check = f"{m} nodes are mostly {'class-specific' if m == 'vANN' else 'mixed-selective'}"
            n = nodes[(nodes["dataset"] == d) & (nodes["model"] == m)]
            if n.empty:
                rows.append(_check("c", check, d, m, None, [f"{m} in the node table"], needs, crit[m]))
                continue
            missing = []
            net = ""
            if df is None:
                missing.append("the summary, to check that the node table is of the paper's networks")
            else:
                missing += _selection_missing(df, d, selected, m)
                missing += _main_epochs_missing(_main(df, d)[lambda x: x["model"] == m], d)
                s = selected[selected["model"] == m]
                if {"dendrites", "somata"} <= set(n.columns) and len(s):
                    s = s.iloc[0]
                    got = sorted({(int(a), int(b)) for a, b in zip(n["dendrites"], n["somata"])})
                    want = (int(s["dendrites"]), int(s["somata"]))
                    net = f"network D={want[0]}, S={want[1]} ({s['reason']})"
                    if got != [want]:
                        have = ", ".join(f"D={a}, S={b}" for a, b in got)
                        missing.append(
                            f"the node table of {m}'s paper network D={want[0]}, S={want[1]} "
                            f"({s['reason']}), it holds {have}: set analysis.selection: paper"
                        )
                elif len(s):
                    missing.append("dendrites and somata in the node table (to check its networks)")
            if "seed" in n and n["seed"].nunique() < MIN_SEEDS:
                missing.append(f"≥ {MIN_SEEDS} analysed seeds (this run: {n['seed'].nunique()})")
            sh = selectivity_shares(n["selectivity"].where(n["_active"]))
            value = sh["specific"] if m == "vANN" else sh["mixed"]
            if not sh["n_counted"]:
                missing.append("nodes with SI ≥ 1")
                decided = None
            else:
                decided = REPRODUCED if value > MOSTLY else NOT_REPRODUCED
            layers = (
                "; ".join(
                    f"{lay}: {fmt(selectivity_shares(g['selectivity'].where(g['_active']))['mixed'], '.2f')} mixed"
                    for lay, g in n.groupby("layer", sort=False)
                )
                if "layer" in n
                else ""
            )
            detail = (
                f"{sh['n_counted']} of {sh['n_nodes']} nodes counted (SI ≥ 1); left out: {sh['n_never_active']} "
                f"never active, {sh['n_si0']} with SI = 0; mixed {fmt(sh['mixed'], '.2f')}, class-specific "
                f"{fmt(sh['specific'], '.2f')}" + (f" ({layers})" if layers else "") + (f"; {net}" if net else "")
            )
            rows.append(_check("c", check, d, m, decided, missing, needs, crit[m], value=value, detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _rank(table: pd.DataFrame, col: str, higher: bool, scale: float = 1.0) -> tuple[float, int, str]:
    """dANN-LRF's mean ``col`` (times ``scale``), its rank among the rows of ``table``, and every
    model's mean ± SD in rank order."""
    t = table[table[f"{col}_mean"].notna()].sort_values(f"{col}_mean", ascending=not higher)
    order = list(t["model"])
    if "dANN-LRF" not in order:
        return float("nan"), 0, "no finite value for dANN-LRF"
    v = float(t.loc[t["model"] == "dANN-LRF", f"{col}_mean"].iloc[0]) * scale
    others = t[t["model"] != "dANN-LRF"]
    txt = ", ".join(
        f"{m} {fmt(x * scale, '.4g')} ± {fmt(sd * scale, '.2g')}"
        for m, x, sd in zip(t["model"], t[f"{col}_mean"], t[f"{col}_std"])
    )
    return (
        v,
        order.index("dANN-LRF") + 1,
        (
            f"rank {order.index('dANN-LRF') + 1} of {len(order)} ({'higher' if higher else 'lower'} is better): {txt}"
            if len(others)
            else "no other model"
        ),
    )


def claim_d(df: pd.DataFrame, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """(d) dANN-LRF best under noise (efficiency at every σ, as in Fig. 7b) and in the sequential
    task (Table 2), among dANN-R, dANN-LRF, dANN-GRF and vANN on the paper's networks."""
    rows = []
    selected = select_networks(df, dataset, "paper", models=COMPARED_MODELS)
    sel_missing = [x for m in COMPARED_MODELS for x in _selection_missing(df, dataset, selected, m)]
    base_needs = (
        f"the paper's networks of {', '.join(COMPARED_MODELS)} (vANN's best accuracy inside the sizes "
        f"tried) and ≥ {MIN_SEEDS} seeds at each"
    )

    noise_all = _experiment(df, "noise", dataset)
    needs = f"noise runs at every selected (D, S) and σ, at the paper's epochs; {base_needs}"
    if noise_all.empty:
        rows.append(
            _check(
                "d",
                "dANN-LRF is the most efficient model under noise",
                dataset,
                "dANN-LRF",
                None,
                [f"noise-experiment runs on {dataset_title(dataset)} (experiments.noise)"],
                needs,
                "highest accuracy efficiency, lowest loss efficiency at every σ",
            )
        )
    else:
        nr = noise_runs(df, dataset, selected, COMPARED_MODELS)
        sigmas = sorted({float(s) for s in noise_all["sigma"] if s})
        miss = missing_cells(nr, selected, "sigma", [0.0] + sigmas)
        cells_missing = []
        if len(miss):
            txt = ", ".join(
                f"{m} D={int(a)}, S={int(b)} at σ {'/'.join(f'{x:g}' for x in sorted(g['sigma']))}"
                for (m, a, b), g in miss.groupby(["model", "dendrites", "somata"])
            )
            cells_missing.append(
                f"noise runs at the selected networks ({txt}): add these sizes to "
                "experiments.noise (f is normalised over all of them)"
            )
        table = efficiency_table(nr, norm_by=("dataset",)) if len(nr) else pd.DataFrame()
        common = (
            sel_missing
            + cells_missing
            + _epochs_missing(
                noise_all[noise_all["model"].isin(COMPARED_MODELS)],
                PAPER_DESIGN["epochs"].get(dataset, 0),
                "noise runs",
                f"training.epochs.{dataset}",
            )
        )
        for s in sigmas:
            t = table[table["sigma"] == s] if len(table) else table
            for col, higher, what in (("acc_eff", True, "accuracy efficiency"), ("loss_eff", False, "loss efficiency")):
                check = f"σ = {s:g}: dANN-LRF has the {'highest' if higher else 'lowest'} {what}"
                if t.empty:
                    rows.append(
                        _check(
                            "d",
                            check,
                            dataset,
                            "dANN-LRF",
                            None,
                            common or ["runs at this σ"],
                            needs,
                            f"rank 1 of {len(COMPARED_MODELS)}",
                        )
                    )
                    continue
                v, rank, txt = _rank(t, col, higher)
                missing = common + _seeds_missing(t, f"every network at σ = {s:g}")
                decided = (REPRODUCED if rank == 1 else NOT_REPRODUCED) if rank else None
                rows.append(
                    _check(
                        "d",
                        check,
                        dataset,
                        "dANN-LRF",
                        decided,
                        missing,
                        needs,
                        f"rank 1 of {len(COMPARED_MODELS)}",
                        value=v,
                        detail=txt + _n_diverged_txt(t),
                    )
                )

    seq_all = _experiment(df, "sequential", dataset)
    needs = f"sequential runs at every selected (D, S), {SEQUENTIAL_EPOCHS} epochs; {base_needs}"
    if seq_all.empty:
        rows.append(
            _check(
                "d",
                "dANN-LRF is the best model in the sequential task",
                dataset,
                "dANN-LRF",
                None,
                [f"sequential-task runs on {dataset_title(dataset)} (experiments.sequential)"],
                needs,
                "highest mean test accuracy, lowest mean test loss",
            )
        )
        return pd.DataFrame(rows, columns=CSV_COLUMNS)
    sr = sequential_runs(df, dataset, selected, COMPARED_MODELS)
    miss = missing_cells(sr, selected)
    common = list(sel_missing)
    if len(miss):
        common.append(
            "sequential runs at the selected networks ("
            + ", ".join(f"{r['model']} {_ds(r)}" for r in miss.to_dict("records"))
            + "): add these sizes to experiments.sequential"
        )
    common += _epochs_missing(
        seq_all[seq_all["model"].isin(COMPARED_MODELS)],
        SEQUENTIAL_EPOCHS,
        "sequential runs",
        "experiments.sequential.epochs",
    )
    table = efficiency_table(sr, norm_by=("dataset",)) if len(sr) else pd.DataFrame()
    others = sorted(set(seq_all["model"]) - set(COMPARED_MODELS), key=legend_key)
    ref = PAPER_TABLE2.set_index("model").loc["dANN-LRF"]
    for col, higher, what, paper, scale in (
        ("test_acc", True, "highest mean test accuracy (%)", ref["test_acc_pct"], 100),
        ("test_loss", False, "lowest mean test loss", ref["test_loss"], 1),
    ):
        check = f"sequential task: dANN-LRF has the {what}"
        crit = f"rank 1 among {', '.join(COMPARED_MODELS)} (Table 2)"
        if table.empty:
            rows.append(
                _check("d", check, dataset, "dANN-LRF", None, common or ["sequential runs"], needs, crit, paper=paper)
            )
            continue
        v, rank, txt = _rank(table, col, higher, scale)
        missing = common + _seeds_missing(table, "every network")
        decided = (REPRODUCED if rank == 1 else NOT_REPRODUCED) if rank else None
        if others:
            txt += f"; not in Table 2, not ranked: {', '.join(others)}"
        rows.append(
            _check(
                "d",
                check,
                dataset,
                "dANN-LRF",
                decided,
                missing,
                needs,
                crit,
                value=v,
                paper=paper,
                detail=txt + _n_diverged_txt(table),
            )
        )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _overall_row(cid: str, part: pd.DataFrame) -> dict:
    st = list(part["status"])
    counts = {s: st.count(s) for s in STATUSES}
    summary = (
        f"{counts[REPRODUCED]} reproduced, {counts[NOT_REPRODUCED]} not reproduced, "
        f"{counts[INCONCLUSIVE]} inconclusive of {len(st)} checks"
    )
    if cid == "a":
        folds = part.loc[part["status"] != INCONCLUSIVE, "value"].dropna()
        if len(folds):
            summary += f"; decided folds {folds.min():.3g}× – {folds.max():.3g}×"
    need = list(dict.fromkeys(x for m in part["missing"] if m for x in str(m).split(MISSING_SEP)))
    return dict(
        section="claim",
        claim=cid,
        check="overall",
        dataset="",
        model="all",
        status=overall(st),
        value=float(counts[REPRODUCED]),
        paper=np.nan,
        difference=np.nan,
        criterion="every check holds",
        needs="",
        missing=MISSING_SEP.join(need),
        detail=summary,
    )


def check_claims(df: pd.DataFrame, nodes: pd.DataFrame | None = None, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """Every check of claims (a)-(d) plus one ``overall`` row per claim (model "all")."""
    parts = {"a": claim_a(df), "b": claim_b(df), "c": claim_c(nodes, df), "d": claim_d(df, dataset)}
    frames = []
    for cid, part in parts.items():
        frames.append(part)
        frames.append(pd.DataFrame([_overall_row(cid, part)], columns=CSV_COLUMNS))
    return pd.concat(frames, ignore_index=True)
