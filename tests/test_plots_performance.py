"""Fig. 2 and Suppl. Fig. 7 (dendritic.plots.performance) on synthetic summaries: what is drawn,
not only that a file is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from test_plots_summary import FIG2, make_summary

from dendritic.plots import performance as perf
from dendritic.plots import style
from dendritic.trials import aggregate_seeds, min_val_epoch_table, vann_best


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    s = make_summary(
        seeds=(0, 1, 2), dendrites=(1, 2, 4), somata=(32, 64, 128), models=FIG2, experiments=("main",), diverged=False
    )
    s.loc[s["dataset"] == "mnist", "max_epochs"] = 15
    return s


@pytest.fixture
def figures(monkeypatch):
    """The figures handed to style.save, still open."""
    caught = []
    orig = style.save

    def save(fig, paths):
        caught.append(fig)
        orig(fig, paths)

    monkeypatch.setattr(style, "save", save)
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "close", lambda *a, **k: None)
    return caught


def _color(line):
    return to_hex(line.get_color())


def test_fig2_lines_cis_and_vann_reference(summary, figures, tmp_path):
    out = [tmp_path / "fig2.png", tmp_path / "fig2.pdf"]
    agg = perf.plot_fig2(summary, out, models=FIG2)
    assert all(p.stat().st_size > 1000 for p in out)
    fig = figures[-1]
    axes = np.array(fig.axes).reshape(2, 3)
    fm = aggregate_seeds(summary[(summary["dataset"] == "fmnist")])
    vann = fm[fm["model"] == "vANN"]
    best_loss = vann.loc[vann["test_loss_mean"].idxmin()]
    best_acc = vann.loc[vann["test_acc_mean"].idxmax()]
    assert vann_best(agg, "test_loss") == pytest.approx((best_loss["test_loss_mean"], best_loss["n_params"]))
    for row, best, scale in [(0, best_loss, 1.0), (1, best_acc, 100.0)]:
        ax = axes[row, 0]
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        xs = {float(ln.get_xdata()[0]) for ln in dashed if ln.get_xdata()[0] == ln.get_xdata()[1]}
        ys = {float(ln.get_ydata()[0]) for ln in dashed if ln.get_ydata()[0] == ln.get_ydata()[1]}
        metric = "test_loss_mean" if row == 0 else "test_acc_mean"
        assert xs == {float(best["n_params"])}, "vertical line at vANN's best configuration's parameters"
        assert len(ys) == 1 and ys.pop() == pytest.approx(best[metric] * scale)
        # one line per model through all its configurations, plus a CI band per model
        model_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
        assert {_color(ln) for ln in model_lines} == {style.model_color(m) for m in FIG2}
        assert all(len(ln.get_xdata()) == 9 for ln in model_lines)
        assert len(ax.collections) == len(FIG2)
        for col in (1, 2):  # vs D: no vANN line, but its best as the dashed reference
            lines = axes[row, col].get_lines()
            assert style.model_color("vANN") not in {_color(ln) for ln in lines if ln.get_linestyle() == "-"}
            assert any(ln.get_linestyle() == "--" for ln in lines)
    assert [ax.get_title() for ax in axes[0, 1:]] == ["S = 64 somata", "S = 128 somata"]


def test_suppl_fig7_best_configurations_of_every_dataset(summary, figures, tmp_path):
    out = [tmp_path / "s7.png", tmp_path / "s7.pdf"]
    runs = perf.plot_min_val_epoch(summary, out, models=FIG2)
    assert all(p.stat().st_size > 1000 for p in out)
    assert set(runs["dataset"]) == {"fmnist", "mnist"}
    for (d, m), g in runs.groupby(["dataset", "model"]):
        agg = aggregate_seeds(summary[(summary["dataset"] == d) & (summary["model"] == m)])
        top = agg.loc[agg["test_acc_mean"].idxmax()]
        assert set(zip(g["dendrites"], g["somata"])) == {(top["dendrites"], top["somata"])}, (d, m)
        assert sorted(g["seed"]) == [0, 1, 2]
    ax = figures[-1].axes[0]
    hlines = {
        float(ln.get_ydata()[0]) for ln in ax.get_lines() if ln.get_linestyle() == "--" and len(ln.get_ydata()) == 2
    }
    assert hlines == {3.0, 15.0}  # each dataset's epoch count (the paper: 15 / 25 / 50)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FMNIST", "MNIST"]
    # 0-based epochs: the authors' num_epochs_min
    assert runs["epoch_min_val_loss"].min() >= 0
    one = perf.plot_min_val_epoch(summary, out, models=FIG2, dataset="mnist")
    assert set(one["dataset"]) == {"mnist"}


def test_suppl_fig7_leaves_diverged_runs_out(summary, tmp_path):
    s = summary.copy()
    i = s.index[(s["dataset"] == "fmnist") & (s["model"] == "dANN-R")]
    s.loc[i, "diverged"] = True
    s.loc[i, ["test_loss", "test_acc"]] = np.nan
    runs = min_val_epoch_table(s, FIG2)
    assert not ((runs["dataset"] == "fmnist") & (runs["model"] == "dANN-R")).any()
    with pytest.raises(ValueError, match="no 'main' runs"):
        min_val_epoch_table(s, ["sANN"])
