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


# --- Beyond the paper, neighbouring system B (a sign-preserving learning rule; stand-in:
# exponentiated gradients, dendritic.optim): per (dataset, model) of the learning_rule
# experiment, its cells and their main-experiment comparators (dendritic.plan.eg_cells) get weight
# statistics and FGSM/PGD accuracy; few-shot training per (dataset, model) of analysis.few_shot.
# Then one table each. ---


EG_PAIRS = eg_pairs(CELLS)
EG_ADVERSARIAL = adversarial_planned(CELLS, config)
EG_TABLES = ["eg_weights", "eg_weight_hists"] + (["adversarial"] if EG_ADVERSARIAL else [])
FEW_SHOT_PAIRS = few_shot_pairs(CELLS, config)


rule eg_evaluate_model:
    input:
        data=prepared_cache,  # verified, ancient() (data.smk)
        weights=lambda wc: [
            f"{cell_dir(c)}/weights.pt" for c in eg_cells(CELLS, wc.dataset, wc.model)
        ],
        metrics=lambda wc: [
            f"{cell_dir(c)}/metrics.csv" for c in eg_cells(CELLS, wc.dataset, wc.model)
        ],
    output:
        **(
            {"adversarial": "results/eg/{dataset}/{model}/adversarial.csv"}
            if EG_ADVERSARIAL
            else {}
        ),
        weights="results/eg/{dataset}/{model}/eg_weights.csv",
        hists="results/eg/{dataset}/{model}/eg_weight_hists.csv",
    log:
        "logs/eg/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/eg/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        epsilons=config["analysis"]["adversarial"]["epsilons"],
        pgd_steps=config["analysis"]["adversarial"]["pgd_steps"],
        device=config["training"]["device"],
    script:
        "../scripts/eg_evaluate_model.py"


rule eg_tables:
    input:
        [f"results/eg/{d}/{m}/{t}.csv" for d, m in EG_PAIRS for t in EG_TABLES],
    output:
        [f"results/{t}.csv" for t in EG_TABLES],
    log:
        "logs/eg/tables.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"


rule few_shot_model:
    input:
        data=prepared_cache,  # verified, ancient() (data.smk)
    output:
        "results/few_shot/{dataset}/{model}.csv",
    log:
        "logs/few_shot/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/few_shot/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        dendrites=config["analysis"]["few_shot"]["dendrites"],
        somata=config["analysis"]["few_shot"]["somata"],
        shots=config["analysis"]["few_shot"]["shots"],
        steps=config["analysis"]["few_shot"]["steps"],
        rules=few_shot_rules(config),
        seeds=config["seeds"],
        lr=config["training"]["lr"],
        device=config["training"]["device"],
    script:
        "../scripts/few_shot_model.py"


rule few_shot:
    input:
        [f"results/few_shot/{d}/{m}.csv" for d, m in FEW_SHOT_PAIRS],
    output:
        "results/few_shot.csv",
    log:
        "logs/few_shot/table.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/concat_tables.py"
