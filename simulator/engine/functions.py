"""PySD's functions over run arrays: if/xidz/zidz/integer/quantum/modulo/pulse, ^."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend import functions as _pysd_functions

from .control import RUN
from .draws import check_no_draws, draws_made
from .errors import DomainError, EngineError
from .runs import _on_runs, _runs_only

_SMALL_VENSIM = _pysd_functions.SMALL_VENSIM


def _if_then_else(condition: Any, val_if_true: Callable[[], Any],
                  val_if_false: Callable[[], Any]) -> Any:
    """PySD's ``if_then_else``, with its DataArray branch for numpy arrays.

    As PySD does for a DataArray condition: one branch only when the condition
    is the same in every run, else both branches and ``np.where`` (for
    ``xr.where``, same dtype promotion).  Scalars go to PySD's function.
    """
    if isinstance(condition, np.ndarray):
        true = np.count_nonzero(condition)  # (``all``/``any`` in one C call)
        if true == condition.size:
            return val_if_true()
        if not true:
            return val_if_false()
        before = draws_made()
        both = np.where(condition, val_if_true(), val_if_false())
        check_no_draws(before)
        return both
    if isinstance(condition, xr.DataArray) and RUN in condition.dims:
        before = draws_made()
        value = _pysd_functions.if_then_else(condition, val_if_true, val_if_false)
        if draws_made() != before and bool(condition.any()) and not bool(condition.all()):
            check_no_draws(before)
        return value
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


def _power(base: Any, exponent: Any, *, real_part: bool = False) -> Any:
    """Vensim ``^`` exactly as PySD's scalar path computes it: Python's ``**`` per run.

    Arrays go through ``np.float_power`` when it is checked to equal Python's
    ``**`` (C ``pow``) bit for bit, else element by element through Python's
    operator (about 0.1 us per element).  Where Python would raise or return a
    complex number (0 to a negative power, negative base to a fractional power)
    the result is numpy's inf or NaN; with ``real_part`` (a power PySD stores
    straight into a subscripted variable, ``value.loc[...] = a ** b``, which keeps
    the real part of a complex value) it is the real part of Python's complex result.
    """
    if (_FLOAT_POWER_IS_C_POW and not real_part
            and (type(base) is np.ndarray or type(exponent) is np.ndarray)
            and type(base) is not xr.DataArray and type(exponent) is not xr.DataArray):
        return np.float_power(base, exponent)  # the branch below, without its dispatch
    kind = _runs_only((base, exponent))
    if kind is False:
        return base ** exponent  # subscripted: numpy's power, as in PySD's run
    if kind:
        values = _power(*(a.values if isinstance(a, xr.DataArray) else a
                          for a in (base, exponent)), real_part=real_part)
        return xr.DataArray(values, dims=[RUN])
    if not isinstance(base, np.ndarray) and not isinstance(exponent, np.ndarray):
        return base ** exponent
    if _FLOAT_POWER_IS_C_POW:
        result = np.float_power(base, exponent)
    else:
        try:
            result = np.asarray(_OBJECT_POWER(base, exponent), dtype=np.float64)
        except (ZeroDivisionError, OverflowError, TypeError, ValueError):
            result = np.asarray(_SAFE_POWER(base, exponent), dtype=np.float64)
    return _with_real_parts(result, base, exponent) if real_part else result


def _with_real_parts(result: np.ndarray, base: Any, exponent: Any) -> np.ndarray:
    """``result`` with the real part of Python's complex ``base ** exponent`` where
    Python goes complex (a finite negative base to a finite fractional power)."""
    base, exponent = np.broadcast_arrays(np.asarray(base, dtype=np.float64),
                                         np.asarray(exponent, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        complex_ = ((base < 0) & np.isfinite(base) & np.isfinite(exponent)
                    & (exponent != np.floor(exponent)))
    if not complex_.any():
        return result
    result = np.array(result, dtype=np.float64)
    result[complex_] = [(b ** e).real for b, e in zip(base[complex_].tolist(),
                                                      exponent[complex_].tolist())]
    return result
