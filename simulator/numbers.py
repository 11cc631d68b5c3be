"""Numbers for a person: positional, never scientific notation.

The one formatter below every stage that prints a value (``running`` for ``plansim run``'s
scorecard, ``present`` for charts and briefs), so the stages keep their one-way data flow.
"""
from __future__ import annotations

import math

import numpy as np


def positional(x: float, digits: int = 4, grouped: bool = False) -> str:
    """``x`` to ``digits`` significant digits, positional (``68470``, ``0.0007``, never
    ``6.847e+04``); values of ``10**(digits-1)`` and more are whole numbers, with thousands
    separators when ``grouped`` (``68,470``). Not finite: ``–``."""
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "–"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits - 1:
        return f"{round(x):,d}" if grouped else f"{round(x):d}"
    return np.format_float_positional(x, precision=digits, unique=True, fractional=False,
                                      trim="-")
