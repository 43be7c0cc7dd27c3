"""dendritic.best_models and dendritic.test_noise on real (tiny) trained networks: a synthetic dataset, two
models trained for
two epochs and saved as the workflow saves them, then analysed and tested under noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import synthetic_prepared

from dendritic import best_models as ev
from dendritic import test_noise as tn
from dendritic.cells import load_run, save_cell, train_cell
from dendritic.config import Cell
from dendritic.summary import collect
from dendritic.training import evaluate, to_float

C = 10
SHAPE = (1, 20, 20)
#: (model, D, S) of the trained toy cells; dANN-R gets two sizes so that "best" means something.
CELLS = [("dANN-R", 1, 8), ("dANN-R", 2, 16), ("vANN", 1, 16)]
SEEDS = (0, 1)
TSNE = dict(n_images=80, perplexity=10, n_neighbors=5, tsne_kwargs={"max_iter": 250}, repeats=2)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Prepared toy data, a runs folder with three trained cells, and their summary."""
    root = tmp_path_factory.mktemp("runs")
    data = synthetic_prepared(n_train=900, n_test=300, shape=SHAPE, n_classes=C)
    paths = {}
    for model, d, s in CELLS:
        cell = Cell(
            experiment="main", dataset="toy", model=model, dendrites=d, somata=s, epochs=2, lr=3e-3, seeds=SEEDS
        )
        out = root / "main" / "toy" / model / cell.id
        save_cell(out, cell, train_cell(cell, data, "cpu"))
        paths[f"{model}/{cell.id}"] = out / "weights.pt"
    summary = collect(sorted(root.glob("*/*/*/*/metrics.csv")))
    return data, root, paths, summary


def test_layer_names():
    assert ev.hidden_layer_names(1) == ["dendrites", "somata"]
    assert ev.hidden_layer_names(2) == ["dendrites", "somata", "dendrites_2", "somata_2"]
    assert ev.weight_layer_names(1) == ["dendrites", "somata", "output"]


def test_best_cells_picks_the_highest_mean_accuracy(toy):
    _, _, _, summary = toy
    best = ev.best_cells(summary, "toy", selection="best")
    assert (best["reason"] == "best (selection: best)").all()
    assert sorted(best["model"]) == ["dANN-R", "vANN"]
    means = summary.groupby(["model", "cell"])["test_acc"].mean()
    for row in best.itertuples():
        assert row.test_acc_mean == pytest.approx(means[row.model].max())
        assert row.cell == means[row.model].idxmax()
        assert row.seeds == "0 1"
    assert ev.best_cells(summary, "other").empty
    assert list(ev.best_cells(summary, "toy", models=["vANN"])["model"]) == ["vANN"]


def _hand_summary(acc: dict, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Main-experiment rows: ``acc[(model, D, S)]`` = the mean test accuracy (± 0.001 over seeds)."""
    rows = []
    for (m, d, s), a in acc.items():
        for i, seed in enumerate(seeds):
            rows.append(
                dict(
                    experiment="main",
                    dataset="toy",
                    model=m,
                    dendrites=d,
                    somata=s,
                    layers=1,
                    dropout=0.0,
                    lr=1e-3,
                    sigma=0.0,
                    seed=seed,
                    n_params=100 * d * s,
                    test_acc=a + 0.001 * (i - 1),
                    test_loss=1 - a,
                    epoch_min_val_loss=2,
                    diverged=False,
                    cell=f"D{d}_S{s}",
                )
            )
    return pd.DataFrame(rows)


def test_best_cells_paper_selection_names_the_network_and_why():
    summary = _hand_summary(
        {
            ("vANN", 1, 8): 0.80,
            ("vANN", 2, 8): 0.85,  # vANN's best: 0.85 at D=2, S=8
            ("dANN-R", 1, 8): 0.84,
            ("dANN-R", 1, 16): 0.86,  # first above 0.85: D=1, S=16 ...
            ("dANN-R", 2, 16): 0.90,  # ... although D=2, S=16 is its best
            ("dANN-LRF", 1, 8): 0.70,
            ("dANN-LRF", 2, 8): 0.75,  # never above 0.85
        }
    )
    paper = ev.best_cells(summary, "toy").set_index("model")
    assert (paper.loc["dANN-R", "cell"], paper.loc["dANN-R", "reason"]) == ("D1_S16", "matched vANN")
    assert (paper.loc["dANN-LRF", "cell"], paper.loc["dANN-LRF", "reason"]) == ("D2_S8", "fell back to best")
    assert (paper.loc["vANN", "cell"], paper.loc["vANN", "reason"]) == ("D2_S8", "best accuracy (vANN)")
    assert paper.loc["dANN-R", "seeds"] == "0 1 2" and (paper["selection"] == "paper").all()
    best = ev.best_cells(summary, "toy", selection="best").set_index("model")
    assert best.loc["dANN-R", "cell"] == "D2_S16"  # the two rules differ here
    # one model asked for: vANN's runs are still the reference
    only = ev.best_cells(summary, "toy", models=["dANN-R"])
    assert list(only["cell"]) == ["D1_S16"]
    with pytest.raises(ValueError, match="analysis.selection"):
        ev.best_cells(summary, "toy", selection="match")


def test_best_cells_leaves_diverged_seeds_out(toy):
    _, _, _, summary = toy
    s = summary.copy()
    s.loc[(s["model"] == "vANN") & (s["seed"] == 0), "diverged"] = True
    row = ev.best_cells(s, "toy", models=["vANN"]).iloc[0]
    assert row.seeds == "1" and row.n == 1


def test_hidden_activations_match_model_hidden(toy):
    data, _, paths, _ = toy
    model = load_run(paths["dANN-R/D2_S16"], 0, SHAPE, C)
    x = to_float(data.x_test, "cpu")
    acts = ev.hidden_activations(model, x, batch_size=70)  # several batches
    ref = [h.detach().numpy() for h in model.hidden(x)]
    assert [a.shape for a in acts] == [(300, 32), (300, 16)]
    for a, r in zip(acts, ref):
        np.testing.assert_allclose(a, r, rtol=1e-6, atol=1e-7)
    binary = ev.hidden_activations(model, x, binary=True)
    assert binary[0].dtype == bool and np.array_equal(binary[0], ref[0] > 0)


def test_layer_weights_use_only_existing_connections(toy):
    _, _, paths, _ = toy
    model = load_run(paths["dANN-R/D2_S16"], 1, SHAPE, C)
    layers = ev.layer_weights(model)
    assert list(layers) == ["dendrites", "somata", "output"]
    w, m = layers["dendrites"]
    assert m is not None and m.sum() == 16 * 32  # 16 inputs per dendrite
    assert np.count_nonzero(w[~m]) == 0
    stats, hists = ev.weight_tables(model, bins=20)
    assert list(stats["layer"]) == ["dendrites", "somata", "output"]
    assert stats.set_index("layer").loc["dendrites", "n"] == 16 * 32
    assert stats.set_index("layer").loc["somata", "n"] == 32  # structured: D weights per soma
    counts = hists.groupby("layer")["count"].sum()
    assert counts.to_dict() == stats.set_index("layer")["n"].to_dict()


def test_node_table_columns_and_ranges(toy):
    data, _, paths, _ = toy
    model = load_run(paths["vANN/D1_S16"], 0, SHAPE, C)
    nodes = ev.node_table(model, to_float(data.x_test, "cpu"), data.y_test, C, threshold=0.4)
    assert {"layer", "node", "active", "entropy", "selectivity", "sparsity"} <= set(nodes.columns)
    assert nodes.groupby("layer").size().to_dict() == {"dendrites": 16, "somata": 16}
    act = nodes["active"].astype(bool)
    assert nodes.loc[act, "entropy"].between(0, math.log2(C + 1) + 1e-9).all()
    assert nodes.loc[act, "selectivity"].between(0, C).all()
    assert (nodes.loc[act, "selectivity"] % 1 == 0).all()
    assert nodes.loc[~act, ["entropy", "selectivity"]].isna().all().all()


def test_analyse_best_models_tables(toy):
    data, root, paths, summary = toy
    out = ev.analyse_best_models(summary, "toy", data, weights=root, threshold=0.4, **TSNE)
    assert set(out) == set(ev.ANALYSIS_TABLES)
    nodes = out["node_stats"]
    for col in ["dataset", "model", "cell", "seed", "layer", "node", "active", "entropy", "selectivity"]:
        assert col in nodes.columns
    best = out["best_cells"].set_index("model")
    assert set(nodes["model"]) == {"dANN-R", "vANN"}
    assert set(nodes["seed"]) == set(SEEDS)  # node statistics: every seed
    assert set(nodes["layer"]) == {"dendrites", "somata"}
    for model, g in nodes.groupby("model"):
        d, s = best.loc[model, "dendrites"], best.loc[model, "somata"]
        assert (g["cell"] == best.loc[model, "cell"]).all()
        assert g.groupby(["seed", "layer"]).size().to_dict() == {
            (seed, layer): n for seed in SEEDS for layer, n in (("dendrites", d * s), ("somata", s))
        }
    assert set(out["weight_stats"]["layer"]) == {"dendrites", "somata", "output"}
    assert set(out["weight_stats"]["seed"]) == set(SEEDS)
    rep = out["representations"]
    # t-SNE: every seed x repeats runs x 2 layers per model (paper: 5 seeds x 10 runs)
    assert len(rep) == 2 * 2 * len(SEEDS) * TSNE["repeats"] and set(rep["seed"]) == set(SEEDS)
    assert rep["silhouette"].between(-1, 1).all()
    assert rep["neighbourhood_hit"].between(0, 1).all()
    assert rep["trustworthiness"].between(0, 1).all()
    tsne = out["tsne"]
    assert len(tsne) == 2 * 2 * TSNE["n_images"]
    assert np.isfinite(tsne[["x", "y"]].to_numpy()).all()
    imgs = tsne.groupby(["model", "layer"])["image"].apply(tuple)
    assert imgs.nunique() == 1  # the same test images for every model and layer
    labels = data.y_test.numpy()[np.array(imgs.iloc[0])]
    assert np.array_equal(tsne.groupby(["model", "layer"])["label"].apply(np.array).iloc[0], labels)


def test_run_best_model_analysis_writes_every_table(toy, tmp_path, monkeypatch):
    data, root, paths, _ = toy
    import dendritic.datasets

    monkeypatch.setattr(dendritic.datasets, "load_prepared", lambda path: data)  # toy data, no file
    summary = tmp_path / "summary.csv"
    collect(sorted(root.glob("*/*/*/*/metrics.csv"))).to_csv(summary, index=False)
    outs = {t: tmp_path / "out" / f"{t}.csv" for t in ev.ANALYSIS_TABLES}
    weights = [str(p) for k, p in paths.items() if k.startswith("dANN-R/")]
    ev.run_best_model_analysis(summary, "toy.pt", "toy", "dANN-R", weights, outs, **TSNE)
    for t, p in outs.items():
        assert len(pd.read_csv(p)) > 0, t
    with pytest.raises(FileNotFoundError, match="selected vANN"):  # its weights are not among the inputs
        ev.run_best_model_analysis(summary, "toy.pt", "toy", "vANN", weights, outs, **TSNE)


def test_tsne_indices_fixed_and_bounded():
    a, b = ev.tsne_indices(1000, 50), ev.tsne_indices(1000, 50)
    assert np.array_equal(a, b) and len(np.unique(a)) == 50 and np.all(np.diff(a) > 0)
    assert len(ev.tsne_indices(30, 50)) == 30


def test_tsne_uses_the_first_test_images():
    """Paper / authors' calculate_embeddings.py: the first 2000 test images, not a random choice."""
    assert np.array_equal(ev.tsne_indices(10_000, 2000), np.arange(2000))


def test_tsne_repeats_every_seed_and_is_reproducible(toy):
    """All seeds x repeats t-SNE runs (their spread is Fig. 6's CI), distinct random states per
    run, the same numbers on a second call; the embedding kept is seed 0's first run."""
    data, _, paths, summary = toy
    row = ev.best_cells(summary, "toy", models=["vANN"]).iloc[0].to_dict()
    kw = dict(n_images=60, perplexity=8, n_neighbors=5, tsne_kwargs={"max_iter": 250}, repeats=3)
    a = ev.analyse_model(row, paths[f"vANN/{row['cell']}"], data, **kw)
    b = ev.analyse_model(row, paths[f"vANN/{row['cell']}"], data, **kw)
    rep = a["representations"]
    assert sorted(set(zip(rep["seed"], rep["repeat"]))) == [(s, r) for s in SEEDS for r in range(3)]
    assert rep["hit_includes_self"].all()
    scores = ["silhouette", "neighbourhood_hit", "trustworthiness"]
    pd.testing.assert_frame_equal(rep, b["representations"])
    runs = rep[rep["layer"] == "somata"].set_index(["seed", "repeat"])["silhouette"]
    assert runs.nunique() > 1, "t-SNE runs of one network should differ (different random states)"
    assert set(a["tsne"]["seed"]) == {SEEDS[0]} and len(a["tsne"]) == 2 * 60
    assert ev.tsne_seed(1, 2) == ev.TSNE_SEED_STRIDE + 2
    # the point itself counted (authors) scores higher than k true neighbours
    c = ev.analyse_model(row, paths[f"vANN/{row['cell']}"], data, **{**kw, "repeats": 1}, include_self=False)
    mine = rep[rep["repeat"] == 0].set_index(["seed", "layer"])["neighbourhood_hit"]
    other = c["representations"].set_index(["seed", "layer"])["neighbourhood_hit"]
    assert (mine > other).all() and not c["representations"]["hit_includes_self"].any()
    assert rep[scores].notna().all().all()


def test_standard_noise_is_fixed_per_seed():
    assert torch.equal(tn.standard_noise((5, 7), 0), tn.standard_noise((5, 7), 0))
    assert not torch.equal(tn.standard_noise((5, 7), 0), tn.standard_noise((5, 7), 1))


@pytest.fixture(scope="module")
def noisy(toy):
    data, _, paths, _ = toy
    sigmas = [0.0, 0.3, 1.0]
    return tn.test_noise_frame(list(paths.values()), data, sigmas), sigmas


def test_test_noise_table(toy, noisy):
    _, _, paths, summary = toy
    df, sigmas = noisy
    assert list(df.columns) == tn.TEST_NOISE_COLUMNS
    assert len(df) == len(CELLS) * len(SEEDS) * len(sigmas)
    assert df["test_acc"].between(0, 1).all()
    # σ = 0 is the clean test set: the run's own test accuracy (to float rounding of the engines)
    clean = df[df["sigma"] == 0].merge(summary, on=["model", "cell", "seed"], suffixes=("", "_run"))
    assert len(clean) == len(CELLS) * len(SEEDS)
    assert np.abs(clean["test_acc"] - clean["test_acc_run"]).max() <= 1 / 300 + 1e-12
    assert (clean["n_params"] == clean["n_params_run"]).all()
    # noise does not help on the toy task, and strong noise hurts
    acc = df.pivot_table(index=["model", "cell", "seed"], columns="sigma", values="test_acc")
    assert (acc[0.3] <= acc[0.0] + 0.05).all() and (acc[1.0] <= acc[0.0] + 0.05).all()
    assert acc[1.0].mean() < acc[0.0].mean() - 0.1


def test_test_noise_engines_agree_and_reference_is_exact(toy, noisy):
    data, _, paths, _ = toy
    fast, sigmas = noisy
    path = paths["dANN-R/D2_S16"]
    ref = tn.test_noise_frame([path], data, sigmas, engine="reference")
    f = fast[fast["cell"] == "D2_S16"].reset_index(drop=True)
    assert (np.abs(f["test_acc"] - ref["test_acc"]) <= 1 / 300 + 1e-12).all()
    np.testing.assert_allclose(f["test_loss"], ref["test_loss"], rtol=1e-4)
    x, y = to_float(data.x_test, "cpu"), data.y_test
    for seed in SEEDS:
        model = load_run(path, seed, SHAPE, C)
        loss, acc = evaluate(model, x, y)
        r = ref[(ref["seed"] == seed) & (ref["sigma"] == 0)].iloc[0]
        assert (r["test_loss"], r["test_acc"]) == (loss, acc)
        noisy = (x + 0.3 * tn.standard_noise(x.shape, seed)).clamp(0, 1)
        assert ref[(ref["seed"] == seed) & (ref["sigma"] == 0.3)]["test_acc"].iloc[0] == evaluate(model, noisy, y)[1]


def test_concat_tables(tmp_path):
    a, b, e = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "e.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(a, index=False)
    pd.DataFrame({"x": [3]}).to_csv(b, index=False)
    pd.DataFrame(columns=["x"]).to_csv(e, index=False)
    out = ev.concat_tables([a, e, b], tmp_path / "sub" / "all.csv")
    assert list(out["x"]) == [1, 2, 3]
    assert list(pd.read_csv(tmp_path / "sub" / "all.csv")["x"]) == [1, 2, 3]
