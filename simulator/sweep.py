"""Sweeps: a grid or sample of lever settings x sampled futures, run in resumable blocks.

A sweep answers "which lever settings make the goals reachable together, and how
likely?" over many runs. Every lever setting meets the same futures (common random
numbers), so differences between settings are the levers' doing. Runs are computed
in blocks (one vectorised integration each, :func:`simulator.ensemble.run_block`),
written block by block into a Zarr v3 store, and summarised in ``summary.json``.

Spec file (TOML)::

    description = "..."                # optional
    scenario = "plan"                  # scenario name in scenarios/ or path relative to
                                       # this file: calibration, fixed levers, futures, goals
    seed = 1                           # seed of every sample (default 0)
    futures = 200                      # futures sampled (Latin hypercube over the scenario's
                                       # uncertainties) and shared by every lever setting
    block_size = 2000                  # runs per block (default 2000; at most 100,000)
    indicators = ["population", "green_ratio"]   # indicators to store (default: none);
                                       # goals are evaluated on what they need regardless
    years = [2010, 2015]               # years of the stored indicators (default 2000-2015)

    # either a grid: explicit values per lever, full factorial (first lever varies slowest)
    [levers."talent attraction rate"]
    grid = [0.0, 0.01, 0.02, 0.03]
    [levers."greening spending share"]
    grid = [0.08, 0.12, 0.2]

    # or a sample: n settings by Latin hypercube within the scenario's lever bounds
    # (the documented range for a lever the scenario does not list), seeded by `seed`
    [lever_sample]
    n = 64
    levers = ["talent attraction rate", "greening spending share"]
    # (equivalently: `samples = 64` in each [levers."..."] table, all with the same n)

Levers the spec does not list keep the scenario's values. Every key is checked before
anything runs: an unknown key or lever, a value outside the lever's documented range
(``plansim params``), a malformed file raise :class:`~simulator.errors.InputError`
naming the file, the key and the fix.

Runs: ``settings x futures``; run ``r`` is setting ``r // futures`` under future
``r % futures``; block ``b`` holds runs ``[b * block_size, (b + 1) * block_size)``.

Output directory ``DIR``::

    DIR/sweep.zarr/        Zarr v3 group, arrays chunked by block along `run`:
        run, time, goal                    coordinates (time = the stored years)
        <indicator>        (run, time)     the requested indicators at the requested years
        <lever>            (run,)          swept lever values (fixed levers: attrs)
        <uncertainty>      (run,)          sampled uncertain inputs
        setting, future    (run,)          index of the lever setting and of the future
        margin, met        (run, goal)     goal margins (>= 0 met) and met flags
        joint, plausible   (run,)          all goals met; run reproduces 2000-2005
        attrs: provenance, the canonical spec, its hash, the fingerprint
    DIR/blocks/NNNNNN.done completion marker of block NNNNNN
    DIR/summary.json       joint probability per setting (Wilson 95%), plausible counts,
                           the best setting and its goals, provenance

Resume: the store is pre-allocated (metadata written in a temporary directory and
renamed into place), then each block's chunks are written (Zarr writes each chunk
atomically), fsync'ed, and only then is the block's marker renamed into place. Running
the same command again redoes exactly the blocks without a marker, so a sweep killed
at any moment (even ``kill -9``) ends bit-identical to one never interrupted. The
store records a fingerprint of the spec, the scenario (levers, overrides, uncertainties,
calibrated values), goals, history, model, the sampled design and the numeric package
versions; resuming into a store with another fingerprint is refused.

Determinism: everything random is drawn in the parent from ``seed`` (futures by
:func:`simulator.sample.latin_hypercube`; lever samples by a Latin hypercube on the
stream ``[seed, 1]``), and the block split depends only on the spec, so in-process,
``--workers K`` (spawned processes) and ``--scheduler tcp://HOST:PORT`` (a Dask
cluster) give identical stores. Workers receive a block's inputs, run it with their
own once-per-process translated model and return arrays; they refuse to run if their
model file or numeric packages differ from the parent's. Only the parent writes.

Memory is bounded by the block size: no step holds more than a few blocks of time
series; the summary reads only the ``(run,)`` flags and one setting's ``met`` rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import socket
import sys
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.stats import qmc

from . import ensemble, indicators, results, sample, simulate, tomlfile, validate
from . import scenario as scenario_mod
from .analyze import reachability
from .errors import InputError, PlansimError
from .paths import HISTORY_FILE, MODEL_FILE
from .provenance import file_hash, versions
from .scenario import Scenario

FORMAT = 1
STORE = "sweep.zarr"
MARKERS = "blocks"
SUMMARY = "summary.json"
TOP_KEYS = ("description", "scenario", "seed", "futures", "block_size", "indicators", "years",
            "levers", "lever_sample")
YEARS = tuple(simulate.YEARS)
MAX_BLOCK_SIZE = 100_000
MAX_RUNS = 50_000_000
CONNECT_TIMEOUT = "20s"  # to reach a Dask scheduler
LEVER_STREAM = 1  # lever samples use the random stream [seed, LEVER_STREAM]
NUMERIC_PACKAGES = ("plansim", "pysd", "numpy", "scipy", "xarray", "pandas")
FLAGS = ("margin", "met", "joint", "plausible")


class WorkerMismatch(PlansimError):
    """A worker's model file or numeric packages differ from the parent's."""


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True, eq=False)
class Spec:
    """A checked sweep spec: the scenario, the lever settings and what to store."""

    path: Path
    scenario: Scenario
    seed: int
    futures: int
    block_size: int
    indicators: tuple[str, ...]
    years: tuple[int, ...]
    design: str  # "grid" or "sample"
    levers: tuple[str, ...]  # swept levers, in spec order
    settings: np.ndarray  # (setting, lever) values
    canonical: dict = field(repr=False)  # what the spec means, for hashing and the store
    description: str = ""

    @property
    def n_settings(self) -> int:
        return int(self.settings.shape[0])

    @property
    def runs(self) -> int:
        return self.n_settings * self.futures

    @property
    def n_blocks(self) -> int:
        return -(-self.runs // self.block_size)

    def block_runs(self, block: int) -> tuple[int, int]:
        """``[start, stop)`` of a block's runs."""
        start = block * self.block_size
        return start, min(start + self.block_size, self.runs)

    def computed_indicators(self, goal_set=None) -> list[str]:
        """Stored indicators, those the goals need and those the history screen needs."""
        goal_set = self.scenario.goal_set() if goal_set is None else goal_set
        return sorted(set(self.indicators) | {g.indicator for g in goal_set.goals}
                      | set(ensemble.history_indicators()))

    def setting_levers(self, i: int) -> dict[str, float]:
        return {k: float(self.settings[i, j]) for j, k in enumerate(self.levers)}


def _int(path, key, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, key, f"{value!r} is not an integer", "write a whole number")
    if value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InputError(path, key, f"{value} is out of range", f"give a number {span}")
    return int(value)


def _scenario_path(path: Path, value) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, "scenario", f"{value!r} is not a scenario name or path",
                         'write scenario = "plan" or a path to a scenario .toml')
    local = (path.parent / value).resolve()
    if local.is_file():
        return local
    if Path(value).suffix != ".toml" and "/" not in value and os.sep not in value:
        named = scenario_mod.resolve(value)
        if named.is_file():
            return named
    raise InputError(path, "scenario", f"scenario '{value}' not found",
                     "give a name from scenarios/ (e.g. plan) or a path relative to the spec")


def _grid(path, name, values, param) -> list[float]:
    key = f"levers.{name}.grid"
    if not isinstance(values, list) or not values:
        raise InputError(path, key, "not a non-empty list", "write grid = [a, b, ...]")
    out = [validate.number(path, key, v) for v in values]
    for v in out:
        validate.in_range(path, key, param, v)
    if len(set(out)) != len(out):
        raise InputError(path, key, "a value is listed twice", "list each value once")
    return out


def _lever_tables(path, data, scen, params):
    """(design, [(lever, grid values or None)], n) from [levers.*] or [lever_sample]."""
    levers, table = data.get("levers"), data.get("lever_sample")
    if levers is not None and table is not None:
        raise InputError(path, "lever_sample", "both [levers] and [lever_sample] given",
                         "use either grids under [levers.\"...\"] or one [lever_sample]")
    if table is not None:
        if not isinstance(table, dict):
            raise InputError(path, "lever_sample", "not a table",
                             "write [lever_sample] with n = ... and levers = [...]")
        for k in table:
            if k not in ("n", "levers"):
                raise InputError(path, f"lever_sample.{k}", "unknown key",
                                 "[lever_sample] has only n and levers")
        if "n" not in table:
            raise InputError(path, "lever_sample.n", "missing", "write n = <settings to sample>")
        n = _int(path, "lever_sample.n", table["n"], 1)
        names = table.get("levers")
        if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
            raise InputError(path, "lever_sample.levers", "not a non-empty list of lever names",
                             'write levers = ["talent attraction rate", ...]')
        if len(set(names)) != len(names):
            raise InputError(path, "lever_sample.levers", "a lever is listed twice",
                             "list each lever once")
        for name in names:
            validate.known(path, "lever_sample.levers", name, params, ("lever",))
        return "sample", [(name, None) for name in names], n
    if levers is None:
        raise InputError(path, "levers", "no levers to sweep",
                         'add [levers."<name>"] tables with grid = [...], or a [lever_sample]')
    if not isinstance(levers, dict) or not levers:
        raise InputError(path, "levers", "not a table of levers",
                         'write [levers."<name>"] tables with grid = [...]')
    entries, sizes = [], set()
    for name, t in levers.items():
        key = f"levers.{name}"
        param = validate.known(path, key, name, params, ("lever",))
        if not isinstance(t, dict) or len(t) != 1 or next(iter(t)) not in ("grid", "samples"):
            extra = sorted(set(t) - {"grid", "samples"}) if isinstance(t, dict) else []
            raise InputError(path, f"{key}.{extra[0]}" if extra else key,
                             "a swept lever needs exactly one of `grid` or `samples`",
                             "write grid = [a, b, ...] or samples = N")
        if "grid" in t:
            entries.append((name, _grid(path, name, t["grid"], param)))
        else:
            sizes.add(_int(path, f"{key}.samples", t["samples"], 1))
            entries.append((name, None))
    kinds = {values is None for _, values in entries}
    if len(kinds) > 1:
        raise InputError(path, "levers", "grid and samples are mixed",
                         "give every lever a grid, or every lever the same samples = N")
    if kinds == {True}:
        if len(sizes) > 1:
            raise InputError(path, "levers", f"different sample sizes {sorted(sizes)}",
                             "give every sampled lever the same samples = N")
        return "sample", entries, sizes.pop()
    return "grid", entries, None


def _lever_bounds(scen: Scenario, params, name) -> tuple[float, float]:
    if name in scen.levers:
        return scen.levers[name].bounds
    return params[name].lower, params[name].upper


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec (see the module docstring); raise InputError if bad."""
    path = Path(path)
    data = tomlfile.read(path, "sweep spec not found",
                         "give the path of a sweep .toml (e.g. "
                         "scenarios/sweeps/migration-greening.toml)")
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(path, key, "unknown key", f"use only {', '.join(TOP_KEYS)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InputError(path, "description", "not a string", 'write description = "..."')
    scen = scenario_mod.load(_scenario_path(path, data.get("scenario", "plan")))
    seed = _int(path, "seed", data.get("seed", 0), 0, 2**63 - 1)
    if "futures" not in data:
        raise InputError(path, "futures", "missing", "write futures = <futures to sample>")
    futures = _int(path, "futures", data["futures"], 1)
    block_size = _int(path, "block_size", data.get("block_size", ensemble.BLOCK_SIZE), 1,
                      MAX_BLOCK_SIZE)

    names = data.get("indicators", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(path, "indicators", "not a list of indicator names",
                         'write indicators = ["population", ...]')
    for n in names:
        if n not in indicators.INDICATORS:
            raise InputError(path, "indicators", f"'{n}' is not an indicator",
                             f"use names from {', '.join(indicators.INDICATORS)}")
    if len(set(names)) != len(names):
        raise InputError(path, "indicators", "an indicator is listed twice",
                         "list each indicator once")
    years = data.get("years", list(YEARS))
    if (not isinstance(years, list) or not years
            or not all(isinstance(y, int) and not isinstance(y, bool) and y in YEARS
                       for y in years)):
        raise InputError(path, "years", f"{years!r} is not a list of model years",
                         f"give years within {YEARS[0]}-{YEARS[-1]}")
    if len(set(years)) != len(years):
        raise InputError(path, "years", "a year is listed twice", "list each year once")
    years = sorted(years)

    from . import model

    params = model.parameters()
    design, entries, n = _lever_tables(path, data, scen, params)
    lever_names = tuple(name for name, _ in entries)
    if design == "grid":
        settings = np.array(list(itertools.product(*[v for _, v in entries])), dtype=float)
        levers_canon = [{"lever": name, "grid": values} for name, values in entries]
    else:
        bounds = np.array([_lever_bounds(scen, params, name) for name in lever_names])
        unit = qmc.LatinHypercube(d=len(lever_names),
                                  rng=np.random.default_rng([seed, LEVER_STREAM])).random(n)
        settings = bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])
        levers_canon = {"n": n, "levers": [{"lever": name, "bounds": [float(lo), float(hi)]}
                                           for name, (lo, hi) in zip(lever_names, bounds)]}
    runs = settings.shape[0] * futures
    if runs > MAX_RUNS:
        raise InputError(path, "futures", f"{settings.shape[0]} settings x {futures} futures = "
                         f"{runs} runs is more than {MAX_RUNS}",
                         "use fewer futures or lever values, or split the sweep")
    clash = (set(lever_names) | set(scen.uncertainties)) & (
        set(names) | set(FLAGS) | {"run", "time", "goal", "setting", "future"})
    if clash:
        raise InputError(path, "levers", f"'{min(clash)}' clashes with a stored array name",
                         "rename the parameter")
    canonical = {"format": FORMAT, "scenario": scen.name, "seed": seed, "futures": futures,
                 "block_size": block_size, "indicators": list(names), "years": years,
                 "design": design, "levers": levers_canon}
    return Spec(path=path.resolve(), scenario=scen, seed=seed, futures=futures,
                block_size=block_size, indicators=tuple(names), years=tuple(years),
                design=design, levers=lever_names, settings=settings, canonical=canonical,
                description=description)


# --------------------------------------------------------------------------- fingerprint


def _sha(obj) -> str:
    if isinstance(obj, bytes):
        return hashlib.sha256(obj).hexdigest()
    return _sha(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def futures_sample(spec: Spec) -> xr.Dataset:
    """The futures every setting meets, ``(run,)`` over ``futures`` (seeded)."""
    return sample.latin_hypercube(spec.scenario.uncertainties, spec.futures, spec.seed)


def _numeric_versions() -> dict[str, str]:
    return {k: v for k, v in versions().items()
            if k.removeprefix("version_") in {p.lower() for p in NUMERIC_PACKAGES}}


def fingerprint_parts(spec: Spec, futures: xr.Dataset) -> dict[str, str]:
    """Hashes of everything the stored numbers depend on (see the module docstring)."""
    scen = spec.scenario
    design = hashlib.sha256(np.ascontiguousarray(spec.settings).tobytes())
    for k in sorted(futures.data_vars):
        design.update(k.encode("utf-8"))
        design.update(np.ascontiguousarray(futures[k].values, dtype=float).tobytes())
    return {
        "spec": _sha(spec.canonical),
        "scenario": _sha({"levers": {k: [lv.value, *lv.bounds] for k, lv in scen.levers.items()},
                          "overrides": scen.overrides,
                          "uncertainties": {k: [u.distribution, u.spec]
                                            for k, u in scen.uncertainties.items()}}),
        "calibration": _sha(scen.calibrated),
        "goals": _sha(repr(scen.goal_set().goals)),
        "history": file_hash(HISTORY_FILE),
        "model": file_hash(MODEL_FILE),
        "design": design.hexdigest(),
        "versions": _sha(_numeric_versions()),
    }


# --------------------------------------------------------------------------- workers


@lru_cache(maxsize=8)
def _check_worker(model_hash: str, versions_json: str) -> None:
    vm = simulate.vector_model(str(Path(MODEL_FILE).resolve()))
    if vm.model_sha256 != model_hash:
        raise WorkerMismatch(f"the process on {socket.gethostname()} (pid {os.getpid()}) runs "
                             f"model {vm.model_sha256[:12]}, the sweep needs {model_hash[:12]}: "
                             "give every worker the same models/karamay.mdl and restart it")
    mine = _numeric_versions()
    if json.loads(versions_json) != mine:
        raise WorkerMismatch(f"worker on {socket.gethostname()} has packages {mine}, the sweep "
                             f"needs {versions_json}: install the same versions")


def compute_block(task: dict) -> dict:
    """Run one block (what every executor calls; module-level so it pickles by reference).

    ``task`` carries the block's inputs, drawn in the parent; the result holds the
    arrays to store for its runs. The model is translated and loaded once per process.
    """
    _check_worker(task["model_hash"], task["versions"])
    runs = np.arange(task["start"], task["stop"])
    samples = xr.Dataset({k: ("run", v) for k, v in task["samples"].items()},
                         coords={"run": runs})
    data = ensemble.run_block(task["scenario"], samples, task["goal_set"],
                              levers=task["levers"], names=task["names"])
    if [str(g) for g in data["goal"].values] != task["goals"]:
        raise RuntimeError("goal order differs between the parent and the worker")
    arrays = {name: np.ascontiguousarray(data[name].sel(time=task["years"]).values,
                                         dtype=float)
              for name in task["indicators"]}
    arrays.update({k: np.asarray(v, dtype=float) for k, v in task["levers"].items()})
    arrays.update({k: np.asarray(v, dtype=float) for k, v in task["samples"].items()})
    arrays["margin"] = np.ascontiguousarray(data["margin"].values, dtype=float)
    for k in ("met", "joint", "plausible"):
        arrays[k] = np.ascontiguousarray(data[k].values, dtype=bool)
    return {"block": task["block"], "worker": f"{socket.gethostname()}:{os.getpid()}",
            "arrays": arrays}


class _Tasks:
    """Block tasks built on demand from the parent's sample (memory: one block each)."""

    def __init__(self, spec: Spec, futures: xr.Dataset, parts: dict[str, str]):
        self.spec = spec
        self.goal_set = spec.scenario.goal_set()
        self.names = spec.computed_indicators(self.goal_set)
        self.futures = {k: np.asarray(futures[k].values, dtype=float) for k in futures.data_vars}
        self.model_hash = parts["model"]
        self.versions = json.dumps(_numeric_versions(), sort_keys=True)

    def __call__(self, block: int) -> dict:
        spec = self.spec
        start, stop = spec.block_runs(block)
        runs = np.arange(start, stop)
        setting, future = runs // spec.futures, runs % spec.futures
        return {"block": block, "start": start, "stop": stop, "scenario": spec.scenario,
                "goal_set": self.goal_set, "names": self.names,
                "samples": {k: v[future] for k, v in self.futures.items()},
                "levers": {k: spec.settings[setting, j] for j, k in enumerate(spec.levers)},
                "indicators": list(spec.indicators), "years": list(spec.years),
                "goals": self.goal_set.ids, "model_hash": self.model_hash,
                "versions": self.versions}


def _in_process(tasks: _Tasks, blocks: list[int]):
    for b in blocks:
        yield compute_block(tasks(b))


def _processes(tasks: _Tasks, blocks: list[int], workers: int):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))
    todo, running = iter(blocks), set()
    try:
        while True:
            while len(running) < 2 * workers:
                b = next(todo, None)
                if b is None:
                    break
                running.add(pool.submit(compute_block, tasks(b)))
            if not running:
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        for fut in running:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _connect(scheduler: str):
    from distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("command line", "--scheduler", f"cannot reach a Dask scheduler at "
                         f"{scheduler} ({type(exc).__name__})",
                         "start one (`dask scheduler`, `dask worker ADDRESS`) and give its "
                         "tcp://HOST:PORT") from exc


def _dask(tasks: _Tasks, blocks: list[int], client):
    from distributed import as_completed

    threads = sum(client.nthreads().values()) or 1
    todo = iter(blocks)
    queue = as_completed(loop=client.loop)
    running = []

    def submit() -> bool:
        b = next(todo, None)
        if b is None:
            return False
        fut = client.submit(compute_block, tasks(b), pure=False)
        queue.add(fut)
        running.append(fut)
        return True

    try:
        for _ in range(2 * threads):
            if not submit():
                break
        for fut in queue:
            result = fut.result()
            running.remove(fut)
            fut.release()
            submit()
            yield result
    finally:
        for fut in running:
            fut.cancel()


# --------------------------------------------------------------------------- store


def _store_layout(spec: Spec, goal_ids: list[str]) -> list[tuple[str, tuple, str, object]]:
    """(name, dims, dtype, fill) of every per-run array."""
    out = [(name, ("run", "time"), "float64", np.nan) for name in spec.indicators]
    out += [(name, ("run",), "float64", np.nan) for name in spec.levers]
    out += [(name, ("run",), "float64", np.nan) for name in sorted(spec.scenario.uncertainties)]
    out += [("setting", ("run",), "int64", -1), ("future", ("run",), "int64", -1),
            ("margin", ("run", "goal"), "float64", np.nan),
            ("met", ("run", "goal"), "bool", False), ("joint", ("run",), "bool", False),
            ("plausible", ("run",), "bool", False)]
    return out


def _array_attrs(spec: Spec, name: str) -> dict:
    if name in indicators.INDICATORS:
        ind = indicators.INDICATORS[name]
        return {"units": ind.unit, "description": ind.description}
    if name in spec.levers:
        return {"description": "lever value (swept)"}
    if name in spec.scenario.uncertainties:
        return {"description": "uncertain input (sampled future)"}
    return {"setting": {"description": "index of the lever setting (summary.json settings)"},
            "future": {"description": "index of the sampled future"},
            "margin": {"description": "signed margin / |threshold|; >= 0 means met"},
            "met": {"description": "goal met in every one of its years"},
            "joint": {"description": "every goal met"},
            "plausible": {"description": "run reproduces the 2000-2005 history within the "
                                         "calibration tolerance"}}[name]


def _store_attrs(spec: Spec, parts: dict[str, str]) -> dict:
    return {**results.provenance(spec.scenario, spec.seed),
            "sweep_format": FORMAT, "spec": spec.canonical, "spec_file": spec.path.name,
            "spec_hash": parts["spec"], "fingerprint": _sha(parts), "fingerprint_parts": parts,
            "description": spec.description, "runs": spec.runs, "futures": spec.futures,
            "settings": spec.n_settings, "block_size": spec.block_size,
            "blocks": spec.n_blocks, "levers": list(spec.levers),
            "uncertainties": sorted(spec.scenario.uncertainties),
            "fixed_levers": {k: lv.value for k, lv in spec.scenario.levers.items()
                             if k not in spec.levers},
            "run_index": "run = setting * futures + future"}


def _create_store(final: Path, spec: Spec, parts: dict[str, str], goal_ids: list[str]) -> None:
    """Pre-allocate the store in a temporary directory, then rename it into place."""
    import zarr

    tmp = final.with_name(f".{final.name}.creating")
    shutil.rmtree(tmp, ignore_errors=True)
    g = zarr.open_group(tmp, mode="w-", zarr_format=3, attributes=_store_attrs(spec, parts))
    n, b = spec.runs, spec.block_size
    sizes = {"run": n, "time": len(spec.years), "goal": len(goal_ids)}
    run = g.create_array("run", shape=(n,), chunks=(b,), dtype="int64", fill_value=-1,
                         dimension_names=("run",))
    for block in range(spec.n_blocks):
        start, stop = spec.block_runs(block)
        run[start:stop] = np.arange(start, stop)
    g.create_array("time", shape=(sizes["time"],), dtype="int64", fill_value=0,
                   dimension_names=("time",), attributes={"units": "year"})[:] = spec.years
    g.create_array("goal", shape=(sizes["goal"],), dtype=str,
                   dimension_names=("goal",))[:] = np.array(goal_ids, dtype=object)
    for name, dims, dtype, fill in _store_layout(spec, goal_ids):
        g.create_array(name, shape=tuple(sizes[d] for d in dims),
                       chunks=(b, *(sizes[d] for d in dims[1:])), dtype=dtype, fill_value=fill,
                       dimension_names=dims, attributes=_array_attrs(spec, name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not yet in the v3 spec
        zarr.consolidate_metadata(tmp)
    _fsync_tree(tmp)
    os.rename(tmp, final)
    _fsync(final.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            _fsync(Path(dirpath) / f)
        _fsync(Path(dirpath))


def _read_attrs(store: Path) -> dict:
    try:
        return json.loads((store / "zarr.json").read_text(encoding="utf-8"))["attributes"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(store, None, "not a sweep store (no readable zarr.json)",
                         "give another --out directory, or delete this one") from exc


def _check_store(store: Path, spec: Spec, parts: dict[str, str]) -> None:
    """Refuse a store made by another spec, scenario, model or package versions."""
    attrs = _read_attrs(store)
    if attrs.get("fingerprint") == _sha(parts):
        return
    old = attrs.get("fingerprint_parts")
    if not isinstance(old, dict):
        raise InputError(store, None, "not a sweep store (no fingerprint)",
                         "give another --out directory, or delete this one")
    differ = [k for k in parts if old.get(k) != parts[k]]
    key = differ[0]
    if "spec" in differ:
        before = attrs.get("spec", {})
        key = next((k for k in spec.canonical if before.get(k) != spec.canonical[k]), "spec")
        if key == "levers":
            key = "levers" if spec.design == "grid" else "lever_sample"
    raise InputError(spec.path, key, f"{store} was made by a different "
                     f"{', '.join(differ)} (fingerprint {attrs.get('fingerprint', '?')[:12]}, "
                     f"this spec {_sha(parts)[:12]})",
                     "rerun with the spec, model and calibration that made it, or give "
                     "another --out directory")


def _marker(out: Path, block: int) -> Path:
    return out / MARKERS / f"{block:06d}.done"


def _marker_text(spec: Spec, block: int, fingerprint: str) -> str:
    start, stop = spec.block_runs(block)
    return json.dumps({"block": block, "runs": [start, stop], "fingerprint": fingerprint},
                      sort_keys=True) + "\n"


def _completed(out: Path, spec: Spec, fingerprint: str) -> set[int]:
    done = set()
    for b in range(spec.n_blocks):
        try:
            text = _marker(out, b).read_text(encoding="utf-8")
        except OSError:
            continue
        if text == _marker_text(spec, b, fingerprint):
            done.add(b)
    return done


def _write_marker(out: Path, spec: Spec, block: int, fingerprint: str) -> None:
    path = _marker(out, block)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_marker_text(spec, block, fingerprint))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


class _Writer:
    """Writes blocks into the pre-allocated store, then their markers."""

    def __init__(self, out: Path, spec: Spec, fingerprint: str):
        import zarr

        self.out, self.spec, self.fingerprint = out, spec, fingerprint
        self.store = out / STORE
        group = zarr.open_group(self.store, mode="r+")
        names = [name for name, *_ in _store_layout(spec, [])]
        self.arrays = {name: group[name].with_config({"write_empty_chunks": True})
                       for name in names}

    def write(self, result: dict) -> None:
        spec, b = self.spec, result["block"]
        start, stop = spec.block_runs(b)
        runs = np.arange(start, stop)
        values = dict(result["arrays"], setting=runs // spec.futures, future=runs % spec.futures)
        for name, arr in self.arrays.items():
            v = values[name]
            if v.shape[0] != stop - start:
                raise RuntimeError(f"block {b}: '{name}' has {v.shape[0]} runs, not "
                                   f"{stop - start}")
            arr[start:stop] = v
        for name, arr in self.arrays.items():  # flushed before the marker says done
            key = arr.metadata.encode_chunk_key((b,) + (0,) * (arr.ndim - 1))
            chunk = self.store / name / key
            if chunk.is_file():
                _fsync(chunk)
        _write_marker(self.out, spec, b, self.fingerprint)


@contextlib.contextmanager
def _locked(out: Path):
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(out, None, "another sweep is writing into this directory",
                             "wait for it to finish, or give another --out") from exc
        yield
    finally:
        os.close(fd)


def _clean_partials(out: Path) -> None:
    """Remove temporary files a killed writer may have left (Zarr's and the markers')."""
    shutil.rmtree(out / f".{STORE}.creating", ignore_errors=True)
    store = out / STORE
    if store.is_dir():
        for p in store.rglob("*.partial"):
            p.unlink(missing_ok=True)
    markers = out / MARKERS
    if markers.is_dir():
        for p in markers.glob(".*.tmp"):
            p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- summary


def _probability(k: int, n: int) -> dict:
    lo, hi = reachability.wilson(k, n)
    return {"value": (k / n) if n else None, "interval": [lo, hi]}


def summarize(out: Path | str) -> dict:
    """``summary.json`` of a finished store.

    Per setting: plausible runs, the joint probability (Wilson 95%) and each goal's
    probability, counting plausible runs only. The best setting has the highest joint
    probability; ties (say, all zero) go to the highest mean number of goals met, then
    the lowest index. Reads the ``(run,)`` flags and ``met`` one block at a time.
    """
    import zarr

    out = Path(out)
    g = zarr.open_group(out / STORE, mode="r")
    attrs = dict(g.attrs)
    futures, n_settings = int(attrs["futures"]), int(attrs["settings"])
    runs, block_size = int(attrs["runs"]), int(attrs["block_size"])
    lever_names = list(attrs["levers"])
    goal_ids = [str(x) for x in g["goal"][:]]
    plausible = g["plausible"][:]
    joint = g["joint"][:]
    counted = plausible.reshape(n_settings, futures).sum(axis=1)
    met_joint = (joint & plausible).reshape(n_settings, futures).sum(axis=1)
    del joint
    met_counts = np.zeros((n_settings, len(goal_ids)), dtype=np.int64)
    met_array = g["met"]
    for start in range(0, runs, block_size):
        stop = min(start + block_size, runs)
        ok = plausible[start:stop]
        setting = np.arange(start, stop)[ok] // futures
        np.add.at(met_counts, setting, met_array[start:stop][ok].astype(np.int64))
    lever_values = {k: g[k][0::futures] for k in lever_names}  # one value per setting
    rows = []
    for i in range(n_settings):
        n = int(counted[i])
        rows.append({
            "setting": i,
            "levers": {k: float(lever_values[k][i]) for k in lever_names},
            "plausible_runs": n, "joint_runs": int(met_joint[i]),
            "joint_probability": _probability(int(met_joint[i]), n),
            "goals_met_mean": float(met_counts[i].sum() / n) if n else None,
            "goals": {gid: (float(met_counts[i, j] / n) if n else None)
                      for j, gid in enumerate(goal_ids)},
        })

    def rank(row):
        p, m = row["joint_probability"]["value"], row["goals_met_mean"]
        return (-1.0 if p is None else p, -1.0 if m is None else m, -row["setting"])

    best = max(rows, key=rank)
    i = best["setting"]
    met = g["met"][i * futures:(i + 1) * futures]
    evaluation = xr.Dataset({"met": (("run", "goal"), met)}, coords={"goal": goal_ids})
    ok = xr.DataArray(plausible[i * futures:(i + 1) * futures], dims="run")
    s = reachability.summarize(evaluation, ok)
    keep = ("model_file", "model_hash", "seed", "scenario", "scenario_file", "scenario_hash",
            "goals_hash", "calibration_hash", "spec_file", "spec_hash", "fingerprint",
            "fingerprint_parts", "description", "spec")
    total = int(plausible.sum())
    return {
        **{k: attrs[k] for k in keep if k in attrs},
        **{k: v for k, v in attrs.items() if k.startswith("version_")},
        "runs": runs, "futures": futures, "settings": n_settings,
        "blocks": int(attrs["blocks"]), "block_size": block_size,
        "levers": lever_names, "fixed_levers": attrs["fixed_levers"],
        "plausible_runs": total, "implausible_runs": runs - total,
        "results": rows,
        "best_setting": {
            **{k: v for k, v in best.items() if k != "goals"},
            "goals": {k: {"value": v["probability"], "interval": v["interval"]}
                      for k, v in s["goals"].items()},
            "binding_goals": s["binding_goals"][:5],
            "held_back_by": s["held_back_by"][:6],
        },
    }


# --------------------------------------------------------------------------- running


@dataclass
class SweepOutcome:
    """What a sweep did: where it wrote, how many blocks it ran now or found done."""

    out_dir: Path
    store: Path
    summary_path: Path
    summary: dict
    blocks_run: int
    blocks_resumed: int
    executor: str
    workers_seen: set[str]

    def report(self) -> str:
        s = self.summary
        best = s["best_setting"]
        p = best["joint_probability"]
        levers = ", ".join(f"{k} = {v:.4g}" for k, v in best["levers"].items())
        if p["value"] is None:
            verdict = "no plausible futures: no probability can be given"
        else:
            lo, hi = p["interval"]
            verdict = (f"all {len(best['goals'])} goals together in {100 * p['value']:.1f}% of "
                       f"{best['plausible_runs']} plausible futures "
                       f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}%)")
        return "\n".join([
            (f"sweep '{s.get('spec_file', '')}' (scenario '{s.get('scenario', '')}', seed "
             f"{s.get('seed')}): {s['settings']} lever settings x {s['futures']} futures = "
             f"{s['runs']} runs in {s['blocks']} blocks"),
            (f"blocks: {self.blocks_run} run now, {self.blocks_resumed} already done "
             f"({self.executor})"),
            f"best setting #{best['setting']}: {levers}",
            f"  {verdict}",
            (f"  mean goals met per plausible future: {best['goals_met_mean']:.1f} of "
             f"{len(best['goals'])}" if best["goals_met_mean"] is not None else "  -"),
            f"wrote {self.store} and {self.summary_path}",
        ])


def _progress_bar(progress, total: int, initial: int):
    """A callable ticking one block, and a closer (tqdm on a terminal when ``None``)."""
    if callable(progress):
        return progress, lambda: None
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return (lambda k: None), lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc="sweep blocks", unit="block", file=sys.stderr)
    return bar.update, bar.close


def execute(spec_path: str | Path, out_dir: str | Path, workers: int | None = None,
            scheduler: str | None = None, progress=None) -> SweepOutcome:
    """Run (or resume) a sweep; see :func:`run_sweep`."""
    spec = load_spec(spec_path)
    if workers is not None and scheduler is not None:
        raise InputError("command line", "--workers/--scheduler", "both given",
                         "give --workers K for local processes or --scheduler for a cluster")
    if workers is not None:
        workers = _int("command line", "--workers", workers, 1, 1024)
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise InputError("command line", "--scheduler", f"{scheduler!r} is not an address",
                         "give tcp://HOST:PORT")
    futures = futures_sample(spec)
    parts = fingerprint_parts(spec, futures)
    fingerprint = _sha(parts)
    out = Path(out_dir)
    store = out / STORE
    if out.exists() and not out.is_dir():
        raise InputError(out, None, "not a directory", "give a directory for --out")
    if store.exists():
        _check_store(store, spec, parts)  # before anything is written

    client = _connect(scheduler) if scheduler is not None else None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with _locked(out):
            _clean_partials(out)
            goal_set = spec.scenario.goal_set()
            if store.exists():
                _check_store(store, spec, parts)
            else:
                shutil.rmtree(out / MARKERS, ignore_errors=True)  # markers of a deleted store
                _create_store(store, spec, parts, goal_set.ids)
            (out / MARKERS).mkdir(exist_ok=True)
            done = _completed(out, spec, fingerprint)
            pending = [b for b in range(spec.n_blocks) if b not in done]
            tasks = _Tasks(spec, futures, parts)
            if client is not None:
                results_iter, executor = _dask(tasks, pending, client), f"dask {scheduler}"
            elif workers is not None:
                results_iter = _processes(tasks, pending, workers)
                executor = f"{workers} local processes"
            else:
                results_iter, executor = _in_process(tasks, pending), "in-process"
            tick, close = _progress_bar(progress, spec.n_blocks, len(done))
            writer = _Writer(out, spec, fingerprint)
            seen: set[str] = set()
            try:
                for result in results_iter:
                    writer.write(result)
                    seen.add(result["worker"])
                    tick(1)
            finally:
                close()
                if hasattr(results_iter, "close"):
                    results_iter.close()
            missing = [b for b in range(spec.n_blocks)
                       if b not in _completed(out, spec, fingerprint)]
            if missing:
                raise RuntimeError(f"blocks {missing[:5]} have no marker after the sweep")
            summary = summarize(out)
            summary_path = results.write_json(summary, out / SUMMARY)
    finally:
        if client is not None:
            client.close()
    return SweepOutcome(out, store, summary_path, summary, len(pending), len(done), executor,
                        seen)


def run_sweep(spec_path: str | Path, out_dir: str | Path, workers: int | None = None,
              scheduler: str | None = None, progress=None) -> Path:
    """Run (or resume) the sweep ``spec_path`` into ``out_dir``; return ``summary.json``'s path.

    ``workers``: run blocks in that many local processes; ``scheduler``: on the Dask
    cluster at that address (``tcp://HOST:PORT``); neither: in this process.
    ``progress``: ``None`` shows a tqdm bar over blocks when stderr is a terminal,
    ``False`` none, ``True`` always, a callable is called with ``1`` per block.
    Running it again with the same arguments resumes: only blocks without a completion
    marker are run. Results are identical whatever the executor.
    """
    return execute(spec_path, out_dir, workers, scheduler, progress).summary_path


def open_store(out_dir: str | Path) -> xr.Dataset:
    """The sweep store as a lazy :class:`xarray.Dataset`."""
    return xr.open_zarr(Path(out_dir) / STORE, consolidated=True)


__all__ = ["Spec", "SweepOutcome", "WorkerMismatch", "compute_block", "execute",
           "fingerprint_parts", "futures_sample", "load_spec", "open_store", "run_sweep",
           "summarize"]
