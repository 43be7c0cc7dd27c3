# Stage 1: datasets. Each dataset becomes one prepared cache (uint8 tensors + metadata) that the
# trainer loads in well under a second. Offline mirrors (config data.mirrors) are searched first.


rule prepare_dataset:
    output:
        data=f"{DATA}/{{dataset}}.pt",
        meta=f"{DATA}/{{dataset}}.json",
    params:
        raw_dir=lambda wc: f"{DATA}/raw/{wc.dataset}",
        mirrors=config["data"]["mirrors"],
        download=config["data"]["download"],
    conda:
        "../../environment.yml"
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    resources:
        mem_mb=8000,
    script:
        "../scripts/prepare_dataset.py"
