"""PySD's vector functions, INVERT MATRIX and ALLOCATE... over runs.

In a subscripted model the runs are a named ``run`` dimension kept last (see
:mod:`.runs`).  PySD's VECTOR SORT ORDER/RANK/REORDER and INVERT MATRIX work on
the *last* dimensions of their argument, so they cannot take the ``run`` dimension
as it is.  Here the runs are moved to the front, PySD's numpy call is made once
over the stack (numpy applies the same 1-D sort, or the same LAPACK inversion,
to every lane of a stacked array, so every run gets the bits of its own call),
and the runs are put back last.

VECTOR SELECT computes its selected array element by element (as PySD does, over
every run at once) and reduces it with the runs first and each run's elements
contiguous, the layout of PySD's single run.  Its numerical and error actions
must be one value for the ensemble.

ALLOCATE AVAILABLE and ALLOCATE BY PRIORITY (PySD's iterative allocation, with
Python loops of its own) and anything the vectorised versions do not cover (a
``^`` action of VECTOR SELECT, a VECTOR REORDER over differing dimensions) call
PySD's own function once per run (:func:`per_run`): exact by construction, at
the cost of a Python loop over the runs at every evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend import allocation as _pysd_allocation
from pysd.py_backend import functions as _pysd_functions

from .control import RUN
from .errors import DomainError
from .functions import _one_value


def _run_size(values: tuple[Any, ...]) -> int | None:
    """The ensemble size carried by ``values`` (None: no value is over runs)."""
    for value in values:
        if isinstance(value, xr.DataArray) and RUN in value.dims:
            return value.sizes[RUN]
    return None


def _run_slice(value: Any, i: int) -> Any:
    """What PySD's single run ``i`` holds for ``value``: a contiguous copy, or a number."""
    if isinstance(value, xr.DataArray) and RUN in value.dims:
        single = value.isel({RUN: i}, drop=True)
        return single.values.item() if single.ndim == 0 else single.copy(
            data=np.ascontiguousarray(single.values))
    return value


def _stack_runs(results: list[Any]) -> Any:
    """Per-run results of a PySD function as one value over runs (``run`` last)."""
    if all(isinstance(r, xr.DataArray) and r.ndim for r in results):
        return xr.concat(results, dim=RUN, coords="minimal",
                         compat="override").transpose(..., RUN)
    return xr.DataArray(np.array([float(r) if isinstance(r, xr.DataArray) else r
                                  for r in results]), dims=[RUN])


def per_run(function: Callable[..., Any], construct: str) -> Callable[..., Any]:
    """``function`` (PySD's) called once per run on that run's values; results stacked.

    Exact by construction: each call sees what PySD's single run sees (a number
    for a value over runs only, a contiguous DataArray for a subscripted one).
    Where PySD raises for a run, :class:`DomainError` names ``construct`` and the run
    (that run is outside the model's domain: plain PySD cannot compute it).
    """
    def call(*args: Any, **kwargs: Any) -> Any:
        n = _run_size((*args, *kwargs.values()))
        if n is None:
            return function(*args, **kwargs)
        results = []
        for i in range(n):
            try:
                results.append(function(*(_run_slice(a, i) for a in args),
                                        **{k: _run_slice(v, i) for k, v in kwargs.items()}))
            except Exception as error:
                raise DomainError(
                    f"{construct}: plain PySD raises in run {i} ({type(error).__name__}: "
                    f"{' '.join(str(error).split())[:150]})") from error
        return _stack_runs(results)

    call.__name__ = getattr(function, "__name__", "per_run")
    call.__doc__ = function.__doc__
    return call


def _runs_first(value: xr.DataArray) -> np.ndarray:
    """The values with ``run`` first and each run's elements contiguous (PySD's layout)."""
    return np.ascontiguousarray(np.moveaxis(value.values, value.dims.index(RUN), 0))



def _runs_last(values: np.ndarray, like: xr.DataArray) -> xr.DataArray:
    """``(run, *dims)`` values back as a DataArray shaped like ``like`` (``run`` last)."""
    dims = [d for d in like.dims if d != RUN]
    return xr.DataArray(np.moveaxis(values, 0, -1), {d: like.coords[d] for d in dims
                                                      if d in like.coords}, [*dims, RUN])


def _over_runs(value: Any) -> bool:
    return isinstance(value, xr.DataArray) and RUN in value.dims


def _per_run_direction(direction: Any, n: int) -> np.ndarray:
    """PySD's ``direction <= 0`` test of VECTOR SORT ORDER/RANK, per run."""
    values = direction.values if isinstance(direction, xr.DataArray) else direction
    return np.broadcast_to(np.asarray(values) <= 0, (n,))


def _sort_order_values(values: np.ndarray, descending: np.ndarray) -> np.ndarray:
    """``(run, ..., k)`` values -> PySD's ``argsort`` (flipped where descending) per run."""
    order = values.argsort(axis=-1)  # numpy sorts every lane as it sorts one array
    flipped = np.flip(order, axis=-1)
    return np.where(descending.reshape((-1,) + (1,) * (values.ndim - 1)), flipped, order)


def vector_sort_order(vector: Any, direction: Any) -> Any:
    """PySD's ``vector_sort_order`` over runs: the sort along each run's last dimension."""
    if not _over_runs(vector):
        return per_run(_pysd_functions.vector_sort_order, "VECTOR SORT ORDER")(vector, direction)
    values = _runs_first(vector)
    order = _sort_order_values(values, _per_run_direction(direction, values.shape[0]))
    return _runs_last(order, vector)


def vector_rank(vector: Any, direction: Any) -> Any:
    """PySD's ``vector_rank`` (``vector_sort_order(...).argsort() + 1``) over runs."""
    if not _over_runs(vector):
        return per_run(_pysd_functions.vector_rank, "VECTOR RANK")(vector, direction)
    values = _runs_first(vector)
    order = _sort_order_values(values, _per_run_direction(direction, values.shape[0]))
    return _runs_last(np.ascontiguousarray(order).argsort(axis=-1) + 1, vector)


def vector_reorder(vector: Any, svector: Any) -> Any:
    """PySD's ``vector_reorder`` over runs.

    Where both arrays have the same dimensions (PySD's cases in practice) each run's
    vector is taken at the positions its order gives along the last dimension
    (``int()`` of each position, as PySD's multi-dimensional branch; its 1-D branch
    indexes with the integer values themselves).  Anything else, or positions PySD
    would not accept (non-finite, non-integer values in 1-D), is PySD's call per run.
    """
    if not (_over_runs(svector) or _over_runs(vector)):
        return _pysd_functions.vector_reorder(vector, svector)
    run_dims = [d for d in (svector.dims if isinstance(svector, xr.DataArray) else ())
                if d != RUN]
    vector_dims = [d for d in (vector.dims if isinstance(vector, xr.DataArray) else ())
                   if d != RUN]
    n = _run_size((vector, svector))
    if not run_dims or run_dims != vector_dims:
        return per_run(_pysd_functions.vector_reorder, "VECTOR REORDER")(vector, svector)
    positions = _runs_first(_named_over_runs(svector, n))
    exact = np.isfinite(positions).all() and (
        len(run_dims) > 1 or positions.dtype.kind in "iu")
    if not exact:
        return per_run(_pysd_functions.vector_reorder, "VECTOR REORDER")(vector, svector)
    values = _runs_first(_named_over_runs(vector, n))
    k = values.shape[-1]
    index = positions.astype(np.int64)
    if ((index < -k) | (index >= k)).any():
        # PySD raises
        return per_run(_pysd_functions.vector_reorder, "VECTOR REORDER")(vector, svector)
    return _runs_last(np.take_along_axis(values, index % k, axis=-1),
                      _named_over_runs(vector, n))


def _named_over_runs(value: xr.DataArray, n: int | None) -> xr.DataArray:
    if RUN in value.dims:
        return value.transpose(..., RUN)
    return value.expand_dims({RUN: n}, axis=-1)


def invert_matrix(mat: Any) -> Any:
    """PySD's ``invert_matrix`` over runs: ``np.linalg.inv`` of the stack of each run's
    matrix (numpy inverts every matrix of a stack with the same LAPACK call)."""
    if not _over_runs(mat):
        return _pysd_functions.invert_matrix(mat)
    return _runs_last(np.linalg.inv(_runs_first(mat)), mat)


_SELECT_REDUCTIONS: dict[int, str] = {0: "sum", 6: "sum", 1: "prod", 7: "prod",
                                      2: "min", 8: "min", 3: "max", 9: "max",
                                      4: "mean", 10: "mean"}


def vector_select(selection_array: Any, expression_array: Any, dim: list[str],
                  missing_vals: Any, numerical_action: Any, error_action: Any) -> Any:
    """PySD's ``vector_select`` over runs (see the module's documentation).

    The selected array is PySD's ``xr.where`` over every run; its reduction over
    ``dim`` is xarray's (NaN skipped), made with the runs first and each run's
    selected elements contiguous, as in PySD's single run.  An error action that
    PySD would raise for raises :class:`DomainError` naming the runs.
    """
    if not (_over_runs(selection_array) or _over_runs(expression_array)):
        return per_run(_pysd_functions.vector_select, "VECTOR SELECT")(
            selection_array, expression_array, dim, missing_vals, numerical_action,
            error_action)
    action = _one_value(numerical_action, "VECTOR SELECT", "numerical action")
    errors = _one_value(error_action, "VECTOR SELECT", "error action")
    if action not in _SELECT_REDUCTIONS or _over_runs(missing_vals):
        return per_run(_pysd_functions.vector_select, "VECTOR SELECT")(
            selection_array, expression_array, dim, missing_vals, action, errors)
    zeros = (selection_array == 0).all(dim=dim)
    non_zeros = (selection_array != 0).sum(dim=dim)
    for bad, codes, what in ((zeros, (1, 3), "only zeros"),
                             (non_zeros > 1, (2, 3), "more than one non-zero value")):
        if errors in codes and bool(np.any(bad)):
            runs = _runs_where(bad)
            raise DomainError(f"VECTOR SELECT: the selection array holds {what} in runs "
                              f"{runs} (error action {errors}; plain PySD raises)")
    selected = xr.where(selection_array == 0, np.nan,
                        selection_array * expression_array if action < 5
                        else expression_array)
    out = _reduce_runs_first(selected, dim, _SELECT_REDUCTIONS[action])
    if not bool(zeros.any()):
        return out
    if out.dims == (RUN,):  # PySD's single run returns ``missing_vals`` or ``float(out)``
        return out.where(~zeros, missing_vals)
    # PySD's ``out.values[zeros.values] = missing_vals``: the mask indexes the leading
    # dimensions of each run's result by position
    mask = _named_over_runs(zeros, out.sizes[RUN]).values
    mask = mask.reshape(mask.shape[:-1] + (1,) * (out.ndim - mask.ndim) + mask.shape[-1:])
    out.values[np.broadcast_to(mask, out.shape)] = missing_vals
    return out


def _runs_where(mask: xr.DataArray) -> list[int] | str:
    if RUN not in mask.dims:
        return "all"
    flat = mask.transpose(RUN, ...).values.reshape(mask.sizes[RUN], -1).any(axis=1)
    return np.flatnonzero(flat).tolist()


def _reduce_runs_first(selected: xr.DataArray, dim: list[str], how: str) -> xr.DataArray:
    """xarray's NaN-skipping ``how`` over ``dim``, each run's block contiguous.

    PySD's single run reduces a freshly computed (C-contiguous) array over ``dim``;
    here the array is laid out as ``(run, kept..., reduced...)`` in PySD's order of
    its own dimensions, so each run's block is the layout of PySD's array.
    """
    own = [d for d in selected.dims if d != RUN]
    ordered = selected.transpose(RUN, *own)
    layout = ordered.copy(data=np.ascontiguousarray(ordered.values))  # C order, run first
    reduced = getattr(layout, how)(dim=dim, skipna=True)
    return reduced.transpose(..., RUN)


def allocate_available(request: Any, pp: Any, avail: Any) -> Any:
    """PySD's ``allocate_available``, once per run (its iterations are per request)."""
    return per_run(_pysd_allocation.allocate_available,
                   "ALLOCATE AVAILABLE")(request, pp, avail)


def allocate_by_priority(request: Any, priority: Any, width: Any, supply: Any) -> Any:
    """PySD's ``allocate_by_priority``, once per run."""
    return per_run(_pysd_allocation.allocate_by_priority,
                   "ALLOCATE BY PRIORITY")(request, priority, width, supply)


VECTOR_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "vector_select": vector_select, "vector_sort_order": vector_sort_order,
    "vector_rank": vector_rank, "vector_reorder": vector_reorder,
    "invert_matrix": invert_matrix, "allocate_available": allocate_available,
    "allocate_by_priority": allocate_by_priority,
}
"""Names of the translated module -> their versions over runs."""
