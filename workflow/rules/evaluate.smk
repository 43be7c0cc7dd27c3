# Stage 3: evaluation. Every finished run becomes one row of results/summary.csv, the stable
# table that the figures, the analyses and users' own scripts read.


rule summary:
    input:
        metrics_files(),
    output:
        "results/summary.csv",
    conda:
        "../../environment.yml"
    log:
        "logs/summary.log",
    script:
        "../scripts/summary.py"
