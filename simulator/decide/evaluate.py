"""Lever settings evaluated over fixed futures: branched from 2005, cached, on both cores.

:class:`Evaluator` holds a scenario's futures and answers, for a matrix of lever settings
``(K, levers)``, every goal's margin and met flag ``(K, runs, goals)`` and which runs count
(plausible and inside the model's domain) ``(K, runs)``.  The levers act only in the plan
period, after the project's history (Karamay: after 2005, the model's ``policy start``),
so the runs share their path up to the history's last year: it runs once per future
(:mod:`simulator.engine.branch`) and each setting continues from that state; the result
equals :func:`simulator.running.ensemble.run` bit for bit (tests/test_decide.py).  Each evaluator
checks this on its first futures (the levers at their far bounds, continued from the held
state, against full runs) and runs every setting from INITIAL TIME where it does not
hold.  Settings already evaluated are answered from a cache (reach, the Pareto search
and the frontier share one evaluator).  ``workers > 1`` evaluates fixed
chunks of settings in forked processes: each setting's numbers are the same whatever the
number of workers (elementwise arithmetic run by run; tests check 1 against 2).
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..engine import EngineError, branch
from ..inputs import goals as goals_mod
from ..inputs import history, indicators
from ..inputs.scenario import Scenario
from ..running import ensemble, simulate

CHUNK_RUNS = 20_000  # runs per engine call (settings x futures)
FUTURES_BLOCK = 5_000  # futures per engine call, at most (blocks: work for both cores)
_TASK = None  # the function forked workers run (inherited at the fork)
_SHARED: dict = {"pool": None, "settings": []}  # :func:`shared_workers`' pool, evaluators


@dataclass
class Evaluation:
    """Settings ``(K, levers)`` and, per setting, run and goal: margins, met, counted."""

    levers: np.ndarray
    margin: np.ndarray  # (K, runs, goals), NaN outside the domain
    met: np.ndarray  # (K, runs, goals) bool
    ok: np.ndarray  # (K, runs) bool: plausible and inside the model's domain

    def probability(self, goals: np.ndarray | None = None) -> np.ndarray:
        """Share of counted runs meeting every goal of the boolean mask ``goals``, (K,)."""
        met = self.met if goals is None else self.met[:, :, goals]
        hold = met.all(axis=2) & self.ok
        return hold.sum(axis=1) / np.maximum(self.ok.sum(axis=1), 1)


def _branchable(vm) -> bool:
    try:
        branch.check_branchable(vm)
    except EngineError:
        return False
    return True


def default_workers() -> int:
    """Both cores of a two-core machine; at most 2 (each worker holds its own model)."""
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


class Settings:
    """Lever settings over fixed futures, each evaluated once (a cache) by ``_run``.

    ``names``, ``bounds`` ``(levers, 2)`` and ``plan`` (the scenario's setting) describe the
    levers; ``n`` is the number of futures.  Subclasses give ``_run(chunk) -> (margin, met,
    ok)`` for a chunk of settings.
    """

    def __init__(self, names: list[str], bounds: np.ndarray, plan: np.ndarray, n: int,
                 workers: int = 1):
        self.names, self.bounds, self.plan, self.n = names, bounds, plan, int(n)
        self.workers = max(1, int(workers))
        self.evaluated = 0  # settings run (not answered from the cache)
        self._cache: dict[tuple[float, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # -- public

    def evaluate(self, settings: np.ndarray) -> Evaluation:
        """Every setting of ``settings`` ``(K, levers)`` over every future."""
        settings = np.atleast_2d(np.asarray(settings, dtype=float))
        keys = [tuple(float(v) for v in row) for row in settings]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            blocks = np.array_split(np.arange(self.n), max(1, -(-self.n // FUTURES_BLOCK)))
            per = max(1, CHUNK_RUNS // len(blocks[0]))
            # at least one engine call per worker (a search's generation on a few hundred
            # futures is one block: its settings are split between the workers)
            count = max(-(-len(todo) // per), min(len(todo), -(-self.workers // len(blocks))))
            chunks = np.array_split(np.array(todo, dtype=float), count)
            items = [(c, b) for c in chunks for b in blocks]
            parts = iter(self._map(items))
            for chunk in chunks:
                done = [next(parts) for _ in blocks]
                margin, met, ok = (np.concatenate([d[i] for d in done], axis=1)
                                   for i in range(3))
                for j, key in enumerate(map(tuple, chunk.tolist())):
                    self._cache[key] = (margin[j], met[j], ok[j])
            self.evaluated += len(todo)
        margin = np.stack([self._cache[k][0] for k in keys])
        met = np.stack([self._cache[k][1] for k in keys])
        ok = np.stack([self._cache[k][2] for k in keys])
        return Evaluation(settings, margin, met, ok)

    def archive(self) -> np.ndarray:
        """Every setting evaluated so far, in the order first asked for."""
        return np.array(list(self._cache), dtype=float).reshape(-1, len(self.names))

    def as_dict(self, setting: np.ndarray) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.names, setting)}

    # -- running

    def _map(self, items: list[tuple]) -> list[tuple]:
        shared = [i for i, s in enumerate(_SHARED["settings"]) if s is self]
        if _SHARED["pool"] is not None and shared and self.workers > 1 and len(items) > 1:
            return _SHARED["pool"].starmap(_run_shared, [(shared[0], *item) for item in items],
                                           chunksize=1)
        return forked_map(self._run, items, self.workers)

    def _run(self, chunk: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
        """(margin, met, ok) of the settings ``chunk`` over the futures ``runs``."""
        raise NotImplementedError


class Evaluator(Settings):
    """A scenario's futures (``samples``) and its levers, evaluated setting by setting."""

    def __init__(self, scenario: Scenario, samples: xr.Dataset, workers: int = 1,
                 branched: bool = True):
        self.scenario = scenario
        self.samples = samples
        self.goal_set = scenario.goal_set()
        names = sorted(scenario.levers)
        super().__init__(names,
                         np.array([scenario.levers[k].bounds for k in names], dtype=float),
                         np.array([scenario.levers[k].value for k in names], dtype=float),
                         samples.sizes["run"], workers)
        project = scenario.project
        names = {g.indicator for g in self.goal_set.goals} | set(
            ensemble.history_indicators(project))
        self._indicators = sorted(names)
        self._variables = indicators.model_variables(project.indicators, self._indicators)
        self._years = simulate._years(project, self._indicators, None)
        self._params = ensemble.parameters(scenario, samples)
        vm = simulate.vector_model(project)
        self._prefix = None
        self._rows = np.arange(self.n)  # each future's run in the held state
        if branched and self.names and _branchable(vm):
            until = float(project.history_settings.years[-1])
            self._prefix = branch.run_until(vm, self._params, self._variables, until,
                                            self._years)
            if not self._levers_act_after(until):
                self._prefix = None
        if self._prefix is not None:
            self._hold_screen(project)

    def _hold_screen(self, project) -> None:
        """What every setting shares from the held state: whether each future's held
        years are finite and whether it passes the history screen (the history ends at
        the branch: the levers do not act on it), and the goals' model variables."""
        head, state = self._prefix
        before = head["time"].values < state.time
        self._held_finite = np.ones(self.n, dtype=bool)
        for value in head.data_vars.values():
            if value.dims == ("run", "time"):
                self._held_finite &= np.isfinite(value.values[:, before]).all(axis=1)
        self._held_plausible = None
        figs = history.figures(project)
        read = history.indicators_needed(figs)
        held_years = set(head["time"].values.tolist())
        if not ({f.year for f in figs} | indicators.base_years(project.indicators, read)
                | {y for f in figs for y in f.bound_years}) <= held_years:
            return  # the screen reads a year after the branch: each setting screens its runs
        data = simulate.from_raw(head, read, project=project)
        inside = data["in_domain"].values
        if not inside.all():
            data = data.where(xr.DataArray(inside, dims="run", coords={"run": data["run"]}),
                              0.0)
        self._held_plausible = history.plausible(data, figs).values & inside
        self._goal_indicators = sorted({g.indicator for g in self.goal_set.goals})
        self._goal_variables = indicators.model_variables(project.indicators,
                                                          self._goal_indicators)

    def subset(self, index: np.ndarray) -> Evaluator:
        """This evaluator over its futures ``index``: the 2000-2005 state held for all of
        them is shared, not run again (each future continues its own run of that state,
        so the numbers are those of an evaluator set up on these futures alone)."""
        index = np.asarray(index, dtype=int)
        samples = self.samples.isel(run=index)
        if self._prefix is None:
            return Evaluator(self.scenario, samples, workers=self.workers, branched=True)
        sub = copy.copy(self)
        Settings.__init__(sub, self.names, self.bounds, self.plan, len(index), self.workers)
        sub.samples, sub._rows = samples, self._rows[index]
        return sub

    def remember(self, setting: np.ndarray, data: xr.Dataset) -> None:
        """Seed the cache with ``setting``'s ensemble (:func:`simulator.running.ensemble.run` over
        these futures, e.g. reach's plan run): it is not run again."""
        key = tuple(float(v) for v in np.asarray(setting, dtype=float))
        self._cache[key] = (data["margin"].transpose("run", "goal").values,
                            data["met"].transpose("run", "goal").values.astype(bool),
                            data["plausible"].values.astype(bool))

    def dataset(self, setting: np.ndarray) -> xr.Dataset:
        """``setting`` over every future as :func:`simulator.running.ensemble.run` gives its goal
        part: margin and met ``(run, goal)``, joint and plausible ``(run,)``."""
        e = self.evaluate(setting)
        coords = {"run": self.samples["run"].values, "goal": self.goal_set.ids}
        if "calibration_set" in self.samples.coords:
            coords["calibration_set"] = ("run", self.samples["calibration_set"].values)
        return xr.Dataset({"margin": (("run", "goal"), e.margin[0]),
                           "met": (("run", "goal"), e.met[0]),
                           "joint": ("run", e.met[0].all(axis=1)),
                           "plausible": ("run", e.ok[0])}, coords=coords)

    def _levers_act_after(self, until: float) -> bool:
        """Whether the levers act only after ``until`` (the end of the history): the first
        futures continued from the held state under the levers at their far bounds equal
        full runs, bit for bit (else every setting runs from INITIAL TIME)."""
        far = np.where(self.plan - self.bounds[:, 0] > self.bounds[:, 1] - self.plan,
                       self.bounds[:, 0], self.bounds[:, 1])
        runs = np.arange(min(4, self.n))
        levers = dict(zip(self.names, far))
        samples = self.samples.isel(run=runs)
        params = ensemble.parameters(self.scenario, samples, levers)
        vm = simulate.vector_model(self.scenario.project)
        full = vm.run(params, self._variables, years=self._years, check_finite=False)
        branched = self._branched(params, 1, runs)
        return all(np.array_equal(full[v].values, branched[v].values, equal_nan=True)
                   for v in self._variables)

    def _run(self, chunk: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
        k, n = len(chunk), len(runs)
        samples = self.samples.isel(run=np.tile(runs, k)).assign_coords(run=np.arange(k * n))
        levers = {name: np.repeat(chunk[:, i], n) for i, name in enumerate(self.names)}
        params = ensemble.parameters(self.scenario, samples, levers)
        project = self.scenario.project
        if self._prefix is None:
            # RANDOM functions: each future keeps its own stream (ensemble.noise_keys), as
            # in ensemble.run, whatever setting or chunk it is run in
            keys = ensemble.noise_keys(self.samples)[np.tile(runs, k)]
            data = simulate.run(params, self._indicators, project=project, years=self._years,
                                seed=int(self.samples.attrs.get("seed", 0)), run_keys=keys)
        elif self._held_plausible is not None:
            return self._continued(params, k, runs)
        else:
            data = simulate.from_raw(self._branched(params, k, runs), self._indicators,
                                     project=project)
        out = ensemble.assess(self.scenario, samples, self.goal_set, params, data)
        margin = out["margin"].transpose("run", "goal").values.reshape(k, n, -1)
        met = out["met"].transpose("run", "goal").values.reshape(k, n, -1)
        ok = out["plausible"].values.reshape(k, n).astype(bool)
        return margin, met.astype(bool), ok

    def _continued(self, params: dict[str, np.ndarray], k: int,
                   runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_run` from the held state: what :func:`ensemble.assess` gives of the
        full runs, with the domain checked on every output as there, the goals read on
        their own indicators only and the history screen taken from the held years."""
        vm = simulate.vector_model(self.scenario.project)
        head, state = self._prefix
        held = self._rows[runs]
        rows = np.tile(held, k)
        tail = branch.run_from(vm, state, params, self._variables, self._years, repeat=k,
                               runs=held)
        inside = self._held_finite[rows]
        for value in tail.data_vars.values():
            if value.dims == ("run", "time"):
                inside = inside & np.isfinite(value.values).all(axis=1)
        before = head["time"].values < state.time
        raw = xr.Dataset(
            {v: (("run", "time"), np.concatenate([head[v].values[rows][:, before],
                                                  tail[v].values], axis=1))
             for v in self._goal_variables},
            coords={"time": np.concatenate([head["time"].values[before],
                                            tail["time"].values])})  # runs unlabelled:
        # nothing for xarray to align while the goals are read
        data = indicators.from_model_output(raw, self.scenario.project.indicators,
                                            self._goal_indicators)
        if not inside.all():  # as ensemble.assess: goals read on zeros, then discarded
            data = data.where(xr.DataArray(inside, dims="run"), 0.0)
        out = goals_mod.evaluate(data, self.goal_set)
        margin = np.where(inside[:, None], out["margin"].transpose("run", "goal").values,
                          np.nan)
        met = out["met"].transpose("run", "goal").values.astype(bool) & inside[:, None]
        ok = self._held_plausible[rows] & inside
        return margin.reshape(k, len(runs), -1), met.reshape(k, len(runs), -1), \
            ok.reshape(k, len(runs))

    def _branched(self, params: dict[str, np.ndarray], k: int, runs: np.ndarray) -> xr.Dataset:
        vm = simulate.vector_model(self.scenario.project)
        head, state = self._prefix
        held = self._rows[runs]
        tail = branch.run_from(vm, state, params, self._variables, self._years, repeat=k,
                               runs=held)
        before = head["time"].values < state.time
        rows = np.tile(held, k)
        variables = {}
        for name, value in tail.data_vars.items():
            if "time" in value.dims:  # (run, time): the held years, then the continued ones
                earlier = head[name].values[rows][:, before]
                variables[name] = (value.dims, np.concatenate([earlier, value.values], axis=1))
            else:  # the given parameters: this run's, not the prefix's
                variables[name] = (value.dims, value.values)
        times = np.concatenate([head["time"].values[before], tail["time"].values])
        return xr.Dataset(variables, coords={"run": tail["run"].values, "time": times},
                          attrs=tail.attrs)


@contextlib.contextmanager
def shared_workers(settings: list[Settings], workers: int) -> Iterator[None]:
    """Within the block, the evaluations of ``settings`` run on one set of ``workers``
    processes forked on entry (each holding these evaluators as they are then: their
    futures and held state do not change), not on a set forked for every call; the
    numbers are the same."""
    if workers <= 1 or threading.active_count() > 1 or _SHARED["pool"] is not None:
        yield
        return
    _SHARED["settings"] = list(settings)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            _SHARED["pool"] = pool
            yield
    finally:
        _SHARED["pool"], _SHARED["settings"] = None, []


def _run_shared(index: int, *args):
    return _SHARED["settings"][index]._run(*args)


def forked_map(function, items: list[tuple], workers: int) -> list:
    """``[function(*item) for item in items]``, in ``workers`` forked processes (each
    inherits the parent's loaded model and held state; results in the items' order)."""
    # forking a process with other live threads (a Jupyter kernel's, a pool's) can leave a
    # child waiting on a lock one of them held: run in this process then (same numbers)
    if workers <= 1 or len(items) <= 1 or threading.active_count() > 1:
        return [function(*item) for item in items]
    global _TASK
    _TASK = function
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(items))) as pool:
            return pool.starmap(_run_task, items, chunksize=1)
    finally:
        _TASK = None


def _run_task(*args):
    return _TASK(*args)
