"""Charts for a briefing, one function per chart, each taking ``lang="zh"|"en"``.

Every function takes data produced by the pipeline and returns a
``matplotlib.figure.Figure``; :func:`save` writes it as PNG (300 dpi) and SVG.
Fonts (Chinese included) and the colour-blind-safe palette are in :mod:`.style`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

from .conflicts import conflicts
from .fan import fan
from .indices import indices
from .lever_map import lever_map
from .prim import prim_limits, prim_tradeoff
from .probabilities import probabilities
from .scorecard import scorecard
from .sensitivity import heatmap
from .style import save
from .tornado import tornado

__all__ = ["conflicts", "fan", "heatmap", "indices", "lever_map", "prim_limits",
           "prim_tradeoff", "probabilities", "save", "scorecard", "tornado"]
