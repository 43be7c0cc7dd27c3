"""The reproduction verdict (dendritic.reproduction): the paper's reference numbers, the tables and
every claim's verdict on synthetic summary frames whose answer is known."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dendritic import reproduction as rep
from dendritic.config import load_config
from test_plots_summary import make_summary, n_params

ROOT = Path(__file__).resolve().parents[1]
PAPER_MD = Path("/work/shared/spec/paper.md")

SMALL = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"]


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return make_summary(seeds=(0, 1, 2), dendrites=(1, 2, 4), somata=(32, 64), models=SMALL,
                        experiments=("main", "noise", "sequential"))


def config(**experiments) -> dict:
    return {"seeds": [0, 1, 2], "training": {"epochs": {"fmnist": 3, "mnist": 3}},
            "experiments": experiments}


# --------------------------------------------------------------------------------------------------
# the paper's numbers
# --------------------------------------------------------------------------------------------------
def t1(model, dataset, col):
    t = rep.PAPER_TABLE1
    return t[(t["model"] == model) & (t["dataset"] == dataset)][col].item()


def test_reference_numbers_spot_checks():
    assert t1("dANN-R", "mnist", "test_acc_pct") == 98.090
    assert t1("dANN-LRF", "fmnist", "test_acc_pct") == 90.256
    assert t1("pdANN", "cifar10", "test_acc_pct") == 60.120
    assert t1("vANN", "kmnist", "test_acc_pct") == 91.552
    assert t1("dANN-GRF", "emnist", "test_loss") == 0.5605
    assert t1("vANN", "emnist", "test_loss") == 2.0860
    assert t1("dANN-LRF", "cifar10", "test_loss") == 1.2684
    t2 = rep.PAPER_TABLE2.set_index("model")
    assert t2.loc["dANN-LRF", "test_acc_pct"] == 59.66 and t2.loc["dANN-LRF", "test_loss"] == 1.65
    assert t2.loc["vANN", "test_acc_sd"] == 9.50 and t2.loc["vANN", "test_loss"] == 313.5
    assert len(rep.PAPER_TABLE1) == 25 and len(rep.PAPER_TABLE2) == 4


@pytest.mark.skipif(not PAPER_MD.is_file(), reason="shared/spec/paper.md not available")
def test_reference_numbers_match_paper_md():
    text = PAPER_MD.read_text(encoding="utf-8")
    sec = text[text.index("## 6."):]
    for model in rep.TABLE_MODELS:  # accuracy table rows: | model | 5 numbers |
        row = re.search(rf"^\| {re.escape(model)} \|(.+)\|$", sec, re.M).group(1)
        accs = [float(x) for x in row.split("|")]
        assert accs == [t1(model, d, "test_acc_pct") for d in rep.DATASETS], model
    loss_txt = sec[sec.index("Test loss:"):sec.index("Table 2")]
    for model in rep.TABLE_MODELS:
        vals = re.search(rf"{re.escape(model)} ([0-9.]+) / ([0-9.]+) / ([0-9.]+) / ([0-9.]+) /\s*([0-9.]+)",
                         loss_txt).groups()
        assert [float(v) for v in vals] == [t1(model, d, "test_loss") for d in rep.DATASETS], model
    t2_txt = sec[sec.index("Table 2"):]
    for model, acc, loss in re.findall(r"(dANN-\w+|vANN) ([0-9.]+)(?: ± [0-9.]+)? / ([0-9]+(?:\.[0-9]+)?)", t2_txt):
        row = rep.PAPER_TABLE2.set_index("model").loc[model]
        assert (row["test_acc_pct"], row["test_loss"]) == (float(acc), float(loss))


# --------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------
def test_table1_values_and_not_run(summary):
    t = rep.table1(summary)
    acc = t[(t["model"] == "dANN-LRF") & (t["dataset"] == "fmnist") & (t["quantity"] == "test accuracy (%)")].iloc[0]
    runs = summary[(summary["experiment"] == "main") & (summary["dataset"] == "fmnist")
                   & (summary["model"] == "dANN-LRF")]
    best = runs.groupby(["dendrites", "somata"])["test_acc"].mean().max()
    assert acc["value"] == pytest.approx(100 * best)
    assert acc["paper_value"] == 90.256
    assert acc["difference"] == pytest.approx(100 * best - 90.256)
    assert acc["verdict"] == "compared"
    # CIFAR-10 was not run: every cell says so, with the paper's value kept
    cif = t[t["dataset"] == "cifar10"]
    assert len(cif) == 10 and (cif["verdict"] == "not run").all() and cif["value"].isna().all()
    assert cif["paper_value"].notna().all()


def test_table1_leaves_out_diverged_runs(summary):
    t = rep.table1(summary)  # make_summary makes one vANN run (acc 0.1, NaN loss) diverge
    v = t[(t["model"] == "vANN") & (t["dataset"] == "fmnist") & (t["quantity"] == "test loss")].iloc[0]
    assert np.isfinite(v["value"])


def test_table2_sequential(summary):
    t = rep.table2(summary)
    lrf = t[(t["model"] == "dANN-LRF") & (t["quantity"] == "test accuracy (%)")].iloc[0]
    assert lrf["verdict"] == "compared" and lrf["paper_value"] == 59.66
    assert "std over seeds" in lrf["detail"]
    assert "pdANN" in set(t["model"])  # run here, not in the paper's table: reported, no paper value
    assert t[t["model"] == "pdANN"]["paper_value"].isna().all()
    none = rep.table2(summary[summary["experiment"] == "main"])
    assert (none["verdict"] == "not run").all()


# --------------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------------
def test_claim_a_fold_fewer_and_never_matched():
    df = make_summary(seeds=(0, 1), dendrites=(1, 2, 4), somata=(32, 64), models=SMALL,
                      experiments=("main",), datasets=("fmnist",), diverged=False)
    df.loc[df["model"] == "dANN-R", "test_acc"] -= 0.3  # dANN-R never reaches vANN's accuracy
    a = rep.claim_a(df)
    acc = a[(a["claim"] == "a") & a["quantity"].str.contains("accuracy")].set_index("model")
    assert acc.loc["dANN-R", "verdict"] == "not reproduced" and np.isnan(acc.loc["dANN-R", "value"])
    assert acc.loc["dANN-R", "detail"].startswith("never matched")
    # vANN's best accuracy is its largest network (accuracy grows with size); dANN-LRF beats it at
    # its smallest configuration (D=1, S=32)
    expected = n_params("vANN", 4, 64) / n_params("dANN-LRF", 1, 32)
    assert acc.loc["dANN-LRF", "value"] == pytest.approx(expected)
    assert acc.loc["dANN-LRF", "verdict"] == "reproduced"
    sub = a[a["claim"].str.contains("10x")]
    assert len(sub) == 2 and (sub["paper_value"] == 10).all()
    assert (sub["verdict"] == np.where(sub["value"] > 10, "reproduced", "not reproduced")).all()


def test_claim_a_without_vann_is_not_run():
    df = make_summary(seeds=(0, 1), models=["dANN-R", "dANN-LRF"], experiments=("main",), datasets=("fmnist",),
                      diverged=False)
    a = rep.claim_a(df)
    assert (a["verdict"] == "not run").all()


def test_claim_b_vann_loss_rising_is_reproduced(summary):
    b = rep.claim_b(summary)
    v = b[(b["model"] == "vANN") & (b["dataset"] == "fmnist")].iloc[0]
    assert v["value"] > 0 and v["verdict"] == "reproduced"
    d = b[(b["model"] == "dANN-LRF") & (b["dataset"] == "fmnist")].iloc[0]
    assert d["value"] < 0 and d["verdict"] == "reproduced"
    assert "p = " in v["detail"] and "configurations" in v["detail"]


def test_claim_b_vann_loss_falling_is_not_reproduced():
    df = make_summary(seeds=(0, 1), dendrites=(1, 2, 4), somata=(32, 64), models=SMALL, experiments=("main",),
                      datasets=("fmnist",), vann_overfits=False)
    b = rep.claim_b(df)
    v = b[b["model"] == "vANN"].iloc[0]
    assert v["value"] < 0 and v["verdict"] == "not reproduced"


def test_claim_b_too_few_configurations():
    df = make_summary(seeds=(0, 1), dendrites=(1, 2), somata=(32,), models=SMALL, experiments=("main",),
                      datasets=("fmnist",))
    b = rep.claim_b(df)
    assert (b["verdict"] == "not reproduced").all() and b["value"].isna().all()
    assert b["detail"].str.contains("too few").all()


def node_table(dann_sel: int, vann_sel: int) -> pd.DataFrame:
    rows = []
    for m in SMALL:
        sel = vann_sel if m == "vANN" else dann_sel
        for layer in ("dendrites1", "somata1"):
            for j in range(10):
                active = j < 8  # two never-active nodes per layer (NaN selectivity) are ignored
                rows.append(dict(dataset="fmnist", model=m, layer=layer, node=j, active=active,
                                 entropy=1.0 if active else np.nan,
                                 selectivity=(sel if j < 6 else 1 + (sel == 1)) if active else np.nan))
    return pd.DataFrame(rows)


def test_claim_c_selectivity():
    c = rep.claim_c(node_table(dann_sel=4, vann_sel=1)).set_index("model")
    assert c.loc["dANN-LRF", "verdict"] == "reproduced"
    assert c.loc["dANN-LRF", "value"] == pytest.approx(12 / 16)  # 6 of 8 active per layer: SI = 4
    assert c.loc["vANN", "verdict"] == "reproduced"
    assert c.loc["vANN", "value"] == pytest.approx(12 / 16)  # 6 of 8 active per layer: SI = 1
    assert "16 of 20 nodes active" in c.loc["vANN", "detail"]
    flipped = rep.claim_c(node_table(dann_sel=1, vann_sel=3)).set_index("model")
    assert (flipped["verdict"] == "not reproduced").all()
    assert (rep.claim_c(None)["verdict"] == "not run").all()


def test_claim_d_noise_and_sequential(summary):
    d = rep.claim_d(summary)
    assert len(d) == 2 * 2 + 2  # two σ x (accuracy, loss efficiency) + sequential accuracy, loss
    assert (d["verdict"] == "reproduced").all()  # dANN-LRF is the best model in the synthetic data
    seq = d[d["quantity"].str.startswith("sequential")]
    assert seq["detail"].str.contains("pdANN").all()  # reported, not ranked (not in Table 2)


def test_claim_d_not_run_without_experiments(summary):
    d = rep.claim_d(summary[summary["experiment"] == "main"])
    assert (d["verdict"] == "not run").all() and len(d) == 2


def test_claim_d_other_model_best_is_not_reproduced(summary):
    df = summary.copy()
    df.loc[(df["experiment"] == "sequential") & (df["model"] == "dANN-GRF"), "test_acc"] += 0.2
    d = rep.claim_d(df)
    acc = d[d["quantity"].str.contains("sequential: test accuracy")].iloc[0]
    assert acc["verdict"] == "not reproduced" and "dANN-GRF" in acc["detail"]


def test_overall_verdicts():
    assert rep.overall(["reproduced", "not run"]) == "reproduced"
    assert rep.overall(["reproduced", "not reproduced"]) == "not reproduced"
    assert rep.overall(["not run", "not run"]) == "not run"


# --------------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------------
def test_report_reduced_configuration(summary, tmp_path):
    cfg = config(main=dict(datasets=["fmnist", "mnist"], models=SMALL, dendrites=[1, 2, 4], somata=[32, 64]))
    md, frame = rep.build_report(summary, cfg)
    assert "This is a reduced configuration" in md and "3 seeds instead of 5" in md
    assert "## Table 1" in md and "## Table 2" in md and "## Verdicts at a glance" in md
    assert list(frame.columns) == rep.CSV_COLUMNS
    overall = frame[(frame["section"] == "claim") & (frame["model"] == "all")].set_index("claim")["verdict"]
    assert overall["b"] == "reproduced" and overall["c"] == "not run"
    assert set(frame["verdict"]) <= {"compared", "reproduced", "not reproduced", "not run"}
    # every claim verdict other than "not run" comes with its number
    checks = frame[(frame["section"] == "claim") & (frame["model"] != "all")]
    decided = checks[checks["verdict"] != "not run"]
    assert (decided["value"].notna() | decided["detail"].str.contains("never matched|too few")).all()


def test_report_full_design_and_files(summary, tmp_path):
    cfg = load_config(ROOT / "config.yaml")
    md, _ = rep.build_report(summary, cfg)
    assert "paper's full design" in md
    path = tmp_path / "summary.csv"
    summary.to_csv(path, index=False)
    nodes = tmp_path / "node_stats.csv"
    node_table(4, 1).to_csv(nodes, index=False)
    frame = rep.write_reproduction(path, tmp_path / "r.md", tmp_path / "r.csv", cfg, nodes)
    assert (tmp_path / "r.md").read_text().startswith("# Reproduction report")
    back = pd.read_csv(tmp_path / "r.csv")
    assert len(back) == len(frame)
    c = back[(back["claim"] == "c") & (back["model"] == "all")]["verdict"].item()
    assert c == "reproduced"
