"""The best models of Figs 5-6 (the paper, §4): each model's selected network, its nodes,
weights and representations, tabulated from its trained weights.

This module reads trained weights (a cell's ``weights.pt``, rebuilt by
:func:`dendritic.cells.load_run`) and a prepared dataset; the statistics themselves are the
functions of :mod:`dendritic.analysis` (paper §4), which this module only feeds and tabulates.
The test-time noise beyond the paper is :mod:`dendritic.test_noise`.

Layer names
-----------
* Hidden layers (node and representation tables): ``dendrites``, ``somata`` for the first
  dendrite→soma pair, then ``dendrites_2``, ``somata_2``, … for L > 1 (:func:`hidden_layer_names`).
* Weight layers (weight tables): each ``nn.Linear`` is named after the layer it feeds, so the
  input→dendrite weights are ``dendrites``, the dendrite→soma weights ``somata`` and the last
  layer ``output`` (:func:`weight_layer_names`). Only non-masked, non-zero weights enter.

Best-model analyses (:func:`analyse_best_models`, one model at a time with :func:`analyse_model`)
--------------------------------------------------------------------------------------------
For each model, the network that the paper analyses, fixed from the main experiment
(:func:`best_cells`, i.e. :func:`analysis.select_networks`: by default the first configuration
that beats vANN's best mean accuracy, vANN's own best; ``analysis.selection: best`` takes every
model's most accurate one), is analysed on the whole test set:

* node statistics of every hidden layer for **every** non-diverged seed (cheap: one forward pass);
* weight statistics for every seed; weight histograms of the first seed (the one the figure shows);
* t-SNE of every hidden layer on the **first** ``n_images`` test images (paper §4: the first 2000),
  the same images for every model (:func:`tsne_indices`), for **every** non-diverged seed and
  ``repeats`` t-SNE runs each (paper: 5 trials × 10 runs, 95 % CI), with the silhouette, the
  neighbourhood hit and the trustworthiness of each run (``representations.csv``: one row per
  seed, repeat and layer). Only the embedding of the first seed's first run is kept
  (``tsne.csv``), the one Fig. 6 draws. t-SNE run ``r`` of seed ``s`` uses
  ``random_state = TSNE_SEED_STRIDE·s + r`` (:func:`tsne_seed`), so the same seed gives the same
  scores.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dendritic import analysis as an
from dendritic import datasets, runio, trials
from dendritic.cells import load_run
from dendritic.plan import ANALYSIS_TABLES
from dendritic.summary import load_summary
from dendritic.training import EVAL_BATCH, resolve_device, to_float

log = logging.getLogger("dendritic.best_models")

__all__ = [
    "hidden_layer_names",
    "weight_layer_names",
    "best_cells",
    "hidden_activations",
    "layer_weights",
    "tsne_indices",
    "tsne_seed",
    "node_table",
    "weight_tables",
    "representation_tables",
    "analyse_model",
    "analyse_best_models",
    "ANALYSIS_TABLES",
    "run_best_model_analysis",
    "concat_tables",
    "write_table",
]

#: Identity columns of every per-model analysis table, in this order.
ID_COLS = ["dataset", "model", "cell", "dendrites", "somata", "layers", "seed"]


# --------------------------------------------------------------------------------------------------
# names, selection
# --------------------------------------------------------------------------------------------------
def hidden_layer_names(L: int = 1) -> list[str]:
    """``["dendrites", "somata", "dendrites_2", "somata_2", …]`` for L dendrite→soma pairs."""
    names = []
    for i in range(1, L + 1):
        suffix = "" if i == 1 else f"_{i}"
        names += [f"dendrites{suffix}", f"somata{suffix}"]
    return names


def weight_layer_names(L: int = 1) -> list[str]:
    """Names of the 2L + 1 weight layers: each named after the layer it feeds, then ``output``."""
    return hidden_layer_names(L) + ["output"]


def best_cells(
    summary: pd.DataFrame,
    dataset: str,
    selection: str = "paper",
    models: Sequence[str] | None = None,
    experiment: str = "main",
) -> pd.DataFrame:
    """The network of each model that the analyses of Fig. 5 and Fig. 6 use, on ``dataset``.

    The choice is :func:`analysis.select_networks` (paper §4, "The network each later analysis
    uses"), the one function that the figures and the verdict call too: with ``selection='paper'``
    each dendritic model's first configuration above vANN's best mean test accuracy ("matched
    vANN"; a model that never matches "fell back to best"), vANN's best-accuracy configuration;
    with ``selection='best'`` each model's most accurate configuration. The reference is always
    vANN's runs in ``summary``, also when ``models`` leaves vANN out.

    Returns one row per model with ``dataset, model, dendrites, somata, layers, cell, n_params, n,
    test_acc_mean, test_acc_ci95, test_loss_mean, test_loss_ci95, seeds`` (the non-diverged seeds,
    ascending, as a space-separated string), ``selection``, ``reason`` (why this network) and
    ``note`` (the same in a sentence). Empty when there are no such runs.
    """
    cols = [
        "dataset",
        "model",
        "dendrites",
        "somata",
        "layers",
        "cell",
        "n_params",
        "n",
        "test_acc_mean",
        "test_acc_ci95",
        "test_loss_mean",
        "test_loss_ci95",
        "seeds",
        "selection",
        "reason",
        "note",
    ]
    df = summary[(summary["experiment"] == experiment) & (summary["dataset"] == dataset)]
    best = trials.select_networks(df, dataset, selection, experiment=experiment, models=models)
    if best.empty:
        return pd.DataFrame(columns=cols)
    if "layers" not in best:
        best["layers"] = 1
    ok = df[~trials.diverged_mask(df)]
    cells, seeds = [], []
    for row in best.itertuples():
        runs = ok[(ok["model"] == row.model) & (ok["dendrites"] == row.dendrites) & (ok["somata"] == row.somata)]
        if "layers" in runs:
            runs = runs[runs["layers"] == row.layers]
        if "cell" in runs and runs["cell"].notna().any():
            cells.append(str(runs["cell"].dropna().iloc[0]))
        else:
            cells.append(f"D{row.dendrites}_S{row.somata}" + (f"_L{row.layers}" if row.layers != 1 else ""))
        seeds.append(" ".join(str(int(s)) for s in sorted(runs["seed"].unique())))
    best["cell"], best["seeds"] = cells, seeds
    return best[cols].reset_index(drop=True)


def _seed_list(seeds: Any) -> list[int]:
    if isinstance(seeds, str):
        return [int(s) for s in seeds.split()]
    if isinstance(seeds, (int, np.integer)):
        return [int(seeds)]
    return [int(s) for s in seeds]


def tsne_indices(n_test: int, n_images: int) -> np.ndarray:
    """The first ``min(n_images, n_test)`` test images (indices 0, 1, …), as the paper embeds the
    first 2000 of Fashion-MNIST's test set; the same for every model."""
    return np.arange(min(int(n_images), int(n_test)))


#: Stride between the t-SNE random states of two model seeds (:func:`tsne_seed`).
TSNE_SEED_STRIDE = 1000


def tsne_seed(model_seed: int, repeat: int) -> int:
    """``random_state`` of t-SNE run ``repeat`` (0-based) on the network of ``model_seed``."""
    if not 0 <= int(repeat) < TSNE_SEED_STRIDE:
        raise ValueError(f"t-SNE repeat {repeat} out of range 0..{TSNE_SEED_STRIDE - 1}")
    return TSNE_SEED_STRIDE * int(model_seed) + int(repeat)


# --------------------------------------------------------------------------------------------------
# one trained model
# --------------------------------------------------------------------------------------------------
@torch.inference_mode()
def hidden_activations(
    model: torch.nn.Module, x: torch.Tensor, binary: bool = False, batch_size: int = EVAL_BATCH
) -> list[np.ndarray]:
    """Hidden activations ``[dendrites₁, somata₁, …]`` of flat float inputs ``x`` (N, features),
    computed in batches on ``x``'s device, as numpy arrays (N, J).

    With ``binary`` only ``activation > 0`` is kept (bool, 4× smaller): all that the node
    statistics of :mod:`dendritic.analysis` look at.
    """
    was_training = model.training
    model.eval()
    parts: list[list[np.ndarray]] = []
    for i in range(0, len(x), batch_size):
        hs = model.hidden(x[i : i + batch_size])
        if not parts:
            parts = [[] for _ in hs]
        for store, h in zip(parts, hs):
            store.append(((h > 0) if binary else h.float()).cpu().numpy())
    model.train(was_training)
    return [np.concatenate(p) for p in parts]


def layer_weights(model: torch.nn.Module) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """``{weight layer name: (weight (out, in), mask or None)}`` in the form
    :func:`analysis.weight_stats_frame` takes (names: :func:`weight_layer_names`)."""
    names = weight_layer_names(model.L)
    out = {}
    for name, layer in zip(names, model.layers):
        mask = None if layer.mask is None else layer.mask.detach().cpu().numpy()
        out[name] = (layer.weight.detach().cpu().numpy(), mask)
    return out


def node_table(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | np.ndarray, n_classes: int, threshold: float = 0.4
) -> pd.DataFrame:
    """:func:`analysis.node_statistics` of every hidden layer on (x, y), one row per node, with a
    ``layer`` column and the layer's ``sparsity`` (share of never-active nodes)."""
    y = an._to_numpy(y).astype(np.int64)
    frames = []
    for name, acts in zip(hidden_layer_names(model.L), hidden_activations(model, x, binary=True)):
        df = an.node_statistics(acts, y, n_classes, threshold)
        df.insert(0, "layer", name)
        df["sparsity"] = df.attrs["sparsity"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def weight_tables(model: torch.nn.Module, bins: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weight statistics of every weight layer (:func:`analysis.weight_stats_frame`) and their
    histograms (``layer, bin_left, bin_right, count``; ``bins`` bins over each layer's range)."""
    layers = layer_weights(model)
    stats = an.weight_stats_frame(layers)
    rows = []
    for name, (w, m) in layers.items():
        s = an.weight_stats(w, m, bins=bins)
        e = s["hist_edges"]
        rows.append(pd.DataFrame({"layer": name, "bin_left": e[:-1], "bin_right": e[1:], "count": s["hist_counts"]}))
    return stats, pd.concat(rows, ignore_index=True)


def representation_tables(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: Any,
    indices: np.ndarray,
    perplexity: float = 50.0,
    n_neighbors: int = 11,
    seed: int = 0,
    repeats: int = 1,
    include_self: bool = True,
    **tsne_kwargs: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``repeats`` t-SNE runs of every hidden layer on the test images ``indices`` and the three
    scores of each run (:func:`analysis.representation_scores`; ``include_self`` is the
    neighbourhood hit's choice, see :func:`analysis.neighbourhood_hit`). Run ``r`` uses t-SNE
    ``random_state = seed + r``.

    The perplexity is lowered to ``(n - 1) / 3`` when there are too few images for it (sklearn
    needs perplexity < n); the value used is in the table. Returns (scores: one row per run and
    layer with ``repeat, layer, n_images, perplexity, n_neighbors, hit_includes_self, silhouette,
    neighbourhood_hit, trustworthiness``; embeddings of run 0: ``layer, image, label, x, y``, one
    row per layer and image).
    """
    if int(repeats) < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    y = an._to_numpy(y).astype(np.int64)
    idx = torch.as_tensor(indices, dtype=torch.long, device=x.device)
    xs, ys = x[idx], y[np.asarray(indices)]
    n = len(ys)
    perp = float(perplexity) if perplexity < n else max((n - 1) / 3.0, 1.0)
    if perp != perplexity:
        log.warning("perplexity %g too large for %d images: using %g", perplexity, n, perp)
    k = min(int(n_neighbors), max((n - 1) // 2, 1))
    scores, embeds = [], []
    for name, acts in zip(hidden_layer_names(model.L), hidden_activations(model, xs)):
        for rep in range(int(repeats)):
            r = an.representation_scores(
                acts, ys, n_neighbors=k, perplexity=perp, seed=seed + rep, include_self=include_self, **tsne_kwargs
            )
            scores.append(
                dict(
                    repeat=rep,
                    layer=name,
                    n_images=n,
                    perplexity=perp,
                    n_neighbors=k,
                    hit_includes_self=bool(include_self),
                    silhouette=r["silhouette"],
                    neighbourhood_hit=r["neighbourhood_hit"],
                    trustworthiness=r["trustworthiness"],
                )
            )
            if rep == 0:
                emb = r["embedding"]
                embeds.append(
                    pd.DataFrame(
                        {
                            "layer": name,
                            "image": np.asarray(indices),
                            "label": ys,
                            "x": emb[:, 0].astype(np.float32),
                            "y": emb[:, 1].astype(np.float32),
                        }
                    )
                )
    return pd.DataFrame(scores), pd.concat(embeds, ignore_index=True)


def _with_ids(df: pd.DataFrame, ids: Mapping[str, Any]) -> pd.DataFrame:
    df = df.copy()
    for i, (k, v) in enumerate(ids.items()):
        df.insert(i, k, v)
    return df


def analyse_model(
    best: Mapping[str, Any],
    weights_path: str | Path,
    prepared,
    threshold: float = 0.4,
    n_images: int = 2000,
    perplexity: float = 50.0,
    n_neighbors: int = 11,
    device: str | torch.device = "cpu",
    tsne_kwargs: Mapping[str, Any] | None = None,
    repeats: int = 10,
    include_self: bool = True,
) -> dict[str, pd.DataFrame]:
    """Every analysis of one model's best configuration ``best`` (a row of :func:`best_cells`)
    from its cell's ``weights.pt`` on the test set of ``prepared`` (a PreparedDataset).

    Returns ``{"best_cells", "node_stats", "weight_stats", "weight_hists", "representations",
    "tsne"}`` (see :data:`ANALYSIS_TABLES` and the module docstring for which seeds enter which).
    ``repeats`` t-SNE runs per seed (paper: 10); ``include_self``: the neighbourhood hit counts
    the point itself among its ``n_neighbors`` (authors' code).
    """
    dev = resolve_device(device) if isinstance(device, str) else device
    seeds = _seed_list(best["seeds"])
    if not seeds:
        raise ValueError(f"{best['model']} {best['cell']}: no non-diverged seed to analyse")
    x = to_float(prepared.x_test, dev)
    y = prepared.y_test.cpu().numpy()
    C = prepared.n_classes
    base = {k: best[k] for k in ("dataset", "model", "cell", "dendrites", "somata", "layers")}
    nodes, wstats, reps = [], [], []
    out: dict[str, pd.DataFrame] = {"best_cells": pd.DataFrame([dict(best)])}
    for i, seed in enumerate(seeds):
        model = load_run(weights_path, seed, prepared.image_shape, C).to(dev)
        ids = {**base, "seed": seed}
        nodes.append(_with_ids(node_table(model, x, y, C, threshold), ids))
        ws, hist = weight_tables(model)
        wstats.append(_with_ids(ws, ids))
        sc, emb = representation_tables(
            model,
            x,
            y,
            tsne_indices(len(y), n_images),
            perplexity,
            n_neighbors,
            seed=tsne_seed(seed, 0),
            repeats=repeats,
            include_self=include_self,
            **dict(tsne_kwargs or {}),
        )
        reps.append(_with_ids(sc, ids))
        if i == 0:  # the first seed: the histograms and the embedding the figures show
            out["weight_hists"] = _with_ids(hist, ids)
            out["tsne"] = _with_ids(emb, ids)
        log.info("%s %s seed %d analysed", best["model"], best["cell"], seed)
    out["node_stats"] = pd.concat(nodes, ignore_index=True)
    out["weight_stats"] = pd.concat(wstats, ignore_index=True)
    out["representations"] = pd.concat(reps, ignore_index=True)
    return {k: out[k] for k in ANALYSIS_TABLES}


def analyse_best_models(
    summary: pd.DataFrame,
    dataset: str,
    prepared,
    weights: Mapping[str, str | Path] | str | Path = "results/runs",
    models: Sequence[str] | None = None,
    selection: str = "paper",
    **kwargs: Any,
) -> dict[str, pd.DataFrame]:
    """:func:`analyse_model` for the selected network (:func:`best_cells` with ``selection``) of
    every model of the main experiment on ``dataset``, concatenated. ``weights`` maps
    ``"{model}/{cell}"`` to a weights.pt, or is the runs root
    (``{root}/main/{dataset}/{model}/{cell}/weights.pt``). Keyword arguments go to
    :func:`analyse_model`."""
    best = best_cells(summary, dataset, selection, models=models)
    tables: dict[str, list[pd.DataFrame]] = {k: [] for k in ANALYSIS_TABLES}
    for row in best.to_dict("records"):
        if isinstance(weights, Mapping):
            path = weights[f"{row['model']}/{row['cell']}"]
        else:
            path = Path(weights) / "main" / dataset / row["model"] / row["cell"] / "weights.pt"
        for k, df in analyse_model(row, path, prepared, **kwargs).items():
            tables[k].append(df)
    return {k: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for k, v in tables.items()}


# --------------------------------------------------------------------------------------------------
# file-level entry points (one Snakemake job each)
# --------------------------------------------------------------------------------------------------
def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """``df`` as CSV at ``path`` (atomically; floats to 6 significant digits), the format of every
    table under ``results/analysis/`` and of ``results/test_noise.csv``."""
    runio.write_atomic(path, lambda p: df.to_csv(p, index=False, float_format="%.6g"))


def set_threads(threads: int | None) -> None:
    """Torch's intra-op threads for one job (Snakemake's ``threads``; none given: torch's default)."""
    if threads:
        torch.set_num_threads(int(threads))


def run_best_model_analysis(
    summary_path: str | Path,
    data_path: str | Path,
    dataset: str,
    model: str,
    weights_paths: Sequence[str | Path],
    out_paths: Mapping[str, str | Path],
    device: str = "cpu",
    threads: int | None = None,
    selection: str = "paper",
    **kwargs: Any,
) -> dict[str, pd.DataFrame]:
    """One Snakemake job: select ``model``'s network on ``dataset`` from ``results/summary.csv``
    (:func:`best_cells` with ``selection``, config key ``analysis.selection``; the match-vANN rule
    reads vANN's runs from the same summary), find its weights among ``weights_paths``
    (``…/{model}/{cell}/weights.pt``), analyse it (:func:`analyse_model`, keyword arguments passed
    on) and write each table of :data:`ANALYSIS_TABLES` to ``out_paths[name]``. A model without
    any non-diverged run gets empty tables."""
    set_threads(threads)
    best = best_cells(load_summary(summary_path), dataset, selection, models=[model])
    if best.empty or not best.iloc[0]["seeds"]:
        log.warning("no finished, non-diverged main run of %s on %s: empty analysis tables", model, dataset)
        tables = {k: pd.DataFrame(columns=ID_COLS) for k in ANALYSIS_TABLES}
    else:
        row = best.iloc[0].to_dict()
        suffix = f"/{model}/{row['cell']}/weights.pt"
        matches = [p for p in map(str, weights_paths) if p.replace("\\", "/").endswith(suffix)]
        if not matches:
            raise FileNotFoundError(
                f"weights of the selected {model} configuration ({row['cell']}, "
                f"{row['reason']}) are not among the {len(weights_paths)} given "
                "weights.pt files"
            )
        log.info(
            "%s on %s: selected configuration %s (%s; mean test acc %.4f over %d seeds)",
            model,
            dataset,
            row["cell"],
            row["reason"],
            row["test_acc_mean"],
            row["n"],
        )
        tables = analyse_model(row, matches[0], datasets.load_prepared(data_path), device=device, **kwargs)
    for name, df in tables.items():
        write_table(df, out_paths[name])
    return tables


def concat_tables(inputs: Iterable[str | Path], output: str | Path) -> pd.DataFrame:
    """Concatenate CSV tables (empty ones skipped) into ``output``."""
    frames = [pd.read_csv(p) for p in inputs]
    nonempty = [f for f in frames if len(f)]
    df = pd.concat(nonempty, ignore_index=True) if nonempty else (frames[0] if frames else pd.DataFrame())
    write_table(df, output)
    return df
