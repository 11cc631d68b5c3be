"""PySD's stateful objects (SMOOTH, DELAY, TREND, ...) carrying runs, and the Euler step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pysd
from pysd.py_backend import statefuls as _st
from pysd.py_backend.model import Macro

from .errors import EngineError
from .functions import _if_then_else, _zidz
from .runs import _named_run_value, _run_array
from .stepping import RunSmooth


class _Broadcast:
    """Wraps a stateful object's callable so it returns a value over runs, shape (N,)."""

    def __init__(self, func: Callable[[], Any], runs: _RunCount):
        self.func = func
        self.runs = runs

    def __call__(self) -> Any:
        runs = self.runs
        if runs.named:
            return _named_run_value(self.func(), runs.n)
        value = self.func()
        if type(value) is np.ndarray and value.shape == (runs.n,):
            return value  # (_run_array's first case, without its call)
        return _run_array(value, runs.n)


class _Uniform:
    """Wraps an order argument: one scalar, equal in every run."""

    def __init__(self, func: Callable[[], Any], variable: str, what: str):
        self.func = func
        self.variable = variable
        self.what = what

    def __call__(self) -> int | float:
        values = np.unique(np.asarray(self.func(), dtype=np.float64))
        if values.size != 1:
            raise EngineError(f"the {self.what} of '{self.variable}' differs across runs "
                              f"({values.min()}..{values.max()}); the engine needs one value")
        value = values.item()
        return int(value) if value.is_integer() else value


class _RunDelayOrder:
    """Mixin for DELAY objects: refuse runs whose order PySD would cast differently.

    PySD lowers a delay's order while ``order * TIME STEP`` exceeds the *minimum*
    delay time, which over an ensemble is the minimum across runs; a single run
    uses its own delay time.  Ensembles where that gives different orders are
    refused before integrating.
    """

    variable: str

    def initialize(self, init_val: Any = None) -> None:
        delays = np.unique(np.asarray(self.delay_time_func(), dtype=np.float64))
        order, dt = int(self.order_func()), float(self.tstep())
        if len({_reduced_order(order, dt, d) for d in delays}) > 1:
            raise EngineError(
                f"the delay time of '{self.variable}' is below order x TIME STEP in some "
                f"runs only; PySD would cast the delay order differently per run")
        super().initialize(init_val)  # type: ignore[misc]


class _RunDelay(_RunDelayOrder, _st.Delay):
    """DELAY1/DELAY3(I) with the per-run order check."""


class _RunDelayN(_RunDelayOrder, _st.DelayN):
    """DELAY N with the per-run order check."""


def _reduced_order(order: int, dt: float, delay_time: float) -> int:
    """The order PySD keeps for one run (see ``Delay.initialize``)."""
    while order * dt > delay_time:
        order -= 1
    return order


# PySD 3.14.3's TREND, FORECAST and SAMPLE IF TRUE call ``zidz``/``if_then_else``
# imported into ``pysd.py_backend.statefuls``; these are their methods, verbatim but
# for calling the array versions.


class _RunTrend(_st.Trend):
    """TREND over run arrays (``Trend.__call__`` with :func:`_zidz`)."""

    def __call__(self) -> Any:
        return _zidz(self.input_func() - self.state,
                     self.average_time_function() * np.abs(self.state))


class _RunForecast(_st.Forecast):
    """FORECAST over run arrays (``Forecast.__call__`` with :func:`_zidz`)."""

    def __call__(self) -> Any:
        return self.input() * (
            1 + _zidz(self.input() - self.state, self.average_time() * self.state)
            * self.horizon())


class _RunSampleIfTrue(_st.SampleIfTrue):
    """SAMPLE IF TRUE over run arrays (PySD's methods with :func:`_if_then_else`)."""

    def __call__(self) -> Any:
        return _if_then_else(self.condition(), self.actual_value, lambda: self.state)

    def update(self, state: Any) -> None:
        self.state = self.state * 0 + _if_then_else(self.condition(), self.actual_value,
                                                    lambda: self.state)


@dataclass
class _RunCount:
    """The ensemble size of the current integration, shared with the wrappers."""

    n: int = 1
    named: bool = False
    """Runs as a named ``run`` dimension of DataArrays (models with subscripts)."""


# Callables broadcast to runs per stateful class (pysd 3.14.3 attribute names), the
# order callables that must be one scalar, and the engine's subclasses.
_BROADCAST_ATTRS: dict[type, tuple[str, ...]] = {
    _st.Integ: ("init_func",),
    _st.NonNegativeInteg: ("init_func",),  # XMILE's non-negative stock: np.maximum(state, 0)
    _st.Smooth: ("init_func", "input_func"),
    _st.Delay: ("init_func", "input_func", "delay_time_func"),
    _st.DelayN: ("init_func", "input_func", "delay_time_func"),
    _st.Trend: ("init_func", "input_func"),
    _st.Forecast: ("input",),
    _st.SampleIfTrue: ("init_func",),
    _st.Initial: ("init_func",),
    _st.DelayFixed: ("init_func", "input_func"),
}
# (attribute, what it is): callables that must give one value for the whole ensemble.
# DELAY FIXED's pipe length is its delay time / TIME STEP, one length for all runs.
_UNIFORM_ATTRS: dict[type, tuple[str, str]] = {
    _st.Smooth: ("order_func", "order"), _st.Delay: ("order_func", "order"),
    _st.DelayN: ("order_func", "order"), _st.DelayFixed: ("delay_time_func", "delay time")}
class _StateCall:
    """``Stateful.__call__`` (``self.state``) reading the state without the property."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        state = self._state
        return self.state if state is None else state  # (None: PySD's AttributeError)


class _RunInteg(_StateCall, _st.Integ):
    """INTEG, its value read as PySD reads it."""


class _RunInitial(_StateCall, _st.Initial):
    """INITIAL, its value read as PySD reads it."""


_RUN_CLASSES: dict[type, type] = {_st.Delay: _RunDelay, _st.DelayN: _RunDelayN,
                                  _st.Trend: _RunTrend, _st.Forecast: _RunForecast,
                                  _st.SampleIfTrue: _RunSampleIfTrue, _st.Smooth: RunSmooth,
                                  **{kind: run for kind, run in ((_st.Integ, _RunInteg),
                                                                 (_st.Initial, _RunInitial))
                                     if kind.__call__ is _st.Stateful.__call__}}


def _euler_step(model: pysd.py_backend.model.Model, dt: float) -> None:
    """PySD's Euler step, ``state + ddt * dt`` for every state, over a list.

    ``Macro.state``/``Macro.ddt`` pack the states with ``np.array(..., dtype=object)``;
    for run arrays of equal length numpy builds a 2-D object array (the states
    become object arrays) and for shapes sharing a leading length it raises.
    This does the same per-state arithmetic in the same order: all states are read,
    all derivatives computed, then every state updated with ``state + ddt * dt``.
    """
    elements = model._dynamicstateful_elements
    states = [_state_of(element) for element in elements]
    derivatives = [_ddt_of(element) for element in elements]
    for element, state, ddt in zip(elements, states, derivatives):
        _update(element, state, ddt, dt)


def _state_of(element: Any) -> Any:
    """A stateful's state; a macro's, as the list of its own (``Macro.state``)."""
    if isinstance(element, Macro):
        return [_state_of(inner) for inner in element._dynamicstateful_elements]
    return element.state


def _ddt_of(element: Any) -> Any:
    """A stateful's derivative; a macro's, as the list of its own (``Macro.ddt``)."""
    if isinstance(element, Macro):
        return [_ddt_of(inner) for inner in element._dynamicstateful_elements]
    return element.ddt()


def _update(element: Any, state: Any, ddt: Any, dt: float) -> None:
    """``element.update(state + ddt * dt)``; a macro's elements one by one, in its order."""
    if isinstance(element, Macro):
        for inner, inner_state, inner_ddt in zip(element._dynamicstateful_elements, state, ddt):
            _update(inner, inner_state, inner_ddt, dt)
    else:
        element.update(state + ddt * dt)


def plain_packing_issue(model: Any, owners: dict[str, str]) -> tuple[str, str] | None:
    """(stocks, construct) where plain PySD's ``Macro.state`` cannot pack the states.

    Plain PySD packs a model's (and each macro's) states with ``np.array([...],
    dtype=object)`` at every Euler step; for states whose shapes share leading
    lengths but not all of them (a stock over ``(dim1, dim2)`` beside one over
    ``(dim1, dim2, dim3)`` defined element by element of ``dim3``) numpy raises, so
    plain PySD cannot run the model and nobody can check the engine's values (the
    engine's own step, :func:`_euler_step`, packs nothing).  Called after the engine's
    one-run initialisation: each state with its run axis dropped is what plain PySD
    holds.  None when plain PySD packs them.
    """
    elements = model._dynamicstateful_elements
    try:
        np.array([_plain_state(element) for element in elements], dtype=object)
    except ValueError as error:
        names = {id(e): py for py, e in model._stateful_elements.items()}
        stocks = sorted({owners.get(names.get(id(e), ""), names.get(id(e), "?"))
                         for e in elements if not isinstance(e, Macro)
                         and np.ndim(_plain_state(e)) > 0})
        return (", ".join(stocks) or "<model>",
                f"stocks plain PySD cannot step together (Macro.state: {error})")
    for element in elements:
        if isinstance(element, Macro):
            issue = plain_packing_issue(element, {})
            if issue is not None:
                return issue
    return None


def _plain_state(element: Any) -> Any:
    """A stateful's state as plain PySD holds it (the run axis, length one, dropped)."""
    if isinstance(element, Macro):
        return np.array([_plain_state(inner) for inner in element._dynamicstateful_elements],
                        dtype=object)
    state = element.state
    if hasattr(state, "dims") and "run" in state.dims:
        return state.isel(run=0, drop=True)
    if isinstance(state, np.ndarray) and state.ndim >= 1 and state.shape[-1] == 1:
        return state[..., 0]
    return state
