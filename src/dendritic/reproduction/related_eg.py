"""Verdict rows B1-B5 of neighbouring system B: a biologically guided sparse learning rule (Inoue,
Röhrbein, Knoblauch, arXiv 2603.03234). Its rule is not available (only the abstract could be
read), so every row tests the **stand-in**: exponentiated-gradient Adam from a lognormal
initialisation (EG, Cornford et al. 2024; :mod:`dendritic.optim`), the learning_rule experiment's
eg_adam cells against the main experiment's adam cells at the same (dataset, model, D, S, seed).

Differences are paired by seed: for each seed the mean over the compared sizes (and layers) of
eg_adam minus adam, then the mean over seeds with a 95 % bootstrap CI over seeds (10,000
resamples, fixed generator). A check needs ≥ MIN_SEEDS paired seeds and the paper's epochs.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from dendritic.paper import PAPER_DESIGN, dataset_title
from dendritic.reproduction.claims import MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, _epochs_missing, fmt
from dendritic.reproduction.related import decide_gain, related_check

TITLE = "A sign-preserving sparse learning rule (Inoue et al. 2026; stand-in: EG, Cornford et al. 2024)"
STAND_IN = "stand-in: EG, not the paper's rule"
CLAIMS = {
    "B1": "The rule yields lognormal weights: |skew(log|w|)| < 0.5 and a KS distance below adam's in every "
    f"hidden layer ({STAND_IN}).",
    "B2": f"The rule yields sparse weights: weight sparsity under eg_adam above adam's ({STAND_IN}).",
    "B3": f"The rule adheres to Dale's law without enforcement ({STAND_IN}).",
    "B4": f"The rule is more robust to adversarial attacks: FGSM accuracy at ε = 0.1 above adam's ({STAND_IN}).",
    "B5": f"The rule generalises better from few examples: few-shot accuracy at n = 10 above adam's ({STAND_IN}).",
}
TABLES = ("eg_weights", "adversarial", "few_shot")

#: The rule compared and its comparator.
RULE, BASE = "eg_adam", "adam"
#: B1: |skew(log|w|)| below this is "lognormal".
SKEW_MAX = 0.5
#: B4: the FGSM attack size; B5: the shots per class.
EPSILON, SHOTS = 0.1, 10
KEYS = ["dataset", "model", "dendrites", "somata", "seed"]


def _alive(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["diverged"].astype(str).str.lower().isin(["true", "1"])] if "diverged" in df else df


def _rule_rows(table: pd.DataFrame, rule: str) -> pd.DataFrame:
    t = _alive(table)
    t = t[t["optimizer"] == rule]
    if rule == BASE and "experiment" in t:  # the comparators: the main experiment's runs
        t = t[t["experiment"] == "main"]
    return t


def paired(table: pd.DataFrame, value: str, by=()) -> pd.DataFrame:
    """eg_adam minus adam of ``value`` per (dataset, model, seed): the two merged on the run's
    size and seed (and ``by``), then averaged over sizes (and ``by``). Columns dataset, model,
    seed, diff, rule, base."""
    keys = [k for k in KEYS if k in table] + list(by)
    a = _rule_rows(table, RULE).groupby(keys, as_index=False)[value].mean()
    b = _rule_rows(table, BASE).groupby(keys, as_index=False)[value].mean()
    m = a.merge(b, on=keys, suffixes=("_rule", "_base"))
    m["diff"] = m[f"{value}_rule"] - m[f"{value}_base"]
    per_seed = m.groupby(["dataset", "model", "seed"], as_index=False).agg(
        diff=("diff", "mean"), rule=(f"{value}_rule", "mean"), base=(f"{value}_base", "mean")
    )
    return per_seed


def bootstrap_ci(x, n: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap CI of the mean of ``x`` (fixed generator)."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return (np.nan, np.nan)
    means = np.random.default_rng(seed).choice(x, size=(n, len(x))).mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _missing_table(tables, name: str, what: str) -> list[str]:
    if name in tables and len(tables[name]):
        return []
    return [f"{what} (results/{name}.csv): add experiments.learning_rule and enable analysis.{name}"]


def _epochs(df: pd.DataFrame, dataset: str) -> list[str]:
    runs = df[(df["experiment"] == "learning_rule") & (df["dataset"] == dataset)] if "experiment" in df else df
    need = PAPER_DESIGN["epochs"].get(dataset)
    return (
        _epochs_missing(runs, need, f"learning_rule runs on {dataset_title(dataset)}", f"training.epochs.{dataset}")
        if need
        else []
    )


def _seed_missing(n: int, what: str) -> list[str]:
    return [] if n >= MIN_SEEDS else [f"≥ {MIN_SEEDS} paired seeds for {what} (this run: {n}): add seeds"]


def _pairs(table: pd.DataFrame | None) -> list[tuple[str, str]]:
    if table is None or table.empty:
        return []
    lr = table[table["optimizer"] == RULE]
    return sorted({(d, m) for d, m in zip(lr["dataset"], lr["model"])})


def _improvement_checks(claim: str, table, value: str, what: str, df, by=(), epochs: bool = True) -> list[dict]:
    """One row per (dataset, model): the mean paired difference, decided by
    :func:`~dendritic.reproduction.related.decide_gain` (CI above 0: reproduced; mean ≤ 0: not
    reproduced; a positive mean whose CI includes 0: inconclusive)."""
    rows = []
    for ds, model in _pairs(table):
        part = table[(table["dataset"] == ds) & (table["model"] == model)]
        p = paired(part, value, by)
        lo, hi = bootstrap_ci(p["diff"])
        mean = float(p["diff"].mean()) if len(p) else np.nan
        missing = _seed_missing(len(p), what) + (_epochs(df, ds) if epochs else [])
        if p.empty:
            missing.append(f"{BASE} comparators of {model} (experiments.main at the learning_rule sizes)")
        decided, unsure = decide_gain(mean, lo, hi)
        missing += unsure
        rows.append(
            related_check(
                claim,
                what,
                ds,
                model,
                decided,
                missing,
                needs=f"{RULE} and {BASE} runs, paired by seed",
                criterion=f"mean({RULE} − {BASE}) > 0 with its 95 % CI over seeds above 0",
                value=mean,
                detail=f"{STAND_IN}; {RULE} {fmt(p['rule'].mean())} vs {BASE} {fmt(p['base'].mean())}; "
                f"CI [{fmt(lo)}, {fmt(hi)}]; {len(p)} seeds",
            )
        )
    return rows


def _b1(df, tables) -> list[dict]:
    w = tables.get("eg_weights")
    if w is None or w.empty:
        return [
            related_check(
                "B1",
                "log|w| skewness and KS",
                "",
                "all",
                None,
                _missing_table(tables, "eg_weights", "weight statistics"),
                needs="weight statistics",
                criterion=f"|skew| < {SKEW_MAX}, KS < adam's",
                detail=STAND_IN,
            )
        ]
    w = w[w["layer"] != "output"]  # the hidden layers: the weights into dendrites and somata
    rows = []
    for ds, model in _pairs(w):
        part = w[(w["dataset"] == ds) & (w["model"] == model)]
        rule = _rule_rows(part, RULE)
        skew = rule.groupby("layer")["log_skew"].mean()
        ks = paired(part, "log_ks", by=["layer"])  # empty: no adam comparators
        per_layer = {
            lay: paired(part[part["layer"] == lay], "log_ks")["diff"].mean() for lay in sorted(set(rule["layer"]))
        }
        n = int(rule["seed"].nunique())
        ok = bool(len(skew)) and (skew.abs() < SKEW_MAX).all() and all(v < 0 for v in per_layer.values())
        missing = _seed_missing(n, "the weight statistics") + _epochs(df, ds)
        if ks.empty:
            missing.append(f"{BASE} comparators of {model} (experiments.main at the learning_rule sizes)")
        rows.append(
            related_check(
                "B1",
                "log|w| skewness and KS",
                ds,
                model,
                REPRODUCED if ok else NOT_REPRODUCED,
                missing,
                needs="weight statistics of eg_adam and adam runs",
                criterion=f"every hidden layer: |skew(log|w|)| < {SKEW_MAX} and KS({RULE}) < KS({BASE})",
                value=float(skew.abs().max()) if len(skew) else np.nan,
                detail=f"{STAND_IN}; skew "
                + ", ".join(f"{k} {fmt(v)}" for k, v in skew.items())
                + "; KS eg−adam "
                + ", ".join(f"{k} {fmt(v)}" for k, v in per_layer.items()),
            )
        )
    return rows


def _not_decided(claim: str, check: str, missing: list[str], needs: str, criterion: str) -> dict:
    """The row of a check the run has nothing to decide from (a table or a level not run)."""
    return related_check(claim, check, "", "all", None, missing, needs=needs, criterion=criterion, detail=STAND_IN)


def _b3(df, tables) -> list[dict]:
    w = tables.get("eg_weights")
    value, detail = np.nan, ""
    if w is not None and not w.empty:
        hid = _rule_rows(w, RULE)
        hid = hid[(hid["presynaptic"] != "pixels") & (hid["init"] == "lognormal")]
        if len(hid):
            value = float(hid["dale_index"].mean())
            detail = ", ".join(f"{p} {fmt(v)}" for p, v in hid.groupby("presynaptic")["dale_index"].mean().items())
    return [
        related_check(
            "B3",
            "Dale index with random signs",
            "",
            "all",
            None,
            [
                "not testable: EG fixes signs (each weight keeps its initial sign, so the Dale index is set at "
                "initialisation; the paper's rule is needed)"
            ],
            needs="a rule that can change signs",
            criterion="Dale index rises to 1 without sign enforcement",
            value=value,
            detail=f"{STAND_IN}; Dale index of {RULE} from random signs (lognormal): {detail or 'not run'}"
            "; dendrites of structured models feed one soma each, so their index is 1 trivially",
        )
    ]


def rows(df: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    """B1-B5 (module docstring), one row per (dataset, model) of the learning_rule experiment; none
    when the run has neither that experiment nor its tables (the report then leaves the system out)."""
    ran = "experiment" in df and (df["experiment"] == "learning_rule").any()
    if not ran and not any(name in tables for name in TABLES):
        return []
    out = _b1(df, tables)
    w = tables.get("eg_weights")
    if w is not None and not w.empty:
        out += _improvement_checks(
            "B2", w[w["layer"] != "output"], "weight_sparsity", "weight sparsity", df, by=["layer"]
        )
    else:
        out.append(
            _not_decided(
                "B2",
                "weight sparsity",
                _missing_table(tables, "eg_weights", "weight statistics"),
                "weight statistics",
                "sparsity eg_adam > adam",
            )
        )
    out += _b3(df, tables)
    adv = tables.get("adversarial")
    if adv is not None and not adv.empty:
        at = adv[(adv["attack"] == "fgsm") & np.isclose(adv["epsilon"], EPSILON)]
        out += _improvement_checks("B4", at, "test_acc", f"FGSM accuracy at ε = {EPSILON}", df)
        if not len(at):
            out.append(
                _not_decided(
                    "B4",
                    "FGSM",
                    [f"FGSM at ε = {EPSILON}: add it to analysis.adversarial.epsilons"],
                    "FGSM",
                    "acc eg_adam > adam",
                )
            )
    else:
        out.append(
            _not_decided(
                "B4", "FGSM", _missing_table(tables, "adversarial", "FGSM accuracy"), "FGSM", "acc eg_adam > adam"
            )
        )
    fs = tables.get("few_shot")
    if fs is not None and not fs.empty and (fs["shots"] == SHOTS).any():
        part = fs[fs["shots"] == SHOTS]  # trained from scratch for a fixed number of steps: no epochs
        out += _improvement_checks("B5", part, "test_acc", f"few-shot accuracy at n = {SHOTS}", df, epochs=False)
    else:
        miss = _missing_table(tables, "few_shot", "few-shot accuracy") or [
            f"n = {SHOTS}: add it to analysis.few_shot.shots"
        ]
        out.append(_not_decided("B5", "few-shot", miss, "few-shot runs", "acc eg_adam > adam"))
    return out
