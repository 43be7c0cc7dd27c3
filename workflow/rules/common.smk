# Helpers shared by the rules: the training cells the config asks for, paths, targets.

import re

from dendritic.config import (
    EXPERIMENTS,
    Cell,
    deferred_experiments,
    experiment_cells,
    selected_cells,
)
from dendritic.imp_schedule import cell_name, pruning_cells
from dendritic.paper import FIG2_MODELS, PRIMARY_DATASET
from dendritic.plan import (
    ANALYSIS_TABLES,
    FIGURES,
    PERMUTED_TABLE,
    adversarial_planned,
    analyses_planned,
    eg_cells,
    eg_pairs,
    few_shot_pairs,
    few_shot_rules,
    figure_params,
    noise_dataset,
    noise_examples_dataset,
    permuted_jobs,
    permuted_path,
    planned_cells,
    planned_figures,
    read_selected_networks,
    related_tables,
    test_noise_planned,
)

DATA = config["data"]["root"]
RUNS = "results/runs"
FIGS = "figures"
#: What the configuration will train: the grid cells, then the deferred experiments' placeholders
#: (experiment, dataset, model), for planning figures and targets before their cells are known.
PLANNED = planned_cells(config)
CELLS = [c for c in PLANNED if isinstance(c, Cell)]
CELL_BY_KEY = {(c.experiment, c.dataset, c.model, c.id): c for c in CELLS}
#: Each cell's parameters for its train job, computed once (the DAG has thousands of jobs).
CELL_PARAMS = {key: c.to_dict() for key, c in CELL_BY_KEY.items()}
#: Experiments trained only on the networks the main experiment selects (``networks: selected``):
#: their cells are known once the checkpoint ``select_networks`` has run.
DEFERRED = deferred_experiments(config)


wildcard_constraints:
    experiment="|".join(EXPERIMENTS),
    dataset="[a-z0-9]+",
    model="[A-Za-z]+(-[A-Za-z]+)*",
    cell=r"D\d+_S\d+[^/]*",
    pcell=r"D\d+_S\d+",


def cell_params(wildcards):
    """The parameters of the train job of a cell (see dendritic.config.Cell)."""
    key = (wildcards.experiment, wildcards.dataset, wildcards.model, wildcards.cell)
    if key in CELL_PARAMS:
        return CELL_PARAMS[key]
    size = re.match(r"D(\d+)_S(\d+)", wildcards.cell)
    if wildcards.experiment in DEFERRED and size:
        for cell in experiment_cells(
            config,
            wildcards.experiment,
            wildcards.dataset,
            wildcards.model,
            int(size[1]),
            int(size[2]),
        ):
            if cell.id == wildcards.cell:
                return cell.to_dict()
    raise WorkflowError(f"no training cell {'/'.join(key)} in the configuration")


def cell_dir(cell):
    """The run folder of a cell (:meth:`dendritic.config.Cell.path` under RUNS)."""
    return str(cell.path(RUNS))


#: The run folder of the train rule's wildcards (the pattern of cell_dir).
RUN_DIR = f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}"


def metrics_files(experiment=None, dataset=None):
    return [
        f"{cell_dir(c)}/metrics.csv"
        for c in CELLS
        if (experiment is None or c.experiment == experiment)
        and (dataset is None or c.dataset == dataset)
    ]


def selection_file(dataset):
    """Each model's selected network on ``dataset`` (written by the checkpoint select_networks)."""
    return f"results/selection/{dataset}.csv"


def deferred_cells():
    """The cells of the ``networks: selected`` experiments; call only from input functions (it
    waits for the checkpoint select_networks of each dataset)."""
    cells = []
    for name in DEFERRED:
        exp = config["experiments"][name]
        for ds in exp["datasets"]:
            path = checkpoints.select_networks.get(dataset=ds).output[0]
            cells += selected_cells(config, name, ds, read_selected_networks(path))
    return cells


def all_metrics_files(wildcards=None):
    """Every cell's metrics.csv, the deferred experiments' included (an input function)."""
    return metrics_files() + [f"{cell_dir(c)}/metrics.csv" for c in deferred_cells()]


def main_cells(dataset=PRIMARY_DATASET, models=None):
    return [
        c
        for c in CELLS
        if c.experiment == "main" and c.dataset == dataset and (models is None or c.model in models)
    ]


def curve_cells():
    """Small, mid and large configuration of each Fig. 2 model for the train/val curves."""
    cells = main_cells(models=FIG2_MODELS)
    if not cells:
        return []
    ds = sorted({c.dendrites for c in cells})
    ss = sorted({c.somata for c in cells})
    picks = {(ds[0], ss[0]), (ds[len(ds) // 2], ss[len(ss) // 2]), (ds[-1], ss[-1])}
    return [c for c in cells if (c.dendrites, c.somata) in picks]


def figure(name):
    return [f"{FIGS}/{name}.png", f"{FIGS}/{name}.pdf"]


def analysis_dataset_cells(models=None):
    """Main-experiment cells of the analysis dataset (Fig. 5, 6)."""
    return main_cells(dataset=config["analysis"]["dataset"], models=models)


#: What the configuration runs beyond training (dendritic.plan): the best-model analyses of
#: Figs 5-6, the test-time noise beyond the paper, the reproduction verdict; the figures it draws,
#: each with its plotting parameters; every registered figure's parameters (rules exist for all).
ANALYSES = analyses_planned(PLANNED, config)
TEST_NOISE = test_noise_planned(PLANNED, config)
#: The neighbouring systems' result tables the verdict reads ({name: path}; dendritic.plan).
RELATED_TABLES = related_tables(PLANNED, config)
VERDICT = bool(PLANNED)
PLANNED_FIGURES = planned_figures(PLANNED, config, FIG2_MODELS)
FIGURE_PARAMS = figure_params(PLANNED, config, FIG2_MODELS)


def all_targets():
    """Every final output of the configuration: the summary, the analysis tables, the test-noise
    table, the verdict and the planned figures."""
    targets = ["results/summary.csv"] if CELLS else []
    if ANALYSES:
        targets += [f"results/analysis/{t}.csv" for t in ANALYSIS_TABLES]
    if TEST_NOISE:
        targets.append("results/test_noise.csv")
    targets += list(RELATED_TABLES.values())
    if VERDICT:
        targets += ["results/reproduction.md", "results/reproduction.csv"]
    for name in PLANNED_FIGURES:
        targets += figure(name)
    return targets


#: The (dataset, D, S) of the experiment pruning (dendritic.imp_schedule), one job each.
PRUNING_CELLS = pruning_cells(config)
#: The folder of one pruning job (its tickets, one folder per round).
PRUNING_DIR = "results/pruning/{dataset}/vANN/{pcell}"


def pruning_dir(dataset, d, s):
    return PRUNING_DIR.format(dataset=dataset, pcell=cell_name(d, s))


def pruning_data_checksum(wildcards):
    """Params function: the content checksum of the dataset's cache a pruning job trains on."""
    return prepared_cache_checksum(
        checkpoints.prepare_dataset.get(dataset=wildcards.dataset).output.data
    )
