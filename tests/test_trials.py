"""Tests of dendritic.trials (statistics over runs) on small hand-computable inputs (expected
values written out)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dendritic import trials as tr


# --------------------------------------------------------------------------------------------------
# over trials
# --------------------------------------------------------------------------------------------------
def _row(model, d, s, seed, acc, loss, npar, ep=4, diverged=False, dataset="fmnist"):
    return dict(
        experiment="main",
        dataset=dataset,
        model=model,
        dendrites=d,
        somata=s,
        layers=1,
        dropout=0.0,
        lr=1e-3,
        sigma=0.0,
        seed=seed,
        n_params=npar,
        test_loss=loss,
        test_acc=acc,
        epoch_min_val_loss=ep,
        epochs=25,
        wall_s=1.0,
        diverged=diverged,
    )


def test_aggregate_seeds_ci_and_diverged():
    accs = [0.80, 0.82, 0.87]
    losses = [0.5, 0.4, 0.6]
    rows = [
        _row("dANN-R", 1, 32, i, a, loss, 938, ep=e) for i, (a, loss, e) in enumerate(zip(accs, losses, [3, 5, 10]))
    ]
    # a diverged seed with a wild value that must not enter the means
    rows.append(_row("dANN-R", 1, 32, 3, 0.10, float("nan"), 938, ep=0, diverged=True))
    # a configuration with a single seed, and one where every seed diverged
    rows.append(_row("dANN-R", 2, 32, 0, 0.9, 0.3, 1500))
    rows.append(_row("dANN-R", 4, 32, 0, 0.1, 9.9, 2600, diverged=True))
    agg = tr.aggregate_seeds(pd.DataFrame(rows)).set_index(["dendrites"])
    r = agg.loc[1]
    assert (r["n"], r["n_diverged"], r["n_runs"]) == (3, 1, 4)
    assert r["test_acc_mean"] == pytest.approx(0.83)
    # sample std of (0.80, 0.82, 0.87): deviations -0.03, -0.01, 0.04 -> var = 0.0026/2 = 0.0013
    assert r["test_acc_std"] == pytest.approx(math.sqrt(0.0013))
    t975 = stats.t.ppf(0.975, 2)  # 4.302652729911275
    assert t975 == pytest.approx(4.302652729911275)
    assert r["test_acc_ci95"] == pytest.approx(t975 * math.sqrt(0.0013) / math.sqrt(3))
    assert r["test_loss_mean"] == pytest.approx(0.5)
    assert r["test_loss_std"] == pytest.approx(0.1)
    assert r["test_loss_ci95"] == pytest.approx(t975 * 0.1 / math.sqrt(3))
    assert r["epoch_min_val_loss_mean"] == pytest.approx(6.0)
    assert r["n_params"] == 938
    one = agg.loc[2]
    assert one["n"] == 1 and one["test_acc_mean"] == pytest.approx(0.9)
    assert np.isnan(one["test_acc_std"]) and np.isnan(one["test_acc_ci95"])
    dead = agg.loc[4]
    assert (dead["n"], dead["n_diverged"]) == (0, 1) and np.isnan(dead["test_acc_mean"])


def test_aggregate_seeds_reads_string_diverged_and_rejects_percent():
    rows = [_row("vANN", 1, 32, 0, 0.5, 1.0, 10), _row("vANN", 1, 32, 1, 0.7, 1.0, 10)]
    df = pd.DataFrame(rows)
    df["diverged"] = ["False", "True"]
    agg = tr.aggregate_seeds(df)
    assert agg["n"].iloc[0] == 1 and agg["test_acc_mean"].iloc[0] == pytest.approx(0.5)
    df["test_acc"] = [50.0, 70.0]
    with pytest.raises(ValueError):
        tr.aggregate_seeds(df)


def _synthetic_summary():
    """Two seeds per configuration; means chosen by hand (accuracy, loss, params):

    vANN   D=1 S=32: acc .80 loss .50 params 100000 | D=2 S=32: acc .85 loss .45 params 200000  <- best
    dANN-R D=1 S=32: acc .84 loss .44 params 1000   | D=1 S=64: acc .86 loss .40 params 2000
           D=2 S=32: acc .88 loss .30 params 1500   (first match in D-then-S order is D=1 S=64)
    dANN-LRF D=1 S=32: .70/.90 p 900 | D=2 S=32: .85/.60 p 1400 (equal, not greater: never matched)
           plus a diverged seed at D=4 S=32 with acc .99 (must not produce a match)
    """
    rows = []
    spec = {
        ("vANN", 1, 32): (0.80, 0.50, 100000),
        ("vANN", 2, 32): (0.85, 0.45, 200000),
        ("dANN-R", 1, 32): (0.84, 0.44, 1000),
        ("dANN-R", 1, 64): (0.86, 0.40, 2000),
        ("dANN-R", 2, 32): (0.88, 0.30, 1500),
        ("dANN-LRF", 1, 32): (0.70, 0.90, 900),
        ("dANN-LRF", 2, 32): (0.85, 0.60, 1400),
    }
    for (m, d, s), (acc, loss, p) in spec.items():
        for seed, delta in enumerate((-0.01, 0.01)):
            rows.append(_row(m, d, s, seed, acc + delta, loss + delta, p))
    rows.append(_row("dANN-LRF", 4, 32, 0, 0.99, 0.01, 5000, diverged=True))
    # the same grid rows in another dataset without any vANN: "no reference"
    rows.append(_row("dANN-R", 1, 32, 0, 0.5, 1.0, 1000, dataset="kmnist"))
    return pd.DataFrame(rows)


def test_best_models_synthetic():
    agg = tr.aggregate_seeds(_synthetic_summary())
    best = tr.best_models(agg, "test_acc").set_index(["dataset", "model"])
    assert (best.loc[("fmnist", "vANN"), ["dendrites", "somata"]] == [2, 32]).all()
    assert (best.loc[("fmnist", "dANN-R"), ["dendrites", "somata"]] == [2, 32]).all()
    # the diverged D=4 run (acc .99) is not chosen for dANN-LRF
    assert best.loc[("fmnist", "dANN-LRF"), "dendrites"] == 2
    assert best.loc[("fmnist", "dANN-LRF"), "test_acc_mean"] == pytest.approx(0.85)
    assert best.loc[("fmnist", "vANN"), "test_acc_mean"] == pytest.approx(0.85)
    assert len(best) == 4  # 3 models in fmnist + 1 in kmnist
    bl = tr.best_models(agg, "test_loss").set_index(["dataset", "model"])
    assert bl.loc[("fmnist", "vANN"), "test_loss_mean"] == pytest.approx(0.45)
    assert bl.loc[("fmnist", "dANN-R"), "dendrites"] == 2
    with pytest.raises(ValueError):
        tr.best_models(agg, "accuracy")


def test_match_vann_synthetic():
    agg = tr.aggregate_seeds(_synthetic_summary())
    m = tr.match_vann(agg, "test_acc").set_index(["dataset", "model"])
    r = m.loc[("fmnist", "dANN-R")]
    assert r["status"] == "matched" and bool(r["matched"])
    # vANN best = .85 (D=2, S=32, 200000 params); D=1 S=32 (.84) fails, D=1 S=64 (.86) is the first
    assert (r["dendrites"], r["somata"], r["n_params"]) == (1, 64, 2000)
    assert r["ref_value"] == pytest.approx(0.85)
    assert (r["ref_dendrites"], r["ref_somata"], r["ref_n_params"]) == (2, 32, 200000)
    assert r["param_ratio"] == pytest.approx(0.01) and r["fold_fewer"] == pytest.approx(100.0)
    lrf = m.loc[("fmnist", "dANN-LRF")]
    assert lrf["status"] == "never matched" and not lrf["matched"]
    assert pd.isna(lrf["n_params"]) and np.isnan(lrf["param_ratio"])
    assert m.loc[("fmnist", "vANN"), "status"] == "reference"
    assert m.loc[("kmnist", "dANN-R"), "status"] == "no reference"
    # loss: vANN min mean loss .45; dANN-R D=1 S=32 (.44 < .45) matches first
    ml = tr.match_vann(agg, "test_loss").set_index(["dataset", "model"])
    assert (ml.loc[("fmnist", "dANN-R"), ["dendrites", "somata", "n_params"]] == [1, 32, 1000]).all()
    assert ml.loc[("fmnist", "dANN-R"), "ref_n_params"] == 200000
    assert ml.loc[("fmnist", "dANN-LRF"), "status"] == "never matched"


def test_match_vann_reference_from_another_frame():
    df = _synthetic_summary()
    main = tr.aggregate_seeds(df)
    drop = df[df["model"] == "vANN"].assign(experiment="dropout", dropout=0.5)
    drop["test_acc"] = drop["test_acc"] + 0.02  # dropout-vANN: .82 and .87
    agg_drop = tr.aggregate_seeds(drop)
    m = tr.match_vann(agg_drop, "test_acc", reference_agg=main, reference_on=["dataset"])
    r = m.set_index("model").loc["vANN"]
    assert r["status"] == "matched"
    assert (r["dendrites"], r["somata"], r["ref_value"]) == (2, 32, pytest.approx(0.85))


def test_efficiency_three_rows_by_hand():
    df = pd.DataFrame(
        [
            _row("dANN-R", 1, 32, 0, 0.80, 0.50, 1000, ep=9),  # f = log10(1000*10) = 4
            _row("vANN", 1, 32, 0, 0.90, 0.30, 100000, ep=0),  # f = log10(100000*1) = 5
            _row("pdANN", 1, 32, 0, 0.60, 0.40, 10000, ep=99),  # f = log10(10000*100) = 6
        ]
    )
    out = tr.efficiency(df)
    np.testing.assert_allclose(out["f"], [4.0, 5.0, 6.0])
    np.testing.assert_allclose(out["f_norm"], [1.0, 1.25, 1.5])
    # acc_eff = acc / f_norm: .8/1 = .8, .9/1.25 = .72, .6/1.5 = .4
    np.testing.assert_allclose(out["acc_eff"], [0.8, 0.72, 0.4])
    # loss_eff = loss * f_norm: .5, .375, .6
    np.testing.assert_allclose(out["loss_eff"], [0.5, 0.375, 0.6])
    # original columns kept, input not modified
    assert "f" not in df.columns and list(out["model"]) == ["dANN-R", "vANN", "pdANN"]


def test_efficiency_groups_and_diverged():
    rows = [
        _row("dANN-R", 1, 32, 0, 0.80, 0.50, 1000, ep=9),  # f = 4
        _row("vANN", 1, 32, 0, 0.90, 0.30, 100000, ep=0),  # f = 5
        _row("vANN", 1, 32, 1, 0.10, 9.0, 10, ep=0, diverged=True),  # f would be 1: excluded
        _row("vANN", 1, 32, 0, 0.50, 1.0, 100, ep=0, dataset="kmnist"),  # own dataset: f = 2 = min
    ]
    out = tr.efficiency(pd.DataFrame(rows))
    np.testing.assert_allclose(out["f_norm"].iloc[[0, 1, 3]], [1.0, 1.25, 1.0])
    assert np.isnan(out["acc_eff"].iloc[2]) and np.isnan(out["loss_eff"].iloc[2])
    # the same dataset in another experiment is normalised separately by default ...
    rows.append({**_row("dANN-R", 1, 32, 0, 0.5, 0.5, 10, ep=0), "experiment": "noise"})  # f = 1
    out2 = tr.efficiency(pd.DataFrame(rows))
    assert out2["f_norm"].iloc[1] == pytest.approx(1.25)
    # ... and together when grouping by dataset only
    out3 = tr.efficiency(pd.DataFrame(rows), by=("dataset",))
    assert out3["f_norm"].iloc[1] == pytest.approx(5.0)
    with pytest.raises(ValueError):
        tr.efficiency(pd.DataFrame(rows).assign(test_acc=90.0))


def test_spearman():
    rho, p = tr.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert rho == pytest.approx(1.0) and p < 0.05
    rho, _ = tr.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert rho == pytest.approx(-1.0)
    # ranks x: 1..5, y: 1, 3, 2, 5, 4 -> d^2 = 0+1+1+1+1 = 4 -> rho = 1 - 6*4/(5*24) = 0.8
    rho, p = tr.spearman([1, 2, 3, 4, 5, np.nan], [1, 3, 2, 5, 4, 7])
    assert rho == pytest.approx(0.8)
    assert p == pytest.approx(stats.spearmanr([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]).pvalue)
    assert all(np.isnan(tr.spearman([1, 2], [3, 4])))


# --------------------------------------------------------------------------------------------------
# the network each later analysis uses; the rows each efficiency panel plots
# --------------------------------------------------------------------------------------------------
def test_select_networks_paper_rule_differs_from_best():
    sel = tr.select_networks(_synthetic_summary(), "fmnist").set_index("model")
    # dANN-R: vANN's best is .85; D=1 S=64 (.86) is the first above it, D=2 S=32 (.88) its best
    assert (sel.loc["dANN-R", "dendrites"], sel.loc["dANN-R", "somata"]) == (1, 64)
    assert sel.loc["dANN-R", "reason"] == "matched vANN"
    assert sel.loc["dANN-R", "test_acc_mean"] == pytest.approx(0.86)
    assert sel.loc["dANN-R", "ref_test_acc"] == pytest.approx(0.85)
    assert (sel.loc["vANN", "dendrites"], sel.loc["vANN", "reason"]) == (2, "best accuracy (vANN)")
    best = tr.select_networks(_synthetic_summary(), "fmnist", selection="best").set_index("model")
    assert (best.loc["dANN-R", "dendrites"], best.loc["dANN-R", "somata"]) == (2, 32)
    assert (best["reason"] == "best (selection: best)").all() and (best["selection"] == "best").all()
    assert (sel["selection"] == "paper").all()


def test_select_networks_fallback_when_never_matched_or_no_vann():
    sel = tr.select_networks(_synthetic_summary(), "fmnist").set_index("model")
    # dANN-LRF only equals vANN's best (.85, not greater): its best-accuracy configuration, not the
    # diverged D=4 run
    lrf = sel.loc["dANN-LRF"]
    assert (lrf["dendrites"], lrf["somata"], lrf["reason"]) == (2, 32, "fell back to best")
    assert lrf["match_status"] == "never matched" and "no configuration beats" in lrf["note"]
    km = tr.select_networks(_synthetic_summary(), "kmnist").set_index("model").loc["dANN-R"]
    assert km["reason"] == "fell back to best" and km["match_status"] == "no reference"
    assert "no vANN runs" in km["note"]
    # asking for one model keeps vANN as the reference
    only = tr.select_networks(_synthetic_summary(), "fmnist", models=["dANN-R"])
    assert list(only["model"]) == ["dANN-R"] and only["somata"].item() == 64
    assert tr.select_networks(_synthetic_summary(), "cifar10").empty
    with pytest.raises(ValueError, match="analysis.selection"):
        tr.select_networks(_synthetic_summary(), "fmnist", selection="matched")


def test_noise_runs_look_up_the_clean_selection_at_every_sigma():
    df = _synthetic_summary()
    df = df[df["dataset"] == "fmnist"]
    noise = []
    for sigma in (0.5, 1.0):
        for r in df.to_dict("records"):
            # every noise network is worse than in the clean runs, and dANN-R's best is now D=2
            acc = r["test_acc"] - sigma / 10 + (0.1 if (r["model"], r["dendrites"]) == ("dANN-R", 2) else 0)
            noise.append({**r, "experiment": "noise", "sigma": sigma, "test_acc": acc})
    summary = pd.concat([df, pd.DataFrame(noise)], ignore_index=True)
    sel = tr.select_networks(summary, "fmnist")
    runs = tr.noise_runs(summary, "fmnist", sel, models=None)
    r = runs[runs["model"] == "dANN-R"]
    assert set(zip(r["dendrites"], r["somata"])) == {(1, 64)}  # never the noise runs' own best
    assert sorted(r["sigma"].unique()) == [0.0, 0.5, 1.0]  # σ = 0: the clean runs of the same network
    assert (r["experiment"] == "noise").all() and (r["reason"] == "matched vANN").all()
    table = tr.efficiency_table(runs, norm_by=("dataset",))
    assert len(table[table["model"] == "dANN-R"]) == 3
    assert {"acc_eff_std", "loss_eff_std", "test_acc_std"} <= set(table.columns)
    assert tr.missing_cells(runs, sel, "sigma", [0.0, 0.5, 1.0]).empty
    gone = runs[~((runs["model"] == "vANN") & (runs["sigma"] == 1.0))]
    miss = tr.missing_cells(gone, sel, "sigma", [0.0, 0.5, 1.0])
    assert miss[["model", "dendrites", "somata", "sigma"]].values.tolist() == [["vANN", 2, 32, 1.0]]


def test_best_efficiency_normalises_over_the_plotted_best_rows_only():
    df = _synthetic_summary()
    df = df[df["dataset"] == "fmnist"]
    out = tr.best_efficiency(df, models=["dANN-R", "vANN"]).set_index("model")
    # the plotted rows: dANN-R D=2 S=32 (1500 params) and vANN D=2 S=32 (200000), ep 4 everywhere;
    # f_min = log10(1500 * 5): dANN-R's f_norm is exactly 1; dANN-LRF's smaller networks (900
    # params) and dANN-R's non-best ones do not enter
    f_min = np.log10(1500 * 5)
    assert out.loc["dANN-R", "acc_eff_mean"] == pytest.approx(0.88)
    assert out.loc["vANN", "acc_eff_mean"] == pytest.approx(0.85 / (np.log10(200000 * 5) / f_min))
    # loss efficiency on the best-*accuracy* rows: vANN's loss there is .45
    assert out.loc["vANN", "loss_eff_mean"] == pytest.approx(0.45 * np.log10(200000 * 5) / f_min)
    assert out.loc["vANN", "acc_eff_std"] > 0  # 1 SD over the two trials
    # a model added to the panel changes the normalisation set: dANN-LRF's best has 1400 params
    wide = tr.best_efficiency(df, models=["dANN-R", "dANN-LRF", "vANN"]).set_index("model")
    assert wide.loc["dANN-R", "acc_eff_mean"] == pytest.approx(0.88 / (np.log10(1500 * 5) / np.log10(1400 * 5)))
    # every run was the old normalisation set: it would have given dANN-R a lower score
    old = tr.efficiency(df)
    assert old.loc[(old["model"] == "dANN-R") & (old["dendrites"] == 2), "acc_eff"].mean() < 0.88 - 1e-6
