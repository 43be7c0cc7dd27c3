"""dendritic.plan: the figure registry and the one function that decides the figure targets, on the
shipped designs (the README's demo, the test design, the paper's Fashion-MNIST experiments and the
paper's full design) and on hand-made cell lists."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from dendritic import plan
from dendritic.config import load_config

ROOT = Path(__file__).resolve().parents[1]
FIG2 = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"]
ALL = set(plan.FIGURES)

#: The figure targets of each shipped design (as the workflow planned them before the registry).
EXPECTED = {
    "config/demo.yaml": ALL - {"suppl_fig3"},
    "config/test.yaml": {
        "suppl_fig1",
        "fig2",
        "suppl_fig2",
        "suppl_fig7",
        "fig3",
        "fig4",
        "fig5",
        "fig6",
        "fig7",
        "suppl_fig9",
        "ext_test_noise",
        "related_dac",
        "related_eg",
        "related_imp",
        "related_permuted",
    },
    "config/fmnist.yaml": {
        "suppl_fig1",
        "fig2",
        "suppl_fig2",
        "suppl_fig7",
        "fig3",
        "fig4",
        "fig5",
        "fig6",
        "fig7",
        "suppl_fig9",
        "ext_test_noise",
    },
    "config.yaml": ALL,
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def design(request):
    config = load_config(ROOT / request.param)
    return request.param, config, plan.planned_cells(config)


def test_planned_figures_of_the_shipped_designs(design):
    name, config, cells = design
    figures = plan.planned_figures(cells, config, FIG2)
    assert set(figures) == EXPECTED[name]
    assert list(figures) == [f for f in plan.FIGURES if f in figures]  # the registry's order
    assert figures["fig2"] == {"models": FIG2}
    assert figures["fig7"] == {"dataset": "fmnist", "selection": config["analysis"]["selection"]}
    assert figures["suppl_fig9"] == {"dataset": "fmnist"}
    assert plan.noise_examples_dataset(cells) == "fmnist"  # every design runs the noise experiment
    assert plan.analyses_planned(cells, config) and plan.test_noise_planned(cells, config)


def test_figure_params_cover_every_figure(design):
    _, config, cells = design
    params = plan.figure_params(cells, config, FIG2)
    assert set(params) == ALL
    assert params["suppl_fig5"] == {"curve_models": FIG2}
    assert params["fig4"] == params["suppl_fig6"] == params["suppl_fig1"] == {}


def test_deferred_experiments_are_planned_as_placeholders():
    config = load_config(ROOT / "config/fmnist.yaml")
    cells = plan.planned_cells(config)
    deferred = [c for c in cells if not hasattr(c, "id")]
    assert deferred and {c.experiment for c in deferred} <= {"noise", "sequential"}
    no_deferred = [c for c in cells if hasattr(c, "id")]
    assert "fig7" not in plan.planned_figures(no_deferred, config, FIG2)


def test_switches_and_datasets():
    config = load_config(ROOT / "config/test.yaml")
    cells = [SimpleNamespace(experiment="main", dataset="mnist", model=m) for m in ("dANN-R", "vANN-R", "vANN")]
    figures = plan.planned_figures(cells, config, FIG2)
    # no FMNIST main runs: no Fig. 2; the other datasets' Suppl. Fig. 3; pairs on the first dataset
    assert "fig2" not in figures and "suppl_fig3" in figures
    assert figures["suppl_fig9"] == {"dataset": "mnist"} and "suppl_fig10" not in figures
    assert "fig5" not in figures  # the analysis dataset (fmnist) is not run
    off = copy.deepcopy(config)
    off["analysis"]["test_noise"]["enabled"] = False
    assert "ext_test_noise" not in plan.planned_figures(cells, off, FIG2)
    # without training cells: the datasets, and the neighbouring systems with loops of their own
    # (pruning, permuted: planned from their config blocks, not from cells)
    assert set(plan.planned_figures([], config, FIG2)) == {"suppl_fig1", "related_imp", "related_permuted"}
    seq = cells + [SimpleNamespace(experiment="sequential", dataset="cifar10", model="vANN")]
    figures = plan.planned_figures(seq, config, FIG2)
    assert figures["fig7"]["dataset"] == "cifar10" and plan.noise_examples_dataset(seq) is None


def test_every_registered_figure_resolves_and_has_a_caption():
    for name, fig in plan.FIGURES.items():
        module, function = fig.plot.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name
        assert (ROOT / "workflow" / "report" / f"{name}.rst").is_file(), name
    shared = {n for n, f in plan.FIGURES.items() if f.from_summary}
    assert shared == {
        "fig2",
        "fig3",
        "fig4",
        "suppl_fig3",
        "suppl_fig4",
        "suppl_fig5",
        "suppl_fig6",
        "suppl_fig7",
        "suppl_fig8",
        "suppl_fig9",
        "suppl_fig10",
        "related_dac",
    }


def test_plan_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, dendritic.plan; "
        "bad = [m for m in ('torch', 'matplotlib', 'pandas') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
