"""LRF / GRF masks of this project against the authors' sampling rule (issue #10, item 8).

    .venv/bin/python benchmarks/rf_masks.py               # statistics, ~1 min on one core
    .venv/bin/python benchmarks/rf_masks.py --masks 50    # quicker
    .venv/bin/python benchmarks/rf_masks.py --train --seeds 0 1 2 --epochs 25
                                                           # + dANN-LRF D=4,S=128 trained with both
                                                           #   kinds of mask (~1 min per seed, 1 thread)

The authors' rule is re-implemented here from a reading of the public repository
Poirazi-Lab/dendritic_anns (``codes_/receptive_fields.py``), in two versions:

* ``head``: the current code (commit fadc384). A dendrite centre is a flat pixel index drawn
  uniformly with replacement over the whole image; the dendrite takes the in-image pixels of the
  centre's 3x3 box, then walks outwards ring by ring (Chebyshev radius 2, 3, ...): a ring that
  still fits is taken whole, the ring where the count runs out gives a uniform random subset.
  GRF: one such centre per soma; its dendrite centres are a random subset of the soma centre's
  3x3 box; a box smaller than D (D > 9, or a soma at the border) is *not* expanded, so that soma
  gets fewer dendrites and every later soma's dendrites shift up by the shortfall (their rows no
  longer belong to their soma, and the last rows of the mask stay empty).
* ``v0``: the first public commit 5d0ec67 (before the paper). Rows and columns of the centres are
  drawn independently and uniformly (the same distribution as ``head``); when the 3x3 box is too
  small, the missing pixels are drawn at random from the *union* of ring 2, ring 3, ... up to the
  first radius where the union holds enough (so at the border some ring-2 pixels are skipped in
  favour of ring-3 ones). GRF expands the same way when D exceeds the box.

Nothing of the authors' code is used or copied: the functions below implement the rule as just
described, in plain numpy. ``ours`` is :mod:`dendritic.connectivity`.

What is compared (28x28 images, k = 16 inputs per dendrite, D = 4, S = 128 unless stated):
inputs per dendrite; centre position (chi-square against uniform, KS on rows and columns between
samplers); Chebyshev distance of every input from its dendrite's centre (all dendrites, and by
how close the centre is to the border); the number of ring-2 inputs per dendrite; how often each
pixel is an input (coverage map); duplicate centres and duplicate dendrites within one mask; for
GRF the distance of each dendrite centre from its soma's centre, empty dendrites and dendrites
wired to another soma than the one their centre was drawn for. Two samplers are compared by a
permutation test over masks (the mask is the independent unit: the 16 inputs of a dendrite, and
the dendrites that cover neighbouring pixels, are not independent draws, which makes a chi-square
test on pooled counts too eager to reject).

``--train`` then trains dANN-LRF (D=4, S=128) on Fashion-MNIST with the project's fast engine, each
seed twice: with the project's LRF mask and with a mask drawn by the ``head`` rule (the initial
weights are the same: Glorot on the dense shape from the seed's init stream, then masked).
Findings: docs/FIDELITY.md, "The LRF mask question".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dendritic import connectivity as cn  # noqa: E402

H = W = 28
K = 16


# --------------------------------------------------------------------------- the authors' rule
def _box(y: int, x: int, r: int) -> np.ndarray:
    """In-image (row, col) pairs within Chebyshev distance r of (y, x)."""
    ys = np.arange(max(0, y - r), min(H - 1, y + r) + 1)
    xs = np.arange(max(0, x - r), min(W - 1, x + r) + 1)
    g = np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)
    return g


def _ring(y: int, x: int, r: int) -> np.ndarray:
    """In-image (row, col) pairs at Chebyshev distance exactly r of (y, x)."""
    g = _box(y, x, r)
    d = np.maximum(np.abs(g[:, 0] - y), np.abs(g[:, 1] - x))
    return g[d == r]


def authors_dendrite(rng: np.random.Generator, y: int, x: int, k: int = K, version: str = "head") -> np.ndarray:
    """The k pixels of one dendrite centred at (y, x), by the authors' rule (module docstring)."""
    pix = _box(y, x, 1)
    if len(pix) > k:
        return pix[rng.choice(len(pix), k, replace=False)]
    if len(pix) == k:
        return pix
    if version == "head":
        r = 2
        while len(pix) < k:
            ring = _ring(y, x, r)
            need = k - len(pix)
            if len(ring) > need:
                ring = ring[rng.choice(len(ring), need, replace=False)]
            pix = np.concatenate([pix, ring])
            r += 1
        return pix
    # v0: pool rings 2, 3, ... until the pool holds the missing pixels, then draw from the pool
    need = k - len(pix)
    pool, r = _ring(y, x, 2), 3
    while len(pool) < need:
        pool = np.concatenate([pool, _ring(y, x, r)])
        r += 1
    return np.concatenate([pix, pool[rng.choice(len(pool), need, replace=False)]])


def authors_centres(rng: np.random.Generator, n: int, version: str = "head") -> np.ndarray:
    """(n, 2) centres: head draws flat indices, v0 rows and columns independently (same law)."""
    if version == "head":
        flat = rng.choice(H * W, size=n, replace=True)
        return np.stack([flat // W, flat % W], 1)
    return np.stack([rng.choice(H, n), rng.choice(W, n)], 1)


def authors_lrf(rng, n_dendrites: int, version: str = "head"):
    """Pixels (n, k) as flat indices and centres (n,) as flat indices."""
    c = authors_centres(rng, n_dendrites, version)
    rows = [authors_dendrite(rng, y, x, K, version) for y, x in c]
    return np.array([p[:, 0] * W + p[:, 1] for p in rows]), c[:, 0] * W + c[:, 1]


def authors_grf(rng, D: int, S: int, version: str = "head"):
    """GRF by the authors' rule. Returns (rows, owner, dendrite_centres, soma_centres): ``rows`` a
    list of D*S flat pixel arrays (empty where the authors' mask row stays empty), ``owner[i]`` the
    soma around whose centre row i's dendrite centre was drawn (-1: empty row), centres flat
    (-1 for an empty row)."""
    sc = authors_centres(rng, S, version)
    rows, owner, dc = [], [], []
    for j, (y, x) in enumerate(sc):
        cand = _box(y, x, 1)
        if D < len(cand):
            cand = cand[rng.choice(len(cand), D, replace=False)]
        elif D > len(cand) and version == "v0":
            need = D - len(cand)
            pool, r = _ring(y, x, 2), 3
            while len(pool) < need:
                pool = np.concatenate([pool, _ring(y, x, r)])
                r += 1
            cand = np.concatenate([cand, pool[rng.choice(len(pool), need, replace=False)]])
        # head: a box smaller than D is used as it is (fewer dendrites for this soma)
        for cy, cx in cand:
            p = authors_dendrite(rng, cy, cx, K, version)
            rows.append(p[:, 0] * W + p[:, 1])
            owner.append(j)
            dc.append(cy * W + cx)
    rows, owner, dc = rows[: D * S], owner[: D * S], dc[: D * S]
    while len(rows) < D * S:
        rows.append(np.zeros(0, dtype=int))
        owner.append(-1)
        dc.append(-1)
    return rows, np.array(owner), np.array(dc), sc[:, 0] * W + sc[:, 1]


# --------------------------------------------------------------------------- statistics
def cheb(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.maximum(np.abs(a // W - b // W), np.abs(a % W - b % W))


def border_class(c):
    """0: centre on the image border, 1: one pixel in, 2: two or more pixels in."""
    y, x = np.asarray(c) // W, np.asarray(c) % W
    m = np.minimum(np.minimum(y, H - 1 - y), np.minimum(x, W - 1 - x))
    return np.minimum(m, 2)


def perm_test(a: np.ndarray, b: np.ndarray, n_perm: int = 500, seed: int = 0) -> float:
    """p-value that two samplers give the same mean of a per-mask feature vector.

    ``a`` (n_a, m) and ``b`` (n_b, m): one row per mask (masks are the independent units; the
    inputs of one dendrite, and the dendrites around one pixel, are not independent, so a
    chi-square test on pooled counts would be anti-conservative). Statistic: the sum over
    features of the squared difference of the means over its pooled standard error; p from
    ``n_perm`` permutations of the mask labels."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]

    def stat(x, y):
        v = np.concatenate([x, y]).var(0, ddof=1)
        keep = v > 0
        d = x.mean(0) - y.mean(0)
        return float((d[keep] ** 2 / (v[keep] * (1 / len(x) + 1 / len(y)))).sum())

    t0, pool = stat(a, b), np.concatenate([a, b])
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_perm):
        p = rng.permutation(len(pool))
        hits += stat(pool[p[: len(a)]], pool[p[len(a) :]]) >= t0 - 1e-12
    return (hits + 1) / (n_perm + 1)


def lrf_stats(sampler, n_masks: int, D: int = 4, S: int = 128, seed: int = 0) -> dict:
    """Per-mask statistics (one row per mask) of ``n_masks`` LRF masks of D*S dendrites."""
    rng = np.random.default_rng(seed)
    n = D * S
    keys = (
        "k_min",
        "k_max",
        "centre",
        "dist",
        "dist_b0",
        "dist_b1",
        "dist_b2",
        "ring2",
        "coverage",
        "dup_centres",
        "dup_dendrites",
    )
    out: dict = {k: [] for k in keys}
    rows, cols = [], []
    for _ in range(n_masks):
        pix, cen = sampler(rng, n)
        k = [len(set(p.tolist())) for p in pix]
        out["k_min"].append(min(k))
        out["k_max"].append(max(k))
        out["centre"].append(np.bincount(cen, minlength=H * W))
        rows.append(cen // W)
        cols.append(cen % W)
        d = cheb(pix, cen[:, None])
        out["dist"].append(np.bincount(d.ravel(), minlength=8)[:8])
        bc = border_class(cen)
        for b in range(3):
            out[f"dist_b{b}"].append(np.bincount(d[bc == b].ravel(), minlength=8)[:8])
        out["ring2"].append(np.bincount((d == 2).sum(1), minlength=K + 1))
        out["coverage"].append(np.bincount(pix.ravel(), minlength=H * W))
        out["dup_centres"].append(n - len(np.unique(cen)))
        out["dup_dendrites"].append(n - len({tuple(sorted(p.tolist())) for p in pix}))
    out = {k: np.array(v) for k, v in out.items()}
    out["rows"], out["cols"] = np.concatenate(rows), np.concatenate(cols)
    return out


def ours_lrf(rng, n):
    return cn.lrf_pixels(rng, n, H, W, K)


def head_lrf(rng, n):
    return authors_lrf(rng, n, "head")


def v0_lrf(rng, n):
    return authors_lrf(rng, n, "v0")


def report_lrf(n_masks: int) -> dict:
    t0 = time.perf_counter()
    res = {
        name: lrf_stats(f, n_masks, seed=i)
        for i, (name, f) in enumerate([("ours", ours_lrf), ("head", head_lrf), ("v0", v0_lrf)])
    }
    o = res["ours"]
    print(
        f"## LRF, 28x28, k = 16, D = 4, S = 128: {n_masks} masks per sampler "
        f"({n_masks * 512:,} dendrites; {time.perf_counter() - t0:.0f} s)\n"
    )
    print(
        "p: permutation test over masks that the sampler's per-mask mean is the project's "
        "(500 permutations; 0.002 is the smallest possible value).\n"
    )
    print("| quantity | ours | authors HEAD | authors v0 | p (ours = HEAD) | p (ours = v0) |")
    print("|---|---|---|---|---|---|")

    def row(name, f, key=None):
        ph = "-" if key is None else f"{perm_test(o[key], res['head'][key]):.3f}"
        pv = "-" if key is None else f"{perm_test(o[key], res['v0'][key]):.3f}"
        print(f"| {name} | {f(o)} | {f(res['head'])} | {f(res['v0'])} | {ph} | {pv} |")

    row("inputs per dendrite (min-max distinct)", lambda r: f"{r['k_min'].min()}-{r['k_max'].max()}")
    for r in res.values():  # centres uniform over the 784 pixels? (centres are independent draws)
        r["p_uniform"] = float(stats.chisquare(r["centre"].sum(0)).pvalue)
    row("centres uniform over the 784 pixels (chi-square p)", lambda r: f"{r['p_uniform']:.2f}")
    ks = {
        n: (stats.ks_2samp(o["rows"], res[n]["rows"]).pvalue, stats.ks_2samp(o["cols"], res[n]["cols"]).pvalue)
        for n in ("head", "v0")
    }
    print(
        f"| centre row / column (mean; KS p vs ours) | {o['rows'].mean():.2f} / {o['cols'].mean():.2f} | "
        f"{res['head']['rows'].mean():.2f} / {res['head']['cols'].mean():.2f} | "
        f"{res['v0']['rows'].mean():.2f} / {res['v0']['cols'].mean():.2f} | "
        "%.2f / %.2f | %.2f / %.2f |" % (ks["head"] + ks["v0"])
    )

    def shares(key):
        return lambda r: " ".join(f"{v / max(r[key].sum(), 1):.4f}" for v in r[key].sum(0)[:5])

    row("share of inputs at distance 0/1/2/3/4", shares("dist"), "dist")
    for b, label in [
        (2, "interior centres (>= 2 px from border)"),
        (1, "centres 1 px from border"),
        (0, "centres on the border"),
    ]:
        row(f"  same, {label}", shares(f"dist_b{b}"), f"dist_b{b}")
    row(
        "ring-2 inputs per dendrite (mean)",
        lambda r: f"{np.average(np.arange(K + 1), weights=r['ring2'].sum(0)):.4f}",
        "ring2",
    )
    row(
        "coverage map: inputs per pixel (max / min, share of the mean)",
        lambda r: (
            f"{r['coverage'].mean(0).max() / r['coverage'].mean():.2f} / "
            f"{r['coverage'].mean(0).min() / r['coverage'].mean():.2f}"
        ),
        "coverage",
    )
    for key, label in [
        ("dup_centres", "duplicate centres per mask"),
        ("dup_dendrites", "duplicate dendrites (same 16 pixels) per mask"),
    ]:
        row(label, lambda r, key=key: f"{r[key].mean():.2f}", key)
    print()
    return res


def report_grf(n_masks: int, S: int = 128) -> None:
    print(f"## GRF, 28x28, k = 16, S = {S}: {n_masks} masks per sampler and D\n")
    print(
        "| D | sampler | dendrite-centre distance from soma centre 0/1/2/3 | empty dendrites | "
        "dendrites wired to another soma than the one they were drawn for | p (distance, vs ours) |"
    )
    print("|---|---|---|---|---|---|")
    for D in (4, 8, 16, 32):
        per_mask = {}
        for i, name in enumerate(("ours", "head", "v0")):
            rng = np.random.default_rng(100 + i)
            dist, empty, stray = [], 0, 0
            for _ in range(n_masks):
                if name == "ours":
                    pix, dc, sc = cn.grf_pixels(rng, D, S, H, W, K)
                    d = cheb(dc, np.repeat(sc, D))
                else:
                    rows, owner, dc, sc = authors_grf(rng, D, S, name)
                    ok = owner >= 0
                    empty += int((~ok).sum())
                    # the soma row i is wired to (structured: i // D) vs the soma it was drawn for
                    stray += int((owner[ok] != np.arange(D * S)[ok] // D).sum())
                    d = cheb(dc[ok], sc[owner[ok]])  # from the soma it was drawn for
                dist.append(np.bincount(d, minlength=8)[:8] / max(len(d), 1))
            per_mask[name] = dist = np.array(dist)
            p = "-" if name == "ours" else f"{perm_test(per_mask['ours'], dist):.3f}"
            share = " ".join(f"{v:.3f}" for v in dist.mean(0)[:4])
            print(f"| {D} | {name} | {share} | {empty / n_masks:.1f} per mask | {stray / n_masks:.1f} per mask | {p} |")
    print()


# --------------------------------------------------------------------------- training
def train_comparison(seeds, epochs: int, threads: int = 1) -> None:
    import torch

    from dendritic import engine as fast
    from dendritic.config import Cell
    from dendritic.datasets import load_prepared
    from dendritic.models import DendriticNet, build_masks
    from dendritic.training import to_float

    torch.set_num_threads(threads)
    data = ROOT / "resources" / "data" / "fmnist.pt"
    prep = load_prepared(data)
    dev = torch.device("cpu")
    xtr, xte = to_float(prep.x_train, dev), to_float(prep.x_test, dev)
    cell = Cell(
        experiment="main",
        dataset="fmnist",
        model="dANN-LRF",
        dendrites=4,
        somata=128,
        epochs=epochs,
        lr=1e-3,
        seeds=tuple(seeds),
    )
    print(f"## dANN-LRF D=4, S=128, {epochs} epochs, Fashion-MNIST: test accuracy (%)\n")
    print("| seed | project's LRF mask | authors' (HEAD) rule | difference |")
    print("|---|---|---|---|")
    acc = {"ours": [], "head": []}
    for kind in ("ours", "head"):
        nets = []
        for s in seeds:
            masks = build_masks("dANN-LRF", (1, H, W), 4, 128, seed=s)
            if kind == "head":
                rng = np.random.default_rng([s, 0xA17])
                pix, _ = authors_lrf(rng, 4 * 128, "head")
                masks[0] = cn.pixels_to_mask(pix, (1, H, W))
            net = DendriticNet("dANN-LRF", (1, H, W), 10, 4, 128, masks=masks)
            net.init_weights(s)
            nets.append(net)
        t0 = time.perf_counter()
        res = fast.train_replicas(
            fast.FastNet(nets),
            fast.replica_data(xtr, prep.y_train, xte, prep.y_test, cell, list(seeds)),
            cell,
            list(seeds),
        )
        acc[kind] = [100 * r.test_acc for r in res]
        print(f"<!-- {kind}: {time.perf_counter() - t0:.0f} s -->", file=sys.stderr)
    for s, a, b in zip(seeds, acc["ours"], acc["head"]):
        print(f"| {s} | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    a, b = np.array(acc["ours"]), np.array(acc["head"])
    line = f"| mean | {a.mean():.2f} | {b.mean():.2f} | {(a - b).mean():+.2f} |"
    if len(seeds) > 1:
        line += f" (paired t p = {stats.ttest_rel(a, b).pvalue:.2f})"
    print(line + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--masks", type=int, default=200, help="masks per sampler (LRF); GRF uses a quarter")
    ap.add_argument("--train", action="store_true", help="also train dANN-LRF D=4,S=128 with both masks")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    report_lrf(args.masks)
    report_grf(max(args.masks // 4, 5))
    if args.train:
        train_comparison(args.seeds, args.epochs, args.threads)


if __name__ == "__main__":
    main()
