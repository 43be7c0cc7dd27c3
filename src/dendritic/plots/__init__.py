"""Figures of the paper, one module per group of figures; shared look in :mod:`.style`, shared
helpers in :mod:`.common`; the tables they draw come from :mod:`dendritic.trials`."""
