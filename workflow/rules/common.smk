# Helpers shared by the rules: the training cells the config asks for, paths, targets.

from dendritic.config import EXPERIMENTS, ConfigError, check_config, expand_cells

try:
    check_config(config)
except ConfigError as err:
    raise WorkflowError(str(err))

DATA = config["data"]["root"]
RUNS = "results/runs"
FIGS = "figures"
CELLS = expand_cells(config)
CELL_BY_KEY = {(c.experiment, c.dataset, c.model, c.id): c for c in CELLS}
#: Each cell's parameters for its train job, computed once (the DAG has thousands of jobs).
CELL_PARAMS = {key: c.to_dict() for key, c in CELL_BY_KEY.items()}

#: The models Fig. 2 compares (paper, Fig. 2).
FIG2_MODELS = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"]


wildcard_constraints:
    experiment="|".join(EXPERIMENTS),
    dataset="[a-z0-9]+",
    model="[A-Za-z]+(-[A-Z]+)?",
    cell=r"D\d+_S\d+[^/]*",


def cell_params(wildcards):
    """The parameters of the train job of a cell (see dendritic.config.Cell)."""
    key = (wildcards.experiment, wildcards.dataset, wildcards.model, wildcards.cell)
    try:
        return CELL_PARAMS[key]
    except KeyError:
        raise WorkflowError(f"no training cell {'/'.join(key)} in the configuration")


def cell_dir(cell):
    return f"{RUNS}/{cell.experiment}/{cell.dataset}/{cell.model}/{cell.id}"


def metrics_files(experiment=None, dataset=None):
    return [
        f"{cell_dir(c)}/metrics.csv"
        for c in CELLS
        if (experiment is None or c.experiment == experiment)
        and (dataset is None or c.dataset == dataset)
    ]


def main_cells(dataset="fmnist", models=None):
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


#: Targets that the stage files (analyse.smk, figures.smk) add when the config holds their inputs.
TARGETS = []


def analysis_dataset_cells(models=None):
    """Main-experiment cells of the analysis dataset (Fig. 5, 6)."""
    return main_cells(dataset=config["analysis"]["dataset"], models=models)


def all_targets():
    targets = figure("suppl_fig1")
    if CELLS:
        targets.append("results/summary.csv")
    if main_cells(models=FIG2_MODELS):
        targets += figure("fig2") + figure("suppl_fig2") + figure("suppl_fig7")
    return targets + [t for t in TARGETS if t not in targets]
