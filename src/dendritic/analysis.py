"""Statistics of one trained network (the paper's Methods, "Analyses"; Figs 5-6): per hidden node
(activation counts, entropy, sparsity, selectivity), per weight layer, and of its hidden
representations (t-SNE, silhouette, neighbourhood hit, trustworthiness). Pure functions of numpy /
torch arrays; nothing reads or writes files. Each function's docstring quotes the definition it
implements and says exactly what is computed where the paper leaves room. The statistics over runs
(``results/summary.csv``) are in :mod:`dendritic.trials`.

Groups of functions
-------------------
* Per hidden node, on the test set: :func:`activation_counts` (the matrix HM), :func:`node_entropy`,
  :func:`sparsity`, :func:`selectivity_index`, and :func:`node_statistics` (all of them in one table);
  :func:`selectivity_shares` (the mixed / class-specific shares of a node table, claim (c)).
* Weights: :func:`weight_stats` (non-zero / in-mask weights of one layer), :func:`weight_stats_frame`.
* Representations: :func:`tsne_embedding`, :func:`silhouette`, :func:`neighbourhood_hit`,
  :func:`trustworthiness`, and :func:`representation_scores` (all four in one call).

Conventions
-----------
* The node analyses never loop over nodes: counts are built per class (at most C = 47 passes over
  the activation matrix) and everything else is array arithmetic over all nodes at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "selectivity_shares",
    "activation_counts",
    "active_nodes",
    "node_entropy",
    "sparsity",
    "selectivity_index",
    "node_statistics",
    "weight_stats",
    "weight_stats_frame",
    "tsne_embedding",
    "silhouette",
    "neighbourhood_hit",
    "trustworthiness",
    "representation_scores",
]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _to_numpy(a: Any) -> np.ndarray:
    """numpy view of a numpy array, list or torch tensor (detached, on the CPU)."""
    if hasattr(a, "detach"):  # torch.Tensor without importing torch
        a = a.detach().cpu().numpy()
    return np.asarray(a)


# --------------------------------------------------------------------------------------------------
# per hidden node (entropy, selectivity)
# --------------------------------------------------------------------------------------------------
def activation_counts(acts: Any, labels: Any, n_classes: int) -> np.ndarray:
    """The matrix HM of a hidden layer on the test set.

    The paper's Methods, "Entropy": "HM[c,j] = number of test images of class c for which the node's activation
    is > 0; add one row with the count of images for which it is ≤ 0".

    ``acts``: (N_test, J) activations (numpy or torch), ``labels``: (N_test,) integer classes in
    [0, C). Returns an int64 array of shape (C + 1, J); each column sums to N_test. Built with one
    vectorised count per class (no loop over nodes).
    """
    a = _to_numpy(acts)
    y = _to_numpy(labels).astype(np.int64).ravel()
    if a.ndim != 2:
        raise ValueError(f"acts must be 2-D (N_test, J), got shape {a.shape}")
    if a.shape[0] != y.shape[0]:
        raise ValueError(f"{a.shape[0]} activation rows but {y.shape[0]} labels")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    active = a > 0
    hm = np.empty((n_classes + 1, a.shape[1]), dtype=np.int64)
    for c in range(n_classes):  # loop over classes only
        hm[c] = np.count_nonzero(active[y == c], axis=0)
    hm[n_classes] = a.shape[0] - hm[:n_classes].sum(axis=0)
    return hm


def active_nodes(hm: np.ndarray) -> np.ndarray:
    """Boolean (J,): nodes active (> 0) for at least one test image (first C rows of HM)."""
    hm = np.asarray(hm)
    return hm[:-1].sum(axis=0) > 0


def sparsity(hm: np.ndarray) -> float:
    """Fraction of nodes never active on the test set (the paper's Methods: the dropped nodes' "sparsity")."""
    act = active_nodes(hm)
    return float(1.0 - act.mean()) if act.size else float("nan")


def node_entropy(hm: np.ndarray, drop_inactive: bool = True) -> np.ndarray:
    """Entropy of each node's activation pattern over the C + 1 categories.

    The paper's Methods: "p = HM / N_test; H_j = −Σ p log2 p over the C+1 categories. Nodes never active are
    dropped (their fraction = 'sparsity')."

    Returns a float array (J,) in bits, 0 log 0 = 0. A node active on exactly one class's images and
    inactive on the rest has low entropy; one whose C + 1 categories are equally filled reaches the
    maximum log2(C + 1). Never-active nodes (all mass in the ≤ 0 row, H = 0) are NaN when
    ``drop_inactive`` (use :func:`active_nodes` for the mask).
    """
    hm = np.asarray(hm, dtype=float)
    n = hm.sum(axis=0)  # = N_test in every column
    with np.errstate(divide="ignore", invalid="ignore"):
        p = hm / n
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    h = terms.sum(axis=0)
    h[n == 0] = np.nan
    if drop_inactive:
        h = np.where(active_nodes(hm), h, np.nan)
    return h


def selectivity_index(hm: np.ndarray, class_counts: Any, threshold: float = 0.4) -> np.ndarray:
    """Number of classes each node responds to.

    The paper's Methods, "Selectivity index": "number of classes c with HM[c,j] > 40% of that class's test
    images (400 of 1000 on FMNIST). 1 = class-specific, C = fully mixed."

    ``class_counts``: (C,) test images per class. The comparison is strict: a node active on exactly
    ``threshold × class_counts[c]`` images of class c does not count that class (guarded against
    floating-point round-off of the product). Returns a float array (J,) with values in {0, …, C}
    (0: active, but on no class above the threshold) and NaN for never-active nodes, which are
    excluded as in the entropy analysis.
    """
    hm = np.asarray(hm)
    counts = _to_numpy(class_counts).astype(float).ravel()
    c = hm.shape[0] - 1
    if counts.shape[0] != c:
        raise ValueError(f"class_counts has {counts.shape[0]} entries, HM has {c} class rows")
    per_class = hm[:c].astype(float)
    limit = threshold * counts[:, None]
    above = (per_class > limit) & ~np.isclose(per_class, limit, rtol=1e-12, atol=1e-9)
    si = above.sum(axis=0).astype(float)
    si[~active_nodes(hm)] = np.nan
    return si


def selectivity_shares(selectivity: Any) -> dict[str, Any]:
    """Shares of class-specific and mixed-selective nodes, over the nodes with SI ≥ 1.

    The paper's Methods, "Selectivity index": "Histograms and shares use nodes with SI ≥ 1 (never-active nodes
    and active nodes above the threshold for no class are left out)" (the authors keep
    ``SI > 0``). ``selectivity``: values of :func:`selectivity_index` (NaN = never active).

    Returns ``n_nodes`` (all), ``n_never_active`` (NaN), ``n_si0`` (active, SI = 0), ``n_counted``
    (SI ≥ 1), ``specific`` (share of the counted nodes with SI = 1) and ``mixed`` (share with
    SI ≥ 2); both shares are NaN when no node is counted.
    """
    si = np.asarray(_to_numpy(selectivity), dtype=float).ravel()
    never = ~np.isfinite(si)
    counted = si[~never & (si >= 1)]
    n = int(counted.size)
    return dict(
        n_nodes=int(si.size),
        n_never_active=int(never.sum()),
        n_si0=int(np.sum(si[~never] == 0)),
        n_counted=n,
        specific=float(np.mean(counted == 1)) if n else float("nan"),
        mixed=float(np.mean(counted >= 2)) if n else float("nan"),
    )


def node_statistics(acts: Any, labels: Any, n_classes: int, threshold: float = 0.4) -> pd.DataFrame:
    """All per-node statistics of one hidden layer in a tidy table (one row per node).

    Columns: ``node`` (index j), ``n_active`` (test images with activation > 0), ``frac_active``,
    ``active`` (ever active), ``entropy`` (:func:`node_entropy`, NaN if never active),
    ``selectivity`` (:func:`selectivity_index`, NaN if never active) and ``preferred_class`` (the
    class with the largest fraction of its images activating the node; -1 if never active).
    ``df.attrs`` holds ``sparsity`` (:func:`sparsity`), ``n_test``, ``n_classes`` and ``threshold``.
    """
    y = _to_numpy(labels).astype(np.int64).ravel()
    hm = activation_counts(acts, y, n_classes)
    class_counts = np.bincount(y, minlength=n_classes)
    act = active_nodes(hm)
    n_active = hm[:n_classes].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = hm[:n_classes] / np.maximum(class_counts, 1)[:, None]
    pref = np.where(act, rate.argmax(axis=0), -1)
    df = pd.DataFrame(
        {
            "node": np.arange(hm.shape[1]),
            "n_active": n_active,
            "frac_active": n_active / max(len(y), 1),
            "active": act,
            "entropy": node_entropy(hm),
            "selectivity": selectivity_index(hm, class_counts, threshold),
            "preferred_class": pref,
        }
    )
    df.attrs.update(sparsity=sparsity(hm), n_test=int(len(y)), n_classes=int(n_classes), threshold=threshold)
    return df


# --------------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------------
def weight_stats(
    weights: Any,
    mask: Any | None = None,
    bins: int = 50,
    hist_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Distribution of one layer's non-zero weights.

    The paper's Methods, "Weights": "distributions of the non-zero weights per layer (histogram, kurtosis,
    skewness, range)".

    The weights used are those inside ``mask`` (if given; same shape, truthy = connection exists)
    **and** non-zero; masked-out entries, which stay exactly zero in training, never enter.
    Returns a dict with ``n``, ``mean``, ``std`` (population, ddof = 0), ``kurtosis`` (excess,
    ``scipy.stats.kurtosis`` with Fisher's definition, biased estimator – scipy's default; 0 for a
    normal distribution), ``skewness`` (``scipy.stats.skew``), ``min``, ``max``, ``range``
    (max − min), and ``hist_counts`` (int, length ``bins``) / ``hist_edges`` (length ``bins + 1``)
    from ``numpy.histogram`` over ``hist_range`` (default: the data's min–max; give a common range
    to compare layers or models bin by bin). With no weights left every statistic is NaN and the
    counts are zero.
    """
    w = _to_numpy(weights).astype(float)
    if mask is not None:
        m = _to_numpy(mask).astype(bool)
        if m.shape != w.shape:
            raise ValueError(f"mask shape {m.shape} != weight shape {w.shape}")
        w = w[m]
    w = w.ravel()
    w = w[w != 0]
    n = int(w.size)
    if n == 0:
        edges = np.linspace(*(hist_range or (0.0, 1.0)), bins + 1)
        nan = float("nan")
        return dict(
            n=0,
            mean=nan,
            std=nan,
            kurtosis=nan,
            skewness=nan,
            min=nan,
            max=nan,
            range=nan,
            hist_counts=np.zeros(bins, dtype=np.int64),
            hist_edges=edges,
        )
    counts, edges = np.histogram(w, bins=bins, range=hist_range)
    wmin, wmax = float(w.min()), float(w.max())
    return dict(
        n=n,
        mean=float(w.mean()),
        std=float(w.std()),
        kurtosis=float(stats.kurtosis(w, fisher=True)),
        skewness=float(stats.skew(w)),
        min=wmin,
        max=wmax,
        range=wmax - wmin,
        hist_counts=counts.astype(np.int64),
        hist_edges=edges,
    )


def weight_stats_frame(
    layers: Mapping[str, Any], bins: int = 50, hist_range: tuple[float, float] | None = None
) -> pd.DataFrame:
    """:func:`weight_stats` of several layers as one table (one row per layer, no histograms).

    ``layers`` maps a layer name to a weight array or to a ``(weights, mask)`` pair (mask may be
    ``None``). Histogram counts/edges are left out; call :func:`weight_stats` for them.
    """
    rows = []
    for name, item in layers.items():
        w, m = item if isinstance(item, tuple) else (item, None)
        s = weight_stats(w, m, bins=bins, hist_range=hist_range)
        rows.append({"layer": name, **{k: v for k, v in s.items() if not k.startswith("hist_")}})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# representations
# --------------------------------------------------------------------------------------------------
def tsne_embedding(acts: Any, perplexity: float = 50.0, seed: int = 0, **tsne_kwargs: Any) -> np.ndarray:
    """2-D t-SNE of hidden activations (the paper's Methods "Representations": "t-SNE (2-D, perplexity 50)").

    ``sklearn.manifold.TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed)``
    on the (N, J) activations (float64). Extra keyword arguments go to ``TSNE``. The paper embeds
    2000 test images; choose them before calling. Requires ``perplexity < N``.
    """
    from sklearn.manifold import TSNE

    x = _to_numpy(acts).astype(np.float64)
    if x.ndim != 2:
        raise ValueError(f"acts must be 2-D (N, J), got shape {x.shape}")
    if perplexity >= x.shape[0]:
        raise ValueError(f"perplexity ({perplexity}) must be smaller than the {x.shape[0]} samples")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, **tsne_kwargs)
    return tsne.fit_transform(x)


def silhouette(embedding: Any, labels: Any) -> float:
    """Mean silhouette coefficient of the embedding with the class labels as clusters.

    ``sklearn.metrics.silhouette_score`` (Euclidean) – in [-1, 1], high when classes form compact,
    well-separated clusters.
    """
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(_to_numpy(embedding), _to_numpy(labels).ravel()))


def neighbourhood_hit(embedding: Any, labels: Any, n_neighbors: int = 11, include_self: bool = True) -> float:
    """Neighbourhood hit: mean fraction of each point's k nearest neighbours with its own label.

    The paper's Methods: "neighbourhood hit (fraction of the 11 nearest neighbours with the same label)".
    Neighbours are Euclidean in the embedding. ``include_self`` (the default, and what the
    authors' code computes, Fig. 6) counts the point itself as the first of its k neighbours, i.e.
    (1 + hits among its k − 1 nearest others) / k: the query points are passed to sklearn's
    ``kneighbors`` explicitly, so a point finds itself at distance 0. ``include_self=False`` takes k
    true neighbours instead (``kneighbors()`` without a query, which never returns a point as its
    own neighbour, even with duplicates); the score is then lower by about (1 − hit) / k.
    Returns the mean over all points, in [0, 1].
    """
    from sklearn.neighbors import NearestNeighbors

    x = _to_numpy(embedding)
    y = _to_numpy(labels).ravel()
    if n_neighbors >= x.shape[0]:
        raise ValueError(f"n_neighbors ({n_neighbors}) must be smaller than the {x.shape[0]} points")
    nn = NearestNeighbors(n_neighbors=n_neighbors).fit(x)
    idx = nn.kneighbors(x, return_distance=False) if include_self else nn.kneighbors(return_distance=False)
    return float((y[idx] == y[:, None]).mean())


def trustworthiness(x_high: Any, embedding: Any, n_neighbors: int = 11) -> float:
    """Trustworthiness of the embedding (``sklearn.manifold.trustworthiness``, k = 11 by default).

    1 when every point's k nearest neighbours in the embedding are also among its nearest neighbours
    in the original activation space; penalises "false" neighbours by their original rank.
    Requires ``n_neighbors < N / 2``.
    """
    from sklearn.manifold import trustworthiness as _tw

    return float(_tw(_to_numpy(x_high).astype(np.float64), _to_numpy(embedding), n_neighbors=n_neighbors))


def representation_scores(
    acts: Any,
    labels: Any,
    n_neighbors: int = 11,
    perplexity: float = 50.0,
    seed: int = 0,
    include_self: bool = True,
    **tsne_kwargs: Any,
) -> dict[str, Any]:
    """t-SNE of a hidden layer plus the paper's three representation scores.

    The paper's Methods, "Representations": "t-SNE (2-D, perplexity 50) of each hidden layer's activations on
    2000 test images; silhouette score, neighbourhood hit (fraction of the 11 nearest neighbours
    with the same label) and trustworthiness (11 neighbours)".

    Returns ``{"embedding": (N, 2) array, "silhouette", "neighbourhood_hit", "trustworthiness"}``;
    silhouette and neighbourhood hit are measured on the embedding, trustworthiness compares the
    embedding with ``acts``; ``include_self`` goes to :func:`neighbourhood_hit` (default: the
    point counts as one of its own neighbours, as in the authors' code). Extra keyword arguments go
    to ``sklearn.manifold.TSNE``; ``seed`` is its ``random_state``.
    """
    x = _to_numpy(acts).astype(np.float64)
    y = _to_numpy(labels).ravel()
    emb = tsne_embedding(x, perplexity=perplexity, seed=seed, **tsne_kwargs)
    return {
        "embedding": emb,
        "silhouette": silhouette(emb, y),
        "neighbourhood_hit": neighbourhood_hit(emb, y, n_neighbors, include_self=include_self),
        "trustworthiness": trustworthiness(x, emb, n_neighbors),
    }
