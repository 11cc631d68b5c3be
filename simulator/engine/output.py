"""PySD output handler writing saved values straight into (runs, years) arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend.output import ModelOutput, OutputHandlerInterface

from .control import RUN
from .errors import EngineError

_HANDLER_SUFFIX = ".plansim-run-arrays"



def _handler_file(n: int, columns: int) -> str:
    """The ``output_file`` that makes PySD use :class:`_ArrayOutput` for (n, columns)."""
    return f"{n}x{columns}{_HANDLER_SUFFIX}"


class _ArrayOutput(OutputHandlerInterface):
    """PySD output handler writing each saved value into its (N, years) result array.

    PySD creates it from ``output_file`` (see :func:`_handler_file`), which carries
    the shape.  Each saved step is written contiguously into a time-major array
    ``(years, N, *subscripts)`` (a run-major column would be a strided write of every
    run: a third of the engine's time at N = 10,000); :meth:`pop_series` hands the
    series out run-major, as views of that buffer (the unsubscripted outputs of a call
    share one buffer).  No per-step copies are kept and nothing is flattened or copied.
    """

    capture_elements_step: list[str]
    capture_elements_run: list[str]

    def __init__(self, out_file: object = None):
        self.out_file = out_file
        n, columns = (int(v) for v in Path(str(out_file)).stem.split("x"))
        self.shape = (n, columns)
        self.times: list[float] = []
        self.steps: dict[str, np.ndarray] = {}
        self.constants: dict[str, np.ndarray] = {}

    def initialize(self, model: Any) -> None:
        self.times = []
        self.dims = {key: _subscripts(model, key) for key in
                     self.capture_elements_step + self.capture_elements_run}
        n, columns = self.shape
        # one buffer (years, outputs, N) for the unsubscripted outputs: one allocation per
        # call, each saved value a contiguous row, each output a (years, N) view of it
        flat = [key for key in self.capture_elements_step if not self.dims[key]]
        buffer = np.empty((columns, len(flat), n), dtype=np.float64)
        self.steps = {key: buffer[:, i, :] for i, key in enumerate(flat)}
        self.flat: tuple[np.ndarray, list[str]] | None = (buffer, flat) if flat else None
        self.subscripted = [key for key in self.capture_elements_step if self.dims[key]]
        self.steps.update({key: np.empty((columns, n) + _sizes(self.dims[key]),
                                         dtype=np.float64)
                           for key in self.capture_elements_step if self.dims[key]})
        self.constants = {}
        self.module = model.components._components  # each output's component, read directly

    def update(self, model: Any) -> None:
        column = len(self.times)
        if column == self.shape[1]:
            if model.time.return_timestamps is not None:
                raise EngineError(f"PySD saved more than the {column} requested years")
            self._grow()  # PySD's own saved steps (control values changing in the run)
        self.times.append(float(model.time()))
        module, dims, steps = self.module, self.dims, self.steps
        if self.flat is not None:
            buffer, keys = self.flat
            values = [getattr(module, key)() for key in keys]
            try:  # every value an (N,) array: one copy into the step's row of the buffer
                if set(map(len, values)) != {self.shape[0]}:
                    raise ValueError
                np.concatenate(values, out=buffer[column].reshape(-1))
            except (TypeError, ValueError):  # a number (or a 0-d array) among them
                for key, value in zip(keys, values):
                    steps[key][column] = _run_block(value, {})
        for key in self.subscripted:
            steps[key][column] = _run_block(getattr(module, key)(), dims[key])

    def _grow(self) -> None:
        """Twice the columns: the saved steps are only known as PySD's clock runs."""
        n, columns = self.shape
        self.shape = (n, max(2 * columns, 1))
        self.steps = {key: np.concatenate([array, np.empty_like(array)], axis=0)
                      for key, array in self.steps.items()}
        self.flat = None  # each output its own array now
        self.subscripted = list(self.steps)

    def postprocess(self, **kwargs: Any) -> _ArrayOutput:
        return self

    def add_run_elements(self, model: Any) -> None:
        for key in self.capture_elements_run:
            self.constants[key] = np.asarray(
                _run_block(getattr(model.components, key)(), self.dims[key]), dtype=np.float64)

    def pop_series(self, key: str, index: np.ndarray) -> np.ndarray:
        """Output ``key`` at the saved times ``index``, shape (n, len(index))."""
        n, columns = self.shape[0], len(self.times)
        if key in self.steps:
            saved = self.steps.pop(key)[:columns]
            whole = len(index) == columns and np.array_equal(index, np.arange(columns))
            # (run, year) as a view of the time-major buffer: no copy of the outputs
            return (saved if whole else saved[index]).swapaxes(0, 1)  # (np.moveaxis's view)
        out = np.empty((n, len(index)) + _sizes(self.dims.get(key, {})), dtype=np.float64)
        if key in self.constants:
            value = self.constants[key]
            out[:] = np.expand_dims(value, 1) if value.ndim == out.ndim - 1 else value
        elif key == "time":  # PySD captures Time (no cache type) in neither list
            out[:] = np.asarray(self.times, dtype=np.float64)[index]
        else:
            raise EngineError(f"PySD did not capture the output {key!r}")
        return out


def _subscripts(model: Any, key: str) -> dict[str, list]:
    """The subscript ranges of output ``key`` in PySD's order ({} if unsubscripted).

    Read once per loaded model and variable (they come from the component's
    declaration, which no call changes); callers do not modify the answer.
    """
    memo = model.__dict__.setdefault("_plansim_subscripts", {})
    found = memo.get(key)
    if found is None:
        coords = None if key == "time" else model.get_coords(key)
        found = memo[key] = ({} if not coords
                             else {dim: list(coords[0][dim]) for dim in coords[1]})
    return found


def _sizes(dims: dict[str, list]) -> tuple[int, ...]:
    return tuple(len(values) for values in dims.values())


def _run_block(value: Any, dims: dict[str, list]) -> Any:
    """One saved value, laid out as ``(run, *subscripts)`` or broadcastable to it.

    Scalars and ``(n,)`` arrays (unsubscripted) pass as they are; a DataArray is
    put in PySD's subscript order with ``run`` first (added if absent).
    """
    if not isinstance(value, xr.DataArray):
        if dims and isinstance(value, np.ndarray) and value.ndim == 1:
            return value.reshape(value.shape + (1,) * len(dims))
        return value
    if any(value.sizes.get(dim) != len(values) for dim, values in dims.items()):
        value = value.reindex(dims)  # defined on a subrange only: NaN elsewhere, as PySD
    if RUN not in value.dims:
        return value.transpose(*dims).values
    return value.transpose(RUN, *dims).values


ModelOutput.out_handlers.setdefault(_HANDLER_SUFFIX, _ArrayOutput)
