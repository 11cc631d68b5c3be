"""PySD's functions over run arrays: if/xidz/zidz/integer/quantum/modulo/pulse, ^, lookups."""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend import functions as _pysd_functions
from pysd.py_backend.external import ExtLookup
from pysd.py_backend.lookups import HardcodedLookups

from .control import RUN
from .errors import DomainError, EngineError

_SMALL_VENSIM = _pysd_functions.SMALL_VENSIM
_POWER_NAME = "_vector_power"
"""The name the translated file calls for Vensim's ``^`` (injected at load)."""
_REAL_NAME = "_as_real"
"""The name the translated file calls where PySD's builder writes ``float(...)``."""
_DATA_ARRAY_NAME = "_run_data_array"
"""The name the translated file calls where PySD's builder writes ``xr.DataArray(...)``."""



def _run_array(value: Any, n: int) -> np.ndarray:
    """``value`` as a numpy array of shape ``(n,)``; values (and integer dtypes) kept.

    An array that already has that shape is returned as it is: the engine and
    PySD never write into a value in place (states are replaced by new arrays).
    """
    if isinstance(value, np.ndarray) and value.shape == (n,):
        return value
    data = np.asarray(value)
    if data.ndim == 0:
        # np.full keeps Python ints as int64, like the int PySD's scalar path would see
        return np.full(n, data.item())
    raise EngineError(f"expected a scalar or {n} values over 'run', got shape {data.shape}")


def _named_run_value(value: Any, n: int) -> xr.DataArray:
    """``value`` over runs in a subscripted model: a DataArray with ``run`` last.

    In a model with subscripts the runs travel as a named dimension, so that
    xarray aligns them by name with PySD's subscripted values (a bare ``(n,)``
    array would be broadcast against the last subscript by position).  ``run``
    is kept last so PySD's positional ``.loc[...]`` selections of subscripts and
    its ``.values`` assignments see the subscripts where PySD put them.
    """
    if isinstance(value, xr.DataArray):
        if RUN in value.dims:
            return _run_last(value)
        return value.expand_dims({RUN: n}, axis=-1).copy()
    return xr.DataArray(_run_array(value, n), dims=[RUN])


def _run_last(value: Any) -> Any:
    """A DataArray over runs with ``run`` moved to its last dimension."""
    if isinstance(value, xr.DataArray) and RUN in value.dims and value.dims[-1] != RUN:
        return value.transpose(..., RUN)
    return value


def _returning_run_last(component: Callable[..., Any]) -> Callable[..., Any]:
    """A model component returning its value with ``run`` last (see _named_run_value)."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return _run_last(component(*args, **kwargs))

    call.__dict__.update(component.__dict__)  # PySD's component attributes
    call.__name__ = component.__name__
    call.__doc__ = component.__doc__
    return call


def _run_data_array(data: Any, coords: Any = None, dims: Any = None, *args: Any,
                    runs: Any = None, **kwargs: Any) -> xr.DataArray:
    """PySD's ``xr.DataArray(value, coords, dims)``, spreading a value over runs too.

    PySD builds subscripted values from one number this way; a value over runs only
    becomes that array for every run, with ``run`` last.  PySD's template for a
    variable assembled element by element (``xr.DataArray(np.nan, ...)`` then
    ``value.loc[...] = ...``) gets the ``run`` dimension of the ensemble (``runs``)
    so that elements over runs fit in.  Anything else is PySD's call.
    """
    if isinstance(data, xr.DataArray) and RUN in data.dims:
        if data.dims != (RUN,):
            raise EngineError(f"a value over runs and {data.dims} placed on subscripts {dims}")
        shape = tuple(len(coords[d]) for d in dims)
        values = np.broadcast_to(data.values, shape + data.shape).copy()
        return xr.DataArray(values, {d: coords[d] for d in dims}, [*dims, RUN])
    if (runs is not None and runs.named and isinstance(data, float) and math.isnan(data)
            and dims):
        shape = tuple(len(coords[d]) for d in dims)
        return xr.DataArray(np.full(shape + (runs.n,), np.nan), {d: coords[d] for d in dims},
                            [*dims, RUN])
    return xr.DataArray(data, coords, dims, *args, **kwargs)


def _as_real(value: Any) -> Any:
    """PySD's ``float(value)``; for a run array, every run's value as a float64."""
    if isinstance(value, xr.DataArray) and RUN in value.dims or (
            isinstance(value, np.ndarray) and value.ndim):
        return value.astype(np.float64)
    return float(value)


def _runs_only(values: Sequence[Any]) -> bool | None:
    """None: no DataArray; True: every DataArray is over runs only; False: subscripted."""
    arrays = [v for v in values if isinstance(v, xr.DataArray)]
    if not arrays:
        return None
    return all(a.dims == (RUN,) for a in arrays)


def _values_of(value: Any) -> Any:
    return value.values if isinstance(value, xr.DataArray) else value


def _on_runs(array_version: Callable[..., Any],
             pysd_version: Callable[..., Any]) -> Callable[..., Any]:
    """Dispatch by what PySD's single run would hold.

    A value over runs only (dims ``('run',)``) is a scalar in PySD's run: the
    array version runs on its numpy values and the result is named again.  A
    subscripted value is a DataArray in PySD's run too: PySD's own function.
    """
    def call(*args: Any, **kwargs: Any) -> Any:
        kind = _runs_only((*args, *kwargs.values()))
        if kind is None:
            return array_version(*args, **kwargs)
        if not kind:
            return pysd_version(*args, **kwargs)
        out = array_version(*map(_values_of, args),
                            **{key: _values_of(value) for key, value in kwargs.items()})
        if isinstance(out, np.ndarray) and out.ndim == 1:
            return xr.DataArray(out, dims=[RUN])
        return out

    call.__name__ = array_version.__name__
    call.__doc__ = array_version.__doc__
    return call


def _if_then_else(condition: Any, val_if_true: Callable[[], Any],
                  val_if_false: Callable[[], Any]) -> Any:
    """PySD's ``if_then_else``, with its DataArray branch for numpy arrays.

    As PySD does for a DataArray condition: one branch only when the condition
    is the same in every run, else both branches and ``np.where`` (for
    ``xr.where``, same dtype promotion).  Scalars go to PySD's function.
    """
    if isinstance(condition, np.ndarray):
        if condition.all():
            return val_if_true()
        if not condition.any():
            return val_if_false()
        return np.where(condition, val_if_true(), val_if_false())
    return _pysd_functions.if_then_else(condition, val_if_true, val_if_false)


def _xidz(numerator: Any, denominator: Any, x: Any) -> Any:
    """PySD's ``xidz``, with its DataArray branch for a numpy denominator."""
    if isinstance(denominator, np.ndarray):
        return np.where(np.abs(denominator) < _SMALL_VENSIM, x, numerator / denominator)
    return _pysd_functions.xidz(numerator, denominator, x)


def _zidz(numerator: Any, denominator: Any) -> Any:
    """PySD's ``zidz``, with its DataArray branches for numpy arrays."""
    if isinstance(denominator, np.ndarray):
        return np.where(np.abs(denominator) < _SMALL_VENSIM, 0, numerator / denominator)
    if isinstance(numerator, np.ndarray) and abs(denominator) < _SMALL_VENSIM:
        return np.zeros(numerator.shape, dtype=np.int64)  # PySD: DataArray(0, numerator's dims)
    return _pysd_functions.zidz(numerator, denominator)


_EXACT_INTEGERS = 2.0 ** 53


def _integer(x: Any) -> Any:
    """PySD's ``integer`` (``int(x)`` per run) for a run array: the same integers.

    Held as float64 (``np.trunc``), not int64: PySD's Python ints never overflow,
    int64 wraps silently beyond 2**63 (``INTEGER(x) * 2^62``).  Every integer below
    2**53 is exact in float64 and an operation on exact operands rounds once, as
    the conversion of PySD's exact integer result does.  A non-finite argument
    (PySD raises) or one beyond 2**53 raises :class:`DomainError` naming INTEGER.
    """
    if not isinstance(x, np.ndarray):
        return _pysd_functions.integer(x)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(x) < _EXACT_INTEGERS)
    if bad.any():
        run = int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1))) if bad.ndim else 0
        raise DomainError(
            f"INTEGER of {x.flat[int(np.argmax(bad.ravel()))]} in {int(bad.sum())} values "
            f"(first in run {run}): plain PySD raises for a non-finite value, and beyond "
            f"2**53 the engine cannot hold Python's exact integers")
    return np.trunc(x) + 0.0  # + 0.0: int(-0.5) is 0, not -0.0


def _quantum(a: Any, b: Any) -> Any:
    """PySD's ``quantum``, with its DataArray branch for a numpy ``b``.

    Runs taking the ``a`` branch (``b`` below SMALL_VENSIM) are not truncated, so
    their ``a / b`` (PySD never computes it) cannot stop the ensemble.
    """
    if isinstance(b, np.ndarray):
        small = b < _SMALL_VENSIM
        return np.where(small, a, b * _integer(np.where(small, 0.0, a / b)))
    if b < _SMALL_VENSIM:
        return a
    return b * _integer(a / b)


def _modulo(x: Any, m: Any) -> Any:
    """PySD's ``modulo`` (``x - quantum(x, m)``) over :func:`_quantum`."""
    return x - _quantum(x, m)


def _run_pulse(time: Any, start: Any, repeat_time: Any = 0, width: Any = None,
               magnitude: Any = None, end: Any = None) -> Any:
    """PySD's ``pulse`` for arguments over runs: same comparisons, selected per run.

    PySD's version uses Python's chained comparisons and ``and``, which need one
    truth value.  Here every branch is computed for all runs with the same
    operations and the branch each run would take is selected with ``np.where``.
    """
    args = (start, repeat_time, width, magnitude, end)
    if not any(isinstance(a, np.ndarray) for a in args):
        return _pysd_functions.pulse(time, start, repeat_time, width, magnitude, end)
    t = time()
    width = .5 * time.time_step() if width is None else width
    out = magnitude / time.time_step() if magnitude is not None else 1
    single = (start - _SMALL_VENSIM <= t) & (t < start + width)
    if _is_zero_scalar(repeat_time):
        return np.where(single, out, 0)
    with np.errstate(all="ignore"):
        within = (start <= t) if end is None else (start <= t) & (t < end)
        on = (t - start + _SMALL_VENSIM) % repeat_time < width
    train = np.where(within & on, out, 0)
    return np.where(repeat_time == 0, np.where(single, out, 0), train)


def _is_zero_scalar(value: Any) -> bool:
    return not isinstance(value, np.ndarray) and value == 0


def _get_time_value(time: Any, relativeto: Any, offset: Any, measure: Any) -> Any:
    """PySD's ``get_time_value`` with one ``relativeto`` and ``measure`` per ensemble.

    Model time plus an offset over runs is what PySD computes per run.  The computer
    clock (``relativeto`` 2) is refused: a run would not be reproducible.
    """
    relativeto, measure = (_one_value(v, "GET TIME VALUE", what)
                           for v, what in ((relativeto, "relativeto"), (measure, "measure")))
    if relativeto == 2:
        raise EngineError("GET TIME VALUE of the computer clock (relativeto 2): a run "
                          "would not be reproducible")
    return _pysd_functions.get_time_value(time, relativeto, offset, measure)


def _one_value(value: Any, function: str, argument: str) -> Any:
    if not isinstance(value, (np.ndarray, xr.DataArray)):
        return value
    distinct = np.unique(np.asarray(value))
    if distinct.size != 1:
        raise EngineError(f"{function}: {argument} differs across runs; the engine needs "
                          f"one value")
    return distinct.item()


def _pysd_power(base: Any, exponent: Any) -> Any:
    return base ** exponent


# PySD functions of the translated module -> their array versions (pulse: see above).
# if/xidz/zidz go to PySD's DataArray branches for any DataArray (they align by name).
_ARRAY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "if_then_else": _if_then_else, "xidz": _xidz, "zidz": _zidz,
    "integer": _on_runs(_integer, _pysd_functions.integer),
    "quantum": _on_runs(_quantum, _pysd_functions.quantum),
    "modulo": _on_runs(_modulo, _pysd_functions.modulo),
    "pulse": _on_runs(_run_pulse, _pysd_functions.pulse),
    "get_time_value": _get_time_value,
}


def _python_power(base: Any, exponent: Any) -> Any:
    """Python's ``**`` on one pair; numpy's answer where Python raises or goes complex."""
    try:
        result = base ** exponent
        if not isinstance(result, complex):
            return float(result)
    except (ZeroDivisionError, OverflowError):
        pass
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(base), np.float64(exponent)))


_OBJECT_POWER = np.frompyfunc(operator.pow, 2, 1)
_SAFE_POWER = np.frompyfunc(_python_power, 2, 1)


def _float_power_is_c_pow() -> bool:
    """Whether ``np.float_power`` gives Python's ``**`` bit for bit on this machine.

    Python's float ``**`` calls the C library's ``pow``; numpy's ``power`` has SIMD
    (e.g. AVX-512 SVML) loops that differ in the last bit for ~5% of arguments,
    while ``float_power`` (float64 only) calls C ``pow`` element by element.
    """
    rng = np.random.default_rng(20260101)
    base = np.concatenate([rng.uniform(0.0, 1e3, 4000), rng.lognormal(0.0, 20.0, 1000),
                           -rng.uniform(0.0, 10.0, 500)])
    exponent = np.concatenate([rng.uniform(-4.0, 4.0, 5000),
                               rng.integers(-5, 6, 500).astype(np.float64)])
    expected = np.array([a ** b for a, b in zip(base.tolist(), exponent.tolist())])
    with np.errstate(all="ignore"):
        return bool(np.array_equal(np.float_power(base, exponent), expected))


_FLOAT_POWER_IS_C_POW = _float_power_is_c_pow()


def _power(base: Any, exponent: Any) -> Any:
    """Vensim ``^`` exactly as PySD's scalar path computes it: Python's ``**`` per run.

    Arrays go through ``np.float_power`` when it is checked to equal Python's
    ``**`` (C ``pow``) bit for bit, else element by element through Python's
    operator (about 0.1 us per element).  Where Python would raise or return a
    complex number (0 to a negative power, negative base to a fractional power)
    the result is numpy's inf or NaN.
    """
    kind = _runs_only((base, exponent))
    if kind is False:
        return base ** exponent  # subscripted: numpy's power, as in PySD's run
    if kind:
        values = _power(*(a.values if isinstance(a, xr.DataArray) else a
                          for a in (base, exponent)))
        return xr.DataArray(values, dims=[RUN])
    if not isinstance(base, np.ndarray) and not isinstance(exponent, np.ndarray):
        return base ** exponent
    if _FLOAT_POWER_IS_C_POW:
        return np.float_power(base, exponent)
    try:
        return np.asarray(_OBJECT_POWER(base, exponent), dtype=np.float64)
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        return np.asarray(_SAFE_POWER(base, exponent), dtype=np.float64)


class _RunLookupsCall:
    """Mixin: a lookup whose call takes an argument over runs.

    PySD's ``Lookups._call`` takes ``if x in ...`` branches for anything that is
    not a DataArray, and for an unsubscripted DataArray argument it builds
    ``xr.DataArray(nan, None, list(None))``; the TypeError is caught and the
    whole table returned.  Here every run takes PySD's scalar branches: exact x
    value -> its y; above/below the table -> last/first y; else ``np.interp``
    (what ``DataArray.interp`` calls for 1-D linear data) or hold-backward.
    """

    def __call__(self, x: Any, final_subs: Any = None) -> Any:
        if isinstance(x, np.ndarray) and x.ndim:
            return self._values(np.asarray(x, dtype=np.float64))
        if isinstance(x, xr.DataArray) and RUN in x.dims:
            if self.data.dims != ("lookup_dim",):
                raise EngineError(f"{self.py_name}: a subscripted lookup table called with "
                                  f"values over runs")
            # PySD takes its scalar branches element by element (Lookups._call)
            return x.copy(data=self._values(np.asarray(x.values, dtype=np.float64)))
        return super().__call__(x, final_subs)

    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        """The table's x and y values (read from ``data`` once per table object)."""
        cached = self.__dict__.get("_run_table")
        if cached is None or cached[0] is not self.data:
            cached = (self.data, np.asarray(self.data["lookup_dim"].values, dtype=np.float64),
                      np.asarray(self.data.values, dtype=np.float64))
            self.__dict__["_run_table"] = cached
        return cached[1], cached[2]

    def _values(self, x: np.ndarray) -> np.ndarray:
        xs, ys = self._table()
        if self.interp == "hold_backward":
            out = ys[np.clip(np.searchsorted(xs, x, side="right") - 1, 0, None)]
        else:
            out = np.interp(x, xs, ys)
        position = np.clip(np.searchsorted(xs, x), 0, len(xs) - 1)
        exact = xs[position] == x
        out = np.where(exact, ys[position], out)
        above, below = x > xs[-1], x < xs[0]
        self._warn_extrapolation(above, below)
        return np.where(above, ys[-1], np.where(below, ys[0], out))

    def _warn_extrapolation(self, above: np.ndarray, below: np.ndarray) -> None:
        """PySD's extrapolation warnings, once per ensemble run and direction."""
        warned = self.__dict__.setdefault("warned", set())
        for side, mask in (("above the maximum", above), ("below the minimum", below)):
            if side not in warned and mask.any():
                warned.add(side)
                warnings.warn(f"{self.py_name}\nextrapolating data {side} value of the "
                              f"series in {int(mask.sum())} runs", stacklevel=2)

class _RunLookups(_RunLookupsCall, HardcodedLookups):
    """A hard-coded lookup (``WITH LOOKUP`` tables, lookup variables) over runs."""


class _RunExtLookup(_RunLookupsCall, ExtLookup):
    """A GET DIRECT/XLS LOOKUPS table (read once at load, as PySD does) over runs."""


_RUN_LOOKUP_CLASSES: dict[type, type] = {HardcodedLookups: _RunLookups,
                                         ExtLookup: _RunExtLookup}

