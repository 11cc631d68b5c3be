"""Lookup tables (hard-coded and GET ... LOOKUPS) called with arguments over runs."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend.external import ExtLookup
from pysd.py_backend.lookups import HardcodedLookups

from .control import RUN
from .errors import EngineError


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
                return self._subscripted_table(x, final_subs)
            # PySD takes its scalar branches element by element (Lookups._call)
            return x.copy(data=self._values(np.asarray(x.values, dtype=np.float64)))
        return super().__call__(x, final_subs)

    def _subscripted_table(self, x: xr.DataArray, final_subs: Any) -> xr.DataArray:
        """A subscripted table called with a value over runs (``run`` last).

        PySD's run holds a number (``x`` over runs only) or a subscripted value.  For a
        number ``Lookups._call`` takes its scalar branches on the whole table (one
        row, or ``DataArray.interp`` of every column); for a subscripted value it
        broadcasts the table against it and takes the scalar branches element by
        element into an array over ``final_subs`` (NaN where no element falls).  Both
        are every column's scalar branches, run by run: what :meth:`_columns` does.
        """
        x_subscripts = x.isel({RUN: 0}, drop=True)
        if x_subscripts.dims and final_subs is None:
            raise EngineError(f"{self.py_name}: a subscripted lookup table called with "
                              f"subscripted values over runs and no final subscripts")
        table = xr.broadcast(self.data, x_subscripts)[0] if x_subscripts.dims else self.data
        dims = [d for d in table.dims if d != "lookup_dim"]
        shape = tuple(table.sizes[d] for d in dims)
        n = x.sizes[RUN]
        xs = np.asarray(table["lookup_dim"].values, dtype=np.float64)
        ys = np.asarray(table.transpose("lookup_dim", *dims).values,
                        dtype=np.float64).reshape(len(xs), -1)
        x_values = x.broadcast_like(table.isel(lookup_dim=0, drop=True)).transpose(*dims, RUN)
        values = self._columns(xs, ys, np.asarray(x_values.values, dtype=np.float64)
                               .reshape(-1, n))
        out = xr.DataArray(values.reshape(*shape, n), {d: table.coords[d] for d in dims},
                           [*dims, RUN])
        if not x_subscripts.dims:
            return out  # PySD's scalar branch: the table's subscripts
        if set(dims) != set(final_subs):
            raise EngineError(f"{self.py_name}: lookup over {dims} called for "
                              f"{list(final_subs)}")
        return out.reindex({d: list(final_subs[d]) for d in final_subs}).transpose(
            *final_subs, RUN)

    def _columns(self, xs: np.ndarray, ys: np.ndarray, x: np.ndarray) -> np.ndarray:
        """PySD's scalar branches for column ``m`` of table ``ys`` (L, M) at ``x[m, run]``.

        Exact x -> its row; above/below the table -> last/first row; hold-backward ->
        the row at or before x; else ``slope * (x - x_lo) + y_lo`` (what
        ``DataArray.interp`` computes, through scipy's ``interp1d`` or ``np.interp``).
        """
        columns = np.arange(ys.shape[1])[:, None]
        last = len(xs) - 1
        if self.interp == "hold_backward":
            out = ys[np.clip(np.searchsorted(xs, x, side="right") - 1, 0, None), columns]
        elif last == 0:
            out = np.broadcast_to(ys[0][:, None], x.shape)
        else:
            hi = np.clip(np.searchsorted(xs, x), 1, last)
            lo = hi - 1
            slope = (ys[hi, columns] - ys[lo, columns]) / (xs[hi] - xs[lo])
            out = slope * (x - xs[lo]) + ys[lo, columns]
        position = np.clip(np.searchsorted(xs, x), 0, last)
        out = np.where(xs[position] == x, ys[position, columns], out)
        above, below = x > xs[-1], x < xs[0]
        self._warn_extrapolation(above, below)
        return np.where(above, ys[-1][:, None], np.where(below, ys[0][:, None], out))

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
