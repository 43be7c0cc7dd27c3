"""Tests of dendritic.analysis (statistics of one trained network) on small hand-computable inputs
(expected values written out)."""

from __future__ import annotations

import math
import time

import numpy as np
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
    res = an.representation_scores(
        torch.tensor(acts, dtype=torch.float32), labels, n_neighbors=11, perplexity=10, seed=0, max_iter=250
    )
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


def test_selectivity_shares_over_si_at_least_1():
    sh = an.selectivity_shares([np.nan, 0, 0, 1, 1, 1, 2, 5])
    assert (sh["n_nodes"], sh["n_never_active"], sh["n_si0"], sh["n_counted"]) == (8, 1, 2, 5)
    assert sh["specific"] == pytest.approx(3 / 5) and sh["mixed"] == pytest.approx(2 / 5)
    # over all active nodes (SI = 0 kept) the class-specific share would be 3/7 < 0.5
    none = an.selectivity_shares([np.nan, 0])
    assert none["n_counted"] == 0 and np.isnan(none["mixed"]) and np.isnan(none["specific"])
