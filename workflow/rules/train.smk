# Stage 2: training. One job = one cell (a configuration) trained for every seed.
# The dataset enters as ancient() input plus its content checksum (data.smk): only a change of
# the data themselves, the cell's parameters or the code retrains a finished cell.


#: The four files of a cell's run folder (RUN_DIR, common.smk).
RUN_FILES = {
    "metrics": "metrics.csv",
    "history": "history.csv",
    "weights": "weights.pt",
    "provenance": "provenance.json",
}


rule train:
    input:
        data=prepared_cache,
    output:
        **{name: f"{RUN_DIR}/{file}" for name, file in RUN_FILES.items()},
    log:
        "logs/train/{experiment}/{dataset}/{model}/{cell}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{dataset}/{model}/{cell}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        cell=cell_params,
        device=config["training"]["device"],
        data_sha256=prepared_checksum,
    script:
        "../scripts/train.py"


# --- Neighbouring system: iterative magnitude pruning of vANN(D, S) (Bain 2022; dendritic.pruning).
# One job per (dataset, D, S) with every seed and every round; each round's ticket is kept in its
# own folder, so a killed job resumes at its last finished round. ---


rule pruning:
    input:
        data=prepared_cache,
    output:
        f"{PRUNING_DIR}/tickets.csv",
    log:
        "logs/pruning/{dataset}/{pcell}.log",
    benchmark:
        "results/benchmarks/pruning/{dataset}/{pcell}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        pruning=config["experiments"].get("pruning"),
        training=config["training"],
        seeds=config["seeds"],
        device=config["training"]["device"],
        data_sha256=pruning_data_checksum,
    script:
        "../scripts/pruning.py"


rule pruning_table:
    input:
        [f"{pruning_dir(*c)}/tickets.csv" for c in PRUNING_CELLS],
    output:
        "results/pruning.csv",
    log:
        "logs/pruning/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"


# --- Neighbouring system (related.md C.4): permuted Fashion-MNIST, T tasks in sequence with
# active-dendrite networks and house models without context. One job per (dataset, T, model,
# context) with all its sizes and seeds (dendritic.permuted), then one table. ---


PERMUTED_JOBS = {permuted_path(j): j for j in permuted_jobs(config)}


rule permuted:
    input:
        data=prepared_cache,
    output:
        "results/permuted/{dataset}/T{tasks}/{model}/{context}.csv",
    log:
        "logs/permuted/{dataset}/T{tasks}/{model}/{context}.log",
    benchmark:
        "results/benchmarks/permuted/{dataset}/T{tasks}/{model}/{context}.tsv"
    wildcard_constraints:
        tasks=r"\d+",
        context="one_hot|prototype|zero|none",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        job=lambda wc: PERMUTED_JOBS[
            f"results/permuted/{wc.dataset}/T{wc.tasks}/{wc.model}/{wc.context}.csv"
        ],
    script:
        "../scripts/permuted.py"


rule permuted_table:
    input:
        list(PERMUTED_JOBS),
    output:
        PERMUTED_TABLE,
    log:
        "logs/permuted/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"
