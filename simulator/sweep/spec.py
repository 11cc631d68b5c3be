"""Sweep specs: the TOML file checked into a :class:`Spec`, and the fingerprint of a sweep.

See :mod:`simulator.sweep` for the file format. Every key is checked before anything
runs (through :mod:`simulator.inputs.validate`); the run count and the memory the sweep
needs are known, and refused when too large, before any array is built.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.stats import qmc

from .. import sample
from ..errors import InputError
from ..inputs import goals as goals_mod
from ..inputs import model, tomlfile, validate
from ..inputs import scenario as scenario_mod
from ..inputs.project import Project, find
from ..inputs.scenario import Scenario
from ..running import ensemble, memory
from ..running.provenance import file_hash, versions

FORMAT = 2  # 2: per-block chunk digests in the markers, in_domain array
TOP_KEYS = ("description", "scenario", "seed", "futures", "block_size", "indicators", "years",
            "levers", "lever_sample")
MAX_BLOCK_SIZE = 100_000
MAX_RUNS = 50_000_000
LEVER_STREAM = 1  # lever samples use the random stream [seed, LEVER_STREAM]
NUMERIC_PACKAGES = ("plansim", "pysd", "numpy", "scipy", "xarray", "pandas")
FLAGS = ("margin", "met", "joint", "plausible", "in_domain")


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

    def store_bytes(self) -> int:
        """Uncompressed size of the store's per-run arrays (an upper bound on disk)."""
        n_goals = len(self.scenario.goal_set().goals)
        per_run = 8 * (len(self.indicators) * len(self.years) + len(self.levers)
                       + len(self.scenario.uncertainties) + 2 + n_goals) + n_goals + 3
        return self.runs * per_run

    def memory_bytes(self, workers: int = 0) -> int:
        """Upper estimate of the memory the sweep holds at once (see :mod:`simulator.running.memory`).

        The futures sample (drawn whole, then held by the block tasks), the settings,
        the summary's ``(run,)`` flags and per-setting counts, and one block in work
        per process.
        """
        n_goals = len(self.scenario.goal_set().goals)
        n_unc = max(len(self.scenario.uncertainties), 1)
        futures = 4 * 8 * self.futures * n_unc
        settings = 2 * 8 * self.n_settings * max(len(self.levers), 1)
        summary = 3 * self.runs + self.n_settings * n_goals * 200
        blocks = (max(workers, 0) + 2) * self.block_size * memory.BLOCK_BYTES_PER_RUN
        return futures + settings + summary + blocks

    def computed_indicators(self, goal_set=None) -> list[str]:
        """Stored indicators, those the goals need and those the history screen needs."""
        goal_set = self.scenario.goal_set() if goal_set is None else goal_set
        return sorted(set(self.indicators) | goals_mod.indicators_needed(goal_set)
                      | set(ensemble.history_indicators(self.scenario.project)))

    def setting_levers(self, i: int) -> dict[str, float]:
        return {k: float(self.settings[i, j]) for j, k in enumerate(self.levers)}


def _scenario_path(path: Path, value, project: Project) -> Path:
    validate.path_text(path, "scenario", value,
                       'write scenario = "plan" or a path to a scenario .toml')
    local = (path.parent / value).resolve()
    if local.is_file():
        return local
    if Path(value).suffix != ".toml" and "/" not in value and os.sep not in value:
        named = scenario_mod.resolve(value, project)
        if named.is_file():
            return named
    raise InputError(path, "scenario", f"scenario '{value}' not found",
                     f"give a name from {project.scenarios} (e.g. plan) or a path relative "
                     "to the spec")


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
        n = validate.integer(path, "lever_sample.n", table["n"], 1)
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
            sizes.add(validate.integer(path, f"{key}.samples", t["samples"], 1))
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
    if name in scen.implementation:  # the scenario's documented range for it
        return scen.uncertainties[name].low, scen.uncertainties[name].high
    return params[name].lower, params[name].upper


def load_spec(path: str | Path, project: Project | None = None) -> Spec:
    """Read and check a sweep spec (see the module docstring); raise InputError if bad."""
    project = find() if project is None else project
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
    scen = scenario_mod.load(_scenario_path(path, data.get("scenario", "plan"), project),
                             project)
    catalogue, model_years = project.indicators, model.saved_years(project)
    seed = validate.integer(path, "seed", data.get("seed", 0), 0, 2**63 - 1)
    if "futures" not in data:
        raise InputError(path, "futures", "missing", "write futures = <futures to sample>")
    futures = validate.integer(path, "futures", data["futures"], 1)
    if not scen.uncertainties and futures > 1:
        raise InputError(path, "futures", f"the scenario '{scen.name}' has no uncertainties: "
                         f"all {futures} futures would be the same run",
                         "use futures = 1, or a scenario with [uncertainties]")
    block_size = validate.integer(path, "block_size", data.get("block_size", ensemble.BLOCK_SIZE), 1,
                      MAX_BLOCK_SIZE)

    names = data.get("indicators", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(path, "indicators", "not a list of indicator names",
                         'write indicators = ["population", ...]')
    for n in names:
        if n not in catalogue:
            raise InputError(path, "indicators", f"'{n}' is not an indicator",
                             f"use names from {', '.join(catalogue)}")
    if len(set(names)) != len(names):
        raise InputError(path, "indicators", "an indicator is listed twice",
                         "list each indicator once")
    years = data.get("years", list(model_years))
    if (not isinstance(years, list) or not years
            or not all(isinstance(y, int) and not isinstance(y, bool) and y in model_years
                       for y in years)):
        raise InputError(path, "years", f"{years!r} is not a list of model years",
                         f"give years within {model_years[0]}-{model_years[-1]}")
    if len(set(years)) != len(years):
        raise InputError(path, "years", "a year is listed twice", "list each year once")
    years = sorted(years)

    params = model.parameters(project)
    design, entries, n = _lever_tables(path, data, scen, params)
    lever_names = tuple(name for name, _ in entries)
    full, scen = scen, scen.deciding(lever_names)  # a swept lever is not also drawn
    n_settings = math.prod(len(v) for _, v in entries) if design == "grid" else n
    runs = n_settings * futures  # known before any array is built
    if runs > MAX_RUNS:
        raise InputError(path, "futures", f"{n_settings} settings x {futures} futures = "
                         f"{runs} runs is more than {MAX_RUNS}",
                         "use fewer futures or lever values, or split the sweep")
    if design == "grid":
        settings = np.array(list(itertools.product(*[v for _, v in entries])), dtype=float)
        levers_canon = [{"lever": name, "grid": values} for name, values in entries]
    else:
        bounds = np.array([_lever_bounds(full, params, name) for name in lever_names])
        unit = qmc.LatinHypercube(d=len(lever_names),
                                  rng=np.random.default_rng([seed, LEVER_STREAM])).random(n)
        settings = bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])
        levers_canon = {"n": n, "levers": [{"lever": name, "bounds": [float(lo), float(hi)]}
                                           for name, (lo, hi) in zip(lever_names, bounds)]}
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


def sha(obj) -> str:
    if isinstance(obj, bytes):
        return hashlib.sha256(obj).hexdigest()
    return sha(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def futures_sample(spec: Spec) -> xr.Dataset:
    """The futures every setting meets, ``(run,)`` over ``futures`` (seeded), with the
    calibration set each future uses (:func:`simulator.sample.futures`)."""
    return sample.futures(spec.scenario, spec.futures, spec.seed)


def calibrated_inputs(spec: Spec) -> list[str]:
    """Calibrated parameters the futures draw from the ensemble (none for a point one)."""
    sets = spec.scenario.calibration_sets()
    if sets is None:
        return []
    scen = spec.scenario
    keep = set(scen.uncertainties) | set(scen.overrides) | set(scen.levers)
    return [n for n in sets.names if n not in keep]


def numeric_versions() -> dict[str, str]:
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
        "spec": sha(spec.canonical),
        "scenario": sha({"levers": {k: [lv.value, *lv.bounds] for k, lv in scen.levers.items()},
                          "overrides": scen.overrides,
                          "uncertainties": {k: [u.distribution, u.spec]
                                            for k, u in scen.uncertainties.items()}}),
        "calibration": sha({"point": scen.calibrated,
                            "ensemble": futures.attrs.get("calibration_sets_hash", "none")}),
        "goals": sha(repr(scen.goal_set().goals)),
        "history": file_hash(scen.project.history),
        "history_settings": sha(repr(scen.project.history_settings)),
        "indicators": file_hash(scen.project.indicators_file),
        "model": file_hash(scen.project.model),
        "design": design.hexdigest(),
        "versions": sha(numeric_versions()),
    }
