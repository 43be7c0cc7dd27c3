"""Verdict rows C1-C4: iterative magnitude pruning and noise robustness (Bain 2022, arXiv
2209.04425, §3-5, Figs 6-7), from ``results/pruning.csv`` and ``results/pruning_noise.csv``
(:mod:`dendritic.pruning`) and, for C4, the main experiment's ``results/test_noise.csv``.

Every comparison is over seeds. Between two tickets of one vANN(D, S) the seeds are paired (the
same θ₀, split and batch order): the mean of the per-seed differences with its two-sided 95 %
t-interval. dANN-LRF against a ticket (C4) is unpaired (Welch's interval). Each check needs
≥ :data:`~dendritic.reproduction.claims.MIN_SEEDS` non-diverged seeds and the paper's epochs per round
(FMNIST 25; Bain trains up to 100, "best" epoch by test accuracy, a departure noted in
docs/neighbours/imp.md); a ticket the run did not train makes its check inconclusive, naming the
setting that would train it.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from dendritic.imp_schedule import W3_ROUND, W30_ROUND
from dendritic.paper import PAPER_DESIGN
from dendritic.reproduction.claims import MIN_SEEDS, NOT_REPRODUCED, REPRODUCED
from dendritic.reproduction.related import decide_gain, related_check

TITLE = "Iterative magnitude pruning and noise robustness (Bain 2022, §4.1)"

CLAIMS = {
    "C1": "IMP finds a vANN ticket with ~33x fewer weights (round 26, 3.1 % left) not worse than the dense net",
    "C2": "A random ticket with the IMP ticket's counts holds at 30 % of the weights (round 9), not at 3 % (round 26)",
    "C3": "Sparsity alone does not improve noise robustness: no ticket (w3, w30, r30) beats dense at every level",
    "C4": "Cross-paper: at equal weights dANN-LRF keeps more of its clean accuracy under noise than the budget ticket",
}

TABLES = ("pruning", "pruning_noise", "test_noise")

#: The vANN the claims are checked on first (closest to Bain's 266,610-parameter FC net).
PREFERRED = (2, 128)
#: The noise levels of C4.
C4_LEVELS = (("salt", 0.3), ("gaussian", 0.5))
#: The paper's compression at round 26 ("33x"; 1 / 0.875^26 = 32.2).
PAPER_FOLD = 33.0


def _ci(diff: np.ndarray) -> tuple[float, float, float]:
    """Mean and two-sided 95 % t-interval of per-seed values."""
    diff = np.asarray(diff, dtype=float)
    diff = diff[np.isfinite(diff)]
    n = len(diff)
    if n < 2:
        return (float(diff.mean()) if n else np.nan), np.nan, np.nan
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n))
    return float(diff.mean()), float(diff.mean() - half), float(diff.mean() + half)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of a - b and its two-sided 95 % Welch interval."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dfree = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
    half = float(stats.t.ppf(0.975, dfree) * np.sqrt(va + vb))
    d = float(a.mean() - b.mean())
    return d, d - half, d + half


def _truthy(s: pd.Series) -> pd.Series:
    return s.astype(str).str.lower().isin(["true", "1", "1.0"])


def _cells(pr: pd.DataFrame) -> list[tuple[str, int, int]]:
    """The pruned (dataset, D, S), the preferred size first, then the largest first."""
    cells = sorted(
        {(str(d), int(a), int(b)) for d, a, b in pr[["dataset", "dendrites", "somata"]].itertuples(index=False)}
    )
    return sorted(cells, key=lambda c: ((c[1], c[2]) != PREFERRED, -c[1] * c[2]))


def _ticket(pr: pd.DataFrame, cell, ticket: str, r: int) -> pd.DataFrame:
    ds, d, s = cell
    t = pr[(pr["dataset"] == ds) & (pr["dendrites"] == d) & (pr["somata"] == s)]
    t = t[(t["ticket"] == ticket) & (t["round"] == r)]
    return t[~_truthy(t["diverged"])] if "diverged" in t else t


def _needs(cell, parts: Mapping[str, pd.DataFrame], hint: Mapping[str, str]) -> list[str]:
    """What a check on ``parts`` (name → ticket rows) lacks: the ticket, seeds, epochs."""
    missing = []
    need = PAPER_DESIGN["epochs"].get(cell[0], 25)
    for name, rows in parts.items():
        if rows.empty:
            missing.append(f"the {name} ticket of vANN({cell[1]}, {cell[2]}): {hint.get(name, 'train it')}")
            continue
        if rows["seed"].nunique() < MIN_SEEDS:
            missing.append(f"≥ {MIN_SEEDS} non-diverged seeds of the {name} ticket: add seeds")
        if int(rows["epochs"].min()) < need:
            missing.append(f"{need} epochs per round (training.epochs.{cell[0]})")
    return missing


def _paired(a: pd.DataFrame, b: pd.DataFrame, col: str = "test_acc") -> tuple[float, float, float, int]:
    m = a[["seed", col]].merge(b[["seed", col]], on="seed", suffixes=("_a", "_b"))
    mean, lo, hi = _ci(m[f"{col}_a"] - m[f"{col}_b"])
    return mean, lo, hi, len(m)


def _label(cell) -> str:
    return f"vANN({cell[1]}, {cell[2]})"


def _c1_c2(pr: pd.DataFrame) -> list[dict]:
    rows = []
    cells = _cells(pr) if len(pr) else []
    # the preferred cell, else the largest one that reached round 26
    reached = [c for c in cells if not _ticket(pr, c, "imp", W3_ROUND).empty]
    cell = reached[0] if reached else (cells[0] if cells else ("fmnist", *PREFERRED))
    dense = _ticket(pr, cell, "imp", 0) if len(pr) else pd.DataFrame()
    hint_rounds = {
        "round-26": "run experiments.pruning to round ≥ 26 (rounds: null runs to the dANN budget)",
        "random round-9": "add 9 to experiments.pruning.random_rounds",
        "random round-26": "add 26 to experiments.pruning.random_rounds (and rounds ≥ 26)",
        "dense": "run experiments.pruning",
    }
    ds = cell[0]
    crit = "95 % CI of the paired difference (ticket − dense) reaches ≥ 0"
    w3 = _ticket(pr, cell, "imp", W3_ROUND) if len(pr) else pd.DataFrame()
    missing = _needs(cell, {"dense": dense, "round-26": w3}, hint_rounds)
    value, decided, detail = np.nan, None, ""
    if not missing:
        mean, lo, hi, n = _paired(w3, dense)
        value = round(float(dense["hidden_weights"].iloc[0]) / max(int(w3["hidden_weights"].iloc[0]), 1), 1)
        decided = REPRODUCED if hi >= 0 else NOT_REPRODUCED
        detail = (
            f"{_label(cell)}: round 26 keeps {w3['hidden_weights'].iloc[0]} of "
            f"{dense['hidden_weights'].iloc[0]} hidden weights; acc {100 * w3['test_acc'].mean():.2f} % "
            f"vs dense {100 * dense['test_acc'].mean():.2f} %, "
            f"paired difference {100 * mean:+.2f} pp [{100 * lo:+.2f}, {100 * hi:+.2f}] over {n} seeds"
        )
    rows.append(
        related_check(
            "C1",
            "round-26 ticket vs dense",
            ds,
            _label(cell),
            decided,
            missing,
            "IMP rounds 0-26, ≥ 3 seeds, 25 epochs",
            crit,
            value,
            PAPER_FOLD,
            detail,
        )
    )
    for r, want_holds in ((W30_ROUND, True), (W3_ROUND, False)):
        rnd = _ticket(pr, cell, "random", r) if len(pr) else pd.DataFrame()
        missing = _needs(cell, {"dense": dense, f"random round-{r}": rnd}, hint_rounds)
        value, decided, detail = np.nan, None, ""
        if not missing:
            mean, lo, hi, n = _paired(rnd, dense)
            holds = hi >= 0
            value = round(100 * mean, 3)
            decided = REPRODUCED if holds == want_holds else NOT_REPRODUCED
            detail = (
                f"{_label(cell)}: random ticket at round {r} ({100 * rnd['remaining'].iloc[0]:.1f} % left) "
                f"{100 * rnd['test_acc'].mean():.2f} % vs dense {100 * dense['test_acc'].mean():.2f} %, "
                f"paired difference {100 * mean:+.2f} pp [{100 * lo:+.2f}, {100 * hi:+.2f}], {n} seeds"
            )
        rows.append(
            related_check(
                "C2",
                f"random ticket, round {r}",
                ds,
                _label(cell),
                decided,
                missing,
                f"random ticket at round {r}, ≥ 3 seeds, 25 epochs",
                "not significantly worse (CI reaches ≥ 0)" if want_holds else "significantly worse (CI below 0)",
                value,
                np.nan,
                detail,
            )
        )
    return rows


def _relative(noise: pd.DataFrame) -> pd.DataFrame:
    """acc(level) / acc(clean) per seed and ticket: columns ticket, round, seed, kind, level, rel."""
    n = noise[~_truthy(noise["diverged"])].copy() if "diverged" in noise else noise.copy()
    n["level"] = np.where(n["kind"] == "salt", n["q"], n["sigma"]).astype(float)
    keys = [c for c in ("dataset", "model", "dendrites", "somata", "ticket", "round", "seed", "kind") if c in n]
    clean = n[n["level"] == 0][keys + ["test_acc"]].rename(columns={"test_acc": "clean"})
    n = n[n["level"] > 0].merge(clean, on=keys)
    return n.assign(rel=n["test_acc"] / n["clean"])


def _c3(pr: pd.DataFrame, noise: pd.DataFrame | None) -> list[dict]:
    rows = []
    cells = _cells(pr) if len(pr) else [("fmnist", *PREFERRED)]
    rel = _relative(noise) if noise is not None and len(noise) else pd.DataFrame()
    reached = [c for c in cells if len(rel) and ((rel["ticket"] == "imp") & (rel["round"] == W3_ROUND)).any()]
    cell = reached[0] if reached else cells[0]
    for name, ticket, r in (("w3", "imp", W3_ROUND), ("w30", "imp", W30_ROUND), ("r30", "random", W30_ROUND)):
        missing, decided, value, detail = [], None, np.nan, ""
        sel = rel[(rel["dendrites"] == cell[1]) & (rel["somata"] == cell[2])] if len(rel) else rel
        t = sel[(sel["ticket"] == ticket) & (sel["round"] == r)] if len(sel) else sel
        d = sel[(sel["ticket"] == "imp") & (sel["round"] == 0)] if len(sel) else sel
        if noise is None:
            missing.append("results/pruning_noise.csv: run experiments.pruning")
        elif t.empty or d.empty:
            what = "noise_rounds" if ticket == "imp" else "random_rounds"
            missing.append(f"the {name} ticket under noise: add {r} to experiments.pruning.{what} (rounds ≥ {r})")
        elif t["seed"].nunique() < MIN_SEEDS:
            missing.append(f"≥ {MIN_SEEDS} seeds: add seeds")
        if not missing:
            m = t.merge(d, on=["seed", "kind", "level"], suffixes=("", "_dense"))
            beats = []
            for (kind, level), g in m.groupby(["kind", "level"]):
                _, lo, _ = _ci(g["rel"] - g["rel_dense"])
                beats.append(bool(np.isfinite(lo) and lo > 0))
            value = int(sum(beats))
            decided = NOT_REPRODUCED if beats and all(beats) else REPRODUCED
            detail = f"{_label(cell)}: {name} beats dense beyond the CI at {sum(beats)} of {len(beats)} noise levels"
        rows.append(
            related_check(
                "C3",
                f"{name} vs dense under noise",
                cell[0],
                _label(cell),
                decided,
                missing,
                "the ticket and dense under Gaussian and salt test noise, ≥ 3 seeds",
                "not reproduced when the ticket's acc(level)/acc(0) exceeds dense's beyond the paired 95 % CI "
                "at every σ > 0 and q > 0",
                value,
                np.nan,
                detail,
            )
        )
    return rows


def _c4(pr: pd.DataFrame, noise: pd.DataFrame | None, main_noise: pd.DataFrame | None) -> list[dict]:
    rows = []
    cells = _cells(pr) if len(pr) else [("fmnist", *PREFERRED)]
    for cell in cells[:1] if not len(pr) else cells:
        ds, d, s = cell
        budget = int(pr["budget_round"].iloc[0]) if len(pr) else 30
        if len(pr):
            at = pr[(pr["dendrites"] == d) & (pr["somata"] == s)]
            budget = int(at["budget_round"].iloc[0]) if len(at) else budget
        for kind, level in C4_LEVELS:
            missing, decided, value, detail = [], None, np.nan, ""
            rel = _relative(noise) if noise is not None and len(noise) else pd.DataFrame()
            t = (
                rel[
                    (rel["dendrites"] == d) & (rel["somata"] == s) & (rel["ticket"] == "imp") & (rel["round"] == budget)
                ]
                if len(rel)
                else rel
            )
            t = t[(t["kind"] == kind) & np.isclose(t["level"], level)] if len(t) else t
            if t.empty:
                missing.append(
                    f"the budget ticket (round {budget}) under {kind} noise {level}: "
                    "experiments.pruning with rounds: null and budget in noise_rounds"
                )
            mr = pd.DataFrame()
            if main_noise is None:
                missing.append("results/test_noise.csv: analysis.test_noise.enabled with dANN-LRF in experiments.main")
            else:
                mn = main_noise[
                    (main_noise["model"] == "dANN-LRF") & (main_noise["dendrites"] == d) & (main_noise["somata"] == s)
                ]
                if "kind" not in mn or not (mn["kind"] == kind).any():
                    missing.append(
                        f"dANN-LRF({d}, {s}) under {kind} test noise: add {kind} to analysis.test_noise.kinds "
                        f"(and dANN-LRF at D={d}, S={s} to experiments.main)"
                    )
                else:
                    mr = _relative(mn.assign(ticket="main", round=0))
                    mr = mr[(mr["kind"] == kind) & np.isclose(mr["level"], level)]
                    if mr.empty:
                        missing.append(f"{'q' if kind == 'salt' else 'σ'} = {level} in analysis.test_noise")
            if not missing and (t["seed"].nunique() < MIN_SEEDS or mr["seed"].nunique() < MIN_SEEDS):
                missing.append(f"≥ {MIN_SEEDS} seeds: add seeds")
            if not missing:
                diff, lo, hi = _welch(mr["rel"], t["rel"])
                value = round(diff, 4)
                decided, unsure = decide_gain(diff, lo, hi)
                missing += unsure
                detail = (
                    f"D={d}, S={s}: dANN-LRF keeps {100 * mr['rel'].mean():.1f} %, the round-{budget} ticket "
                    f"({int(t['n_params'].iloc[0])} parameters) {100 * t['rel'].mean():.1f} % of its clean accuracy; "
                    f"difference {diff:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                )
            rows.append(
                related_check(
                    "C4",
                    f"{kind} {level}: dANN-LRF − budget ticket",
                    ds,
                    f"vANN({d}, {s})",
                    decided,
                    missing,
                    "the budget ticket under noise and dANN-LRF at the same (D, S) in results/test_noise.csv, "
                    "≥ 3 seeds",
                    "acc(level)/acc(0) of dANN-LRF minus the ticket's; reproduced when the Welch 95 % CI is above 0",
                    value,
                    np.nan,
                    detail,
                )
            )
    return rows


def rows(df: pd.DataFrame, tables: Mapping[str, Any]) -> list[dict]:
    """Checks C1-C4 (module docstring)."""
    pr = tables.get("pruning")
    pr = pr if pr is not None else pd.DataFrame(columns=["dataset", "dendrites", "somata"])
    noise, main_noise = tables.get("pruning_noise"), tables.get("test_noise")
    return _c1_c2(pr) + _c3(pr, noise) + _c4(pr, noise, main_noise)
