# Stage 5: figures, each a PNG (for the report) and a PDF (for print), with a caption in
# workflow/report/.


rule suppl_fig1:
    input:
        expand(f"{DATA}/{{dataset}}.pt", dataset=config["datasets"]),
    output:
        png=report(
            f"{FIGS}/suppl_fig1.png",
            caption="../report/suppl_fig1.rst",
            category="Datasets",
        ),
        pdf=f"{FIGS}/suppl_fig1.pdf",
    params:
        datasets=config["datasets"],
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig1.log",
    script:
        "../scripts/suppl_fig1.py"


rule fig2:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/fig2.png", caption="../report/fig2.rst", category="Performance"),
        pdf=f"{FIGS}/fig2.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig2.log",
    script:
        "../scripts/fig2.py"


rule suppl_fig2:
    input:
        [f"{cell_dir(c)}/history.csv" for c in curve_cells()],
    output:
        png=report(
            f"{FIGS}/suppl_fig2.png", caption="../report/suppl_fig2.rst", category="Overfitting"
        ),
        pdf=f"{FIGS}/suppl_fig2.pdf",
    params:
        cells=[c.to_dict() for c in curve_cells()],
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig2.log",
    script:
        "../scripts/suppl_fig2.py"


rule suppl_fig7:
    input:
        "results/summary.csv",
    output:
        png=report(
            f"{FIGS}/suppl_fig7.png", caption="../report/suppl_fig7.rst", category="Overfitting"
        ),
        pdf=f"{FIGS}/suppl_fig7.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig7.log",
    script:
        "../scripts/suppl_fig7.py"
