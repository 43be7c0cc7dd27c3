# Stage 3: evaluation. Every finished run becomes one row of results/summary.csv, the stable
# table that the figures, the analyses and users' own scripts read.


rule summary:
    input:
        all_metrics_files,
    output:
        "results/summary.csv",
    log:
        "logs/summary.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/summary.py"


# --- Beyond the paper: "test noise", clean-trained main models tested on noisy test images (no
# retraining; not the paper's noise experiment of Fig. 7). One job per (dataset, model) over all
# its main-experiment cells and seeds, then one table. ---


TEST_NOISE_PAIRS = sorted({(c.dataset, c.model) for c in CELLS if c.experiment == "main"})


rule test_noise_model:
    input:
        data=prepared_cache,  # verified, ancient() (data.smk)
        weights=lambda wc: [f"{cell_dir(c)}/weights.pt" for c in main_cells(wc.dataset, [wc.model])],
        metrics=lambda wc: [
            f"{cell_dir(c)}/metrics.csv" for c in main_cells(wc.dataset, [wc.model])
        ],
    output:
        "results/test_noise/{dataset}/{model}.csv",
    log:
        "logs/test_noise/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/test_noise/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        sigmas=config["analysis"]["test_noise"]["sigmas"],
        kinds=config["analysis"]["test_noise"]["kinds"],
        salt_fractions=config["analysis"]["test_noise"]["salt_fractions"],
        device=config["training"]["device"],
    script:
        "../scripts/test_noise_model.py"


rule test_noise:
    input:
        [f"results/test_noise/{d}/{m}.csv" for d, m in TEST_NOISE_PAIRS],
    output:
        "results/test_noise.csv",
    log:
        "logs/test_noise/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"


# --- Neighbouring system: the pruning tickets (IMP and random) under Gaussian and salt test-time
# noise at analysis.test_noise's levels (dendritic.pruning.pruning_noise_frame). ---


rule pruning_noise:
    input:
        data=prepared_cache,
        tickets=f"{PRUNING_DIR}/tickets.csv",
    output:
        f"{PRUNING_DIR}/noise.csv",
    log:
        "logs/pruning/{dataset}/{pcell}_noise.log",
    benchmark:
        "results/benchmarks/pruning_noise/{dataset}/{pcell}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=8000,
    params:
        pruning=config["experiments"].get("pruning"),
        test_noise=config["analysis"]["test_noise"],
        device=config["training"]["device"],
    script:
        "../scripts/pruning_noise.py"


rule pruning_noise_table:
    input:
        [f"{pruning_dir(*c)}/noise.csv" for c in PRUNING_CELLS],
    output:
        "results/pruning_noise.csv",
    log:
        "logs/pruning/noise_table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"
