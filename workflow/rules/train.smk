# Stage 2: training. One job = one cell (a configuration) trained for every seed.


rule train:
    input:
        data=f"{DATA}/{{dataset}}.pt",
    output:
        metrics=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/metrics.csv",
        history=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/history.csv",
        weights=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/weights.pt",
        provenance=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/provenance.json",
    params:
        cell=cell_params,
        device=config["training"]["device"],
    conda:
        "../../environment.yml"
    log:
        "logs/train/{experiment}/{dataset}/{model}/{cell}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{dataset}/{model}/{cell}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/train.py"
