"""The reproduction verdict: this pipeline's numbers next to the paper's (Tables 1-2), and the
paper's claims checked one by one (:mod:`~dendritic.reproduction.claims`, as frames), written as a
Markdown report and one tidy CSV (:mod:`~dendritic.reproduction.report`). Imports neither
matplotlib nor :mod:`dendritic.plots`.
"""

from dendritic.reproduction.claims import (  # noqa: F401  (the verdict's public names)
    ALPHA,
    CLAIM_A_MODELS,
    COMPARED,
    COMPARED_MODELS,
    CSV_COLUMNS,
    DATASETS,
    FOLD,
    INCONCLUSIVE,
    MIN_SEEDS,
    MIN_SIZES,
    MIN_SPAN,
    MISSING_SEP,
    MOSTLY,
    NOT_REPRODUCED,
    NOT_RUN,
    PAPER_TABLE1,
    PAPER_TABLE2,
    REPRODUCED,
    STATUSES,
    TABLE_MODELS,
    _preceding_untried,
    check_claims,
    claim_a,
    claim_b,
    claim_c,
    claim_d,
    overall,
    table1,
    table2,
)
from dendritic.reproduction.report import build_report, scale_rows, write_reproduction  # noqa: F401
