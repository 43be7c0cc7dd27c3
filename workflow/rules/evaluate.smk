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
