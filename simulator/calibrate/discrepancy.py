"""Model discrepancy per figure family, its size estimated from the history.

The error model of :mod:`.errors` gives every figure its observation error and a floor
of structural error from the companion file. What the model cannot reproduce at any
parameter set (the plan's sector growth rates against its total, section 一) is a
discrepancy of the model, shared by a family of figures:

* ``levels`` - amounts, counts, populations: relative to the figure (``delta * |value|``);
* ``growth rates`` - ``%/yr`` (or per mille per year): in points;
* ``shares`` - percentages (shares, ratios, rates): in points.

The family is read from the unit column of the history file. Bounds (``<`` figures)
and soft targets keep their error as it is. The size ``delta`` of a family is the
method-of-moments estimate at the best joint fit: the smallest ``delta >= 0`` for which
the family's squared errors, in standard deviations that include it, average one
(``mean e^2 / (sd^2 + (scale * delta)^2) = 1``). It is zero where the fit already
reproduces the family within its observation error. The fit has at least as many
parameters as figures, so this is a lower estimate of the misfit the model cannot
remove; ``calibrate --report`` prints each family's size and the figures that drive it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import brentq

from ..inputs import history
from .waves import CalibrationFailed

FAMILIES = ("levels", "growth rates", "shares")
MAX_SIZE = 1e6  # a family discrepancy beyond a million times a figure: the model misses it
ITERATIONS = 3  # fit, estimate, refit: the sizes settle within this many rounds


def family(unit: str) -> str:
    """The figure family of a history unit."""
    u = unit.strip()
    if u.endswith("/yr") and ("%" in u or "\u2030" in u):
        return "growth rates"
    if u in ("%", "\u2030"):
        return "shares"
    return "levels"


def families(project, figures: list[history.Figure]) -> list[str | None]:
    """Each figure's family (None: a bound or a soft target, kept as it is)."""
    table = history.load(project)
    units = {f"{r.indicator}.{int(r.year)}": str(r.unit) for r in table.itertuples()}
    return [None if f.comparator == "<" or f.key not in units else family(units[f.key])
            for f in figures]


def scale(fig: history.Figure, fam: str) -> float:
    """What one unit of the family's discrepancy is for this figure."""
    return abs(fig.value) if fam == "levels" else 1.0


def estimate(errors: np.ndarray, sd: np.ndarray, scales: np.ndarray) -> float:
    """The smallest delta with ``mean(errors^2 / (sd^2 + (scales * delta)^2)) <= 1``."""
    def excess(delta: float) -> float:  # ratios first: errors of astronomical size stay finite
        return float(np.mean((errors / np.hypot(sd, scales * delta)) ** 2)) - 1.0

    if errors.size == 0 or excess(0.0) <= 0:
        return 0.0
    if not np.all(np.isfinite(errors)):
        raise CalibrationFailed("no sampled parameter set reproduces the history: the best "
                                "joint fit leaves the model's domain on a history figure")
    hi = 1.0
    while excess(hi) > 0:
        hi *= 10.0
        if hi > MAX_SIZE:
            raise CalibrationFailed(
                "no sampled parameter set reproduces the history: the best joint fit misses "
                f"it by more than a model discrepancy of {MAX_SIZE:,.0f} times a figure")
    return float(brentq(excess, 0.0, hi, xtol=1e-12, rtol=1e-10))


def applied(figures: list[history.Figure], fams: list[str | None],
            sizes: dict[str, float]) -> list[history.Figure]:
    """The figures with each family's discrepancy added to their sd (in quadrature)."""
    out = []
    for f, fam in zip(figures, fams):
        extra = 0.0 if fam is None else sizes.get(fam, 0.0) * scale(f, fam)
        out.append(dataclasses.replace(f, sd=float(np.hypot(f.sd, extra))))
    return out


def sizes_from_fit(figures: list[history.Figure], fams: list[str | None],
                   errors: np.ndarray) -> dict[str, float]:
    """Each family's size from the fit's errors (figure units) against the base sd."""
    out = {}
    for fam in FAMILIES:
        idx = [i for i, x in enumerate(fams) if x == fam]
        out[fam] = estimate(np.asarray(errors, dtype=float)[idx],
                            np.array([figures[i].sd for i in idx]),
                            np.array([scale(figures[i], fam) for i in idx]))
    return out
