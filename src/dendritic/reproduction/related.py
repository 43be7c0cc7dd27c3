"""The neighbouring systems' verdict rows (section ``related`` of ``results/reproduction.csv``,
"Neighbouring systems" in ``results/reproduction.md``): claims A1-A3 (DAC units, Metta et al.,
WACV 2024), B1-B5 (a sign-preserving learning rule; stand-in: exponentiated gradients, Cornford
et al. 2024), C1-C4 (iterative magnitude pruning, Bain 2022, Sec. 4.1) and C5-C8 (active
dendrites on permuted Fashion-MNIST, Iyer et al. 2022; Bain 2022, Sec. 4.2).

Each system is one module of this package listed in :data:`SYSTEMS`. A module defines

* ``TITLE``: the system's heading in the report;
* ``CLAIMS``: ``{claim id: the claim in one sentence}``, in the report's order;
* ``TABLES``: the names of the result tables its rows read (keys of ``tables`` below);
* ``rows(df, tables) -> list[dict]``: its checks, each made with :func:`related_check`, from the
  summary (``df``, one row per run) and ``tables`` (``{name: DataFrame}``; a table the run did
  not plan is absent, and its checks are then ``inconclusive``, saying what to run).

The statuses and their meaning are those of the paper's claims
(:mod:`dendritic.reproduction.claims`). Imports neither matplotlib nor :mod:`dendritic.plots`.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from dendritic.reproduction.claims import (
    CSV_COLUMNS,
    MISSING_SEP,
    NOT_REPRODUCED,
    REPRODUCED,
    _check,
    fmt,
    is_finite,
    overall,
)
from dendritic.reproduction.markdown import MARK, md_table

#: The section of the neighbouring systems' rows in ``results/reproduction.csv``.
SECTION = "related"

#: The systems' modules (in ``dendritic.reproduction``), in the report's order.
SYSTEMS: tuple[str, ...] = ("related_dac", "related_eg", "related_imp", "related_permuted")


def system_modules() -> list[Any]:
    return [importlib.import_module(f"dendritic.reproduction.{name}") for name in SYSTEMS]


def related_check(
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
    """One check of a neighbouring system's claim: ``inconclusive`` when anything is in
    ``missing`` (or ``decided`` is None), else ``decided``."""
    row = _check(claim, check, dataset, model, decided, missing, needs, criterion, value, paper, detail)
    row["section"] = SECTION
    return row


def decide_gain(mean: float, lo: float, hi: float, unit: str = "") -> tuple[str | None, list[str]]:
    """A claimed gain (difference > 0), decided from its mean and 95 % CI [lo, hi] over seeds the way
    claim (b) decides a rise: ``reproduced`` when the CI lies above 0; ``not reproduced`` when the
    mean is not above 0 (no gain, or a loss); a gain whose CI still includes 0 is ``inconclusive``
    (the run cannot tell it from none), and ``missing`` asks for more seeds. Returns ``(decided,
    missing)``, ``decided`` None when the mean is not finite."""
    if not is_finite(mean):
        return None, []
    if is_finite(lo) and lo > 0:
        return REPRODUCED, []
    if mean <= 0:
        return NOT_REPRODUCED, []
    return None, [
        f"a gain the seeds can tell from none (mean {fmt(mean, '+.3g')}{unit}, 95% CI "
        f"[{fmt(lo, '+.3g')}, {fmt(hi, '+.3g')}]{unit} includes 0): more seeds"
    ]


def related_claims(df: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every system's checks plus one ``overall`` row per claim (columns :data:`CSV_COLUMNS`)."""
    frames = []
    for module in system_modules():
        checks = pd.DataFrame(module.rows(df, tables), columns=CSV_COLUMNS)
        if checks.empty:  # the system did not run (its tables not planned): no rows, no section
            continue
        for cid in module.CLAIMS:
            part = checks[checks["claim"] == cid]
            frames.append(part)
            need = list(dict.fromkeys(x for m in part["missing"] if m for x in str(m).split(MISSING_SEP)))
            frames.append(
                pd.DataFrame(
                    [
                        dict(
                            section=SECTION,
                            claim=cid,
                            check="overall",
                            dataset="",
                            model="all",
                            status=overall(part["status"]),
                            value=np.nan,
                            paper=np.nan,
                            difference=np.nan,
                            criterion="every check holds",
                            needs="",
                            missing=MISSING_SEP.join(need),
                            detail=f"{len(part)} checks",
                        )
                    ],
                    columns=CSV_COLUMNS,
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CSV_COLUMNS)


def _number(v) -> str:
    return fmt(v, ".4g") if is_finite(v) else "–"


def related_markdown(related: pd.DataFrame) -> list[str]:
    """The report's "Neighbouring systems" section: one table per system, each claim's overall
    status first, then its checks ([] when no system ran)."""
    if not len(related):
        return []
    L: list[str] = ["## Neighbouring systems", ""]
    L.append(
        "Ideas next to the paper's, on the same data, seeds, protocol and parameter counting (claim ids "
        f"as in `results/reproduction.csv`, section `{SECTION}`). Paper values from other datasets or "
        "architectures are informational."
    )
    L.append("")
    for module in system_modules():
        part = related[related["claim"].isin(list(module.CLAIMS))]
        if not len(part):
            continue
        L += [f"### {module.TITLE}", ""]
        body = []
        for cid, text in module.CLAIMS.items():
            for r in part[part["claim"] == cid].to_dict("records"):
                head = r["check"] == "overall"
                missing = f"**missing:** {r['missing'].replace(MISSING_SEP, '; ')}. " if r["missing"] else ""
                body.append(
                    [
                        f"**{cid}** {text}" if head else cid,
                        "overall" if head else r["check"],
                        "" if head else str(r["model"] or "–"),
                        f"**{r['status']}**" if head else MARK[r["status"]],
                        "" if head else _number(r["value"]),
                        "" if head else _number(r["paper"]),
                        missing + ("" if head else str(r["detail"])),
                    ]
                )
        L += md_table(["claim", "check", "model", "status", "this run", "paper", "details"], body)
        L.append("")
    return L
