"""Figures of the paper, one module per group of figures; shared look in :mod:`.style`."""
