# Stage 4: analyses: the network each model is judged by (selection), the best models' nodes,
# weights and representations (Figs 5-6), the reproduction verdict.


# --- The network of each model that the later analyses use (paper §4), fixed from the clean main
# experiment: the paper's selection, and analysis.selection's when that differs. A checkpoint: the
# experiments with `networks: selected` (noise, sequential) train exactly these networks, so their
# jobs are known only once it has run. ---


checkpoint select_networks:
    input:
        lambda wc: metrics_files("main", wc.dataset),
    output:
        selection_file("{dataset}"),
    log:
        "logs/selection/{dataset}.log",
    conda:
        "../../environment.yml"
    params:
        selections=["paper", config["analysis"]["selection"]],
    script:
        "../scripts/select_networks.py"


# --- Fig. 5, 6: the selected network of each model on the analysis dataset (trained weights
# needed) --- One job per model: it reads summary.csv to select that model's network
# (analysis.selection; the paper's rule compares with vANN's runs in the same summary) and
# therefore takes the weights of all its main-experiment cells as input.

ANALYSIS_MODELS = sorted({c.model for c in analysis_dataset_cells()})


rule analyse_best_model:
    input:
        summary="results/summary.csv",
        data=prepared_cache,  # verified, ancient() (data.smk)
        weights=lambda wc: [f"{cell_dir(c)}/weights.pt" for c in main_cells(wc.dataset, [wc.model])],
    output:
        **{t: f"results/analysis/{{dataset}}/{{model}}/{t}.csv" for t in ANALYSIS_TABLES},
    log:
        "logs/analysis/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/analysis/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        device=config["training"]["device"],
        selection=config["analysis"]["selection"],
        threshold=config["analysis"]["selectivity_threshold"],
        n_images=config["analysis"]["tsne"]["n_images"],
        perplexity=config["analysis"]["tsne"]["perplexity"],
        n_neighbors=config["analysis"]["tsne"]["n_neighbors"],
        tsne_kwargs={"max_iter": config["analysis"]["tsne"]["max_iter"]},
        repeats=config["analysis"]["tsne"]["repeats"],
        hit_includes_self=config["analysis"]["tsne"]["hit_includes_self"],
    script:
        "../scripts/analyse_best_model.py"


rule analysis_tables:
    input:
        expand(
            "results/analysis/{dataset}/{model}/{table}.csv",
            dataset=config["analysis"]["dataset"],
            model=ANALYSIS_MODELS,
            table=ANALYSIS_TABLES,
        ),
    output:
        **{t: f"results/analysis/{t}.csv" for t in ANALYSIS_TABLES},
    log:
        "logs/analysis/tables.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"


# --- Reproduction verdict: the paper's Tables 1-2 next to this run's, each claim of the paper
# checked: reproduced / not reproduced with the number that decides it, or inconclusive with what
# the run lacks (dendritic.reproduction). Claim (c) reads the node table of the analyses above
# when the configuration runs them (ANALYSES). ---


rule reproduction:
    input:
        **({"nodes": "results/analysis/node_stats.csv"} if ANALYSES else {}),
        **RELATED_TABLES,
        summary="results/summary.csv",
    output:
        md=report(
            "results/reproduction.md",
            caption="../report/reproduction.rst",
            category="Reproduction verdict",
        ),
        csv="results/reproduction.csv",
    log:
        "logs/analysis/reproduction.log",
    conda:
        "../../environment.yml"
    params:
        config={
            "seeds": config["seeds"],
            "training": {"epochs": config["training"]["epochs"]},
            "experiments": config.get("experiments") or {},
            "analysis": {"selection": config["analysis"]["selection"]},
        },
        dataset=noise_dataset(PLANNED),
        related_tables=list(RELATED_TABLES),
    script:
        "../scripts/reproduction.py"
