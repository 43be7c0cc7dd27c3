# Stage 2: training. One job = one cell (a configuration) trained for every seed.
# The dataset enters as ancient() input plus its content checksum (data.smk): only a change of
# the data themselves, the cell's parameters or the code retrains a finished cell.


rule train:
    input:
        data=prepared_cache,
    output:
        metrics=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/metrics.csv",
        history=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/history.csv",
        weights=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/weights.pt",
        provenance=f"{RUNS}/{{experiment}}/{{dataset}}/{{model}}/{{cell}}/provenance.json",
    params:
        cell=cell_params,
        device=config["training"]["device"],
        data_sha256=prepared_checksum,
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
