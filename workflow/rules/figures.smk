# Stage 5: figures, each a PNG (for the report) and a PDF (for print), with a caption in
# workflow/report/.


rule suppl_fig1:
    input:
        [ancient(f"{DATA}/{d}.pt") for d in config["datasets"]],  # a touched cache redraws nothing
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


# --- Fig. 5, 6 (best models on the analysis dataset) and the test-time noise figure ---


rule fig5:
    input:
        node_stats="results/analysis/node_stats.csv",
        weight_hists="results/analysis/weight_hists.csv",
        weight_stats="results/analysis/weight_stats.csv",
        best_cells="results/analysis/best_cells.csv",
        meta=f"{DATA}/{config['analysis']['dataset']}.json",
    output:
        png=report(f"{FIGS}/fig5.png", caption="../report/fig5.rst", category="Best models"),
        pdf=f"{FIGS}/fig5.pdf",
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig5.log",
    script:
        "../scripts/fig5.py"


rule fig6:
    input:
        tsne="results/analysis/tsne.csv",
        representations="results/analysis/representations.csv",
        best_cells="results/analysis/best_cells.csv",
        meta=f"{DATA}/{config['analysis']['dataset']}.json",
    output:
        png=report(f"{FIGS}/fig6.png", caption="../report/fig6.rst", category="Best models"),
        pdf=f"{FIGS}/fig6.pdf",
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig6.log",
    script:
        "../scripts/fig6.py"


rule ext_noise_robustness:
    input:
        "results/robustness.csv",
    output:
        png=report(
            f"{FIGS}/ext_noise_robustness.png",
            caption="../report/ext_noise_robustness.rst",
            category="Beyond the paper",
        ),
        pdf=f"{FIGS}/ext_noise_robustness.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/ext_noise_robustness.log",
    script:
        "../scripts/ext_noise_robustness.py"


if analysis_dataset_cells():
    TARGETS += figure("fig5") + figure("fig6")
if config["analysis"]["test_noise"]["enabled"] and ROBUSTNESS_PAIRS:
    TARGETS += figure("ext_noise_robustness")


# --- Figures computed from results/summary.csv: Fig. 3, 4, 7 and Suppl. Figs 3-6, 8-10
# (dendritic.plots.efficiency, dendritic.plots.experiments). SUMMARY_FIGURES holds the ones whose
# inputs the configuration runs (with their parameters); only those are targets. ---

from dendritic.plan import summary_figure_plan

SUMMARY_FIGURES = summary_figure_plan(PLANNED, config["analysis"]["dataset"], FIG2_MODELS)


rule fig3:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/fig3.png", caption="../report/fig3.rst", category="Parameter efficiency"),
        pdf=f"{FIGS}/fig3.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig3.log",
    script:
        "../scripts/fig3.py"


rule fig4:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/fig4.png", caption="../report/fig4.rst", category="Parameter efficiency"),
        pdf=f"{FIGS}/fig4.pdf",
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig4.log",
    script:
        "../scripts/fig4.py"


rule fig7:
    input:
        summary="results/summary.csv",
        data=[ancient(f"{DATA}/{d}.pt") for d in SUMMARY_FIGURES.get("fig7", {}).get("prepared", [])],
    output:
        png=report(f"{FIGS}/fig7.png", caption="../report/fig7.rst", category="Robustness"),
        pdf=f"{FIGS}/fig7.pdf",
    params:
        dataset=SUMMARY_FIGURES.get("fig7", {}).get("dataset", "fmnist"),
        selection=config["analysis"]["selection"],
    conda:
        "../../environment.yml"
    log:
        "logs/figures/fig7.log",
    script:
        "../scripts/fig7.py"


rule suppl_fig3:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig3.png", caption="../report/suppl_fig3.rst", category="Performance"),
        pdf=f"{FIGS}/suppl_fig3.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig3.log",
    script:
        "../scripts/suppl_fig3.py"


rule suppl_fig4:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig4.png", caption="../report/suppl_fig4.rst", category="Other experiments"),
        pdf=f"{FIGS}/suppl_fig4.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig4.log",
    script:
        "../scripts/suppl_fig4.py"


rule suppl_fig5:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig5.png", caption="../report/suppl_fig5.rst", category="Other experiments"),
        pdf=f"{FIGS}/suppl_fig5.pdf",
    params:
        models=FIG2_MODELS,
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig5.log",
    script:
        "../scripts/suppl_fig5.py"


rule suppl_fig6:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig6.png", caption="../report/suppl_fig6.rst", category="Other experiments"),
        pdf=f"{FIGS}/suppl_fig6.pdf",
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig6.log",
    script:
        "../scripts/suppl_fig6.py"


rule suppl_fig8:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig8.png", caption="../report/suppl_fig8.rst", category="Other experiments"),
        pdf=f"{FIGS}/suppl_fig8.pdf",
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig8.log",
    script:
        "../scripts/suppl_fig8.py"


rule suppl_fig9:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig9.png", caption="../report/suppl_fig9.rst", category="Dendritic features"),
        pdf=f"{FIGS}/suppl_fig9.pdf",
    params:
        dataset=SUMMARY_FIGURES.get("suppl_fig9", {}).get("dataset", "fmnist"),
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig9.log",
    script:
        "../scripts/suppl_fig9.py"


rule suppl_fig10:
    input:
        "results/summary.csv",
    output:
        png=report(f"{FIGS}/suppl_fig10.png", caption="../report/suppl_fig10.rst", category="Dendritic features"),
        pdf=f"{FIGS}/suppl_fig10.pdf",
    params:
        dataset=SUMMARY_FIGURES.get("suppl_fig10", {}).get("dataset", "fmnist"),
    conda:
        "../../environment.yml"
    log:
        "logs/figures/suppl_fig10.log",
    script:
        "../scripts/suppl_fig10.py"


for _name in SUMMARY_FIGURES:
    TARGETS += figure(_name)
