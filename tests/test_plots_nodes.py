"""Fig. 5, Fig. 6 and the test-noise figure from small hand-made tables in the analysis formats
(no training): every figure is written as a non-empty PNG and PDF, and the test-noise figure's
choice of configurations is checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dendritic import analysis as an
from dendritic import trials as tr
from dendritic.plots.nodes import plot_fig5, pretty_layer
from dendritic.plots.representations import plot_fig6
from dendritic.plots.test_noise import best_configs, budget_configs, matched_budget, plot_test_noise

MODELS = {"dANN-R": (2, 8), "vANN": (1, 8), "pdANN": (1, 4)}
RNG = np.random.default_rng(0)


def _best(models=MODELS):
    return pd.DataFrame(
        [
            dict(
                dataset="toy",
                model=m,
                dendrites=d,
                somata=s,
                layers=1,
                cell=f"D{d}_S{s}",
                n_params=1000 * d * s,
                seeds="0 1",
            )
            for m, (d, s) in models.items()
        ]
    )


def _node_stats(layers=("dendrites", "somata"), C=10):
    rows = []
    for m, (d, s) in MODELS.items():
        for seed in (0, 1):
            for layer in layers:
                n = d * s if layer.startswith("dendrites") else s
                acts = RNG.normal(size=(200, n))
                y = RNG.integers(0, C, 200)
                df = an.node_statistics(acts, y, C)
                df.insert(0, "layer", layer)
                rows.append(df.assign(dataset="toy", model=m, cell=f"D{d}_S{s}", seed=seed))
    nodes = pd.concat(rows, ignore_index=True)
    nodes.loc[nodes.index[:3], ["active", "entropy", "selectivity"]] = [False, np.nan, np.nan]
    return nodes


def _weights(layers=("dendrites", "somata", "output")):
    stats, hists = [], []
    for m in MODELS:
        for seed in (0, 1):
            for layer in layers:
                w = RNG.normal(scale=0.1, size=500)
                s = an.weight_stats(w, bins=30)
                stats.append(
                    dict(
                        dataset="toy",
                        model=m,
                        seed=seed,
                        layer=layer,
                        **{k: v for k, v in s.items() if not k.startswith("hist")},
                    )
                )
                e = s["hist_edges"]
                hists.append(
                    pd.DataFrame(
                        dict(
                            dataset="toy",
                            model=m,
                            seed=seed,
                            layer=layer,
                            bin_left=e[:-1],
                            bin_right=e[1:],
                            count=s["hist_counts"],
                        )
                    )
                )
    return pd.DataFrame(stats), pd.concat(hists, ignore_index=True)


def _nonempty(*paths):
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000, p


def test_pretty_layer():
    assert pretty_layer("dendrites") == "dendritic"
    assert pretty_layer("somata_2") == "somatic 2"
    assert pretty_layer("output") == "output"


def test_fig5_writes_png_and_pdf(tmp_path):
    wstats, hists = _weights()
    out = [tmp_path / "fig5.png", tmp_path / "fig5.pdf"]
    plot_fig5(_node_stats(), hists, wstats, out, best_cells=_best(), n_classes=10)
    _nonempty(*out)


def test_selectivity_histogram_leaves_out_si_0_and_never_active():
    from dendritic.plots.nodes import selectivity_histogram

    si = [np.nan, np.nan, 0, 0, 0, 1, 1, 1, 2, 10]  # 2 never active, 3 active on no class
    classes, frac, shares = selectivity_histogram(si, 10)
    assert list(classes) == list(range(1, 11))  # no SI = 0 bin
    assert frac[0] == pytest.approx(3 / 5) and frac[1] == pytest.approx(1 / 5) and frac[9] == pytest.approx(1 / 5)
    assert frac.sum() == pytest.approx(1.0)
    assert (shares["n_never_active"], shares["n_si0"], shares["n_counted"]) == (2, 3, 5)
    assert shares["specific"] == pytest.approx(0.6) and shares["mixed"] == pytest.approx(0.4)


def test_fig5_row_label_names_the_network_and_why(tmp_path):
    from dendritic.plots import nodes

    best = _best().assign(reason=["matched vANN", "best accuracy (vANN)", "fell back to best"])
    assert nodes._row_label(best, "dANN-R").endswith("(matched vANN)")
    assert "D=2, S=8" in nodes._row_label(best, "dANN-R")


def test_fig5_deeper_networks_and_files_as_input(tmp_path):
    wstats, hists = _weights(("dendrites", "somata", "dendrites_2", "somata_2", "output"))
    paths = {}
    for name, df in [
        ("nodes", _node_stats(("dendrites", "somata", "dendrites_2", "somata_2"))),
        ("hists", hists),
        ("wstats", wstats),
    ]:
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    out = [tmp_path / "f.png"]
    plot_fig5(paths["nodes"], paths["hists"], paths["wstats"], out)  # no best table, C inferred
    _nonempty(*out)


def test_fig6_writes_png_and_pdf(tmp_path):
    rows, scores = [], []
    for m in MODELS:
        for layer in ("dendrites", "somata"):
            y = np.repeat(np.arange(10), 6)
            rows.append(
                pd.DataFrame(
                    dict(
                        dataset="toy",
                        model=m,
                        seed=0,
                        layer=layer,
                        image=np.arange(60),
                        label=y,
                        x=RNG.normal(size=60) + y,
                        y=RNG.normal(size=60),
                    )
                )
            )
            scores.append(
                dict(
                    dataset="toy",
                    model=m,
                    seed=0,
                    layer=layer,
                    silhouette=RNG.uniform(-0.1, 0.5),
                    neighbourhood_hit=RNG.uniform(0.5, 0.9),
                    trustworthiness=RNG.uniform(0.95, 1),
                )
            )
    out = [tmp_path / "fig6.png", tmp_path / "fig6.pdf"]
    plot_fig6(pd.concat(rows), pd.DataFrame(scores), out, class_names=[f"c{i}" for i in range(10)], best_cells=_best())
    _nonempty(*out)


def _test_noise_table(datasets=("toy",)):
    rows = []
    grid = {
        "dANN-R": [(1, 8, 900), (4, 8, 3000), (8, 16, 20000)],
        "vANN": [(1, 8, 8000), (2, 16, 30000)],
        "dANN-LRF": [(1, 8, 900), (8, 16, 20000)],
    }
    for ds in datasets:
        for m, cfgs in grid.items():
            for d, s, n in cfgs:
                for seed in (0, 1, 2):
                    for sigma in (0.0, 0.25, 0.5, 1.0):
                        acc = 0.9 - 0.05 * (n < 5000) - 0.5 * sigma + 0.01 * RNG.normal()
                        rows.append(
                            dict(
                                experiment="main",
                                dataset=ds,
                                model=m,
                                dendrites=d,
                                somata=s,
                                layers=1,
                                cell=f"D{d}_S{s}",
                                seed=seed,
                                n_params=n,
                                sigma=sigma,
                                test_loss=1 - acc,
                                test_acc=acc,
                                diverged=False,
                            )
                        )
    return pd.DataFrame(rows)


def test_test_noise_figure(tmp_path):
    df = _test_noise_table(("toy", "toy2"))
    df.loc[df.index[0], "diverged"] = True
    out = [tmp_path / "r.png", tmp_path / "r.pdf"]
    agg = plot_test_noise(df, out, models=["dANN-R", "vANN", "dANN-GRF"])
    _nonempty(*out)
    assert set(agg["model"]) == {"dANN-R", "vANN"}  # restricted to the models asked for and present
    # none of the asked-for models present: every model is shown
    agg = plot_test_noise(df, [tmp_path / "r2.png"], models=["sANN"])
    assert set(agg["model"]) == {"dANN-R", "vANN", "dANN-LRF"}


def test_configuration_choices():
    agg = tr.aggregate_seeds(_test_noise_table())
    clean = agg[agg["sigma"] == 0]
    # common range [8000 (vANN's smallest), 20000 (largest dANN)] → geometric middle
    assert matched_budget(clean) == pytest.approx(np.sqrt(8000 * 20000))
    picked = budget_configs(clean, matched_budget(clean)).set_index("model")["n_params"].to_dict()
    assert picked == {"dANN-R": 20000, "dANN-LRF": 20000, "vANN": 8000}
    best = best_configs(clean).set_index("model")
    assert best.loc["vANN", "test_acc_mean"] == clean[clean["model"] == "vANN"]["test_acc_mean"].max()
    # ranges that do not overlap: the smallest network of the model with the largest minimum
    disjoint = clean[~((clean["model"] == "vANN") & (clean["n_params"] == 8000))]
    disjoint = disjoint[~((disjoint["model"] != "vANN") & (disjoint["n_params"] == 20000))]
    assert matched_budget(disjoint) == 30000


def test_fig6_scores_spread_over_seeds_and_repeats(tmp_path):
    """Fig. 6 bars: mean and 95 % t-CI over seeds x t-SNE runs (paper: 5 x 10)."""
    from scipy import stats

    from dendritic.plots.representations import score_summary

    rows, scores = [], []
    for m in MODELS:
        for layer in ("dendrites", "somata"):
            y = np.repeat(np.arange(10), 6)
            for seed in (0, 1):
                for rep in range(3):
                    if seed == 0 and rep == 0:
                        rows.append(
                            pd.DataFrame(
                                dict(
                                    dataset="toy",
                                    model=m,
                                    seed=seed,
                                    repeat=rep,
                                    layer=layer,
                                    image=np.arange(60),
                                    label=y,
                                    x=RNG.normal(size=60) + y,
                                    y=RNG.normal(size=60),
                                )
                            )
                        )
                    scores.append(
                        dict(
                            dataset="toy",
                            model=m,
                            seed=seed,
                            repeat=rep,
                            layer=layer,
                            silhouette=RNG.uniform(-0.1, 0.5),
                            neighbourhood_hit=RNG.uniform(0.5, 0.9),
                            trustworthiness=RNG.uniform(0.95, 1),
                        )
                    )
    scores = pd.DataFrame(scores)
    summ = score_summary(scores, "silhouette")
    vals = scores[(scores["model"] == "vANN") & (scores["layer"] == "somata")]["silhouette"]
    assert summ.loc[("vANN", "somata"), "n"] == 6
    assert summ.loc[("vANN", "somata"), "mean"] == pytest.approx(vals.mean())
    assert summ.loc[("vANN", "somata"), "ci95"] == pytest.approx(stats.t.ppf(0.975, 5) * vals.std(ddof=1) / np.sqrt(6))
    one = score_summary(scores[(scores["seed"] == 0) & (scores["repeat"] == 0)], "silhouette")
    assert (one["ci95"] == 0).all() and (one["n"] == 1).all()
    out = [tmp_path / "fig6.png", tmp_path / "fig6.pdf"]
    plot_fig6(pd.concat(rows), scores, out, class_names=[f"c{i}" for i in range(10)], best_cells=_best())
    _nonempty(*out)
