"""The paper's three experiments as functions of a ``curves.Run`` (dataset, seeds, steps, scale), and
their grids."""

from mdpt_lib.experiments.scales import SCALES, Scale, get_scale

__all__ = ["SCALES", "Scale", "get_scale"]
