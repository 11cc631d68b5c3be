"""RANDOM functions over runs: one seeded stream per run, plain PySD's draws run by run.

Plain PySD draws from numpy's global legacy stream: ``np.random.uniform(...)`` for
RANDOM UNIFORM and RANDOM 0 1, ``scipy.stats.truncnorm.rvs``/``truncexpon.rvs``
(whose ``random_state=None`` is that same global ``RandomState``) for RANDOM NORMAL
and RANDOM EXPONENTIAL, one call per evaluation of the variable.  The engine gives
run ``i`` of an ensemble seeded ``seed`` its own ``np.random.RandomState([seed, i])``
(``i`` the run's index in the whole ensemble, given as ``run_keys`` when an ensemble
runs in blocks: plan projects key it by the run's future, so a future's noise does not
depend on the block size, the number of workers or the lever setting it is run under)
and makes each of PySD's calls once per run, on that run's stream and that run's
arguments.  PySD evaluates the same variables in the same order for every run, so
run ``i`` draws exactly what plain PySD draws after ``np.random.seed([seed, i])``
when it computes the same outputs (a variable PySD does not need for the outputs is
not evaluated, and draws nothing): the same bits, reproducible, and independent of
the ensemble's size ``N`` and of the other runs.  The cost is a Python call per run
at every evaluation of a RANDOM function.

A draw inside an IF THEN ELSE (or SAMPLE IF TRUE) whose condition differs across
runs would come from every run's stream while plain PySD draws only in the runs
taking that branch; the engine refuses it by name (:class:`EngineError`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from .control import RUN
from .errors import EngineError

DEFAULT_SEED = 0
"""The seed of an ensemble's random streams when none is given."""

_RANDOM_DRAW_NAME = "_random_draw"
"""The name the translated file calls for ``np.random.<method>(...)``."""
_RANDOM_RVS_NAME = "_random_rvs"
"""The name the translated file calls for ``stats.<distribution>.rvs(...)``."""

_COUNTER = threading.local()


def draws_made() -> int:
    """How many random calls this thread has made (to detect draws in a branch)."""
    return getattr(_COUNTER, "value", 0)


def _count_draw() -> None:
    _COUNTER.value = draws_made() + 1


def run_stream(seed: int, run: int) -> np.random.RandomState:
    """The stream of run ``run``: plain PySD's global stream after ``np.random.seed([seed, run])``."""
    return np.random.RandomState([seed, run])


class RunStreams:
    """The random streams of one ensemble, reset before each integration."""

    def __init__(self) -> None:
        self.seed = DEFAULT_SEED
        self.n = 0
        self.named = False
        self.keys: list[int] = []
        self._streams: list[np.random.RandomState] | None = None

    def reset(self, seed: int, n: int, named: bool, keys: np.ndarray | None = None) -> None:
        """New streams for ``n`` runs (made at the first draw: a model without RANDOM
        functions pays nothing).  ``keys``: each run's index in the whole ensemble (default
        ``0..n-1``), so a run split off into a block of any size, in any worker, draws
        from the stream it draws from in one integration."""
        if not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
            raise EngineError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        keys = np.arange(n) if keys is None else np.asarray(keys)
        if keys.shape != (n,) or keys.dtype.kind not in "iu" or (n and keys.min() < 0):
            raise EngineError(f"run keys must be {n} non-negative integers, one per run")
        self.seed, self.n, self.named = int(seed), n, named
        self.keys = [int(k) for k in keys]
        self._streams = None

    @property
    def streams(self) -> list[np.random.RandomState]:
        if self._streams is None:
            self._streams = [run_stream(self.seed, key) for key in self.keys]
        return self._streams

    def draw(self, call: Callable[[np.random.RandomState, list[Any], dict[str, Any]], Any],
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``call(stream, args, kwargs)`` once per run, with that run's arguments."""
        _count_draw()
        n = len(self.streams)
        if n == 0:
            raise EngineError("a RANDOM function was evaluated outside an ensemble run")
        size = kwargs.get("size", ())
        values = [np.asarray(call(stream, [_of_run(a, i, n) for a in args],
                                  {k: _of_run(v, i, n) for k, v in kwargs.items()}))
                  for i, stream in enumerate(self.streams)]
        stacked = np.stack(values, axis=-1).astype(np.float64)
        if size == () and self.named:
            return xr.DataArray(stacked, dims=[RUN])
        return stacked  # (*size, run): PySD's ``xr.DataArray(...)`` places it

    def numpy_draw(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The translated file's ``np.random.<method>(...)`` on each run's stream."""
        return self.draw(lambda stream, a, k: getattr(stream, method)(*a, **k), args, kwargs)

    def rvs(self, distribution: Any, *args: Any, **kwargs: Any) -> Any:
        """The translated file's ``stats.<distribution>.rvs(...)`` on each run's stream."""
        return self.draw(lambda stream, a, k: distribution.rvs(*a, random_state=stream, **k),
                         args, kwargs)


def _of_run(value: Any, i: int, n: int) -> Any:
    """Run ``i``'s value of an argument (as plain PySD's single run holds it)."""
    if isinstance(value, xr.DataArray) and RUN in value.dims:
        single = value.isel({RUN: i}, drop=True)
        return single.values.item() if single.ndim == 0 else single
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape == (n,):
        return value[i].item()
    return value


def check_no_draws(before: int, construct: str = "IF THEN ELSE") -> None:
    """Refuse draws made while evaluating both branches for runs that differ."""
    if draws_made() != before:
        raise EngineError(
            f"a RANDOM function inside {construct} whose condition differs across runs: "
            f"plain PySD draws only in the runs taking that branch")
