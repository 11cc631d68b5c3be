"""Branching runs: integrate N runs to a time once, then continue K settings from that state.

A lever search evaluates many lever settings over the same futures.  Where the levers
act only after a time ``t0`` (the Karamay model's ``policy start``: nothing a lever sets
enters an equation before the first step after 2005), every setting shares the runs'
path up to ``t0``.  :func:`run_until` integrates the N runs from INITIAL TIME to ``t0``
and keeps PySD's state there (the clock and every stateful object, PySD's own
``Time.export`` and ``Macro.export``); :func:`run_from` restores that state repeated
``repeat`` times along the runs (run ``j * N + i`` continues run ``i``), sets the
parameters of the N x repeat runs and continues with PySD's ``initial_condition=
"current"``.  The arithmetic after ``t0`` is the same operations on the same values as
an integration from INITIAL TIME, so the results are bit-identical to full runs when
the parameters changed at the branch act only after ``t0`` (tests/test_branch.py checks
it on the Karamay model; :func:`check_branchable` refuses what it cannot branch).

Not branched (refused by name): models with subscripts (runs as a named dimension),
RANDOM functions, control values that change during the run, and INITIAL values or
stateful initial values read from a parameter that differs between the two calls
(their value was fixed at ``t0``'s initialisation).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend.model import Macro

from .control import _match_times
from .errors import EngineError
from .output import _handler_file


@dataclass(frozen=True)
class BranchState:
    """PySD's state of N runs at ``time`` (the clock and every stateful object)."""

    time: float
    n: int
    clock: dict
    statefuls: dict
    given: dict[str, np.ndarray]  # the parameters the state was integrated with


def check_branchable(vm: Any) -> None:
    """Refuse (EngineError) a model whose state this module cannot hold and restore."""
    if vm._runs.named:
        raise EngineError("branching runs: the model has subscripts (runs are a named "
                          "dimension); run full ensembles")
    if vm.draws_random:
        raise EngineError("branching runs: the model uses RANDOM functions (the streams "
                          "are not part of the held state); run full ensembles")
    if vm.changing_controls:
        raise EngineError("branching runs: a control value changes during the run; run "
                          "full ensembles")
    for name, element in vm._model._stateful_elements.items():
        if isinstance(element, Macro):
            raise EngineError(f"branching runs: macro {name!r} is not supported; run full "
                              "ensembles")


def run_until(vm: Any, params: Mapping[str, Any], outputs: Sequence[str], until: float,
              years: Iterable[float]) -> tuple[xr.Dataset, BranchState]:
    """Integrate the runs from INITIAL TIME to ``until``: outputs at ``years <= until``
    over ``(run, time)`` and the state at ``until``."""
    check_branchable(vm)
    years = np.asarray(sorted({float(y) for y in years}), dtype=np.float64)
    years = years[years <= until]
    given, labels = vm._given(params)
    out_names = list(dict.fromkeys(vm._names.real(name, "output") for name in outputs))
    vm._check_outputs(out_names)
    model = vm._model
    with vm._lock:
        control = vm._set_parameters(given, len(labels))
        times = control.years(years)
        steps = (until - control.initial_time) / control.time_step
        if steps != round(steps) or not control.initial_time <= until <= control.final_time:
            raise EngineError(f"branching runs: {until:g} is not a step of the clock")
        for lookup in model._lookup_elements + model._external_elements:
            lookup.warned = set()
        for element in model._stateful_elements.values():
            element.shape_info = None
        arrays = _integrate(vm, len(labels), out_names, times, until, "original")
        state = BranchState(float(until), len(labels), copy.deepcopy(model.time.export()),
                            copy.deepcopy(Macro.export(model)),
                            {k: v.copy() for k, v in given.items()})
    return vm._dataset(arrays, given, labels, times), state


def run_from(vm: Any, state: BranchState, params: Mapping[str, Any], outputs: Sequence[str],
             years: Iterable[float], repeat: int = 1,
             runs: np.ndarray | None = None) -> xr.Dataset:
    """Continue ``state`` repeated ``repeat`` times (run ``j * N + i`` from run ``i``) with
    ``params`` over the ``N * repeat`` runs; outputs at ``years >= state.time``.
    ``runs``: continue only these runs of the state (N = their number)."""
    check_branchable(vm)
    runs = np.arange(state.n) if runs is None else np.asarray(runs)
    n = len(runs) * repeat
    years = np.asarray(sorted({float(y) for y in years}), dtype=np.float64)
    years = years[years >= state.time]
    given, labels = vm._given(params)
    if len(labels) != n:
        raise EngineError(f"branching runs: {len(labels)} parameter runs for a state of "
                          f"{len(runs)} runs repeated {repeat} times ({n})")
    out_names = list(dict.fromkeys(vm._names.real(name, "output") for name in outputs))
    vm._check_outputs(out_names)
    model = vm._model
    with vm._lock:
        control = vm._set_parameters(given, n)
        times = control.years(years)
        model.time._set_time(copy.deepcopy(state.clock))
        model._set_stateful(_repeated(state.statefuls, state.n, runs, repeat))
        arrays = _integrate(vm, n, out_names, times, control.final_time, "current")
    return vm._dataset(arrays, given, labels, times)


def _repeated(statefuls: dict, n: int, runs: np.ndarray, repeat: int) -> dict:
    """Every stateful attribute over runs (last axis of length n): the ``runs`` taken and
    repeated ``repeat`` times."""
    def tile(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] == n:
            return np.tile(value[..., runs], (1,) * (value.ndim - 1) + (repeat,))
        if isinstance(value, xr.DataArray):
            raise EngineError("branching runs: a stateful object holds a DataArray")
        return copy.deepcopy(value)

    return {name: {attr: tile(value) for attr, value in attrs.items()}
            for name, attrs in statefuls.items()}


def _integrate(vm: Any, n: int, out_names: list[str], times: np.ndarray, final_time: float,
               initial: str) -> dict[str, np.ndarray]:
    model = vm._model
    py_outputs = [vm._names.py_of_real[real] for real in out_names]
    with np.errstate(all="ignore"), vm._named_failures():
        handler = model.run(return_columns=py_outputs, return_timestamps=list(times),
                            initial_condition=initial, final_time=final_time,
                            output_file=_handler_file(n, len(times)))
    index = _match_times(handler.times, times, vm.control.time_step)
    return {real: handler.pop_series(vm._names.py_of_real[real], index) for real in out_names}
