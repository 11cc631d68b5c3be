"""Values over runs: numpy ``(N,)`` arrays, or a named ``run`` dimension with subscripts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .control import RUN
from .errors import EngineError

_POWER_NAME = "_vector_power"
"""The name the translated file calls for Vensim's ``^`` (injected at load)."""
_REAL_NAME = "_as_real"
"""The name the translated file calls where PySD's builder writes ``float(...)``."""
_ASSIGN_LOC_NAME = "_assign_loc"
"""The name the translated file calls where PySD assembles ``value.loc[...] = ...``."""
_DATA_ARRAY_NAME = "_run_data_array"
"""The name the translated file calls where PySD's builder writes ``xr.DataArray(...)``."""
_ASSIGN_MASK_NAME = "_assign_mask"
"""The name the translated file calls where PySD assigns ``value.values[mask] = ...``."""
_SUBSCRIPTS_ONLY_NAME = "_subscripts_only"
"""The name the translated file calls on the template of an EXCEPT (or partial) mask."""



def _run_array(value: Any, n: int) -> np.ndarray:
    """``value`` as a numpy array of shape ``(n,)``; values (and integer dtypes) kept.

    An array that already has that shape is returned as it is: neither PySD nor the
    engine writes into a value it did not allocate (the engine's Euler step writes only
    into the state arrays it allocated, see :class:`~.stepping.EulerStep`).
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
    if (runs is not None and runs.named and isinstance(data, np.ndarray) and dims
            and data.ndim == len(dims) + 1 and data.shape[-1] == runs.n):
        # PySD's ``xr.DataArray(x.values, coords, dims)`` of a value with ``run`` last
        return xr.DataArray(data, {d: coords[d] for d in dims}, [*dims, RUN])
    return xr.DataArray(data, coords, dims, *args, **kwargs)


def _assign_loc(value: xr.DataArray, index: Any, element: Any,
                runs: Any = None) -> xr.DataArray:
    """PySD's ``value.loc[index] = element`` when either side may be over runs.

    PySD assembles a variable defined element by element into a template built
    without runs; an element over runs (a DataArray with ``run``, or PySD's
    ``.values`` of one: a numpy array with one trailing axis of the ensemble's
    size more than the region's subscripts) gives the template the ``run``
    dimension (last) first, and an element without runs is spread over them.
    """
    if isinstance(element, xr.DataArray) and RUN in element.dims:
        element = _run_last(element)  # PySD assigns by position: subscripts, then run
        n = element.sizes[RUN]
    elif (runs is not None and runs.named and isinstance(element, np.ndarray)
          and element.ndim and element.shape[-1] == runs.n
          and element.ndim == _subscript_ndim(value.loc[index]) + 1):
        n = runs.n
    else:
        n = None
    if n is not None and RUN not in value.dims:
        value = value.expand_dims({RUN: n}, axis=-1).copy()
    elif RUN in value.dims and n is None and np.ndim(element):
        element = np.asarray(element)[..., None]
    value.loc[index] = element
    return value


def _subscript_ndim(region: xr.DataArray) -> int:
    """How many subscripts a selected region has (its dims but ``run``)."""
    return region.ndim - (RUN in region.dims)


def _subscripts_only(value: Any) -> Any:
    """``value`` without its ``run`` dimension (run 0's values): the template of PySD's
    EXCEPT mask (``xr.ones_like(value, dtype=bool)``), or a constant's default.

    The mask selects subscript elements, so that ``x.values[mask]`` of a value over
    runs keeps every run of each selected element (see :func:`_assign_mask`).
    """
    if isinstance(value, xr.DataArray) and RUN in value.dims:
        return value.isel({RUN: 0}, drop=True)
    return value


def _assign_mask(value: xr.DataArray, mask: np.ndarray, element: Any) -> xr.DataArray:
    """PySD's ``value.values[mask] = element`` (EXCEPT equations) when runs are involved.

    ``mask`` covers the subscripts only (:func:`_subscripts_only`); PySD's element
    is one number, or the ``(k,)`` values of the ``k`` selected elements.  Over
    runs, the first is a DataArray over ``run`` and the second a ``(k, runs)``
    array (``x.values[mask]`` of a value with ``run`` last); either gives the
    template the ``run`` dimension, and an element without runs is spread over them.
    """
    if isinstance(element, xr.DataArray) and RUN in element.dims:
        if element.dims != (RUN,):
            raise EngineError(f"a value over {element.dims} assigned to subscript elements "
                              f"selected by a mask")
        element = element.values[None, :]  # every selected element, run by run
    if isinstance(element, np.ndarray) and element.ndim == 2:
        if RUN not in value.dims:
            value = value.expand_dims({RUN: element.shape[-1]}, axis=-1).copy()
    elif RUN in value.dims and np.ndim(element):
        element = np.asarray(element)[..., None]
    value.values[mask] = element
    return value


def _as_real(value: Any) -> Any:
    """PySD's ``float(value)``; for a run array, every run's value as a float64.

    A float64 array is returned as it is (no copy): nothing writes into a value it did
    not allocate (:class:`~.stepping.EulerStep` writes only into state arrays it allocated).
    """
    if type(value) is np.ndarray and value.ndim:
        return value if value.dtype is _FLOAT64 else value.astype(np.float64, copy=False)
    if isinstance(value, xr.DataArray) and RUN in value.dims or (
            isinstance(value, np.ndarray) and value.ndim):
        return value.astype(np.float64, copy=False)
    return float(value)


_FLOAT64 = np.dtype(np.float64)


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

