"""Name resolution and the time grid (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pysd.py_backend.components import Time as _Time

from .errors import _CONTROL_PY, CONTROL_NAMES, EngineError, UnknownNameError

RUN = "run"
TIME = "time"


class _Names:
    """Name resolution over a PySD model's ``doc`` (real names and Python names)."""

    def __init__(self, doc: pd.DataFrame):
        self.doc = doc
        self.real_of_py = dict(zip(doc["Py Name"], doc["Real Name"]))
        self.py_of_real = dict(zip(doc["Real Name"], doc["Py Name"]))
        self.type_of = dict(zip(doc["Real Name"], doc["Type"]))
        self.folded = {self._fold(name): name for name in doc["Real Name"]}

    @staticmethod
    def _fold(name: str) -> str:
        return " ".join(name.replace("_", " ").split()).casefold()

    def real(self, name: str, role: str) -> str:
        """The Vensim name of ``name`` (real name, py name or case/space variant)."""
        if name in self.py_of_real:
            return name
        if name in self.real_of_py:
            return self.real_of_py[name]
        if isinstance(name, str) and self._fold(name) in self.folded:
            return self.folded[self._fold(name)]
        raise UnknownNameError(f"unknown {role} {name!r}: the model has no such variable")


@dataclass(frozen=True)
class _Control:
    initial_time: float
    final_time: float
    time_step: float
    saveper: float

    @classmethod
    def of(cls, model: Any) -> _Control:
        """The control values of ``model`` as its equations give them now.

        Evaluated from the translated module's ``_control_vars`` (the callables
        PySD's ``Time`` starts from), so constants set for this run count.
        """
        control_vars = model.components._control_vars
        return cls(*(float(control_vars[key]()) for key in
                     ("initial_time", "final_time", "time_step", "saveper")))

    def default_years(self) -> np.ndarray:
        """The SAVEPER multiples PySD saves when no years are given.

        PySD saves the Euler steps lying on a multiple of SAVEPER (``Time.in_return``);
        when SAVEPER is not a multiple of TIME STEP (SAVEPER 0.1, TIME STEP 1/128)
        only some multiples are steps, and only those are saved.
        """
        count = round((self.final_time - self.initial_time) / self.saveper)
        nominal = self.initial_time + self.saveper * np.arange(count + 1)
        saved = self._saved_steps()
        position = np.clip(np.searchsorted(saved, nominal), 1, max(len(saved) - 1, 1))
        nearest = np.minimum(np.abs(saved[position - 1] - nominal),
                             np.abs(saved[np.minimum(position, len(saved) - 1)] - nominal))
        return nominal[nearest <= self.time_step * _Time.rprec]

    def _saved_steps(self) -> np.ndarray:
        """The times PySD's Euler loop saves without return timestamps (its own rule)."""
        t, dt, prec = self.initial_time, self.time_step, self.time_step * _Time.rprec
        if not dt > 0 or not self.saveper > 0:
            raise EngineError(f"TIME STEP ({dt}) and SAVEPER ({self.saveper}) must be > 0")
        saved = []
        while True:
            delay = t - self.initial_time
            if delay % self.saveper < prec or -delay % self.saveper < prec:
                saved.append(t)
            if not t + dt * _Time.rprec < self.final_time:
                return np.asarray(saved, dtype=np.float64)
            t = t + dt

    def years(self, years: Iterable[float] | None) -> np.ndarray:
        """Sorted requested output times, each checked to be a saved Euler step."""
        if years is None:
            return self.default_years()
        listed = [years] if np.isscalar(years) else list(years)
        values = np.unique(np.ravel(np.asarray(listed, dtype=np.float64)))
        if values.size == 0:
            raise EngineError("years is empty")
        steps = (values - self.initial_time) / self.time_step
        bad = (np.abs(steps - np.round(steps)) > 1e-6) | (values < self.initial_time - 1e-9) \
            | (values > self.final_time + 1e-9)
        if bad.any():
            raise EngineError(
                f"years {values[bad].tolist()} are not steps of TIME STEP {self.time_step} "
                f"between INITIAL TIME {self.initial_time} and FINAL TIME {self.final_time}")
        return values


def reached(dependencies: dict[str, Any], start: str) -> Iterator[str]:
    """Every name the equation of ``start`` reaches through PySD's ``_dependencies``
    (``start`` included, each once); ``time``, ``initial`` and ``step`` are yielded,
    not followed."""
    stack, seen = [start], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        yield name
        if name not in ("time", "initial", "step"):
            stack += list(dependencies.get(name) or {})


def changing_controls(dependencies: dict[str, Any]) -> list[str]:
    """The control values (INITIAL/FINAL TIME, TIME STEP, SAVEPER) that change during
    the run: their equations reach ``time`` or a stock (PySD's ``_dependencies``)."""
    return [control for control, control_py in zip(CONTROL_NAMES, _CONTROL_PY)
            if any(name == "time" or "step" in (dependencies.get(name) or {})
                   for name in reached(dependencies, control_py))]


class _OneClock:
    """A control value's callable for PySD's clock: one value for the whole ensemble.

    PySD has one clock; a control value that differs across runs (it depends on a
    per-run value) is refused by name where it is evaluated.
    """

    def __init__(self, func: Any, control: str):
        self.func = func
        self.control = control

    def __call__(self) -> Any:
        value = self.func()
        if isinstance(value, (np.ndarray, xr.DataArray)):
            distinct = np.unique(np.asarray(value))
            if distinct.size != 1:
                raise EngineError(
                    f"{self.control} differs across runs ({distinct.min():g}.."
                    f"{distinct.max():g}); the ensemble has one clock: run one ensemble "
                    f"per value")
            return distinct.item()
        return value


def _match_times(recorded: Sequence[float], years: np.ndarray, dt: float) -> np.ndarray:
    """Index into ``recorded`` of every requested year."""
    recorded_arr = np.asarray(recorded, dtype=np.float64)
    index = np.array([int(np.argmin(np.abs(recorded_arr - y))) if len(recorded_arr) else -1
                      for y in years])
    if len(recorded_arr) == 0 or np.any(np.abs(recorded_arr[index] - years) > dt * 1e-5):
        raise EngineError(f"PySD did not save all of the years {years.tolist()}")
    return index


def _dataset_of(variables: dict[str, tuple[tuple[str, ...], Any, dict[str, list]]],
                coords: dict[str, Any], attrs: dict[str, Any]) -> xr.Dataset:
    """A Dataset of ``name -> (dims, values, subscript ranges)``.

    Variables may use different ranges of one subscript (subranges share the
    dimension's name); then each keeps its own and the Dataset holds the union,
    with NaN where a variable has no element.
    """
    ranges: dict[str, list] = {}
    shared = True
    for _, _, subscripts in variables.values():
        for dim, values in subscripts.items():
            shared &= ranges.setdefault(dim, values) == values
    if shared:
        fast = _direct_dataset(variables, {**coords, **ranges}, attrs)
        if fast is not None:
            return fast
        # float64 numpy arrays (the engine's outputs and given values) skip xarray's
        # conversion of each variable's data (about 2 ms for 300 variables per call)
        return xr.Dataset({name: xr.Variable(dims, values, fastpath=True)
                           if type(values) is np.ndarray and values.dtype == np.float64
                           else (dims, values)
                           for name, (dims, values, _) in variables.items()},
                          coords={**coords, **ranges}, attrs=attrs)
    arrays = {name: xr.DataArray(values, dims=dims, coords={
        **{k: v for k, v in coords.items() if k in dims}, **subscripts})
        for name, (dims, values, subscripts) in variables.items()}
    return xr.Dataset(arrays, attrs=attrs)


def _direct_dataset(variables: dict[str, tuple[tuple[str, ...], Any, dict[str, list]]],
                    coords: dict[str, Any], attrs: dict[str, Any]) -> xr.Dataset | None:
    """The Dataset ``xr.Dataset(variables, coords, attrs)`` builds, without its merge.

    For float64 numpy variables whose every dimension is a coordinate and whose shapes
    are those coordinates' lengths (the engine's outputs and given values), xarray's
    merge and alignment only check what is checked here, yet cost about 2 ms per call
    for 300 variables (a tenth of a 1,000-run ensemble of the district model).  The
    coordinates are built by xarray (``xr.Dataset(coords=...)``: its indexes) and the
    variables added with ``Dataset._construct_direct`` (the constructor xarray's own
    methods use; xarray is pinned, and ``tests/test_engine.py`` checks the result is
    ``identical`` to the merged one).  None when anything else is given.
    """
    base = xr.Dataset(coords=coords, attrs=attrs)
    sizes = dict(base.sizes)
    data: dict[str, xr.Variable] = {}
    for name, (dims, values, _) in variables.items():
        if (name in base._variables or type(values) is not np.ndarray
                or values.dtype != np.float64
                or values.shape != tuple(sizes.get(dim, -1) for dim in dims)):
            return None
        data[name] = xr.Variable(dims, values, fastpath=True)
    return xr.Dataset._construct_direct({**base._variables, **data}, set(base._coord_names),
                                        sizes, dict(base.attrs), dict(base._indexes))
