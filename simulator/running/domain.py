"""The model's domain: parameter sets whose runs stay finite, and why a run leaves it.

Every parameter alone at either end of its documented range keeps the district model
finite, but some corners of the box do not (fast income adjustment with high
elasticities, say, grows incomes without bound). Such a run is *outside the model's
domain*: a single run reports it as one line naming the variable, the time and the
parameters most responsible; ensembles count such runs apart and never evaluate
goals on them.

"Most responsible" is measured, not guessed: each parameter that differs from its
reference value (the model's default or the calibration) is put back alone, all in
one vectorised integration; the parameters whose reset keeps the run finite, or
keeps it finite longest, rank first (ties: the larger move across the documented
range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

TOP = 3


def in_domain(raw: xr.Dataset) -> np.ndarray:
    """Per run: every time series of ``raw`` (dims ``run, time``) is finite."""
    n = raw.sizes["run"]
    ok = np.ones(n, dtype=bool)
    for name in raw.data_vars:
        if raw[name].dims == ("run", "time"):
            ok &= np.isfinite(raw[name].values).all(axis=1)
    return ok


def first_non_finite(raw: xr.Dataset, run: int = 0) -> tuple[str, float] | None:
    """The variable that is first not finite in ``run``, and its time (``None`` if none)."""
    first = None
    for name in sorted(raw.data_vars):
        if raw[name].dims != ("run", "time"):
            continue
        bad = ~np.isfinite(raw[name].values[run])
        if bad.any():
            t = int(np.argmax(bad))
            if first is None or t < first[0]:
                first = (t, name)
    if first is None:
        return None
    return first[1], float(raw["time"].values[first[0]])


@dataclass(frozen=True)
class Diagnosis:
    """Where a run leaves the domain and which parameters take it there."""

    variable: str
    time: float
    responsible: list[tuple[str, float, float]]  # (name, value, reference value)

    def describe(self, limit: int = 175) -> str:
        """One line; names the three most responsible parameters, or fewer to fit ``limit``."""
        for k in range(min(TOP, len(self.responsible)), 0, -1):
            names = ", ".join(f"{n} = {v:.3g} (central {r:.3g})"
                              for n, v, r in self.responsible[:k])
            text = (f"outside the model's domain: '{self.variable}' not finite from "
                    f"{self.time:g}; most responsible: {names}")
            if len(text) <= limit:
                return text
        return (f"outside the model's domain: '{self.variable}' not finite from "
                f"{self.time:g}")


def diagnose(vector_model, params: dict[str, float], reference: dict[str, float],
             outputs: list[str], years, spans: dict[str, float] | None = None,
             top: int = TOP) -> Diagnosis | None:
    """Why ``params`` leave the domain (``None`` if they do not); see the module docstring.

    ``vector_model`` is a :class:`~simulator.engine.VectorModel`; ``reference`` holds
    each parameter's central value; ``spans`` the widths of the documented ranges.
    """
    raw = vector_model.run({k: float(v) for k, v in params.items()}, outputs, years=years,
                           check_finite=False)
    where = first_non_finite(raw)
    if where is None:
        return None
    moved = sorted(k for k, v in params.items() if k in reference and v != reference[k])
    if not moved:
        return Diagnosis(*where, [])
    trial = {k: np.full(len(moved), float(v)) for k, v in params.items()}
    for i, name in enumerate(moved):
        trial[name][i] = reference[name]
    resets = vector_model.run(trial, outputs, years=years, check_finite=False)
    n_times = resets.sizes["time"]
    lasting = []
    for i in range(len(moved)):
        hit = first_non_finite(resets, i)
        lasting.append(n_times if hit is None
                       else int(np.searchsorted(resets["time"].values, hit[1])))
    spans = spans or {}

    def rank(i):
        name = moved[i]
        span = spans.get(name) or abs(reference[name]) or 1.0
        return (-lasting[i], -abs(params[name] - reference[name]) / span, name)

    order = sorted(range(len(moved)), key=rank)[:top]
    return Diagnosis(*where, [(moved[i], float(params[moved[i]]), float(reference[moved[i]]))
                              for i in order])
