"""The reproduction report in Markdown: one function per section (the scale of the run against
the paper's design, the verdicts at a glance, what the inconclusive checks need, each claim's
checks, Table 1, Table 2), from the frames of :mod:`dendritic.reproduction.claims`; and
:func:`write_reproduction`, which writes the report and its CSV.

The paper's design (Methods) and claims (Results and Discussion) are in :mod:`dendritic.paper`.
This module imports neither matplotlib nor :mod:`dendritic.plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from dendritic import runio
from dendritic.paper import (
    CLAIMS,
    DATASET_ORDER,
    PAPER_DESIGN,
    PAPER_LARGEST,
    PAPER_SMALLEST,
    PRIMARY_DATASET,
    SEQUENTIAL_EPOCHS,
    dataset_title,
)
from dendritic.reproduction.claims import (
    ALPHA,
    CSV_COLUMNS,
    FOLD,
    MIN_SEEDS,
    MIN_SIZES,
    MIN_SPAN,
    MISSING_SEP,
    MOSTLY,
    NOT_RUN,
    PAPER_TABLE2,
    TABLE_MODELS,
    check_claims,
    fmt,
    is_finite,
    table1,
    table2,
)
from dendritic.reproduction.markdown import MARK as _MARK
from dendritic.reproduction.markdown import md_table as _md_table
from dendritic.reproduction.related import related_claims, related_markdown
from dendritic.trials import diverged_mask


# --------------------------------------------------------------------------------------------------
# scale of the configuration
# --------------------------------------------------------------------------------------------------
def scale_rows(config: Mapping[str, Any], df: pd.DataFrame) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(item, this run, paper) rows describing the configuration's scale, and the list of ways in
    which it is smaller than the paper's design."""
    exps = config.get("experiments") or {}
    seeds = list(config.get("seeds", []))
    epochs = (config.get("training") or {}).get("epochs", {})
    used = sorted(
        {d for e in exps.values() for d in e.get("datasets", [])},
        key=lambda d: DATASET_ORDER.index(d) if d in DATASET_ORDER else 99,
    )
    rows, smaller = [], []
    rows.append(("seeds (trials)", f"{len(seeds)} ({', '.join(map(str, seeds))})", str(PAPER_DESIGN["seeds"])))
    if len(seeds) < PAPER_DESIGN["seeds"]:
        smaller.append(f"{len(seeds)} seeds instead of {PAPER_DESIGN['seeds']}")
    ep_txt = ", ".join(f"{dataset_title(d)} {epochs.get(d, '?')}" for d in used)
    rows.append(
        ("epochs", ep_txt or "–", ", ".join(f"{dataset_title(d)} {e}" for d, e in PAPER_DESIGN["epochs"].items()))
    )
    short = [d for d in used if isinstance(epochs.get(d), int) and epochs[d] < PAPER_DESIGN["epochs"].get(d, 0)]
    if short:
        smaller.append(
            "fewer epochs ("
            + ", ".join(f"{dataset_title(d)} {epochs[d]} instead of {PAPER_DESIGN['epochs'][d]}" for d in short)
            + ")"
        )
    grids, not_run = [], []
    for name, ref in PAPER_DESIGN["experiments"].items():
        e = exps.get(name)
        ref_d = ref.get("dendrites", PAPER_DESIGN["dendrites"])
        ref_s = ref.get("somata", PAPER_DESIGN["somata"])
        paper_txt = f"{', '.join(dataset_title(d) for d in ref['datasets'])}; D {ref_d} × S {ref_s}" + _extra_txt(
            name, ref
        )
        if not e:
            rows.append((f"experiment `{name}`", "not run", paper_txt))
            not_run.append(name)
            continue
        n_runs = int((df["experiment"] == name).sum()) if "experiment" in df else 0
        nm = len(e["models"])
        selected = e.get("networks") == "selected"
        grid_txt = (
            "the selected network of each model (paper §4)"
            if selected
            else f"D {list(e['dendrites'])} × S {list(e['somata'])}"
        )
        txt = (
            f"{', '.join(dataset_title(d) for d in e['datasets'])}; {nm} model{'s' if nm != 1 else ''}; "
            f"{grid_txt}" + _extra_txt(name, e) + f"; {n_runs} runs"
        )
        rows.append((f"experiment `{name}`", txt, paper_txt))
        if not selected and (len(e["dendrites"]) < len(ref_d) or len(e["somata"]) < len(ref_s)):
            grids.append(name)
        missing = [d for d in ref["datasets"] if d not in e["datasets"]]
        if missing:
            smaller.append(f"{name}: {', '.join(dataset_title(d) for d in missing)} not run")
        if "n_models" in ref and len(e["models"]) < ref["n_models"]:
            smaller.append(f"{name}: {len(e['models'])} of {ref['n_models']} models")
        if name == "sequential" and e.get("epochs", 50) < ref["epochs"]:
            smaller.append(
                f"sequential task: {e.get('epochs')} epoch{'s' if e.get('epochs') != 1 else ''} "
                f"instead of {ref['epochs']}"
            )
    if grids:
        smaller.append("smaller D × S grid (" + ", ".join(grids) + ")")
    if not_run:
        smaller.append("experiments not run: " + ", ".join(not_run))
    return rows, smaller


def _extra_txt(name: str, e: Mapping[str, Any]) -> str:
    """The experiment's own keys, as text (dropout rates, learning rates, depths, σ, epochs)."""
    keys = {
        "dropout": ("rates", "p"),
        "learning_rate": ("rates", "lr"),
        "depth": ("layers", "L"),
        "noise": ("sigmas", "σ"),
    }
    if name in keys and keys[name][0] in e:
        key, sym = keys[name]
        return f"; {sym} ∈ {list(e[key])}"
    if name == "early_stopping":
        return f"; ≤ {e.get('max_epochs', 100)} epochs, patience {e.get('patience', 10)}"
    if name == "sequential":
        n = e.get("epochs", 50)
        return f"; {n} epoch{'s' if n != 1 else ''}"
    return ""


#: What each claim's checks need, and when they hold (the report's header of each claim).
CLAIM_NEEDS = {
    "a": (
        f"main runs of vANN and the dANN at the paper's epochs with ≥ {MIN_SEEDS} seeds per deciding "
        "configuration; vANN's best (accuracy / loss) inside the sizes tried, or at the paper's grid edge "
        f"(D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}; D={PAPER_SMALLEST[0]}, S={PAPER_SMALLEST[1]}); a fold "
        f"below {FOLD:g} counts only when the run tried every size of the paper's grid before the match in the "
        f"scan; a dANN that never matches counts only when its sizes reach D={PAPER_LARGEST[0]}, "
        f"S={PAPER_LARGEST[1]}"
    ),
    "b": (
        f"main runs at the paper's epochs; ≥ {MIN_SIZES} sizes per model spanning ≥ {MIN_SPAN:g}× in parameters; "
        f"≥ {MIN_SEEDS} seeds per size"
    ),
    "c": (
        "the node table of the paper's networks (analysis.selection: paper) of dANN-R, dANN-LRF, dANN-GRF and "
        f"vANN, from main runs at the paper's epochs with ≥ {MIN_SEEDS} seeds; a determined selection (vANN's best "
        "accuracy inside the sizes tried; a dANN that never matched tried up to the paper's largest size)"
    ),
    "d": (
        "noise runs (every σ) and sequential runs at the paper's network of each of dANN-R, dANN-LRF, dANN-GRF "
        f"and vANN, at the paper's epochs (FMNIST 25, sequential task {SEQUENTIAL_EPOCHS}) with ≥ {MIN_SEEDS} seeds; "
        "a determined selection (as for (c))"
    ),
}
CLAIM_CRITERIA = {
    "a": f"fold = parameters of vANN's best / parameters of the first configuration that beats it ≥ {FOLD:g}",
    "b": f"vANN: Spearman ρ(parameters, test loss) > 0 with p < {ALPHA}; each dANN: not so",
    "c": f"over the nodes with SI ≥ 1, dANN mixed-selective (SI ≥ 2) share > {MOSTLY}, vANN class-specific "
    f"(SI = 1) share > {MOSTLY}",
    "d": (
        "dANN-LRF ranks first among dANN-R, dANN-LRF, dANN-GRF, vANN: highest accuracy efficiency and lowest loss "
        "efficiency at every σ (f normalised over the four models × every σ, σ = 0 the clean runs); highest mean "
        "test accuracy and lowest mean test loss in the sequential task"
    ),
}


def build_report(
    df: pd.DataFrame,
    config: Mapping[str, Any],
    nodes: pd.DataFrame | None = None,
    dataset: str = PRIMARY_DATASET,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[str, pd.DataFrame]:
    """The Markdown report and the CSV frame (:data:`CSV_COLUMNS`). ``tables``: the result tables
    the neighbouring systems' checks read (:mod:`dendritic.reproduction.related`), by name."""
    t1, t2 = table1(df), table2(df, dataset)
    claims = check_claims(df, nodes, dataset)
    related = related_claims(df, tables or {})
    frame = pd.concat([t1, t2, claims, related], ignore_index=True)
    return _markdown(df, config, t1, t2, claims, dataset, related), frame


def _cell(rows: pd.DataFrame, q: str, spec: str) -> str:
    r = rows[rows["check"] == q]
    if r.empty:
        return "–"
    r = r.iloc[0]
    if r["status"] == NOT_RUN:
        return f"not run (paper {format(r['paper'], spec)})"
    if not is_finite(r["value"]):
        return f"diverged (paper {format(r['paper'], spec)})"
    return f"{format(r['value'], spec)} / {format(r['paper'], spec)} ({format(r['difference'], '+' + spec)})"


def _fmt_loss(v) -> str:
    return "–" if not is_finite(v) else (f"{v:.2f}" if v < 100 else f"{v:.1f}")


def _value_txt(r) -> str:
    v = r["value"]
    if not is_finite(v):
        return "never matched" if str(r["detail"]).startswith("never matched") else "–"
    if r["claim"] == "a":
        return f"{fmt(v, '.3g')}×"
    if r["claim"] == "b":
        return f"ρ = {fmt(v, '.2f')}"
    if r["claim"] == "c":
        return fmt(v, ".2f")
    return fmt(v, ".4g")


def _paper_txt(r) -> str:
    if r["claim"] == "a":
        return "> 10× (LRF, FMNIST)" if r["model"] == "dANN-LRF" and r["dataset"] == PRIMARY_DATASET else "10–1000×"
    if r["claim"] == "b":
        return "grows" if r["model"] == "vANN" else "flat"
    if r["claim"] == "c":
        return "mostly " + ("class-specific" if r["model"] == "vANN" else "mixed")
    return (fmt(r["paper"], ".4g") + " (Table 2)") if is_finite(r["paper"]) else "dANN-LRF best (Fig. 7b)"


def _intro(df: pd.DataFrame) -> list[str]:
    """Title, and what the report is computed from."""
    n_runs = len(df)
    div = diverged_mask(df)
    L: list[str] = []
    L.append("# Reproduction report: Chavlis & Poirazi (2025), Nat Commun 16:943")
    L.append("")
    L.append(
        "*Dendrites endow artificial neural networks with accurate, robust and parameter-efficient "
        "learning* — this pipeline's numbers next to the paper's, and each claim checked: **reproduced** "
        "or **not reproduced** when this run has what the check needs, **inconclusive** (with what is "
        f"missing) when it does not. Computed from `results/summary.csv` ({n_runs} training runs"
        + (f", of which {int(div.sum())} diverged and are left out of every mean" if div.any() else ", none diverged")
        + ")."
    )
    L.append("")
    return L


def _scale_section(df: pd.DataFrame, config: Mapping[str, Any]) -> list[str]:
    """The run's scale against the paper's design (:func:`scale_rows`)."""
    scale, smaller = scale_rows(config, df)
    sel_key = (config.get("analysis") or {}).get("selection", "paper")
    L: list[str] = []
    L.append("## Scale of this run")
    L.append("")
    L += _md_table(
        ["", "this run", "paper"],
        [list(r) for r in scale]
        + [
            [
                "network of Table 2, Fig. 5-7 (`analysis.selection`)",
                sel_key,
                "paper: first to match vANN's best accuracy; vANN: its best",
            ]
        ],
    )
    L.append("")
    if smaller:
        L.append(
            "**Reduced against the paper's design:** " + "; ".join(smaller) + ". The checks below say which "
            "claims this run can still decide; the others are inconclusive, with what they would need."
        )
    else:
        L.append("This configuration has the paper's full design.")
    if sel_key != "paper":
        L.append("")
        L.append(
            f"`analysis.selection: {sel_key}`: the figures and node tables use each model's most accurate "
            "network; Table 2 and claim (d) below are judged on the paper's networks all the same, and claim "
            "(c) needs the node tables of the paper's networks."
        )
    L.append("")
    return L


def _verdicts_section(claims: pd.DataFrame) -> list[str]:
    """Each claim's overall status."""
    L: list[str] = []
    L.append("## Verdicts at a glance")
    L.append("")
    ov = claims[claims["check"] == "overall"].set_index("claim")
    rows = []
    for cid, text in CLAIMS.items():
        r = ov.loc[cid]
        rows.append([f"({cid}) {text}", f"**{r['status']}**", r["detail"]])
    L += _md_table(["claim", "status", "checks"], rows)
    L.append("")
    L.append(
        "*reproduced*: every check holds on a run that has what it needs; *not reproduced*: at least one "
        "check that had what it needs fails; *inconclusive*: no check failed, but at least one lacks what "
        "it needs (listed below)."
    )
    L.append("")
    return L


def _needs_section(claims: pd.DataFrame) -> list[str]:
    """What the inconclusive checks need, each once."""
    ov = claims[claims["check"] == "overall"].set_index("claim")
    L: list[str] = []
    need = [(cid, x) for cid, m in zip(ov.index, ov["missing"]) if m for x in str(m).split(MISSING_SEP)]
    if need:
        L.append("## What the inconclusive checks need")
        L.append("")
        seen: dict[str, list[str]] = {}
        for cid, x in need:
            seen.setdefault(x, []).append(cid)
        for x, cids in seen.items():
            L.append(f"- ({', '.join(dict.fromkeys(cids))}) {x}")
        L.append("")
    return L


def _claims_section(claims: pd.DataFrame) -> list[str]:
    """Every check of every claim, one table per claim."""
    L: list[str] = []
    L.append("## Claims, checked")
    L.append("")
    for cid, text in CLAIMS.items():
        part = claims[(claims["claim"] == cid) & (claims["check"] != "overall")]
        L.append(f"### ({cid}) {text}")
        L.append("")
        L.append(f"Needs: {CLAIM_NEEDS[cid]}. Criterion: {CLAIM_CRITERIA[cid]}.")
        L.append("")
        body = [
            [
                dataset_title(r["dataset"]) if r["dataset"] else "–",
                r["check"],
                _MARK[r["status"]],
                _value_txt(r),
                _paper_txt(r),
                (f"**missing:** {r['missing'].replace(MISSING_SEP, '; ')}. " if r["missing"] else "")
                + str(r["detail"]),
            ]
            for r in part.to_dict("records")
        ]
        header = ["dataset", "check", "status", "this run", "paper", "details"]
        L += _md_table(header, body) if body else ["(no checks)"]
        L.append("")
    return L


def _table1_section(t1: pd.DataFrame) -> list[str]:
    """Table 1: this run / paper (difference) per model and dataset."""
    L: list[str] = []
    L.append("## Table 1 — best-accuracy models (main experiment)")
    L.append("")
    L.append(
        "Per dataset, each model's configuration with the highest mean test accuracy over seeds; its mean "
        "test accuracy and mean test loss. Cells: **this run / paper (difference)**."
    )
    for q, spec, title in (("test accuracy (%)", ".2f", "Test accuracy (%)"), ("test loss", ".4f", "Test loss")):
        L.append("")
        L.append(f"**{title}**")
        L.append("")
        L += _md_table(
            ["model"] + [dataset_title(d) for d in DATASET_ORDER],
            [
                [m] + [_cell(t1[(t1["model"] == m) & (t1["dataset"] == d)], q, spec) for d in DATASET_ORDER]
                for m in TABLE_MODELS
            ],
        )
    ran = t1[(t1["status"] != NOT_RUN) & (t1["check"] == "test loss")]
    if len(ran):
        L.append("")
        L.append(
            "Configurations: "
            + "; ".join(
                f"{r['model']} {dataset_title(r['dataset'])} {r['detail'].split(' configuration ')[-1]}"
                for r in ran.to_dict("records")
            )
            + "."
        )
    L.append("")
    return L


def _table2_section(df: pd.DataFrame, t2: pd.DataFrame, dataset: str) -> list[str]:
    """Table 2: the sequential task on the paper's networks."""
    L: list[str] = []
    L.append(f"## Table 2 — sequential {dataset_title(dataset)} (class-ordered batches)")
    L.append("")
    if (t2["status"] == NOT_RUN).all() and not (df["experiment"] == "sequential").any():
        L.append("Not run: the configuration has no `sequential` experiment.")
    else:
        rows = []
        for m in t2["model"].drop_duplicates():
            r = t2[t2["model"] == m]
            ref = PAPER_TABLE2.set_index("model").reindex([m]).reset_index().iloc[0]
            sd_ref = f" ± {ref['test_acc_sd']:.2f}" if is_finite(ref["test_acc_sd"]) else ""
            acc_ref = f"{ref['test_acc_pct']:.2f}{sd_ref}" if is_finite(ref["test_acc_pct"]) else "not in the paper"
            a, lo = r[r["check"] == "test accuracy (%)"].iloc[0], r[r["check"] == "test loss"].iloc[0]
            if a["status"] == NOT_RUN:
                rows.append([m, "not run", acc_ref, "–", "not run", _fmt_loss(ref["test_loss"]), "–", a["detail"]])
                continue
            sd, where = a["detail"].split(" (SD")[0], a["detail"].split("; ", 1)[-1]
            rows.append(
                [
                    m,
                    f"{fmt(a['value'], '.2f')} {sd}",
                    acc_ref,
                    fmt(a["difference"], "+.2f"),
                    fmt(lo["value"], ".3g"),
                    _fmt_loss(ref["test_loss"]),
                    fmt(lo["difference"], "+.3g"),
                    where,
                ]
            )
        L += _md_table(["model", "accuracy % (± SD)", "paper", "Δ", "test loss", "paper", "Δ", "network"], rows)
        L.append("")
        L.append(
            "Each model's network is fixed from the clean main experiment by the paper's rule (first "
            "configuration above vANN's best mean accuracy; vANN: its best) and looked up in the sequential "
            "runs; no new best is chosen among them. The paper gives a spread for vANN only (np.std, ddof = 0; "
            "here ddof = 1)."
        )
    return L


def _footer() -> list[str]:
    """Where the numbers are."""
    L: list[str] = []
    L.append("")
    L.append("---")
    L.append(
        "Generated by `dendritic.reproduction` (rule `reproduction`); every number is also in "
        "`results/reproduction.csv` (one row per table cell or check: " + ", ".join(CSV_COLUMNS) + ")."
    )
    L.append("")
    return L


def _markdown(df, config, t1, t2, claims, dataset, related=None) -> str:
    """The whole report: the sections in order, one blank line after each."""
    L = (
        _intro(df)
        + _scale_section(df, config)
        + _verdicts_section(claims)
        + _needs_section(claims)
        + _claims_section(claims)
        + _table1_section(t1)
        + _table2_section(df, t2, dataset)
        + related_markdown(related if related is not None else pd.DataFrame())
        + _footer()
    )
    return "\n".join(L)


def write_reproduction(
    summary_path: str | Path,
    md_path: str | Path,
    csv_path: str | Path,
    config: Mapping[str, Any],
    node_stats_path: str | Path | None = None,
    dataset: str = PRIMARY_DATASET,
    table_paths: Mapping[str, str | Path] | None = None,
) -> pd.DataFrame:
    """Read the summary (and the node table and the neighbouring systems' tables, when given),
    write the report and the CSV atomically."""
    from dendritic.summary import load_summary  # here: dendritic.summary imports torch (training)

    df = load_summary(summary_path)
    nodes = pd.read_csv(node_stats_path) if node_stats_path else None
    tables = {name: pd.read_csv(path) for name, path in (table_paths or {}).items()}
    md, frame = build_report(df, config, nodes, dataset, tables)
    runio.write_atomic(md_path, lambda p: Path(p).write_text(md, encoding="utf-8"))
    runio.write_atomic(csv_path, lambda p: frame.to_csv(p, index=False, float_format="%.6g"))
    return frame
