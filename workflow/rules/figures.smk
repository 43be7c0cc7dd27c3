# Stage 5: figures, each a PNG (for the report) and a PDF (for print), with a caption in
# workflow/report/{name}.rst. Which figures the configuration draws, their plotting functions,
# parameters and report categories come from one registry (dendritic.plan.FIGURES,
# PLANNED_FIGURES in common.smk); the rules below only wire files to it.


# --- Figures drawn from results/summary.csv alone (Figs 2-4, Suppl. Figs 3-10, in the paper's
# order): one rule definition, one script that calls the registered plotting function. ---

for _name, _fig in FIGURES.items():
    if not _fig.from_summary:
        continue

    rule:
        name:
            _name
        input:
            "results/summary.csv",
        output:
            png=report(
                f"{FIGS}/{_name}.png", caption=f"../report/{_name}.rst", category=_fig.category
            ),
            pdf=f"{FIGS}/{_name}.pdf",
        log:
            f"logs/figures/{_name}.log",
        conda:
            "../../environment.yml"
        params:
            plot=_fig.plot,
            kwargs=FIGURE_PARAMS[_name],
        script:
            "../scripts/figure.py"


# --- Figures with inputs of their own, in the paper's order ---


rule fig5:
    input:
        node_stats="results/analysis/node_stats.csv",
        weight_hists="results/analysis/weight_hists.csv",
        weight_stats="results/analysis/weight_stats.csv",
        best_cells="results/analysis/best_cells.csv",
        meta=f"{DATA}/{config['analysis']['dataset']}.json",
    output:
        png=report(
            f"{FIGS}/fig5.png", caption="../report/fig5.rst", category=FIGURES["fig5"].category
        ),
        pdf=f"{FIGS}/fig5.pdf",
    log:
        "logs/figures/fig5.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/fig5.py"


rule fig6:
    input:
        tsne="results/analysis/tsne.csv",
        representations="results/analysis/representations.csv",
        best_cells="results/analysis/best_cells.csv",
        meta=f"{DATA}/{config['analysis']['dataset']}.json",
    output:
        png=report(
            f"{FIGS}/fig6.png", caption="../report/fig6.rst", category=FIGURES["fig6"].category
        ),
        pdf=f"{FIGS}/fig6.pdf",
    log:
        "logs/figures/fig6.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/fig6.py"


#: The prepared dataset of Fig. 7's example images, when the noise experiment runs on it.
_NOISE_EXAMPLES = noise_examples_dataset(PLANNED)


rule fig7:
    input:
        **({"prepared": ancient(f"{DATA}/{_NOISE_EXAMPLES}.pt")} if _NOISE_EXAMPLES else {}),
        summary="results/summary.csv",
    output:
        png=report(
            f"{FIGS}/fig7.png", caption="../report/fig7.rst", category=FIGURES["fig7"].category
        ),
        pdf=f"{FIGS}/fig7.pdf",
    log:
        "logs/figures/fig7.log",
    conda:
        "../../environment.yml"
    params:
        kwargs=FIGURE_PARAMS["fig7"],
    script:
        "../scripts/fig7.py"


rule suppl_fig1:
    input:
        [ancient(f"{DATA}/{d}.pt") for d in config["datasets"]],  # a touched cache redraws nothing
    output:
        png=report(
            f"{FIGS}/suppl_fig1.png",
            caption="../report/suppl_fig1.rst",
            category=FIGURES["suppl_fig1"].category,
        ),
        pdf=f"{FIGS}/suppl_fig1.pdf",
    log:
        "logs/figures/suppl_fig1.log",
    conda:
        "../../environment.yml"
    params:
        datasets=config["datasets"],
    script:
        "../scripts/suppl_fig1.py"


rule suppl_fig2:
    input:
        [f"{cell_dir(c)}/history.csv" for c in curve_cells()],
    output:
        png=report(
            f"{FIGS}/suppl_fig2.png",
            caption="../report/suppl_fig2.rst",
            category=FIGURES["suppl_fig2"].category,
        ),
        pdf=f"{FIGS}/suppl_fig2.pdf",
    log:
        "logs/figures/suppl_fig2.log",
    conda:
        "../../environment.yml"
    params:
        cells=[c.to_dict() for c in curve_cells()],
    script:
        "../scripts/suppl_fig2.py"


# --- Beyond the paper: the test-noise figure (results/test_noise.csv, evaluate.smk) ---


rule ext_test_noise:
    input:
        "results/test_noise.csv",
    output:
        png=report(
            f"{FIGS}/ext_test_noise.png",
            caption="../report/ext_test_noise.rst",
            category=FIGURES["ext_test_noise"].category,
        ),
        pdf=f"{FIGS}/ext_test_noise.pdf",
    log:
        "logs/figures/ext_test_noise.log",
    conda:
        "../../environment.yml"
    params:
        plot=FIGURES["ext_test_noise"].plot,
        kwargs=FIGURE_PARAMS["ext_test_noise"],
    script:
        "../scripts/figure.py"


# --- Neighbouring system: iterative magnitude pruning (Bain 2022 Figs 6-7 analogues) ---


rule related_imp:
    input:
        pruning="results/pruning.csv",
        noise="results/pruning_noise.csv",
        summary="results/summary.csv" if CELLS else [],
        test_noise="results/test_noise.csv" if TEST_NOISE else [],
    output:
        png=report(
            f"{FIGS}/related_imp.png",
            caption="../report/related_imp.rst",
            category=FIGURES["related_imp"].category,
        ),
        pdf=f"{FIGS}/related_imp.pdf",
    log:
        "logs/figures/related_imp.log",
    conda:
        "../../environment.yml"
    params:
        kwargs=FIGURE_PARAMS["related_imp"],
    script:
        "../scripts/related_imp.py"


# --- Neighbouring system C.4: permuted Fashion-MNIST with active dendrites (results/permuted.csv) ---


rule related_permuted:
    input:
        PERMUTED_TABLE,
    output:
        png=report(
            f"{FIGS}/related_permuted.png",
            caption="../report/related_permuted.rst",
            category=FIGURES["related_permuted"].category,
        ),
        pdf=f"{FIGS}/related_permuted.pdf",
    log:
        "logs/figures/related_permuted.log",
    conda:
        "../../environment.yml"
    params:
        plot=FIGURES["related_permuted"].plot,
        kwargs=FIGURE_PARAMS["related_permuted"],
    script:
        "../scripts/figure.py"


# --- Neighbouring system B: the learning-rule comparison (EG stand-in; evaluate.smk) ---


rule related_eg:
    input:
        **({"adversarial": "results/adversarial.csv"} if EG_ADVERSARIAL else {}),
        **({"few_shot": "results/few_shot.csv"} if FEW_SHOT_PAIRS else {}),
        weights="results/eg_weights.csv",
        hists="results/eg_weight_hists.csv",
    output:
        png=report(
            f"{FIGS}/related_eg.png",
            caption="../report/related_eg.rst",
            category=FIGURES["related_eg"].category,
        ),
        pdf=f"{FIGS}/related_eg.pdf",
    log:
        "logs/figures/related_eg.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/related_eg.py"
