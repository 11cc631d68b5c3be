"""Name resolution and the time grid (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import EngineError, UnknownNameError

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
        time = model.time
        return cls(float(time.initial_time()), float(time.final_time()),
                   float(time.time_step()), float(time.saveper()))

    def default_years(self) -> np.ndarray:
        count = round((self.final_time - self.initial_time) / self.saveper)
        return self.initial_time + self.saveper * np.arange(count + 1)

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


def _match_times(recorded: Sequence[float], years: np.ndarray, dt: float) -> np.ndarray:
    """Index into ``recorded`` of every requested year."""
    recorded_arr = np.asarray(recorded, dtype=np.float64)
    index = np.array([int(np.argmin(np.abs(recorded_arr - y))) if len(recorded_arr) else -1
                      for y in years])
    if len(recorded_arr) == 0 or np.any(np.abs(recorded_arr[index] - years) > dt * 1e-5):
        raise EngineError(f"PySD did not save all of the years {years.tolist()}")
    return index
