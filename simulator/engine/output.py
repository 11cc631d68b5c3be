"""PySD output handler writing saved values straight into (runs, years) arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pysd.py_backend.output import ModelOutput, OutputHandlerInterface

from .errors import EngineError

_HANDLER_SUFFIX = ".plansim-run-arrays"



def _handler_file(n: int, columns: int) -> str:
    """The ``output_file`` that makes PySD use :class:`_ArrayOutput` for (n, columns)."""
    return f"{n}x{columns}{_HANDLER_SUFFIX}"


class _ArrayOutput(OutputHandlerInterface):
    """PySD output handler writing each saved value into its (N, years) result array.

    PySD creates it from ``output_file`` (see :func:`_handler_file`), which carries
    the shape.  Values are written where they belong, so no per-step copies are
    kept and nothing is flattened.
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
        self.steps = {key: np.empty(self.shape, dtype=np.float64)
                      for key in self.capture_elements_step}
        self.constants = {}

    def update(self, model: Any) -> None:
        column = len(self.times)
        if column == self.shape[1]:
            raise EngineError(f"PySD saved more than the {column} requested years")
        self.times.append(float(model.time()))
        components = model.components
        for key, array in self.steps.items():
            array[:, column] = getattr(components, key)()  # (n,) or a scalar, broadcast

    def postprocess(self, **kwargs: Any) -> _ArrayOutput:
        return self

    def add_run_elements(self, model: Any) -> None:
        for key in self.capture_elements_run:
            self.constants[key] = np.array(getattr(model.components, key)(), dtype=np.float64)

    def pop_series(self, key: str, index: np.ndarray) -> np.ndarray:
        """Output ``key`` at the saved times ``index``, shape (n, len(index))."""
        n, columns = self.shape
        if key in self.steps:
            saved = self.steps.pop(key)
            whole = len(index) == columns and np.array_equal(index, np.arange(columns))
            return saved if whole else saved[:, index]
        out = np.empty((n, len(index)), dtype=np.float64)
        if key in self.constants:
            out[:] = np.broadcast_to(self.constants[key], (n,))[:, None]
        elif key == "time":  # PySD captures Time (no cache type) in neither list
            out[:] = np.asarray(self.times, dtype=np.float64)[index]
        else:
            raise EngineError(f"PySD did not capture the output {key!r}")
        return out


ModelOutput.out_handlers.setdefault(_HANDLER_SUFFIX, _ArrayOutput)
