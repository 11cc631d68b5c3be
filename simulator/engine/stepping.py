"""The per-step work of an ensemble, with less Python around the same numpy operations.

At N = 1,000 the district model spends about two thirds of its time in Python, not in
numpy: PySD's step cache raises a ``KeyError`` at the first call of every component in
every step, each constant goes through a wrapper reading an attribute, SMOOTH's ``ddt``
rolls its state with ``np.roll`` (a generic axis routine) and every stock update
allocates two arrays.  Here the same values are computed by the same numpy calls in
the same order (bit-identical to plain PySD), with less around them:

* :class:`StepCache`: PySD's step cache (keyed by the component's name, cleared at
  every step) looked up with ``dict.get``: no exception per first call.
* :func:`add_constant_cache`: PySD's constant cache (``Model._add_constant_cache``)
  returning the value from a closure.
* :class:`RunSmooth`: SMOOTH's ``ddt`` with the roll done by slicing into a new array of
  the state's dtype (what ``np.roll`` returns), for numpy states.
* :class:`RunTime`: PySD's clock, its ``np.isclose`` of two finite times (7 us, at
  every step) as the same float arithmetic in Python.
* :class:`EulerStep`: ``state + ddt * dt`` for every stock; from the third step each
  stock's new state is written (``np.multiply(..., out=)``, ``np.add(..., out=)``) into
  the array of its state two steps before, see there for why nothing can see it.
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
from pysd.py_backend import statefuls as _st
from pysd.py_backend.cache import Cache
from pysd.py_backend.components import Time
from pysd.py_backend.model import Macro

_MISSING = object()
_VARIADIC = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_STATE = operator.attrgetter("_state")
_SHAPE_INFO = operator.attrgetter("shape_info")
_DTYPE = operator.attrgetter("dtype")
_SHAPE = operator.attrgetter("shape")
_exhaust = deque(maxlen=0).extend  # runs an iterator to its end, keeping nothing


class StepCache(Cache):
    """PySD's ``Cache`` (step cache by component name) without a ``KeyError`` per miss.

    The values live in one dict for the model's life, emptied by :meth:`clean` (PySD
    replaces it): each cached component holds that dict and its own name.
    """

    def __init__(self, cached_funcs: set[str] | None = None):
        self.cached_funcs = set() if cached_funcs is None else cached_funcs
        self.data: dict[str, Any] = {}

    def __call__(self, func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        data, name = self.data, func.__name__
        get = data.get
        code = getattr(func, "__code__", None)
        if code is not None and code.co_argcount == 0 and not code.co_flags & _VARIADIC:

            @functools.wraps(func)
            def cached_func() -> Any:  # (most components: no arguments to pack)
                value = get(name, _MISSING)
                if value is _MISSING:
                    value = data[name] = func()
                return value

            return cached_func

        @functools.wraps(func)
        def cached_args_func(*args: Any) -> Any:
            value = get(name, _MISSING)
            if value is _MISSING:
                value = data[name] = func(*args)
            return value

        return cached_args_func

    def clean(self) -> None:
        self.data.clear()


def use_step_cache(model: Any) -> None:
    """Give a loaded model (or macro) a :class:`StepCache`, re-wrapping the components
    PySD's cache already wraps (PySD assigns cache types when it loads a model)."""
    old = model.cache
    if isinstance(old, StepCache):
        return
    cache = StepCache(old.cached_funcs)
    components = model.components
    for name in sorted(old.cached_funcs):
        wrapped = getattr(getattr(components, name, None), "__wrapped__", None)
        if wrapped is not None:
            components._set_component(name, cache(wrapped))
    model.cache = cache


def add_constant_cache(model: Any) -> None:
    """PySD's ``Model._add_constant_cache``: every ``run``-cached component evaluated once
    and replaced by a function returning that value (``function``/``value`` attributes
    as PySD sets them, which its ``_remove_constant_cache`` reads)."""
    components = model.components
    for element, cache_type in model.cache_type.items():
        if cache_type == "run":
            components._set_component(element, _constant(getattr(components, element)))
            model._constant_funcs.add(element)
    hoisted = model.__dict__.get("_plansim_hoisted")
    if hoisted is not None:  # the step equations' constant parts: kept from now on
        hoisted.start(model.cache_type)
    prefill = model.__dict__.get("_plansim_prefill")
    if prefill is not None:  # the equations this run's step cache keeps
        prefill.select(model.cache.cached_funcs)


def remove_constant_cache(model: Any, remove: Callable[[], None]) -> None:
    """PySD's ``Model._remove_constant_cache`` (``remove``), the hoisted constant parts of
    the step equations (:mod:`.hoist`) forgotten first."""
    hoisted = model.__dict__.get("_plansim_hoisted")
    if hoisted is not None:
        hoisted.stop()
    remove()


def _constant(function: Callable[..., Any]) -> Callable[..., Any]:
    function.function = function  # type: ignore[attr-defined]
    value = function.value = function()  # type: ignore[attr-defined]

    @functools.wraps(function)
    def wrapper(*args: Any) -> Any:
        return value

    return wrapper


class RunSmooth(_st.Smooth):
    """SMOOTH with PySD's ``ddt``; for a numpy state the roll by one along the order axis
    is a slice copy into ``np.empty_like(state)`` (``np.roll``'s result: a new array of
    the state's dtype), then ``targets[0] = input`` and PySD's arithmetic.  For a first
    order SMOOTH of a float64 state and input, ``targets`` is the input itself (a copy
    of it, one row): ``input - state`` subtracts the same values element by element."""

    def ddt(self) -> Any:
        state = self.state
        if self.shape_info or type(state) is not np.ndarray:
            return super().ddt()
        value = self.input_func()
        if (len(state) == 1 and state.dtype is _FLOAT64 and type(value) is np.ndarray
                and value.dtype is _FLOAT64 and value.shape == state.shape[1:]):
            return np.subtract(value, state) * self.order / self.smooth_time_func()
        targets = np.empty_like(state)
        targets[1:] = state[:-1]
        targets[0] = value
        return (targets - state) * self.order / self.smooth_time_func()


class RunTime(Time):
    """PySD's ``Time`` with ``in_return``'s test of the next return time made in Python.

    For two finite times numpy's ``isclose(t, next, rtol)`` is ``|t - next| <= 1e-08 +
    rtol * |next|`` or ``t == next``, the same IEEE operations on the same floats; any
    other case (non-finite times, a return time already passed: PySD's warning) is
    PySD's own method.
    """

    def in_return(self) -> bool:
        if self.return_timestamps is None or self._next_return is None:
            return super().in_return()
        now, target = self._time, self._next_return
        if not (math.isfinite(now) and math.isfinite(target)):
            return super().in_return()
        if abs(now - target) <= 1e-08 + self.time_step() * self.rprec * abs(target) \
                or now == target:
            self._update_next_return()
            return True
        if now > target:
            return super().in_return()
        return False


_OWN_UPDATE = _st.DynamicStateful.update
_OWN_STATE = _st.Stateful.state
"""``update`` that only stores the new state: the classes whose states may be owned."""


class EulerStep:
    """PySD's Euler step over a model's stocks, writing into arrays the step allocated.

    The arithmetic is PySD's: every state and derivative is read first, then each stock
    in turn gets ``state + ddt * dt`` (``np.multiply`` then ``np.add``: the same ufuncs
    on the same values as the operators, element by element) through its ``update``.
    The stocks written in place share one float64 buffer, each stock a contiguous slice
    of it shaped as its state: the derivatives are copied into the slices, then one
    ``np.multiply`` by ``dt`` and one ``np.add`` of the states (each element's operations
    are those of its own stock's; numpy's loops compute element by element).  The new
    states are views of that buffer, handed to each stock's ``update`` in PySD's order.
    The buffer is new at the first two steps; from then on the step writes into the
    buffer that held the states two steps before (double buffering: no allocation, and
    two ufunc calls for all the stocks instead of two per stock).

    Why no value can see such a write: the buffer written at step ``t`` held the states
    of step ``t - 2``, and what PySD keeps across steps never holds a state array of an
    earlier step: the step cache is emptied at every step, the output handler copies each
    saved value, INITIAL values and first states are taken at initialisation (before the
    step allocated anything), SAMPLE IF TRUE stores ``state * 0 + value`` (a new array)
    and every other stateful keeps its own state.  The exceptions are refused the writes
    model-wide: DELAY FIXED keeps its input values in a pipe for several steps, and a
    model with macros takes the nested, allocating step.  The states being replaced are
    never written, so a value computed in this step (a cached auxiliary equal to a
    stock, a derivative that is another stock) keeps PySD's values while the stocks are
    updated one by one.  Only float64 ``ndarray`` states of stocks whose ``update`` only
    stores the new state (INTEG, SMOOTH, DELAY, DELAY N, TREND, FORECAST), with a float64
    ``ndarray`` derivative of the state's shape, are written into; anything else (a
    scalar or integer derivative, runs as a named dimension, a stock storing something
    else than the array it is given) takes PySD's allocating step.
    """

    def __init__(self, model: Any, in_place: bool, nested: Callable[[Any, float], None]):
        self.model = model
        self.nested = nested  # the step of a model with macros (their states nested)
        self.elements = list(model._dynamicstateful_elements)
        self.flat = not any(isinstance(e, Macro) for e in self.elements)
        self.in_place = in_place and self.flat and not any(
            isinstance(e, (_st.DelayFixed, Macro)) for e in model._stateful_elements.values())
        self.eligible = [type(e).update is _OWN_UPDATE and type(e).state is _OWN_STATE
                         for e in self.elements]
        self.layout: tuple = ()  # ((stock index, shape), ...) of the buffers' slices
        self.index: list[int] = []  # the stocks of layout, in order
        self.shapes: list[tuple] = []  # their shapes
        self.slots: list[int] = []  # per stock: its view in a buffer, -1 if none
        # (buffer, its view per stock): the one the step wrote last, the one before that
        self.owned: tuple[np.ndarray, list[np.ndarray]] | None = None
        self.spare: tuple[np.ndarray, list[np.ndarray]] | None = None
        self.refused: set[int] = set()  # stocks that did not keep the array given
        self.prefill: Callable[[dict], dict | None] | None = None  # (see .prefill)
        self.names = [getattr(e, "py_name", None) for e in self.elements]  # stateful names
        self._lay_out(())

    def reset(self) -> None:
        """Forget the arrays (a new integration)."""
        self._lay_out(())
        self.refused.clear()

    def __call__(self, dt: float) -> None:
        if not self.flat:
            self.nested(self.model, dt)
            return
        filled = None
        if self.prefill is not None:  # the strict equations first (.prefill)
            filled = self.prefill(self.model.cache.data)
        elements = self.elements
        states = list(map(_STATE, elements))  # (PySD's ``state``, without its property)
        if not all(map(operator.is_not, states, repeat(None))):
            states = [element.state for element in elements]  # PySD's error
        if filled:  # an INTEG's derivative as the fill computed it, else its ddt()
            derivatives = [element.ddt() if ddt is _MISSING else ddt for element, ddt in
                           zip(elements, map(filled.get, self.names, repeat(_MISSING)))]
        else:
            derivatives = [element.ddt() for element in elements]
        if not self.in_place:
            for element, state, ddt in zip(elements, states, derivatives):
                element.update(state + ddt * dt)
            return
        refused, owned, index = self.refused, self.owned, self.index
        written = list(map(derivatives.__getitem__, index))
        if owned is not None and all(map(operator.is_, map(states.__getitem__, index),
                                         owned[1])):  # every state is a slice written last
            layout = self.layout if self._fits(written) else None
        else:
            layout = None
        if layout is None:
            eligible = self.eligible
            layout = tuple((i, state.shape) for i, (state, ddt)
                           in enumerate(zip(states, derivatives))
                           if eligible[i] and i not in refused and type(state) is np.ndarray
                           and state.dtype is _FLOAT64 and type(ddt) is np.ndarray
                           and ddt.dtype is _FLOAT64 and ddt.shape == state.shape)
            if layout != self.layout:
                self._lay_out(layout)
            index = self.index
            written = list(map(derivatives.__getitem__, index))
            mine = False
        else:
            mine = True
        buffer, views = self.spare if mine and self.spare is not None else _buffer(layout)
        if written:  # each derivative into its stock's slice, in one call (C order)
            np.concatenate(written, axis=None, out=buffer)
        np.multiply(buffer, dt, out=buffer)
        if mine:
            np.add(owned[0], buffer, out=buffer)
        else:
            for i, view in zip(index, views):
                np.add(states[i], view, out=view)
        kept = True
        if not any(map(_SHAPE_INFO, self.stored)):
            # the stocks in PySD's order: a run of stocks written in place gets its new
            # states stored (what their ``update`` does for an unshaped state), any other
            # stock PySD's update of ``state + ddt * dt``
            for first, last, slot, other in self.segments:
                _exhaust(map(setattr, elements[first:last], repeat("_state"),
                             views[slot:slot + last - first]))
                if other >= 0:
                    elements[other].update(states[other] + derivatives[other] * dt)
        else:
            for element, state, ddt, slot in zip(elements, states, derivatives, self.slots):
                if slot < 0:
                    element.update(state + ddt * dt)
                    continue
                value = views[slot]
                element.update(value)
                if element._state is not value:  # a state stored as something else
                    refused.add(self.index[slot])
                    kept = False
        if kept:
            self.spare, self.owned = (owned if mine else None), (buffer, views)
        else:
            self._lay_out(())  # no buffer written again

    def _fits(self, written: list) -> bool:
        """Whether the derivatives ``written`` are float64 arrays of their stocks' shapes."""
        return (all(map(operator.is_, map(type, written), repeat(np.ndarray)))
                and all(map(operator.is_, map(_DTYPE, written), repeat(_FLOAT64)))
                and list(map(_SHAPE, written)) == self.shapes)

    def _lay_out(self, layout: tuple) -> None:
        """Stocks ``layout`` (index, shape) written in place from now on (new buffers)."""
        self.layout, self.owned, self.spare = layout, None, None
        self.index = [i for i, _ in layout]
        self.shapes = [shape for _, shape in layout]
        position = {i: k for k, i in enumerate(self.index)}
        self.slots = [position.get(i, -1) for i in range(len(self.elements))]
        self.stored = [self.elements[i] for i in self.index]
        # (first, last, slot, other): stocks first..last-1 written in place (their views
        # from ``slot`` on), then stock ``other`` (-1: none) updated by PySD's ``update``
        self.segments: list[tuple[int, int, int, int]] = []
        first, slots = 0, self.slots
        for k, slot in enumerate([*slots, -1]):
            if slot < 0:
                self.segments.append((first, k, slots[first] if first < k else 0,
                                      k if k < len(slots) else -1))
                first = k + 1


_FLOAT64 = np.dtype(np.float64)


def _buffer(layout: tuple) -> tuple[np.ndarray, list[np.ndarray]]:
    """A new float64 buffer for the stocks of ``layout`` and one view of it per stock."""
    sizes = [math.prod(shape) for _, shape in layout]
    buffer = np.empty(sum(sizes), dtype=np.float64)
    views, start = [], 0
    for (_, shape), size in zip(layout, sizes):
        views.append(buffer[start:start + size].reshape(shape))
        start += size
    return buffer, views
