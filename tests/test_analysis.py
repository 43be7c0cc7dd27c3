"""Tests of dendritic.analysis on small hand-computable inputs (expected values written out)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from dendritic import analysis as an


# --------------------------------------------------------------------------------------------------
# node analyses
# --------------------------------------------------------------------------------------------------
# 6 test images, C = 2 classes (3 of each), J = 4 nodes.
LABELS = np.array([0, 0, 0, 1, 1, 1])
ACTS = np.array(
    [
        #  n0    n1    n2    n3
        [1.0, 0.5, -0.1, 0.0],
        [2.0, -1.0, -0.2, -1.0],
        [0.3, 0.0, -0.3, -2.0],
        [-0.5, 0.2, -0.4, -0.1],
        [-1.0, 0.0, -0.5, 0.0],
        [-2.0, -3.0, -0.6, -0.5],
    ]
)
# n0: active on all 3 images of class 0, never on class 1.   HM col = [3, 0, 3]
# n1: active on image 0 (class 0) and image 3 (class 1).      HM col = [1, 1, 4]  (0.0 is not > 0)
# n2: never active.                                           HM col = [0, 0, 6]
# n3: never active (0.0 is not > 0).                          HM col = [0, 0, 6]
HM_EXPECTED = np.array([[3, 1, 0, 0], [0, 1, 0, 0], [3, 4, 6, 6]])


def test_activation_counts_tiny_matrix():
    hm = an.activation_counts(ACTS, LABELS, 2)
    assert hm.shape == (3, 4)
    np.testing.assert_array_equal(hm, HM_EXPECTED)
    np.testing.assert_array_equal(hm.sum(axis=0), [6, 6, 6, 6])


def test_activation_counts_accepts_torch():
    hm = an.activation_counts(torch.tensor(ACTS, requires_grad=True), torch.tensor(LABELS), 2)
    np.testing.assert_array_equal(hm, HM_EXPECTED)


def test_activation_counts_rejects_bad_labels():
    with pytest.raises(ValueError):
        an.activation_counts(ACTS, LABELS + 1, 2)  # label 2 with C = 2


def test_entropy_sparsity_selectivity_tiny_matrix():
    h = an.node_entropy(HM_EXPECTED)
    # n0: p = (1/2, 0, 1/2) -> H = 1 bit
    # n1: p = (1/6, 1/6, 4/6) -> H = 2*(1/6)*log2(6) + (2/3)*log2(3/2)
    h1 = 2 * (1 / 6) * math.log2(6) + (2 / 3) * math.log2(1.5)
    assert h[0] == pytest.approx(1.0)
    assert h[1] == pytest.approx(h1)  # = 1.2516291673878228
    assert h1 == pytest.approx(1.2516291673878228)
    assert np.isnan(h[2]) and np.isnan(h[3])
    np.testing.assert_array_equal(an.active_nodes(HM_EXPECTED), [True, True, False, False])
    assert an.sparsity(HM_EXPECTED) == pytest.approx(0.5)
    # without dropping, a never-active node has H = 0 (all mass in the <= 0 row)
    assert an.node_entropy(HM_EXPECTED, drop_inactive=False)[2] == pytest.approx(0.0)
    # selectivity, threshold 0.4 * 3 = 1.2 images: n0 -> class 0 only (3 > 1.2): 1;
    # n1 -> 1 image per class, 1 > 1.2 false for both: 0; n2, n3 never active: NaN
    si = an.selectivity_index(HM_EXPECTED, [3, 3], threshold=0.4)
    np.testing.assert_array_equal(si[:2], [1.0, 0.0])
    assert np.isnan(si[2]) and np.isnan(si[3])
    # lower threshold (0.3 * 3 = 0.9): n1 counts both classes -> 2 = C, fully mixed
    np.testing.assert_array_equal(an.selectivity_index(HM_EXPECTED, [3, 3], 0.3)[:2], [1.0, 2.0])


def test_entropy_uniformly_mixed_node_is_log2_c_plus_1():
    # C = 3, 4 images per class (N = 12); node active on 3 images of every class, inactive on 3
    # -> each of the C + 1 = 4 categories holds 3/12 = 1/4 -> H = log2(4) = 2 bits
    c = 3
    labels = np.repeat(np.arange(c), 4)
    acts = np.tile([1.0, 1.0, 1.0, -1.0], c)[:, None]
    hm = an.activation_counts(acts, labels, c)
    np.testing.assert_array_equal(hm[:, 0], [3, 3, 3, 3])
    assert an.node_entropy(hm)[0] == pytest.approx(math.log2(c + 1)) == pytest.approx(2.0)


def test_entropy_node_always_active_for_one_class():
    # C = 4, 5 images per class; node active on every image of class 2 and nothing else:
    # p = (0, 0, 5/20, 0, 15/20) -> H = -(1/4 log2 1/4 + 3/4 log2 3/4) = 0.8112781244591328
    labels = np.repeat(np.arange(4), 5)
    acts = np.where(labels == 2, 0.7, -0.3)[:, None]
    hm = an.activation_counts(acts, labels, 4)
    assert an.node_entropy(hm)[0] == pytest.approx(0.8112781244591328)
    assert an.selectivity_index(hm, [5, 5, 5, 5])[0] == 1.0


def test_selectivity_threshold_edge_is_strict():
    # class counts 10 and 5; threshold 0.4 -> limits 4 and 2 images.
    hm = np.array(
        [
            [4, 5, 4, 10],  # class 0: 4 is exactly 40 % -> not counted; 5 counted
            [2, 3, 3, 2],  # class 1: 2 is exactly 40 % -> not counted; 3 counted
            [9, 7, 8, 3],
        ]
    )
    si = an.selectivity_index(hm, [10, 5], threshold=0.4)
    np.testing.assert_array_equal(si, [0.0, 2.0, 1.0, 1.0])
    # FMNIST numbers from the paper: 400 of 1000 does not count, 401 does
    hm2 = np.array([[400, 401], [600, 599]])
    np.testing.assert_array_equal(an.selectivity_index(hm2, [1000], 0.4), [0.0, 1.0])
    # round-off guard: 0.29 * 100 = 28.999999999999996 in floats, yet 29 of 100 is exactly 29 %,
    # which is not > 29 %
    assert 0.29 * 100 < 29
    hm3 = np.array([[29, 30], [71, 70]])
    np.testing.assert_array_equal(an.selectivity_index(hm3, [100], 0.29), [0.0, 1.0])


def test_node_statistics_table():
    df = an.node_statistics(ACTS, LABELS, 2)
    assert list(df["node"]) == [0, 1, 2, 3]
    assert list(df["n_active"]) == [3, 2, 0, 0]
    np.testing.assert_allclose(df["frac_active"], [0.5, 2 / 6, 0, 0])
    assert list(df["active"]) == [True, True, False, False]
    assert df["entropy"].iloc[0] == pytest.approx(1.0)
    assert df["selectivity"].iloc[0] == 1.0 and df["selectivity"].iloc[1] == 0.0
    assert df["entropy"].iloc[2:].isna().all() and df["selectivity"].iloc[2:].isna().all()
    assert list(df["preferred_class"]) == [0, 0, -1, -1]
    assert df.attrs["sparsity"] == pytest.approx(0.5)
    assert df.attrs["n_test"] == 6


# --------------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------------
def test_weight_stats_masked_nonzero_only():
    w = np.array([[1.0, 2.0, 100.0], [0.0, 3.0, 10.0], [-4.0, 0.0, -50.0]])
    mask = np.array([[1, 1, 0], [1, 1, 1], [1, 1, 0]], dtype=bool)
    # in mask: 1, 2, 0, 3, 10, -4, 0 -> non-zero: 1, 2, 3, 10, -4 (100 and -50 are masked out)
    used = np.array([1.0, 2.0, 3.0, 10.0, -4.0])
    s = an.weight_stats(torch.tensor(w), torch.tensor(mask), bins=4)
    assert s["n"] == 5
    assert s["mean"] == pytest.approx(2.4)
    assert s["std"] == pytest.approx(np.std(used))
    assert s["kurtosis"] == pytest.approx(stats.kurtosis(used, fisher=True))
    assert s["skewness"] == pytest.approx(stats.skew(used))
    # a computation that wrongly includes masked-out or zero entries gives other moments
    assert s["kurtosis"] != pytest.approx(stats.kurtosis(w[mask]))
    assert s["skewness"] != pytest.approx(stats.skew(w.ravel()))
    assert (s["min"], s["max"], s["range"]) == (-4.0, 10.0, 14.0)
    # 4 bins over [-4, 10]: edges -4, -0.5, 3, 6.5, 10 -> counts [1, 2, 1, 1] (3.0 is in bin 3)
    np.testing.assert_allclose(s["hist_edges"], [-4.0, -0.5, 3.0, 6.5, 10.0])
    np.testing.assert_array_equal(s["hist_counts"], [1, 2, 1, 1])


def test_weight_stats_no_mask_and_empty():
    s = an.weight_stats(np.array([0.0, 1.0, -1.0]), bins=2, hist_range=(-2.0, 2.0))
    assert s["n"] == 2 and s["mean"] == 0.0 and s["std"] == 1.0
    np.testing.assert_array_equal(s["hist_counts"], [1, 1])
    e = an.weight_stats(np.zeros((2, 2)), bins=3)
    assert e["n"] == 0 and np.isnan(e["kurtosis"]) and e["hist_counts"].sum() == 0
    with pytest.raises(ValueError):
        an.weight_stats(np.ones((2, 2)), np.ones((2, 3)))
    frame = an.weight_stats_frame({"a": np.array([1.0, 3.0]), "b": (np.array([1.0, 9.0]), [1, 0])})
    assert list(frame["layer"]) == ["a", "b"]
    assert list(frame["n"]) == [2, 1] and list(frame["mean"]) == [2.0, 1.0]


# --------------------------------------------------------------------------------------------------
# representations
# --------------------------------------------------------------------------------------------------
def test_neighbourhood_hit_hand_made():
    # two classes on a line: 0 at x = 0, 1, 2; 1 at x = 10, 11, and one class-1 point at x = 3
    pts = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [10, 0], [11, 0]])
    lab = np.array([0, 0, 0, 1, 1, 1])
    # k = 2 nearest neighbours (self excluded):
    # x=0: {1, 2} -> 2/2;   x=1: {0, 2} -> 2/2;   x=2: {1, 3} -> 1/2 (class 0 and class 1);
    # x=3: {2, 1} -> 0/2;   x=10: {11, 3} -> 2/2; x=11: {10, 3} -> 2/2
    expected = (1 + 1 + 0.5 + 0 + 1 + 1) / 6
    assert expected == 0.75
    assert an.neighbourhood_hit(pts, lab, n_neighbors=2, include_self=False) == pytest.approx(expected)
    # k = 1 with the class-1 point moved to x = 3.4 (no ties that change a label):
    # x=0 -> 1 hit; x=1 -> 0 or 2 (tie, both class 0) hit; x=2 -> 1 hit; x=3.4 -> 2 miss;
    # x=10 -> 11 hit; x=11 -> 10 hit  => 5/6
    pts2 = pts.copy()
    pts2[3, 0] = 3.4
    assert an.neighbourhood_hit(pts2, lab, n_neighbors=1, include_self=False) == pytest.approx(5 / 6)


def test_neighbourhood_hit_excludes_self_even_with_duplicates():
    pts = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.1]])
    lab = np.array([0, 1, 1, 1])
    # k = 1: p0 -> p1 (miss), p1 -> p0 (miss), p2 -> p3 (hit), p3 -> p2 (hit) = 0.5
    assert an.neighbourhood_hit(pts, lab, n_neighbors=1, include_self=False) == pytest.approx(0.5)


def test_neighbourhood_hit_counts_the_point_itself_by_default():
    """Authors' utils.neighborhood_hit: kneighbors(E) on the fitted E, so each point is the first
    of its own k neighbours. Class 0 at x = 0, 1, 2; class 1 at 3.4, 10, 11; k = 2 = the point plus
    its nearest other: hits 1, 1, 1, 1/2, 1, 1 -> 11/12 (the k = 1 score without self is 5/6)."""
    pts = np.array([[0.0, 0], [1, 0], [2, 0], [3.4, 0], [10, 0], [11, 0]])
    lab = np.array([0, 0, 0, 1, 1, 1])
    assert an.neighbourhood_hit(pts, lab, n_neighbors=2) == pytest.approx(11 / 12)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 2)), rng.integers(0, 3, 300)
    k = 11
    with_self, without = an.neighbourhood_hit(x, y, k), an.neighbourhood_hit(x, y, k - 1, include_self=False)
    assert with_self == pytest.approx((1 + (k - 1) * without) / k)
    assert with_self > an.neighbourhood_hit(x, y, k, include_self=False)


def test_silhouette_well_separated_clusters():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 0.1, size=(30, 2))
    b = rng.normal(0.0, 0.1, size=(30, 2)) + np.array([10.0, 10.0])
    emb = np.vstack([a, b])
    lab = np.repeat([0, 1], 30)
    assert an.silhouette(emb, lab) > 0.9
    # shuffled labels destroy the clustering
    assert an.silhouette(emb, rng.permutation(lab)) < 0.2


def test_trustworthiness_identity_is_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    assert an.trustworthiness(x, x, n_neighbors=5) == pytest.approx(1.0)
    assert an.trustworthiness(x, rng.permutation(x), n_neighbors=5) < 0.8


def test_representation_scores_tsne_shapes_and_speed():
    rng = np.random.default_rng(2)
    n, j = 200, 20
    labels = np.repeat(np.arange(4), n // 4)
    centres = rng.normal(0.0, 6.0, size=(4, j))
    acts = centres[labels] + rng.normal(size=(n, j))
    t0 = time.perf_counter()  # max_iter=250 (sklearn's minimum) keeps this test ~2 s
    res = an.representation_scores(torch.tensor(acts, dtype=torch.float32), labels,
                                   n_neighbors=11, perplexity=10, seed=0, max_iter=250)
    elapsed = time.perf_counter() - t0
    assert res["embedding"].shape == (n, 2)
    assert np.isfinite(res["embedding"]).all()
    assert elapsed < 30.0  # generous: only guards against a runaway default (e.g. exact method)
    # four well-separated Gaussian blobs stay separated in the embedding
    assert res["silhouette"] > 0.5
    assert res["neighbourhood_hit"] > 0.95
    assert 0.9 < res["trustworthiness"] <= 1.0
    with pytest.raises(ValueError):
        an.tsne_embedding(acts[:20], perplexity=50)


# --------------------------------------------------------------------------------------------------
# over trials
# --------------------------------------------------------------------------------------------------
def _row(model, d, s, seed, acc, loss, npar, ep=4, diverged=False, dataset="fmnist"):
    return dict(
        experiment="main", dataset=dataset, model=model, dendrites=d, somata=s, layers=1,
        dropout=0.0, lr=1e-3, sigma=0.0, seed=seed, n_params=npar, test_loss=loss, test_acc=acc,
        epoch_min_val_loss=ep, epochs=25, wall_s=1.0, diverged=diverged,
    )


def test_aggregate_seeds_ci_and_diverged():
    accs = [0.80, 0.82, 0.87]
    losses = [0.5, 0.4, 0.6]
    rows = [_row("dANN-R", 1, 32, i, a, l, 938, ep=e) for i, (a, l, e) in
            enumerate(zip(accs, losses, [3, 5, 10]))]
    # a diverged seed with a wild value that must not enter the means
    rows.append(_row("dANN-R", 1, 32, 3, 0.10, float("nan"), 938, ep=0, diverged=True))
    # a configuration with a single seed, and one where every seed diverged
    rows.append(_row("dANN-R", 2, 32, 0, 0.9, 0.3, 1500))
    rows.append(_row("dANN-R", 4, 32, 0, 0.1, 9.9, 2600, diverged=True))
    agg = an.aggregate_seeds(pd.DataFrame(rows)).set_index(["dendrites"])
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
    agg = an.aggregate_seeds(df)
    assert agg["n"].iloc[0] == 1 and agg["test_acc_mean"].iloc[0] == pytest.approx(0.5)
    df["test_acc"] = [50.0, 70.0]
    with pytest.raises(ValueError):
        an.aggregate_seeds(df)


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
    agg = an.aggregate_seeds(_synthetic_summary())
    best = an.best_models(agg, "test_acc").set_index(["dataset", "model"])
    assert (best.loc[("fmnist", "vANN"), ["dendrites", "somata"]] == [2, 32]).all()
    assert (best.loc[("fmnist", "dANN-R"), ["dendrites", "somata"]] == [2, 32]).all()
    # the diverged D=4 run (acc .99) is not chosen for dANN-LRF
    assert best.loc[("fmnist", "dANN-LRF"), "dendrites"] == 2
    assert best.loc[("fmnist", "dANN-LRF"), "test_acc_mean"] == pytest.approx(0.85)
    assert best.loc[("fmnist", "vANN"), "test_acc_mean"] == pytest.approx(0.85)
    assert len(best) == 4  # 3 models in fmnist + 1 in kmnist
    bl = an.best_models(agg, "test_loss").set_index(["dataset", "model"])
    assert bl.loc[("fmnist", "vANN"), "test_loss_mean"] == pytest.approx(0.45)
    assert bl.loc[("fmnist", "dANN-R"), "dendrites"] == 2
    with pytest.raises(ValueError):
        an.best_models(agg, "accuracy")


def test_match_vann_synthetic():
    agg = an.aggregate_seeds(_synthetic_summary())
    m = an.match_vann(agg, "test_acc").set_index(["dataset", "model"])
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
    ml = an.match_vann(agg, "test_loss").set_index(["dataset", "model"])
    assert (ml.loc[("fmnist", "dANN-R"), ["dendrites", "somata", "n_params"]] == [1, 32, 1000]).all()
    assert ml.loc[("fmnist", "dANN-R"), "ref_n_params"] == 200000
    assert ml.loc[("fmnist", "dANN-LRF"), "status"] == "never matched"


def test_match_vann_reference_from_another_frame():
    df = _synthetic_summary()
    main = an.aggregate_seeds(df)
    drop = df[df["model"] == "vANN"].assign(experiment="dropout", dropout=0.5)
    drop["test_acc"] = drop["test_acc"] + 0.02  # dropout-vANN: .82 and .87
    agg_drop = an.aggregate_seeds(drop)
    m = an.match_vann(agg_drop, "test_acc", reference_agg=main, reference_on=["dataset"])
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
    out = an.efficiency(df)
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
    out = an.efficiency(pd.DataFrame(rows))
    np.testing.assert_allclose(out["f_norm"].iloc[[0, 1, 3]], [1.0, 1.25, 1.0])
    assert np.isnan(out["acc_eff"].iloc[2]) and np.isnan(out["loss_eff"].iloc[2])
    # the same dataset in another experiment is normalised separately by default ...
    rows.append({**_row("dANN-R", 1, 32, 0, 0.5, 0.5, 10, ep=0), "experiment": "noise"})  # f = 1
    out2 = an.efficiency(pd.DataFrame(rows))
    assert out2["f_norm"].iloc[1] == pytest.approx(1.25)
    # ... and together when grouping by dataset only
    out3 = an.efficiency(pd.DataFrame(rows), by=("dataset",))
    assert out3["f_norm"].iloc[1] == pytest.approx(5.0)
    with pytest.raises(ValueError):
        an.efficiency(pd.DataFrame(rows).assign(test_acc=90.0))


def test_spearman():
    rho, p = an.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert rho == pytest.approx(1.0) and p < 0.05
    rho, _ = an.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert rho == pytest.approx(-1.0)
    # ranks x: 1..5, y: 1, 3, 2, 5, 4 -> d^2 = 0+1+1+1+1 = 4 -> rho = 1 - 6*4/(5*24) = 0.8
    rho, p = an.spearman([1, 2, 3, 4, 5, np.nan], [1, 3, 2, 5, 4, 7])
    assert rho == pytest.approx(0.8)
    assert p == pytest.approx(stats.spearmanr([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]).pvalue)
    assert all(np.isnan(an.spearman([1, 2], [3, 4])))


# --------------------------------------------------------------------------------------------------
# the network each later analysis uses; the rows each efficiency panel plots
# --------------------------------------------------------------------------------------------------
def test_select_networks_paper_rule_differs_from_best():
    sel = an.select_networks(_synthetic_summary(), "fmnist").set_index("model")
    # dANN-R: vANN's best is .85; D=1 S=64 (.86) is the first above it, D=2 S=32 (.88) its best
    assert (sel.loc["dANN-R", "dendrites"], sel.loc["dANN-R", "somata"]) == (1, 64)
    assert sel.loc["dANN-R", "reason"] == "matched vANN"
    assert sel.loc["dANN-R", "test_acc_mean"] == pytest.approx(0.86)
    assert sel.loc["dANN-R", "ref_test_acc"] == pytest.approx(0.85)
    assert (sel.loc["vANN", "dendrites"], sel.loc["vANN", "reason"]) == (2, "best accuracy (vANN)")
    best = an.select_networks(_synthetic_summary(), "fmnist", selection="best").set_index("model")
    assert (best.loc["dANN-R", "dendrites"], best.loc["dANN-R", "somata"]) == (2, 32)
    assert (best["reason"] == "best (selection: best)").all() and (best["selection"] == "best").all()
    assert (sel["selection"] == "paper").all()


def test_select_networks_fallback_when_never_matched_or_no_vann():
    sel = an.select_networks(_synthetic_summary(), "fmnist").set_index("model")
    # dANN-LRF only equals vANN's best (.85, not greater): its best-accuracy configuration, not the
    # diverged D=4 run
    lrf = sel.loc["dANN-LRF"]
    assert (lrf["dendrites"], lrf["somata"], lrf["reason"]) == (2, 32, "fell back to best")
    assert lrf["match_status"] == "never matched" and "no configuration beats" in lrf["note"]
    km = an.select_networks(_synthetic_summary(), "kmnist").set_index("model").loc["dANN-R"]
    assert km["reason"] == "fell back to best" and km["match_status"] == "no reference"
    assert "no vANN runs" in km["note"]
    # asking for one model keeps vANN as the reference
    only = an.select_networks(_synthetic_summary(), "fmnist", models=["dANN-R"])
    assert list(only["model"]) == ["dANN-R"] and only["somata"].item() == 64
    assert an.select_networks(_synthetic_summary(), "cifar10").empty
    with pytest.raises(ValueError, match="analysis.selection"):
        an.select_networks(_synthetic_summary(), "fmnist", selection="matched")


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
    sel = an.select_networks(summary, "fmnist")
    runs = an.noise_runs(summary, "fmnist", sel, models=None)
    r = runs[runs["model"] == "dANN-R"]
    assert set(zip(r["dendrites"], r["somata"])) == {(1, 64)}  # never the noise runs' own best
    assert sorted(r["sigma"].unique()) == [0.0, 0.5, 1.0]  # σ = 0: the clean runs of the same network
    assert (r["experiment"] == "noise").all() and (r["reason"] == "matched vANN").all()
    table = an.efficiency_table(runs, norm_by=("dataset",))
    assert len(table[table["model"] == "dANN-R"]) == 3
    assert {"acc_eff_std", "loss_eff_std", "test_acc_std"} <= set(table.columns)
    assert an.missing_cells(runs, sel, "sigma", [0.0, 0.5, 1.0]).empty
    gone = runs[~((runs["model"] == "vANN") & (runs["sigma"] == 1.0))]
    miss = an.missing_cells(gone, sel, "sigma", [0.0, 0.5, 1.0])
    assert miss[["model", "dendrites", "somata", "sigma"]].values.tolist() == [["vANN", 2, 32, 1.0]]


def test_best_efficiency_normalises_over_the_plotted_best_rows_only():
    df = _synthetic_summary()
    df = df[df["dataset"] == "fmnist"]
    out = an.best_efficiency(df, models=["dANN-R", "vANN"]).set_index("model")
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
    wide = an.best_efficiency(df, models=["dANN-R", "dANN-LRF", "vANN"]).set_index("model")
    assert wide.loc["dANN-R", "acc_eff_mean"] == pytest.approx(0.88 / (np.log10(1500 * 5) / np.log10(1400 * 5)))
    # every run was the old normalisation set: it would have given dANN-R a lower score
    old = an.efficiency(df)
    assert old.loc[(old["model"] == "dANN-R") & (old["dendrites"] == 2), "acc_eff"].mean() < 0.88 - 1e-6


def test_selectivity_shares_over_si_at_least_1():
    sh = an.selectivity_shares([np.nan, 0, 0, 1, 1, 1, 2, 5])
    assert (sh["n_nodes"], sh["n_never_active"], sh["n_si0"], sh["n_counted"]) == (8, 1, 2, 5)
    assert sh["specific"] == pytest.approx(3 / 5) and sh["mixed"] == pytest.approx(2 / 5)
    # over all active nodes (SI = 0 kept) the class-specific share would be 3/7 < 0.5
    none = an.selectivity_shares([np.nan, 0])
    assert none["n_counted"] == 0 and np.isnan(none["mixed"]) and np.isnan(none["specific"])
