# Stage 3: evaluation. Every finished run becomes one row of results/summary.csv, the stable
# table that the figures, the analyses and users' own scripts read.


rule summary:
    input:
        all_metrics_files,
    output:
        "results/summary.csv",
    conda:
        "../../environment.yml"
    log:
        "logs/summary.log",
    script:
        "../scripts/summary.py"


# --- Beyond the paper: clean-trained main models tested on noisy test images (no retraining) ---
# One job per (dataset, model) over all its main-experiment cells and seeds, then one table.


ROBUSTNESS_PAIRS = sorted({(c.dataset, c.model) for c in CELLS if c.experiment == "main"})


rule robustness_model:
    input:
        data=prepared_cache,  # verified, ancient() (data.smk)
        weights=lambda wc: [f"{cell_dir(c)}/weights.pt" for c in main_cells(wc.dataset, [wc.model])],
        metrics=lambda wc: [f"{cell_dir(c)}/metrics.csv" for c in main_cells(wc.dataset, [wc.model])],
    output:
        "results/robustness/{dataset}/{model}.csv",
    params:
        sigmas=config["analysis"]["test_noise"]["sigmas"],
        device=config["training"]["device"],
    conda:
        "../../environment.yml"
    log:
        "logs/robustness/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/robustness/{dataset}/{model}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    script:
        "../scripts/robustness_model.py"


rule robustness:
    input:
        [f"results/robustness/{d}/{m}.csv" for d, m in ROBUSTNESS_PAIRS],
    output:
        "results/robustness.csv",
    conda:
        "../../environment.yml"
    log:
        "logs/robustness/table.log",
    script:
        "../scripts/concat_tables.py"


if config["analysis"]["test_noise"]["enabled"] and ROBUSTNESS_PAIRS:
    TARGETS.append("results/robustness.csv")
