"""The verdict's hook for the neighbouring systems (dendritic.reproduction.related): each system's
checks get an overall row per claim, land in section 'related' of the CSV and in a
"Neighbouring systems" section of the report."""

import sys
import types

import numpy as np
import pandas as pd
import pytest
from test_plots_summary import make_summary

from dendritic.reproduction import build_report
from dendritic.reproduction import related as rel
from dendritic.reproduction.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _fake_system(monkeypatch):
    mod = types.ModuleType("dendritic.reproduction._fake_system")
    mod.TITLE = "Fake system (Someone 2024)"
    mod.CLAIMS = {"Z1": "more is better", "Z2": "less is worse"}
    mod.TABLES = ("fake",)

    def rows(df, tables):
        fake = tables.get("fake")
        have = fake is not None
        return [
            rel.related_check("Z1", "first", "fmnist", "m", REPRODUCED, [], "n", "c", value=1.5, paper=2.0),
            rel.related_check(
                "Z1",
                "second",
                "fmnist",
                "m",
                NOT_REPRODUCED if have else None,
                [] if have else ["run the fake table"],
                "n",
                "c",
            ),
            rel.related_check(
                "Z2", "only", "fmnist", "m", REPRODUCED, [], "n", "c", value=float(0 if fake is None else len(fake))
            ),
        ]

    mod.rows = rows
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(rel, "SYSTEMS", ("_fake_system",))
    return mod


def test_overall_rows_and_section(monkeypatch):
    _fake_system(monkeypatch)
    out = rel.related_claims(pd.DataFrame(), {})
    assert set(out["section"]) == {rel.SECTION}
    overall = out[out["check"] == "overall"].set_index("claim")["status"]
    # Z1: one reproduced, one inconclusive for want of its table -> inconclusive, and says why
    assert overall["Z1"] == INCONCLUSIVE and overall["Z2"] == REPRODUCED
    assert "run the fake table" in out[(out["claim"] == "Z1") & (out["check"] == "overall")]["missing"].iloc[0]
    with_table = rel.related_claims(pd.DataFrame(), {"fake": pd.DataFrame({"x": [1, 2]})})
    assert with_table[with_table["check"] == "overall"].set_index("claim")["status"]["Z1"] == NOT_REPRODUCED


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return make_summary(
        seeds=(0, 1, 2), dendrites=(1, 2), somata=(32,), models=["dANN-R", "vANN"], experiments=("main",)
    )


CONFIG = {
    "seeds": [0, 1, 2],
    "training": {"epochs": {"fmnist": 3}},
    "experiments": {},
    "analysis": {"selection": "paper"},
}


def test_report_has_the_section_only_when_a_system_ran(monkeypatch, summary):
    monkeypatch.setattr(rel, "SYSTEMS", ())  # no system registered
    md, frame = build_report(summary, CONFIG)
    assert "## Neighbouring systems" not in md and not (frame["section"] == rel.SECTION).any()
    _fake_system(monkeypatch)
    md, frame = build_report(summary, CONFIG)
    assert "## Neighbouring systems" in md and "### Fake system (Someone 2024)" in md
    assert "**Z1** more is better" in md and "run the fake table" in md
    assert (frame["section"] == rel.SECTION).sum() == 5  # 3 checks + 2 overall rows
    assert np.isclose(frame.loc[frame["check"] == "first", "difference"].iloc[0], -0.5)


def test_a_claimed_gain_is_decided_like_claim_b():
    """CI above 0: reproduced; mean <= 0: not reproduced (a tie or a loss); a positive mean whose
    CI includes 0: inconclusive, asking for more seeds."""
    assert rel.decide_gain(1.0, 0.2, 1.8) == (REPRODUCED, [])
    assert rel.decide_gain(-0.5, -1.0, 0.1) == (NOT_REPRODUCED, [])
    assert rel.decide_gain(0.0, -0.3, 0.3) == (NOT_REPRODUCED, [])
    decided, missing = rel.decide_gain(0.4, -0.1, 0.9, " pp")
    assert decided is None and "more seeds" in missing[0] and "+0.4 pp" in missing[0]
    assert rel.decide_gain(float("nan"), float("nan"), float("nan")) == (None, [])
