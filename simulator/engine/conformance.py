"""Does the vectorised engine give plain PySD's numbers on a model?  Run both and compare.

:func:`check_model` is what the engine promises for any model: at the defaults and
with every constant perturbed per run, the ensemble equals plain PySD run by run,
bit for bit (NaN where PySD gives NaN), or the engine refuses by name.  It serves
``plansim engine-check``, the tests over the SDXorg test-model suite and the
acceptance table in ``benchmarks/``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pysd
import xarray as xr

from .draws import DEFAULT_SEED
from .errors import DomainError, EngineError, UnsupportedConstruct
from .reference import run_single
from .translate import translate_reference
from .trust import UntrustedModel
from .vector_model import VectorModel

ACCEPTED = "equal"
"""Every output of every run has plain PySD's bits."""
REFUSED = "refused"
"""The engine refused the model, naming the construct(s)."""
DIFFERS = "differs"
"""A silent wrong answer: the engine gave a number plain PySD does not."""
OUTSIDE = "outside domain"
"""Equal except where the engine gives NaN/inf (``NonFiniteError`` when checked) and
plain PySD a number (e.g. the real part of a complex power stored in a subscript)."""
NOT_RUNNABLE = "PySD cannot run this model"
"""Plain PySD itself raises at the model's defaults: nothing to compare, the engine's
values are not checked (and the engine refuses the constructs it knows PySD cannot
evaluate, e.g. stocks ``Macro.state`` cannot pack)."""


@dataclass
class Verdict:
    """The outcome of :func:`check_model` for one model."""

    model: str
    status: str
    constructs: list[str] = field(default_factory=list)
    detail: str = ""
    runs_compared: int = 0
    perturbed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Equal, or refused by name (the engine's promise)."""
        return self.status in (ACCEPTED, REFUSED, OUTSIDE, NOT_RUNNABLE)


def check_model(mdl_path: str | os.PathLike, *, n_runs: int = 3, seed: int = 0,
                spread: float = 0.1, cache_dir: str | os.PathLike | None = None,
                random_seed: int = DEFAULT_SEED) -> Verdict:
    """Run ``mdl_path`` with the engine and with plain PySD; compare run by run.

    One run at the defaults, then ``n_runs`` runs with every constant (except those
    setting the time grid) multiplied by its own factor in ``1 ± spread`` per run
    (drawn from ``seed``); integer-valued constants are left at their defaults when
    perturbing them makes plain PySD fail (orders, indices).  Outputs are all the
    model's auxiliaries and stocks at the default years.  RANDOM functions: the
    ensemble is seeded ``random_seed`` and its run ``i`` compared with plain PySD after
    ``np.random.seed([random_seed, i])``, bit for bit (see :mod:`.draws`).
    """
    mdl = Path(mdl_path)
    name = str(mdl)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            pysd.load(str(translate_reference(mdl, cache_dir))).run()
        except UntrustedModel:
            raise  # not PySD's failure: plansim refuses to run it
        except Exception as error:  # noqa: BLE001 - any failure of PySD itself
            return Verdict(name, NOT_RUNNABLE, detail=_one_line(error))
        try:
            model = VectorModel(mdl, cache_dir)
        except UnsupportedConstruct as refusal:
            return Verdict(name, REFUSED, _kinds(refusal), _one_line(refusal))
        return _compare(model, name, n_runs, seed, spread, cache_dir, random_seed)


def _compare(model: VectorModel, name: str, n_runs: int, seed: int, spread: float,
             cache_dir: str | os.PathLike | None, random_seed: int) -> Verdict:
    outputs = model.variables
    compared, notes = 0, []
    perturbed: list[str] = []
    for params in _parameter_sets(model, n_runs, seed, spread, cache_dir):
        perturbed = sorted(params) or perturbed
        try:
            result = model.run(params, outputs, check_finite=False, seed=random_seed)
        except DomainError as refusal:
            kept = _integers_at_defaults(model, params)
            if kept is None or _pysd_runs(model, params, cache_dir, every_run=True):
                return Verdict(name, REFUSED, [_construct_of(refusal)], _one_line(refusal),
                               compared)
            notes.append(f"plain PySD raises for a perturbed run ({_one_line(refusal)}); "
                         f"compared with integer-valued constants at their defaults")
            params = kept
            try:
                result = model.run(params, outputs, check_finite=False, seed=random_seed)
            except EngineError as again:
                return Verdict(name, REFUSED, [_construct_of(again)], _one_line(again),
                               compared)
        except EngineError as refusal:  # per-run values refused by name: one value for all
            if not params:
                return Verdict(name, REFUSED, [_construct_of(refusal)], _one_line(refusal),
                               compared)
            notes.append(f"per-run values refused by name ({_one_line(refusal)}); compared "
                         f"with one perturbed value for all runs")
            params = {k: np.broadcast_to(v[:1], v.shape).copy() for k, v in params.items()}
            try:
                result = model.run(params, outputs, check_finite=False, seed=random_seed)
            except EngineError as again:
                return Verdict(name, REFUSED, [_construct_of(again)], _one_line(again),
                               compared)
        for i in range(result.sizes["run"]):
            single = {k: v[i] if v.ndim > 1 else float(v[i]) for k, v in params.items()}
            status, detail = _compare_run(model, result, i, single, outputs, cache_dir,
                                          random_seed)
            if status == DIFFERS:
                return Verdict(name, DIFFERS, [], f"run {i}{detail}", compared, perturbed)
            if status == OUTSIDE:
                notes.append(f"run {i}{detail}")
            compared += 1
    if any(note.startswith("run ") for note in notes):
        return Verdict(name, OUTSIDE, [], "; ".join(notes), compared, perturbed)
    return Verdict(name, ACCEPTED, [], "; ".join(notes), compared, perturbed)


def _compare_run(model: VectorModel, result: xr.Dataset, i: int, single: dict[str, Any],
                 outputs: list[str], cache_dir: str | os.PathLike | None,
                 random_seed: int) -> tuple[str, str]:
    """Run ``i`` of the ensemble against plain PySD: (status, detail)."""
    years = result["time"].values
    finite = all(np.isfinite(result[o].values[i]).all() for o in outputs)
    try:
        reference = run_single(model.mdl_path, single, outputs, years, cache_dir=cache_dir,
                               random_seed=[random_seed, i])
    except EngineError:
        raise  # the comparison itself failed (e.g. the model file is gone): no verdict
    except Exception as error:  # noqa: BLE001 - PySD raises for this run
        if finite:
            return DIFFERS, f": plain PySD raises {_one_line(error)}; the engine gives numbers"
        return ACCEPTED, ""  # the engine reports the run outside the domain too
    for output in outputs:
        got, expected = result[output].values[i], reference[output].values[0]
        same = (got == expected) | (np.isnan(got) & np.isnan(expected))
        if same.all():
            continue
        t = int(np.argmax(~same.reshape(len(years), -1).all(axis=1)))
        where = f", {output!r} at time {years[t]:g}"
        values = f": engine {got[t]!r}, plain PySD {expected[t]!r}"
        if (~np.isfinite(got[t]) & np.isfinite(expected[t]) & ~same[t]).any() and (
                (same[t] | ~np.isfinite(got[t])).all()):
            return OUTSIDE, where + " reported outside the domain (NaN/inf) where plain " \
                                    "PySD computes a number" + values
        return DIFFERS, where + values
    return ACCEPTED, ""


def _parameter_sets(model: VectorModel, n_runs: int, seed: int, spread: float,
                    cache_dir: str | os.PathLike | None) -> list[dict[str, np.ndarray]]:
    """The defaults (no parameter given), then every constant perturbed per run."""
    rng = np.random.default_rng(seed)
    free = [real for real in sorted(model.parameters) if real not in model.control_inputs]
    factors = {real: 1.0 + rng.uniform(-spread, spread, n_runs) for real in free}
    perturbed = {real: model.parameters[real] * factors[real] for real in free
                 if model.parameters[real] != 0}
    perturbed.update({real: factors[real] - 1.0 for real in free
                      if model.parameters[real] == 0})
    if perturbed and not _pysd_runs(model, perturbed, cache_dir):
        perturbed = {real: values for real, values in perturbed.items()
                     if not float(model.parameters[real]).is_integer()}
    for real, default in model.subscripted_parameters.items():
        if real not in model.control_inputs:
            values = np.asarray(default.values, dtype=np.float64)
            factor = 1.0 + rng.uniform(-spread, spread, (n_runs, *values.shape))
            perturbed[real] = np.where(values == 0, factor - 1.0, values * factor)
    return [{}, perturbed] if perturbed else [{}]


def _integers_at_defaults(model: VectorModel, params: dict[str, np.ndarray]
                          ) -> dict[str, np.ndarray] | None:
    """``params`` with integer-valued constants (and elements) at their defaults.

    None when that changes nothing (no parameters, or none integer-valued).
    """
    kept = {}
    for real, values in params.items():
        default = np.asarray(model.subscripted_parameters[real].values
                             if real in model.subscripted_parameters
                             else model.parameters[real], dtype=np.float64)
        integer = np.broadcast_to(default == np.round(default), values.shape[1:])
        kept[real] = np.where(integer, np.broadcast_to(default, values.shape), values)
    if all(np.array_equal(kept[k], params[k]) for k in params):
        return None
    return kept


def _pysd_runs(model: VectorModel, params: dict[str, np.ndarray],
               cache_dir: str | os.PathLike | None, every_run: bool = False) -> bool:
    """Whether plain PySD runs the first perturbed run (``every_run``: each of them,
    computing every variable; a run computes only what its outputs need)."""
    n = next(iter(params.values())).shape[0] if every_run else 1
    outputs = model.variables if every_run else model.variables[:1]
    try:
        for i in range(n):
            run_single(model.mdl_path, {k: v[i] if v.ndim > 1 else float(v[i])
                                        for k, v in params.items()},
                       outputs, cache_dir=cache_dir)
    except Exception:  # noqa: BLE001 - any failure of PySD itself
        return False
    return True


def _construct_of(refusal: Exception) -> str:
    if isinstance(refusal, UnsupportedConstruct):
        return ", ".join(_kinds(refusal))
    kind = "outside the domain" if isinstance(refusal, DomainError) else "refused at run"
    return f"{kind}: {' '.join(str(refusal).split())[:100]}"


def _kinds(refusal: UnsupportedConstruct) -> list[str]:
    """The constructs a refusal names, ``subscripts [...]`` counted as one kind."""
    return sorted({"subscripts" if construct.startswith("subscripts") else construct
                   for _, construct in refusal.issues})


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}"
