"""dendritic: a reproduction of Chavlis & Poirazi (2025), *Dendrites endow artificial neural
networks with accurate, robust and parameter-efficient learning*, Nat Commun 16, 943.

The package holds all the logic of the pipeline (data, connectivity masks, models, training,
evaluation, analyses, figures); the Snakemake workflow at the repository root is a thin layer
over it. See ``docs/ARCHITECTURE.md`` for a map.
"""

__version__ = "0.1.0"
