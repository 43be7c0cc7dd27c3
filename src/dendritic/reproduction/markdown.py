"""Markdown pieces the report's sections share (:mod:`~dendritic.reproduction.report`,
:mod:`~dendritic.reproduction.related`)."""

from __future__ import annotations

from dendritic.reproduction.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

#: A check's status as the report's tables show it.
MARK = {REPRODUCED: "✓ reproduced", NOT_REPRODUCED: "✗ not reproduced", INCONCLUSIVE: "? inconclusive"}


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table (``|`` in a cell escaped, line breaks flattened)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |" for r in rows]
    return out
