"""Beyond the paper: the weight statistics of the learning-rule comparison (spec B.4) and the one
job that evaluates the trained networks of one (dataset, model) for it.

Per run (cell × seed) and weight layer (named after the layer it feeds, as in Fig. 5:
``dendrites``, ``somata``, …, ``output``; ``presynaptic`` names what feeds it), over the weights
that exist (inside the mask):

* ``log_skew``: skewness of log|w| over the non-zero weights (``scipy.stats.skew``); a lognormal
  |w| gives 0;
* ``log_ks``: Kolmogorov-Smirnov distance from log|w| to the normal with its own mean and std;
* ``weight_sparsity``: share of the existing weights with |w| < 1e-3 · max|w| of the layer;
* ``dale_index``: share of the presynaptic units (columns) whose non-zero outgoing weights in this
  layer all share one sign (units with no non-zero weight are left out); for the pixel layer the
  "units" are pixels, which the verdict does not read;
* ``frac_positive``: share of the non-zero weights that are positive.

``results/eg_weight_hists.csv`` holds the log10|w| histograms (fixed bins, summed over seeds) that
Fig. ``related_eg`` draws. Existing weight statistics (``results/analysis/weight_stats.csv``) are
not changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from dendritic import datasets
from dendritic.adversarial import adversarial_frame
from dendritic.best_models import set_threads, weight_layer_names, write_table
from dendritic.config import Cell
from dendritic.test_noise import RUN_KEY_COLUMNS, _diverged_seeds
from dendritic.training import expand_state, load_weights

log = logging.getLogger("dendritic.eg_eval")

#: Columns of ``results/eg_weights.csv``.
EG_WEIGHT_COLUMNS = [
    *RUN_KEY_COLUMNS,
    "optimizer",
    "init",
    "layer",
    "presynaptic",
    "n_weights",
    "log_skew",
    "log_ks",
    "weight_sparsity",
    "dale_index",
    "frac_positive",
    "diverged",
]
#: Columns of ``results/eg_weight_hists.csv``.
HIST_COLUMNS = ["experiment", "dataset", "model", "dendrites", "somata", "cell", "optimizer", "init", "layer"]
HIST_COLUMNS += ["bin_lo", "bin_hi", "count"]
#: Bins of the log10|w| histograms (|w| below 1e-8 falls into the first bin).
LOG10_BINS = np.linspace(-8.0, 1.0, 73)
#: |w| below this share of the layer's max|w| counts as (practically) zero.
SPARSITY_REL = 1e-3


def layer_weight_stats(weight: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    """The statistics of one (out, in) weight matrix (module docstring)."""
    w = np.asarray(weight, dtype=np.float64)
    m = np.ones_like(w, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    exist = w[m]
    nz = exist[exist != 0]
    out = dict(n_weights=int(exist.size), log_skew=np.nan, log_ks=np.nan, weight_sparsity=np.nan)
    if exist.size:
        top = np.abs(exist).max()
        out["weight_sparsity"] = float(np.mean(np.abs(exist) < SPARSITY_REL * top)) if top > 0 else 1.0
    if nz.size > 2:
        lw = np.log(np.abs(nz))
        sd = lw.std()
        out["log_skew"] = float(stats.skew(lw))
        out["log_ks"] = float(stats.kstest(lw, "norm", args=(lw.mean(), sd)).statistic) if sd > 0 else np.nan
    signs = np.sign(np.where(m, w, 0.0))
    pos, neg = (signs > 0).any(axis=0), (signs < 0).any(axis=0)
    used = pos | neg
    out["dale_index"] = float(np.mean(~(pos & neg)[used])) if used.any() else np.nan
    out["frac_positive"] = float(np.mean(nz > 0)) if nz.size else np.nan
    return out


def weight_frames(weights_paths: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(statistics, histograms) of every seed of every cell in ``weights_paths``."""
    rows, hists = [], []
    for path in weights_paths:
        saved = load_weights(path)
        cell = Cell.from_dict(saved["cell"])
        L = cell.layers
        names = weight_layer_names(L)
        feeders = ["pixels"] + names[:-1]
        diverged = _diverged_seeds(Path(path))
        base = dict(
            experiment=cell.experiment,
            dataset=cell.dataset,
            model=cell.model,
            dendrites=cell.dendrites,
            somata=cell.somata,
            cell=cell.id,
            optimizer=cell.optimizer,
            init=cell.init,
        )
        counts = {name: np.zeros(len(LOG10_BINS) - 1, dtype=np.int64) for name in names}
        for seed, compact in sorted(saved["runs"].items()):
            state = expand_state(compact)
            for i, name in enumerate(names):
                w = state[f"layers.{i}.weight"].numpy()
                mask = state.get(f"layers.{i}.mask")
                mask = None if mask is None else mask.numpy()
                s = layer_weight_stats(w, mask)
                rows.append(
                    dict(
                        base,
                        layers=L,
                        seed=int(seed),
                        layer=name,
                        presynaptic=feeders[i],
                        **s,
                        diverged=int(seed) in diverged,
                    )
                )
                exist = w if mask is None else w[mask]
                lw = np.log10(np.clip(np.abs(exist[exist != 0]), 10 ** LOG10_BINS[0], None))
                counts[name] += np.histogram(lw, bins=LOG10_BINS)[0]
        for name in names:
            hists += [
                dict(base, layer=name, bin_lo=lo, bin_hi=hi, count=int(c))
                for lo, hi, c in zip(LOG10_BINS[:-1], LOG10_BINS[1:], counts[name])
            ]
        log.info("%s %s: weight statistics of %d seeds", cell.model, cell.id, len(saved["runs"]))
    return pd.DataFrame(rows, columns=EG_WEIGHT_COLUMNS), pd.DataFrame(hists, columns=HIST_COLUMNS)


def run_eg_evaluation(
    weights_paths: Sequence[str | Path],
    data_path: str | Path,
    out_paths: Mapping[str, str | Path],
    epsilons: Sequence[float] | None = None,
    pgd_steps: int = 0,
    device: str = "cpu",
    threads: int | None = None,
) -> None:
    """One Snakemake job over the given cells of one (dataset, model): the weight statistics and
    histograms (``out_paths["weights"]``, ``["hists"]``) and, when ``out_paths`` has
    ``"adversarial"``, the FGSM/PGD table (:func:`dendritic.adversarial.adversarial_frame`)."""
    set_threads(threads)
    stats_df, hists_df = weight_frames(weights_paths)
    if "adversarial" in out_paths:
        prepared = datasets.load_prepared(data_path)
        adv = adversarial_frame(weights_paths, prepared, epsilons or [], pgd_steps, device)
        write_table(adv, out_paths["adversarial"])
    write_table(hists_df, out_paths["hists"])
    write_table(stats_df, out_paths["weights"])
