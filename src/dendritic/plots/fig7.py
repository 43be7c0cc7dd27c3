"""Fig. 7: robustness to noisy inputs and the sequential task (the paper's Results, "dANNs are
robust to noise and to sequential learning"; Fig. 7 and Table 2), on the networks fixed from the
clean main experiment.

The tables come from :func:`dendritic.trials.fig7_tables`, the same that the verdict's Table 2
and claim (d) read; the example images of panel (a) come from the prepared dataset with the
training code's own noise recipe (:func:`dendritic.training.run_data`). Error bars: 1 SD over
trials, as in the paper's Fig. 7. Diverged runs are left out of every mean and counted in a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from dendritic.paper import COMPARED_MODELS, PRIMARY_DATASET
from dendritic.plots import style
from dendritic.plots.common import (
    EFF_LABEL,
    as_frame,
    dataset_title,
    diverged_note,
    errorbar,
    model_handles,
    ordered_models,
)
from dendritic.trials import fig7_tables, select


def noisy_examples(
    prepared, sigmas: Sequence[float], n_images: int = 3, seed: int = 0, dataset: str = PRIMARY_DATASET
) -> tuple[np.ndarray, list[int], list[float]]:
    """Test images as the noise experiment's run with ``seed`` saw them.

    The noise is drawn exactly as in training (:func:`dendritic.training.run_data`: N(0, σ²) from the
    seed's noise stream, first for the training set, then for the test set, clipped to [0, 1]), so
    these are the very images the seed-``seed`` runs were tested on. Returns ``(images, labels,
    sigmas)`` with images of shape (len(sigmas), n_images, C, H, W) in [0, 1]; σ = 0 is the clean
    image. ``n_images`` test images of classes spread over all classes (first of each).
    """
    import torch

    from dendritic.config import Cell
    from dendritic.training import run_data, to_float

    dev = torch.device("cpu")
    y_test = prepared.y_test
    n_classes = int(prepared.n_classes)
    classes = sorted({int(round(c)) for c in np.linspace(0, n_classes - 1, n_images)})
    idx = [int(torch.nonzero(y_test == c)[0, 0]) for c in classes if (y_test == c).any()]
    x_tr = to_float(prepared.x_train, dev)
    x_te = to_float(prepared.x_test, dev)
    shape = tuple(prepared.x_test.shape[1:])
    out = []
    for s in sigmas:
        if not s:
            out.append(x_te[idx].reshape(len(idx), *shape).numpy())
            continue
        cell = Cell(
            experiment="noise",
            dataset=dataset,
            model="vANN",
            dendrites=1,
            somata=1,
            epochs=1,
            lr=1e-3,
            sigma=float(s),
            seeds=(seed,),
        )
        data = run_data(x_tr, prepared.y_train, x_te, y_test, cell, seed)
        out.append(data.x_test[idx].reshape(len(idx), *shape).numpy())
        del data
    return np.stack(out), [int(y_test[i]) for i in idx], [float(s) for s in sigmas]


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(
        img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0)),
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def _cells_txt(missing: pd.DataFrame, level_col: str | None = None) -> str:
    """'dANN-LRF D=1, S=32 (σ 0.5, 1); vANN D=4, S=64' for the rows of
    :func:`~dendritic.trials.missing_cells`."""
    parts = []
    keys = ["model", "dendrites", "somata"]
    for (m, d, s_), g in missing.groupby(keys, sort=False):
        lv = f" (σ {', '.join(f'{v:g}' for v in sorted(g[level_col]))})" if level_col and level_col in g else ""
        parts.append(f"{m} D={int(d)}, S={int(s_)}{lv}")
    return "; ".join(parts)


def _no_rows_text(what: str, runs: pd.DataFrame) -> str:
    """What an empty Fig. 7 row says: every run diverged, or none at the selected networks."""
    if len(runs) and runs["diverged"].astype(bool).all():
        return f"{style.NO_FINITE_RUNS}: every {what} run diverged"
    return f"no {what} runs at the selected networks (see the note)"


def plot_fig7(
    summary: str | Path | pd.DataFrame,
    out_paths,
    prepared=None,
    dataset: str = PRIMARY_DATASET,
    n_images: int = 3,
    seed: int = 0,
    selection: str = "paper",
    models: Sequence[str] | None = COMPARED_MODELS,
) -> dict[str, pd.DataFrame]:
    """Fig. 7: robustness and the sequential task, on the networks fixed from the clean main
    experiment (:func:`~dendritic.trials.fig7_tables`; ``selection`` is the config key ``analysis.selection``).

    (a) noisy example test images (``prepared``: a prepared dataset or the path of its cache; left
    out when None); (b) trained and tested on noisy images: test accuracy, test loss and the two
    efficiency scores of each model's selected network against σ (σ = 0: its main-experiment
    runs), mean ± 1 SD over trials; (c) the sequential task: the same four numbers for the
    selected networks (the accuracy and loss are Table 2's; dots: single seeds). ``models``: the
    models shown and normalised together (default: the paper's four, dANN-R, dANN-LRF, dANN-GRF,
    vANN). Selected networks without noise or sequential runs are named in a note.
    """
    df = as_frame(summary)
    noise_all = select(df, "noise", dataset)
    seq_all = select(df, "sequential", dataset)
    if noise_all.empty and seq_all.empty:
        raise ValueError(f"no noise or sequential runs on {dataset!r} in the summary")
    tables = fig7_tables(df, dataset, selection, models)
    ntab, stab = tables["noise"], tables["sequential"]
    seq_runs = tables["sequential_runs"]

    examples = None
    if prepared is not None and not noise_all.empty:
        if isinstance(prepared, (str, Path)):
            from dendritic.datasets import load_prepared

            prepared = load_prepared(prepared)
        sigmas = [0.0] + sorted(s for s in noise_all["sigma"].unique() if s)
        examples = (prepared, *noisy_examples(prepared, sigmas, n_images, seed, dataset))

    notes = []
    if models is not None:
        hidden = ordered_models((set(noise_all["model"]) | set(seq_all["model"])) - set(models))
        if hidden:
            notes.append(f"Run but not shown (the paper's Fig. 7 compares {', '.join(models)}): {', '.join(hidden)}.")
    for key, what, level in (("missing_noise", "noise", "sigma"), ("missing_sequential", "sequential", None)):
        miss = tables[key]
        if len(miss):
            notes.append(
                f"No {what} runs at the selected networks {_cells_txt(miss, level)}: add these "
                f"sizes to experiments.{what} to show them."
            )

    style.setup()
    heights, names = [], []
    if examples is not None:
        heights.append(0.55 + 0.75 * len(examples[2])), names.append("examples")
    if not noise_all.empty:
        heights.append(2.7), names.append("noise")
    if not seq_all.empty:
        heights.append(2.7), names.append("sequential")
    if not heights:  # every noise and sequential run diverged
        fig = plt.figure(figsize=(6, 1.5))
        fig.text(
            0.5,
            0.5,
            f"Fig. 7: {style.NO_FINITE_RUNS} (every noise and sequential run diverged)",
            ha="center",
            va="center",
            color="firebrick",
        )
        style.save(fig, out_paths)
        return {"noise": ntab, "sequential": stab}
    fig = plt.figure(figsize=(11.5, sum(heights)), layout="constrained")
    subs = fig.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    sub = dict(zip(names, subs))
    models_seen: set[str] = set()
    letters = iter("abcdefgh")
    sel_txt = (
        "networks fixed from the clean runs: first to match vANN's best accuracy, vANN's best"
        if selection == "paper"
        else "networks fixed from the clean runs: each model's most accurate"
    )

    if examples is not None:
        prep, imgs, labels, sigmas = examples
        wl = 0.85 * len(sigmas) + 0.6
        sf, right = sub["examples"].subfigures(1, 2, width_ratios=[wl, max(11.5 - wl, 1.0)])
        axes = sf.subplots(len(labels), len(sigmas), squeeze=False, gridspec_kw=dict(wspace=0.05, hspace=0.08))
        right.text(
            0.04,
            0.5,
            "Gaussian noise N(0, σ²) is drawn once per run (from the run's seed),\n"
            "added to the training, validation and test images and clipped to [0, 1];\n"
            "the models are trained and tested on the noisy images.\n"
            f"Shown: the first {dataset_title(dataset)} test image of {len(labels)} classes as "
            f"seed {seed}'s runs saw them.",
            ha="left",
            va="center",
            fontsize=8.5,
            color="0.25",
        )
        class_names = prep.meta.get("class_names") or [str(c) for c in range(prep.n_classes)]
        for j, s in enumerate(sigmas):
            for i, lab in enumerate(labels):
                _show(axes[i, j], imgs[j, i])
                if i == 0:
                    axes[i, j].set_title("clean" if not s else f"σ = {s:g}", fontsize=9)
                if j == 0:
                    axes[i, j].set_ylabel(class_names[lab], fontsize=8)
        sub["examples"].suptitle(
            f"{next(letters)}  Noisy test images", x=0.0, ha="left", fontsize=10, fontweight="bold"
        )

    if "noise" in sub:
        sf = sub["noise"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        panels = [
            ("test_acc", "Test accuracy (%)", 100.0),
            ("test_loss", "Test loss", 1.0),
            ("acc_eff", EFF_LABEL["test_acc"], 1.0),
            ("loss_eff", EFF_LABEL["test_loss"], 1.0),
        ]
        if ntab.empty:
            axes[0].text(
                0.0, 0.5, _no_rows_text("noise", noise_all), transform=axes[0].transAxes, fontsize=8, color="firebrick"
            )
        else:
            models = ordered_models(ntab["model"])
            models_seen |= set(models)
            for ax, (col, ylabel, scale) in zip(axes, panels):
                for m in models:
                    t = ntab[ntab["model"] == m].sort_values("sigma")
                    errorbar(ax, t["sigma"], t[f"{col}_mean"] * scale, t[f"{col}_std"] * scale, m, ls="-")
                ax.set_xlabel("Noise σ (pixel values in [0, 1])")
                ax.set_ylabel(ylabel)
                ax.set_xticks(sorted(ntab["sigma"].unique()))
        sf.suptitle(
            f"{next(letters)}  Trained and tested on noisy {dataset_title(dataset)} ({sel_txt}; "
            "mean ± 1 SD over trials)",
            x=0.0,
            ha="left",
            fontsize=10,
            fontweight="bold",
        )

    if "sequential" in sub:
        sf = sub["sequential"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        if stab.empty:
            axes[0].text(
                0.0,
                0.5,
                _no_rows_text("sequential", seq_all),
                transform=axes[0].transAxes,
                fontsize=8,
                color="firebrick",
            )
        models = ordered_models(stab["model"]) if len(stab) else []
        models_seen |= set(models)
        panels = [
            ("test_acc", "Test accuracy (%)", 100.0, False),
            ("test_loss", "Test loss (log scale)", 1.0, True),
            ("acc_eff", EFF_LABEL["test_acc"], 1.0, False),
            ("loss_eff", EFF_LABEL["test_loss"], 1.0, False),
        ]
        titles = ["Table 2: test accuracy", "Table 2: test loss", "accuracy efficiency", "loss efficiency"]
        for ax, (col, ylabel, scale, log), title in zip(axes, panels, titles):
            ax.set_title(title, fontsize=8.5)
            lows = []
            for j, m in enumerate(models):
                r = stab[stab["model"] == m]
                if r.empty or not np.isfinite(r[f"{col}_mean"].iloc[0]):
                    continue
                mean = r[f"{col}_mean"].iloc[0] * scale
                sd = np.nan_to_num(r[f"{col}_std"].iloc[0]) * scale
                ax.bar(j, mean, width=0.7, color=style.model_color(m), alpha=0.85)
                # on the log axis a lower error-bar end at or below zero is drawn down to the axis
                ax.errorbar(
                    j, mean, yerr=[[min(sd, mean * 0.999) if log else sd], [sd]], color="0.2", lw=0.8, capsize=2
                )
                lows.append(mean)
                if col in ("test_acc", "test_loss"):
                    pts = seq_runs[(seq_runs["model"] == m) & ~seq_runs["diverged"].astype(bool)]
                    ax.plot(
                        np.full(len(pts), j) + np.linspace(-0.15, 0.15, len(pts)),
                        pts[col] * scale,
                        "o",
                        ms=2.5,
                        color="k",
                        alpha=0.6,
                    )
            ax.set_xticks(range(len(models)), models, rotation=35, ha="right")
            ax.set_ylabel(ylabel)
            if log and lows:
                ax.set_yscale("log")
                ax.set_ylim(bottom=min(lows) / 3)
                lo, hi = ax.get_ylim()
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                if hi / lo < 10:  # less than a decade: label the minor ticks too
                    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
                    ax.tick_params(axis="y", which="minor", labelsize=7)
                else:
                    ax.yaxis.set_minor_formatter(NullFormatter())
            elif not log:
                ax.set_ylim(bottom=0)  # accuracy and efficiency are >= 0 (an error bar may reach below)
        sf.suptitle(
            f"{next(letters)}  Sequential task (class-ordered batches; {sel_txt}; mean ± 1 SD, dots: single seeds)",
            x=0.0,
            ha="left",
            fontsize=10,
            fontweight="bold",
        )

    models = ordered_models(models_seen)
    if models:
        fig.legend(
            model_handles(models),
            models,
            loc="lower center",
            ncol=len(models),
            frameon=False,
            bbox_to_anchor=(0.5, 1.0),
            fontsize=8,
        )
    used = pd.concat([x for x in (tables["noise_runs"], seq_runs) if not x.empty] or [pd.DataFrame()])
    if notes:  # below the diverged-runs note
        fig.text(0.01, -0.06, "\n".join(notes), fontsize=7, color="firebrick", ha="left", va="top")
    if len(used):
        diverged_note(fig, used.assign(diverged=used["diverged"].astype(bool)))
    style.save(fig, out_paths)
    return tables
