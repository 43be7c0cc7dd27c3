"""The paper's vocabulary (dendritic.paper): the full configuration expands to the paper's design,
the tables are complete, and every fact of the vocabulary is defined in one place only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dendritic import paper
from dendritic.config import expand_cells, load_config
from dendritic.wiring import INPUTS, MODEL_NAMES, model_label

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dendritic"


@pytest.fixture(scope="module")
def paper_cells():
    return expand_cells(load_config(ROOT / "config.yaml"))


def test_config_yaml_expands_to_the_paper_design(paper_cells):
    design = paper.PAPER_DESIGN
    by_exp: dict[str, list] = {}
    for c in paper_cells:
        by_exp.setdefault(c.experiment, []).append(c)
    # the paper's experiments, in its order; beyond them only the neighbouring systems' grids
    assert [e for e in by_exp if e in design["experiments"]] == list(design["experiments"])
    assert set(by_exp) - set(design["experiments"]) <= {"dac", "learning_rule"}
    assert {len(c.seeds) for c in paper_cells} == {design["seeds"]}
    for name, ref in design["experiments"].items():
        cells = by_exp[name]
        assert paper.sort_datasets(c.dataset for c in cells) == ref["datasets"], name
        assert sorted({c.dendrites for c in cells}) == ref.get("dendrites", design["dendrites"]), name
        assert sorted({c.somata for c in cells}) == ref.get("somata", design["somata"]), name
        if "n_models" in ref:
            assert len({c.model for c in cells}) == ref["n_models"], name
    main = by_exp["main"]
    assert {c.dataset: c.epochs for c in main} == design["epochs"]
    assert sorted({c.dropout for c in by_exp["dropout"]}) == design["experiments"]["dropout"]["rates"]
    assert (
        sorted({c.lr for c in by_exp["learning_rate"]}, reverse=True) == design["experiments"]["learning_rate"]["rates"]
    )
    assert sorted({c.layers for c in by_exp["depth"]}) == design["experiments"]["depth"]["layers"]
    assert sorted({c.sigma for c in by_exp["noise"]}) == design["experiments"]["noise"]["sigmas"]
    assert {c.epochs for c in by_exp["sequential"]} == {paper.SEQUENTIAL_EPOCHS}
    assert all(c.sequential for c in by_exp["sequential"])
    es = design["experiments"]["early_stopping"]
    assert {c.patience for c in by_exp["early_stopping"]} == {es["patience"]}
    assert {c.epochs for c in by_exp["early_stopping"]} == {es["max_epochs"]}
    assert {c.model for c in main} == set(MODEL_NAMES)


def test_vocabulary_is_consistent():
    assert paper.DATASET_ORDER == list(paper.DATASETS)
    assert paper.PRIMARY_DATASET in paper.DATASETS
    assert set(paper.DATASETS) <= set(INPUTS)  # every dataset of the paper has its input shape
    assert paper.FIG2_MODELS == paper.DANNS + ["vANN"]
    assert set(paper.COMPARED_MODELS) <= set(paper.FIG2_MODELS)
    assert set(paper.LEGEND_ORDER) >= set(MODEL_NAMES)
    for pairs in (paper.SAMPLING_PAIRS, paper.SPARSE_PAIRS):
        assert {m for _, a, b in pairs for m in (a, b)} <= set(MODEL_NAMES)
    for m in paper.FIG2_MODELS:  # Table 1: one number per dataset
        assert len(paper.TABLE1_ACC[m]) == len(paper.TABLE1_LOSS[m]) == len(paper.DATASETS)
    assert list(paper.TABLE2) == list(paper.COMPARED_MODELS)
    assert list(paper.CLAIMS) == ["a", "b", "c", "d"]
    assert paper.ordered_models(["psANN", "zz", "vANN", "dANN-R"]) == ["dANN-R", "vANN", "psANN", "zz"]
    assert paper.sort_datasets(["cifar10", "x", "mnist", "mnist"]) == ["mnist", "cifar10", "x"]


def test_style_colours_every_legend_entry():
    from dendritic.plots import style

    assert list(style.MODEL_COLORS) == paper.LEGEND_ORDER
    assert not hasattr(style, "MODEL_ORDER")


def test_one_label_function():
    assert [model_label("vANN", p) for p in (0.2, 0.5, 0.8)] == ["vANN-0.2", "vANN-0.5", "vANN-0.8"]
    assert model_label("dANN-R") == model_label("dANN-R", 0.0) == model_label("dANN-R", None) == "dANN-R"
    from dendritic import models
    from dendritic.config import Cell

    assert models.model_label is model_label
    cell = Cell(
        experiment="dropout", dataset="fmnist", model="vANN", dendrites=1, somata=32, epochs=1, lr=1e-3, dropout=0.2
    )
    assert cell.label == "vANN-0.2"


def _sources():
    return {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


#: Each fact of the vocabulary, and a pattern that only its definition matches.
FACTS = {
    "dataset order / titles": r"""["']mnist["']\s*:\s*["']MNIST["']|\[\s*["']mnist["'],\s*["']fmnist["'],\s*["']kmnist["']""",  # noqa: E501
    "primary dataset": r"""=\s*["']fmnist["']\s*(?:,|\)|$)|["']fmnist["'] if|!= ["']fmnist["']|== ["']fmnist["']""",
    "Fig. 2 / Table 1 models": r"""\[\s*["']dANN-R["'],\s*["']dANN-LRF["'],\s*["']dANN-GRF["'],\s*["']pdANN["']\s*(?:\]|,\s*["']vANN["']\s*\])""",  # noqa: E501
    "compared models": r"""\(\s*["']dANN-R["'],\s*["']dANN-LRF["'],\s*["']dANN-GRF["'],\s*["']vANN["']\s*\)""",
    "sampling pairs": r"""\(\s*["']LRF["'],\s*["']dANN-LRF["'],\s*["']vANN-LRF["']\s*\)""",
    "sparse pairs": r"""\(\s*["']LRF["'],\s*["']dANN-LRF["'],\s*["']sANN-LRF["']\s*\)""",
    "Table 1": r"89\.612",
    "Table 2": r"59\.66",
    "paper design": r"""["']seeds["']\s*:\s*5\b""",
    "claims' texts": r"mostly mixed-selective, vANN nodes mostly class-specific\"",
    "display label": r"""f["']\{[a-z_.]+\}-(?:["']|\{)""",
    "legend order": r"MODEL_ORDER\s*[:=]|LEGEND_ORDER\s*[:=]",
}


@pytest.mark.parametrize("fact", list(FACTS))
def test_each_fact_is_defined_once(fact):
    """grep over src/dendritic: every fact of the vocabulary is written in dendritic.paper only
    (the display label in dendritic.wiring); the others import it."""
    pattern = re.compile(FACTS[fact], re.MULTILINE)
    where = {
        p.relative_to(SRC).as_posix(): len(pattern.findall(text))
        for p, text in _sources().items()
        if pattern.search(text)
    }
    home = "wiring.py" if fact == "display label" else "paper.py"
    assert list(where) == [home], (fact, where)
    assert where[home] == 1, (fact, where)
