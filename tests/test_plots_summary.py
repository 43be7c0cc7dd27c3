"""The figures computed from results/summary.csv (Fig. 3, 4, 7; Suppl. Figs 3-6, 8-10) on a small
synthetic summary frame with one diverged run: each writes a non-empty PNG and PDF."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dendritic import trials as tr
from dendritic.datasets import save_prepared
from dendritic.plots import efficiency as eff
from dendritic.plots import experiments as exp
from dendritic.plots import fig7
from dendritic.wiring import MODEL_NAMES

ALL_MODELS = list(MODEL_NAMES)  # the paper's twelve models (pinned in test_models.py)
FIG2 = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"]
#: the models of the shared synthetic summary: two (dANN-X, vANN-X) and two (dANN-X, sANN-X) pairs
SMALL = ["dANN-R", "dANN-LRF", "pdANN", "vANN", "vANN-LRF", "sANN-LRF", "psANN"]
#: quality of each model in the synthetic data (higher = better)
QUALITY = {
    "dANN-R": 0.80,
    "dANN-LRF": 0.86,
    "dANN-GRF": 0.84,
    "pdANN": 0.83,
    "vANN": 0.78,
    "vANN-R": 0.76,
    "vANN-LRF": 0.80,
    "vANN-GRF": 0.79,
    "sANN": 0.77,
    "sANN-LRF": 0.82,
    "sANN-GRF": 0.81,
    "psANN": 0.80,
}


def n_params(model: str, D: int, S: int, N: int = 784, C: int = 10, L: int = 1) -> int:
    """The paper's parameter formulas (spec §1), L = 1 (deeper: one more pair per layer, roughly)."""
    k = 16
    first = N if model in ("vANN", "pdANN", "psANN") else k
    dense = model.startswith("vANN")
    body = (first + 1) * D * S + ((D * S + 1) * S if dense else (D + 1) * S)
    extra = (L - 1) * ((k + 1) * D * S + (D + 1) * S)
    return int(body + extra + (S + 1) * C)


def make_summary(
    seeds=(0, 1, 2),
    dendrites=(1, 2, 4),
    somata=(32, 64),
    datasets=("fmnist", "mnist"),
    models=ALL_MODELS,
    experiments=("main", "dropout", "learning_rate", "early_stopping", "depth", "noise", "sequential"),
    vann_overfits: bool = True,
    diverged: bool = True,
) -> pd.DataFrame:
    """A summary.csv-like frame. Accuracy grows with log(parameters) and with each model's quality;
    vANN's loss grows with size (when ``vann_overfits``), every other model's loss falls."""
    rng = np.random.default_rng(0)
    rows = []

    def add(
        experiment,
        dataset,
        model,
        D,
        S,
        seed,
        L=1,
        dropout=0.0,
        lr=1e-3,
        sigma=0.0,
        epochs=3,
        max_epochs=3,
        sequential=False,
        patience=None,
        penalty=0.0,
    ):
        p = n_params(model, D, S, L=L)
        size = np.log10(p)
        acc = QUALITY[model] - penalty + 0.02 * size + rng.normal(0, 0.003)
        slope = 0.08 if (model == "vANN" and vann_overfits) else -0.04
        loss = 0.5 - (QUALITY[model] - 0.8) + slope * size + penalty + rng.normal(0, 0.003)
        label = f"{model}-{dropout:g}" if dropout else model
        rows.append(
            dict(
                experiment=experiment,
                dataset=dataset,
                model=model,
                label=label,
                dendrites=D,
                somata=S,
                layers=L,
                dropout=dropout,
                lr=lr,
                sigma=sigma,
                seed=seed,
                n_params=p,
                test_loss=loss,
                test_acc=min(acc, 0.99),
                epoch_min_val_loss=int(rng.integers(0, epochs)),
                epochs=epochs,
                max_epochs=max_epochs,
                wall_s=1.0,
                diverged=False,
                sequential=sequential,
                patience=patience,
                cell=f"D{D}_S{S}",
            )
        )

    fig2 = [m for m in FIG2 if m in models]
    grid = [(D, S) for D in dendrites for S in somata]
    for seed in seeds:
        for D, S in grid:
            if "main" in experiments:
                for d in datasets:
                    for m in models:
                        add("main", d, m, D, S, seed)
            if "dropout" in experiments:
                for p in (0.2, 0.5):
                    add("dropout", "fmnist", "vANN", D, S, seed, dropout=p, penalty=p / 10)
            if "learning_rate" in experiments:
                for lr in (0.01, 0.0001):
                    for m in models:
                        add("learning_rate", "fmnist", m, D, S, seed, lr=lr, penalty=0.05)
            if "early_stopping" in experiments:
                for m in fig2:
                    add(
                        "early_stopping",
                        "fmnist",
                        m,
                        D,
                        S,
                        seed,
                        epochs=int(rng.integers(3, 8)),
                        max_epochs=10,
                        patience=2,
                    )
            if "noise" in experiments:
                for sg in (0.5, 1.0):
                    for m in fig2:
                        add("noise", "fmnist", m, D, S, seed, sigma=sg, penalty=sg / 5)
            if "sequential" in experiments:
                for m in fig2:
                    add(
                        "sequential",
                        "fmnist",
                        m,
                        D,
                        S,
                        seed,
                        epochs=4,
                        max_epochs=4,
                        sequential=True,
                        penalty=0.4 if m != "vANN" else 0.55,
                    )
        if "depth" in experiments:
            for L in (2, 3):
                for m in fig2:
                    add("depth", "fmnist", m, dendrites[-1], somata[-1], seed, L=L)
    df = pd.DataFrame(rows)
    if diverged:
        i = df.index[(df["experiment"] == "main") & (df["model"] == "vANN")][0]
        df.loc[i, ["test_loss", "test_acc", "diverged"]] = [np.nan, 0.1, True]
    return df


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return make_summary(seeds=(0, 1), dendrites=(1, 4), somata=(32, 64), models=SMALL)


@pytest.fixture(autouse=True)
def fast_rendering(monkeypatch):
    """Figures at a low resolution: the tests check that they are written, not how they look."""
    from dendritic.plots import style

    orig = style.setup

    def setup():
        orig()
        import matplotlib.pyplot as plt

        plt.rcParams["savefig.dpi"] = 50

    monkeypatch.setattr(style, "setup", setup)


def outputs(tmp_path, name):
    return [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"]


def spy_texts(monkeypatch) -> list[str]:
    """Collect every Figure.text string (the diverged-runs note is one)."""
    import matplotlib.figure

    notes: list[str] = []
    orig = matplotlib.figure.Figure.text

    def spy(self, x, y, s, *a, **k):
        notes.append(s)
        return orig(self, x, y, s, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "text", spy)
    return notes


def check_written(paths):
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000, p


def synthetic_prepared_file(tmp_path, n_train=300, n_test=60):
    g = torch.Generator().manual_seed(0)
    meta = dict(
        name="fmnist",
        title="Synthetic",
        image_shape=[1, 28, 28],
        n_classes=10,
        class_names=[f"class {c}" for c in range(10)],
        n_train=n_train,
        n_test=n_test,
        sources={},
    )
    data = dict(
        x_train=torch.randint(0, 256, (n_train, 1, 28, 28), generator=g, dtype=torch.uint8),
        y_train=torch.arange(n_train) % 10,
        x_test=torch.randint(0, 256, (n_test, 1, 28, 28), generator=g, dtype=torch.uint8),
        y_test=torch.arange(n_test) % 10,
        meta=meta,
    )
    path = tmp_path / "fmnist.pt"
    save_prepared(path, data, data.pop("meta"))  # with its checksums, as prepare writes it
    return path


def test_fig3(summary, tmp_path, monkeypatch):
    notes = spy_texts(monkeypatch)
    paths = outputs(tmp_path, "fig3")
    tables = eff.plot_fig3(summary, paths)
    check_written(paths)
    # the diverged vANN run is counted in the figure's note and left out of the means
    assert any("Diverged runs" in n and "vANN: 1" in n for n in notes)
    best = tables["best_acc"]
    row = best[(best["model"] == "vANN") & (best["dataset"] == "fmnist")]
    assert row["test_acc_mean"].item() > 0.5  # the diverged run (acc 0.1) did not enter the mean
    # both efficiencies on the best-accuracy rows: the loss bar is at the same configuration
    assert set(best.columns) >= {"acc_eff_mean", "acc_eff_std", "loss_eff_mean", "loss_eff_std"}
    assert len(best) == best[["dataset", "model"]].drop_duplicates().shape[0]
    m = tables["match_acc"]
    assert set(m["dataset"]) == {"fmnist", "mnist"}
    # vANN is the reference; the dANNs in the synthetic data all beat it
    assert (m.loc[m["model"] == "vANN", "status"] == "reference").all()
    assert (m.loc[m["model"] == "dANN-LRF", "status"] == "matched").all()


def test_fig3_never_matched_is_drawn(tmp_path):
    df = make_summary(experiments=("main",), datasets=("fmnist",), models=["dANN-R", "vANN"], seeds=(0, 1))
    df.loc[df["model"] == "dANN-R", "test_acc"] -= 0.3  # dANN-R can never reach vANN's accuracy
    tables = eff.plot_fig3(df, outputs(tmp_path, "fig3"))
    m = tables["match_acc"]
    assert m.loc[m["model"] == "dANN-R", "status"].item() == "never matched"
    check_written(outputs(tmp_path, "fig3"))


def test_fig4(summary, tmp_path):
    paths = outputs(tmp_path, "fig4")
    tables = eff.plot_fig4(summary, paths, datasets=["fmnist"])
    check_written(paths)
    d = tables["delta"]
    assert set(d["dataset"]) == {"fmnist"}
    assert set(d["sampling"]) == {"LRF", "F"}
    # dANN-LRF is better than vANN-LRF in the synthetic data: positive accuracy-efficiency gain
    lrf = d[(d["sampling"] == "LRF") & (d["metric"] == "test_acc")]
    assert (lrf["delta"] > 0).all()
    assert (d["n"] == 2).all() and d["sd"].notna().all()  # paired trials, 1 SD


def test_fig4_delta_is_trial_by_trial_on_best_accuracy_rows():
    df = make_summary(
        experiments=("main",),
        datasets=("fmnist",),
        seeds=(0, 1, 2),
        models=["dANN-LRF", "vANN-LRF"],
        dendrites=(1, 2),
        somata=(32,),
        diverged=False,
    )
    d = tr.efficiency_deltas(df, [("LRF", "dANN-LRF", "vANN-LRF")])
    e = tr.efficiency(tr.best_accuracy_runs(df))
    a = e[e["model"] == "dANN-LRF"].set_index("seed")
    b = e[e["model"] == "vANN-LRF"].set_index("seed")
    for metric, col in (("test_acc", "acc_eff"), ("test_loss", "loss_eff")):
        diff = a[col] - b[col]
        r = d[d["metric"] == metric].iloc[0]
        assert r["delta"] == pytest.approx(diff.mean()) and r["sd"] == pytest.approx(diff.std(ddof=1))
    # f normalised over these 6 rows only: the smallest f among them is exactly 1
    assert e["f_norm"].min() == pytest.approx(1.0)


def test_fig4_needs_a_pair(tmp_path):
    df = make_summary(experiments=("main",), models=["dANN-R", "vANN"], seeds=(0, 1))
    with pytest.raises(ValueError):
        eff.plot_fig4(df, outputs(tmp_path, "fig4"))


def test_fig7_with_examples(summary, tmp_path, monkeypatch):
    notes = spy_texts(monkeypatch)
    paths = outputs(tmp_path, "fig7")
    tables = fig7.plot_fig7(summary, paths, prepared=synthetic_prepared_file(tmp_path))
    check_written(paths)
    n = tables["noise"]
    assert sorted(n["sigma"].unique()) == [0.0, 0.5, 1.0]  # σ = 0 from the main experiment
    # the paper's Fig. 7 models only (pdANN is run, but the paper does not compare it)
    assert set(tables["sequential"]["model"]) == {"dANN-R", "dANN-LRF", "vANN"}
    hidden = [n for n in notes if n.startswith("Run but not shown")]
    assert len(hidden) == 1 and hidden[0].endswith("): pdANN.")
    # one network per model at every σ: the one selected from the clean main runs
    sel = tables["selected"].set_index("model")
    for m, g in n.groupby("model"):
        assert len(g) == 3
        assert (g["dendrites"] == sel.loc[m, "dendrites"]).all() and (g["somata"] == sel.loc[m, "somata"]).all()


def test_fig7_uses_the_clean_selection_not_a_new_best(tmp_path):
    """A noise/sequential network that is better than the selected one is never picked."""
    df = make_summary(
        experiments=("main", "noise", "sequential"),
        datasets=("fmnist",),
        seeds=(0, 1, 2),
        models=["dANN-LRF", "vANN"],
        dendrites=(1, 2, 4),
        somata=(32, 64),
    )
    big = (df["model"] == "dANN-LRF") & (df["dendrites"] == 4) & (df["somata"] == 64)
    df.loc[big & df["experiment"].isin(["noise", "sequential"]), "test_acc"] = 0.99
    tables = fig7.plot_fig7(df, outputs(tmp_path, "fig7"))
    sel = tables["selected"].set_index("model")
    # dANN-LRF beats vANN's best at its smallest network in the synthetic data: that is its network
    assert (sel.loc["dANN-LRF", "dendrites"], sel.loc["dANN-LRF", "somata"]) == (1, 32)
    assert sel.loc["dANN-LRF", "reason"] == "matched vANN"
    for key in ("noise", "sequential"):
        t = tables[key]
        lrf = t[t["model"] == "dANN-LRF"]
        assert (lrf["dendrites"] == 1).all() and (lrf["test_acc_mean"] < 0.99).all(), key
    best = fig7.plot_fig7(df, outputs(tmp_path, "fig7b"), selection="best")["noise"]
    assert (best.loc[best["model"] == "dANN-LRF", "dendrites"] == 4).all()


def test_fig7_missing_selected_cells_are_named(tmp_path, monkeypatch):
    notes = spy_texts(monkeypatch)
    df = make_summary(
        experiments=("main", "noise"),
        datasets=("fmnist",),
        seeds=(0, 1),
        models=["dANN-LRF", "vANN"],
        dendrites=(1, 4),
        somata=(32, 64),
        diverged=False,
    )
    # the noise experiment ran at D=4, S=64 only; dANN-LRF's selected network is D=1, S=32
    df = df[(df["experiment"] == "main") | ((df["dendrites"] == 4) & (df["somata"] == 64))]
    tables = fig7.plot_fig7(df, outputs(tmp_path, "fig7"))
    check_written(outputs(tmp_path, "fig7"))
    miss = tables["missing_noise"]
    assert set(miss["model"]) == {"dANN-LRF"} and sorted(miss["sigma"]) == [0.5, 1.0]
    assert any("dANN-LRF D=1, S=32 (σ 0.5, 1)" in n and "experiments.noise" in n for n in notes)
    n = tables["noise"]
    assert list(n.loc[n["model"] == "dANN-LRF", "sigma"]) == [0.0]  # its clean runs only
    assert sorted(n.loc[n["model"] == "vANN", "sigma"]) == [0.0, 0.5, 1.0]


def test_noisy_examples_follow_training_recipe(tmp_path):
    from dendritic.config import Cell
    from dendritic.datasets import load_prepared
    from dendritic.training import run_data, to_float

    prep = load_prepared(synthetic_prepared_file(tmp_path))
    imgs, labels, sigmas = fig7.noisy_examples(prep, [0.0, 0.5], n_images=2, seed=3)
    assert imgs.shape == (2, 2, 1, 28, 28) and labels == [0, 9]
    assert imgs.min() >= 0 and imgs.max() <= 1
    cell = Cell(
        experiment="noise",
        dataset="fmnist",
        model="vANN",
        dendrites=1,
        somata=1,
        epochs=1,
        lr=1e-3,
        sigma=0.5,
        seeds=(3,),
    )
    dev = torch.device("cpu")
    data = run_data(to_float(prep.x_train, dev), prep.y_train, to_float(prep.x_test, dev), prep.y_test, cell, 3)
    np.testing.assert_allclose(imgs[1, 1].ravel(), data.x_test[9].numpy())  # first test image of class 9
    np.testing.assert_allclose(imgs[0, 0].ravel(), prep.x_test[0].float().ravel().numpy() / 255)


def test_fig7_sequential_only(tmp_path):
    df = make_summary(
        experiments=("main", "sequential"),
        datasets=("fmnist",),
        models=["dANN-LRF", "vANN"],
        seeds=(0, 1),
        dendrites=(1, 2),
        somata=(32,),
    )
    tables = fig7.plot_fig7(df, outputs(tmp_path, "fig7"))
    assert tables["noise"].empty and not tables["sequential"].empty
    check_written(outputs(tmp_path, "fig7"))


def test_suppl_fig3(summary, tmp_path):
    agg = exp.plot_datasets(summary, outputs(tmp_path, "s3"), FIG2)
    assert set(agg["dataset"]) == {"mnist"}
    check_written(outputs(tmp_path, "s3"))


def test_suppl_fig4_dropout(summary, tmp_path):
    agg = exp.plot_dropout(summary, outputs(tmp_path, "s4"), FIG2)
    assert {"vANN-0.2", "vANN-0.5", "vANN", "dANN-LRF"} <= set(agg["label"])
    check_written(outputs(tmp_path, "s4"))


def test_suppl_fig5_learning_rates(summary, tmp_path):
    agg = exp.plot_learning_rates(summary, outputs(tmp_path, "s5"), FIG2)
    assert sorted(agg["lr"].unique()) == [0.0001, 0.001, 0.01]
    check_written(outputs(tmp_path, "s5"))


def test_suppl_fig6_early_stopping(summary, tmp_path):
    agg = exp.plot_early_stopping(summary, outputs(tmp_path, "s6"))
    assert "epochs_run_mean" in agg
    check_written(outputs(tmp_path, "s6"))


def test_suppl_fig8_depth(summary, tmp_path):
    agg = exp.plot_depth(summary, outputs(tmp_path, "s8"))
    assert sorted(agg["layers"].unique()) == [1, 2, 3]  # L = 1 from the main experiment
    check_written(outputs(tmp_path, "s8"))


def test_suppl_fig9_and_10(summary, tmp_path):
    a = exp.plot_sampling_pairs(summary, outputs(tmp_path, "s9"))
    b = exp.plot_sparse_pairs(summary, outputs(tmp_path, "s10"))
    assert {"vANN-LRF", "pdANN"} <= set(a["model"]) and {"sANN-LRF", "psANN"} <= set(b["model"])
    check_written(outputs(tmp_path, "s9"))
    check_written(outputs(tmp_path, "s10"))
