"""Ensembles: a scenario's levers under sampled futures, run in vectorised blocks.

One block is one PySD integration with the runs as a ``run`` dimension. Each
block's runs are screened against the project's history and its goals
evaluated, so callers can keep only what they need. The scenario's project
gives the model, the indicators and the history.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from ..inputs import goals as goals_mod
from ..inputs import history, model
from ..inputs.scenario import Scenario
from . import memory, simulate

FUTURE = "future"
"""An optional coordinate of a samples dataset over ``run``: each run's future (its index
in the command's futures sample), the key of its RANDOM streams (:func:`noise_keys`)."""

BLOCK_SIZE = memory.MIN_BLOCK
"""The smallest block :func:`run` chooses (its block size comes from memory,
:func:`simulator.running.memory.block_size`)."""


def parameters(scenario: Scenario, samples: xr.Dataset,
               levers: dict[str, np.ndarray | float] | None = None) -> dict[str, np.ndarray]:
    """Per-run parameters: calibration, overrides, levers (or ``levers``), then samples."""
    n = samples.sizes["run"]
    params: dict[str, np.ndarray] = {k: np.full(n, v, dtype=float)
                                     for k, v in scenario.base_parameters().items()}
    for k, v in (levers or {}).items():
        params[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
    for k in samples.data_vars:
        params[k] = np.asarray(samples[k].values, dtype=float)
    return params


def noise_keys(samples: xr.Dataset) -> np.ndarray:
    """The key of each run's RANDOM streams: its future (the ``future`` coordinate, else
    the ``run`` label, which is the future's index when every run is another future).

    Common random numbers: run ``r`` draws from the stream ``[seed, key[r]]``, so the same
    future meets the same noise under every lever setting a command tries (reach's plan
    and its nearest reachable plan, a sweep's settings, a lever search's candidates, a
    sensitivity design's lever columns), and a lever's effect is not mixed with the noise.
    """
    key = samples[FUTURE] if FUTURE in samples.coords else samples["run"]
    return np.asarray(key.values, dtype=np.int64)


def run_block(scenario: Scenario, samples: xr.Dataset, goal_set: goals_mod.GoalSet,
              levers: dict | None = None, names: list[str] | None = None,
              years=None) -> xr.Dataset:
    """Indicators ``(run, time)``, inputs ``(run,)``, goal margins and plausibility.

    RANDOM functions: a run draws from the stream ``[seed, f]``, ``f`` its future
    (:func:`noise_keys`) and ``seed`` the samples' ``seed`` attribute (the command's
    ``--seed``; 0 if absent), so its noise is the same in a block of any size, in any
    worker and under any lever setting.
    """
    params = parameters(scenario, samples, levers)
    data = simulate.run(params, names, project=scenario.project, years=years,
                        seed=int(samples.attrs.get("seed", 0)), run_keys=noise_keys(samples))
    return assess(scenario, samples, goal_set, params, data)


def assess(scenario: Scenario, samples: xr.Dataset, goal_set: goals_mod.GoalSet,
           params: dict[str, np.ndarray], data: xr.Dataset) -> xr.Dataset:
    """:func:`run_block`'s result from the runs' indicators ``data`` (``simulate.run``)."""
    project = scenario.project
    data = data.assign_coords(run=samples["run"].values)
    if "calibration_set" in samples.coords:
        data = data.assign_coords(calibration_set=samples["calibration_set"])
    indicator_names = [k for k in data.data_vars if "time" in data[k].dims]
    inside = data["in_domain"]
    # runs outside the model's domain: goals are evaluated on ones (finite, and no 0 / 0 in a
    # growth or ratio goal), then discarded
    finite = data[indicator_names].where(inside, 1.0) if not bool(inside.all()) \
        else data[indicator_names]
    evaluation = goals_mod.evaluate(finite, goal_set)
    readings = evaluation["met_other_reading"].attrs["readings"]
    figs = history.figures(project)
    out = data.assign(margin=evaluation["margin"].where(inside),
                      met=evaluation["met"] & inside, joint=evaluation["joint"] & inside,
                      met_other_reading=evaluation["met_other_reading"] & inside,
                      plausible=history.plausible(finite, figs) & inside)
    out["met_other_reading"].attrs["readings"] = readings
    if "projection_met" in evaluation:  # the plan's projections: shown, never in joint
        out = out.assign(projection_value=evaluation["projection_value"].where(inside),
                         projection_met=evaluation["projection_met"] & inside)
    roles = model.parameters(project)
    for name in params:
        out[name].attrs.update({"role": roles[name].role, "units": roles[name].units})
    for name in samples.data_vars:
        out[name].attrs.update({"sampled": 1, **samples[name].attrs})
    years = project.history_settings.years
    out["plausible"].attrs["description"] = (
        f"run reproduces the {years[0]}-{years[-1]} history: no figure more than "
        f"{history.CUTOFF:g} sd of its error model away (and stays inside the model's domain)")
    return out


def history_indicators(project) -> list[str]:
    """Indicators the plausibility screen needs."""
    return history.indicators_needed(history.figures(project))


def run(scenario: Scenario, samples: xr.Dataset, levers: dict | None = None,
        names: list[str] | None = None, block_size: int | None = None,
        progress=None, workers: int | None = None) -> xr.Dataset:
    """The whole ensemble, block by block (``progress(k)`` is called with runs done).

    ``block_size`` (runs per vectorised integration) defaults to what the memory limit
    allows for ``workers`` blocks at once (:func:`simulator.running.memory.block_size`), and the
    runs are split so every worker has a block when there are at least
    ``2 * memory.MIN_BLOCK`` of them.  ``workers`` (default :func:`simulator.running.memory.threads`)
    threads run the blocks, each with its own translated model.  Results are the same,
    bit for bit, for any block size and number of workers.
    """
    goal_set = scenario.goal_set()
    if names is not None:
        names = sorted(set(names) | goals_mod.indicators_needed(goal_set)
                       | set(history_indicators(scenario.project)))
    n = samples.sizes["run"]
    workers = memory.threads() if workers is None else max(1, int(workers))
    if block_size is None:  # a share of the runs for each worker, within memory
        block_size = memory.block_size(-(-n // workers) if n >= 2 * memory.MIN_BLOCK else n)

    def one(start: int) -> xr.Dataset:
        part = samples.isel(run=slice(start, start + block_size))
        lever_part = None if levers is None else {
            k: (np.asarray(v)[start:start + block_size] if np.ndim(v) else v)
            for k, v in levers.items()}
        return run_block(scenario, part, goal_set, lever_part, names)

    starts = list(range(0, n, block_size))
    blocks = []
    with _pool(min(workers, len(starts))) as pool:
        for block in (pool.map(one, starts) if pool is not None else map(one, starts)):
            blocks.append(block)
            if progress is not None:
                progress(block.sizes["run"])
    return xr.concat(blocks, dim="run") if len(blocks) > 1 else blocks[0]


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ThreadPoolExecutor | None]:
    """``workers`` threads, each with its own models (:func:`model.use_slot`); None
    for one (the blocks run in the calling thread)."""
    if workers <= 1:
        yield None
        return
    slots = itertools.count(1)
    with ThreadPoolExecutor(workers, initializer=lambda: model.use_slot(next(slots))) \
            as pool:
        yield pool
