"""Global sensitivity (Sobol, Morris, PAWN) and tornado swings of a scenario's outputs.

One code path for every model: a :class:`Problem` (inputs, each mapping the unit
interval to its values), a function from input values to outputs ``(run, output)``,
a sampling design from :mod:`simulator.sample` and an index from
:mod:`simulator.analyze`. :func:`from_scenario` builds the problem of a scenario
(its uncertainties through their distributions, its levers uniform within their
bounds) and :func:`scenario_function` its outputs: goal margins, joint success
(all goals met in a future that reproduces 2000-2005, as 0/1) and any
``indicator:year``. Every run of the design is counted (Sobol and Morris need the
whole design); the share of runs that do not reproduce 2000-2005 is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import sample as sample_mod
from ..errors import InputError
from ..inputs import model
from ..inputs.scenario import Scenario
from ..running import ensemble, results
from . import morris, pawn, sobol, tornado

METHODS = {"sobol": (sample_mod.saltelli, sobol),
           "morris": (sample_mod.morris, morris),
           "pawn": (sample_mod.latin, pawn)}
DEFAULT_N = {"sobol": 256, "morris": 20, "pawn": 2000}
MIN_N = {"sobol": 16, "morris": 4, "pawn": 100}
"""The smallest design that estimates anything: Sobol 16 base samples (a bootstrap of
fewer has intervals as wide as the index's range), Morris 4 trajectories (fewer
elementary effects per input than that are anecdotes), PAWN 100 runs (10 per slice of
its 10 slices; with 2 runs every input scores 0.5)."""
MAX_N = {"sobol": 2**16, "morris": 100_000, "pawn": 10_000_000}


def check_size(method: str, n) -> int:
    """``--runs`` of ``method`` within [MIN_N, MAX_N] (Sobol: a power of 2), before work."""
    from ..inputs import validate

    n = validate.integer("command line", "--runs", n, MIN_N[method], MAX_N[method])
    if method == "sobol" and n & (n - 1):
        below = 1 << (n.bit_length() - 1)
        raise InputError("command line", "--runs", f"{n} is not a power of 2 (Sobol's base "
                         "sample)", f"give --runs {below} or {2 * below}")
    return n


def design_runs(method: str, problem: Problem, n: int | None) -> int:
    """How many model runs ``method`` asks for (tornado: base and each input's two ends)."""
    if method == "tornado":
        return 1 + 2 * len(problem.inputs)
    return METHODS[method][0].runs(problem.salib(), n)


def files(method: str, outputs: list[str]) -> tuple[str, ...]:
    """The files :func:`write` and :func:`charts` write for ``outputs`` (names checked)."""
    charts = [f"{_file_stem(method, o)}.{fmt}" for o in outputs for fmt in ("png", "svg")]
    return (f"{method}.nc", f"{method}.csv", *charts)
TORNADO_QUANTILES = (0.05, 0.95)  # an uncertainty's low and high setting


@dataclass(frozen=True)
class Input:
    """One input: its kind, how the unit interval maps to it, and its tornado settings."""

    name: str
    kind: str  # "uncertainty", "lever" or "input"
    ppf: Callable[[np.ndarray], np.ndarray]
    low: float  # tornado: low setting
    central: float  # tornado: base setting
    high: float  # tornado: high setting


def uniform(name: str, low: float, high: float, kind: str = "input",
            central: float | None = None) -> Input:
    """An input uniform on ``[low, high]`` (tornado: the ends, around the midpoint)."""
    return Input(name, kind, lambda u: low + np.asarray(u) * (high - low), low,
                 0.5 * (low + high) if central is None else central, high)


@dataclass(frozen=True)
class Problem:
    """The inputs a design varies."""

    inputs: tuple[Input, ...]

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def salib(self) -> dict:
        """SALib's problem on the unit cube (values come from :meth:`values`)."""
        return {"num_vars": len(self.inputs), "names": self.names,
                "bounds": [[0.0, 1.0]] * len(self.inputs)}

    def values(self, unit: np.ndarray) -> dict[str, np.ndarray]:
        """Each input's values for the points ``unit`` (``(runs, inputs)`` in [0, 1])."""
        return {i.name: np.asarray(i.ppf(unit[:, k]), dtype=float)
                for k, i in enumerate(self.inputs)}


def from_scenario(scenario: Scenario, uncertainties: bool = True,
                  levers: bool = True) -> Problem:
    """A scenario's uncertainties (their distributions) and levers (uniform within bounds)."""
    inputs = []
    if uncertainties:
        for name in sorted(scenario.uncertainties):
            u = scenario.uncertainties[name]
            lo, hi = (float(v) for v in u.ppf(np.array(TORNADO_QUANTILES)))
            inputs.append(Input(name, "uncertainty", u.ppf, lo, u.central, hi))
    if levers:
        for name in sorted(scenario.levers):
            lv = scenario.levers[name]
            if lv.bounds[1] > lv.bounds[0]:
                inputs.append(uniform(name, *lv.bounds, kind="lever", central=lv.value))
    if not inputs:
        raise InputError(scenario.path, "levers/uncertainties", "nothing to vary",
                         "give the scenario uncertainties or levers with bounds")
    return Problem(tuple(inputs))


def parse_outputs(spec: str | None, scenario: Scenario) -> list[str]:
    """Outputs named by ``spec``: ``goals`` (every goal margin), ``joint``, goal ids, a goal
    group, ``indicator:year``; comma-separated. Default: every goal margin and ``joint``."""
    goal_set = scenario.goal_set()
    out: list[str] = []
    for item in [s.strip() for s in (spec or "goals,joint").split(",") if s.strip()]:
        if item == "goals":
            out += goal_set.ids
        elif item == "joint" or item in goal_set.ids:
            out.append(item)
        elif item in goal_set.groups:
            out += [g for g in goal_set.groups[item] if g in goal_set.ids]
        elif ":" in item:
            ind, _, year = item.partition(":")
            years = model.saved_years(scenario.project)
            if ind not in scenario.project.indicators or not year.isdigit() \
                    or int(year) not in years:
                raise InputError("command line", "--outputs", f"'{item}' is not indicator:year",
                                 f"name an indicator of the project and a year "
                                 f"{years[0]}-{years[-1]}")
            out.append(f"{ind}:{int(year)}")
        else:
            raise InputError("command line", "--outputs", f"'{item}' is not an output",
                             "use goals, joint, a goal id or group, or indicator:year")
    return list(dict.fromkeys(out))


def design_futures(values: dict[str, np.ndarray], uncertainties) -> np.ndarray:
    """Each design row's future: the index of the first row with the same values of every
    uncertainty (rows that differ only in levers are one future, and meet the same noise);
    every row is future 0 when the design varies no uncertainty."""
    names = sorted(k for k in values if k in uncertainties)
    n = len(next(iter(values.values())))
    if not names:
        return np.zeros(n, dtype=np.int64)
    rows = np.column_stack([np.asarray(values[k], dtype=float) for k in names])
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first[inverse.ravel()].astype(np.int64)


def scenario_function(scenario: Scenario, outputs: list[str], seed: int = 0):
    """``values -> (run, output)`` for a scenario: one vectorised ensemble per call (a
    model's RANDOM functions draw a run's noise from the stream ``[seed, f]``, ``f`` the
    first row of the design with the same uncertainties: :func:`design_futures`)."""
    wanted = sorted({o.split(":")[0] for o in outputs if ":" in o})

    def function(values: dict[str, np.ndarray]) -> xr.DataArray:
        n = len(next(iter(values.values())))
        samples = xr.Dataset({k: ("run", v) for k, v in values.items()
                              if k in scenario.uncertainties},
                             coords={"run": np.arange(n), ensemble.FUTURE: (
                                 "run", design_futures(values, scenario.uncertainties))},
                             attrs={"seed": int(seed)})
        levers = {k: v for k, v in values.items() if k in scenario.levers}
        data = ensemble.run(scenario, samples, levers=levers, names=wanted)
        columns = []
        for o in outputs:
            if o == "joint":
                col = (data["joint"].astype(bool) & data["plausible"].astype(bool)).astype(float)
            elif ":" in o:
                ind, year = o.split(":")
                col = data[ind].sel(time=int(year))
            else:
                col = data["margin"].sel(goal=o)
            columns.append(np.asarray(col.values, dtype=float))
        y = xr.DataArray(np.column_stack(columns), dims=("run", "output"),
                         coords={"output": outputs})
        y.attrs["implausible_share"] = float(1 - data["plausible"].values.mean())
        return y

    return function


def indices(problem: Problem, function, method: str, n: int, seed: int = 0) -> xr.Dataset:
    """Sensitivity indices ``(output, input)`` of ``function`` by ``method`` on ``n`` base
    samples (Sobol: a power of 2; Morris: trajectories; PAWN: runs)."""
    if method not in METHODS:
        raise InputError("command line", "--method", f"'{method}' is not a method",
                         f"use one of {', '.join(METHODS)}")
    sampler, analyzer = METHODS[method]
    salib = problem.salib()
    try:
        unit = sampler.sample(salib, n, seed)
    except ValueError as exc:
        raise InputError("command line", "--runs", str(exc), "give a valid sample size") from exc
    y = function(problem.values(unit))
    finite = np.isfinite(y.values).all(axis=0)
    kept = [str(o) for o, ok in zip(y["output"].values, finite) if ok]
    rows = {o: analyzer.analyze(salib, unit, y.sel(output=o).values, seed=seed) for o in kept}
    ds = xr.Dataset({k: (("output", "input"), np.vstack([rows[o][k] for o in kept])
                         if kept else np.empty((0, len(problem.inputs))))
                     for k in analyzer.INDICES},
                    coords={"output": kept, "input": problem.names,
                            "kind": ("input", [i.kind for i in problem.inputs])})
    ds["output_std"] = ("output", np.array([float(np.std(y.sel(output=o).values))
                                            for o in kept]))
    ds.attrs.update({"method": method, "base_samples": int(n), "runs": int(unit.shape[0]),
                     "seed": int(seed), "sampler": sampler.__name__,
                     "outside_domain": ", ".join(str(o) for o, ok in
                                                 zip(y["output"].values, finite) if not ok)
                     or "none",
                     "implausible_share": y.attrs.get("implausible_share", 0.0)})
    return ds


def tornado_swings(problem: Problem, function) -> xr.Dataset:
    """Each input at its low and high setting, the others at base: outputs ``(output, input)``."""
    base = np.array([i.central for i in problem.inputs])
    low = np.array([i.low for i in problem.inputs])
    high = np.array([i.high for i in problem.inputs])
    x = tornado.design(base, low, high)
    y = function({name: x[:, k] for k, name in enumerate(problem.names)})
    outs = [str(o) for o in y["output"].values]
    parts = [tornado.analyze(y.sel(output=o).values) for o in outs]
    return xr.Dataset(
        {"base": ("output", [p["base"] for p in parts]),
         "at_low": (("output", "input"), np.vstack([p["low"] for p in parts])),
         "at_high": (("output", "input"), np.vstack([p["high"] for p in parts])),
         "swing": (("output", "input"), np.vstack([p["swing"] for p in parts])),
         "low_setting": ("input", low), "high_setting": ("input", high),
         "base_setting": ("input", base)},
        coords={"output": outs, "input": problem.names,
                "kind": ("input", [i.kind for i in problem.inputs])},
        attrs={"method": "tornado", "runs": int(x.shape[0]),
               "uncertainty_settings": f"quantiles {TORNADO_QUANTILES} of the distribution",
               "lever_settings": "the lever's bounds"})


def table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per output and input, one column per index: the CSV's shape."""
    names = [k for k in ds.data_vars if ds[k].dims == ("output", "input")]
    frame = ds[names].to_dataframe().reset_index()
    return frame.set_index(["output", "input"])


def write(ds: xr.Dataset, out_dir: Path | str, scenario: Scenario | None = None) -> list[Path]:
    """``<method>.nc`` (with provenance) and ``<method>.csv`` in ``out_dir``."""
    out_dir = Path(out_dir)
    method = ds.attrs["method"]
    attrs = {**ds.attrs, **results.provenance(scenario, ds.attrs.get("seed"))}
    nc = results.write_netcdf(ds, out_dir / f"{method}.nc", attrs)
    csv = results.write_csv(table(ds), out_dir / f"{method}.csv")
    return [nc, csv]


def _file_stem(method: str, output: str) -> str:
    """``method_output`` (``:`` as ``_``), checked by :func:`validate.name` (an output
    named by a result file on disk could carry a path)."""
    from ..inputs import validate

    return validate.name("result", "output", f"{method}_{output.replace(':', '_')}")


def charts(ds: xr.Dataset, out_dir: Path | str, goal_set=None, lang: str = "en") -> list[Path]:
    """One chart per output (PNG and SVG): tornado or index bars."""
    from .. import plotting

    out_dir = Path(out_dir)
    method = ds.attrs["method"]
    written = []
    key = {"sobol": "ST", "morris": "mu_star", "pawn": "median", "tornado": "swing"}[method]
    stems = {str(o): _file_stem(method, str(o)) for o in ds["output"].values}
    for output, stem in stems.items():
        if not np.any(ds[key].sel(output=output).values):  # constant: the report says so
            continue
        fig = (plotting.tornado(ds, output, goal_set, lang=lang) if method == "tornado"
               else plotting.indices(ds, output, goal_set, lang=lang))
        png = plotting.save(fig, out_dir / f"{stem}.png")
        written += [png, png.with_suffix(".svg")]
    return written


def report(ds: xr.Dataset, goal_set=None, lang: str = "en", top: int = 3) -> str:
    """The ``top`` inputs of every output, in words."""
    from ..present import labels

    method = ds.attrs["method"]
    key = {"sobol": "ST", "morris": "mu_star", "pawn": "median", "tornado": "swing"}[method]
    lines = [f"{method}: {ds.attrs['runs']} runs; inputs ranked by {key}"]
    if ds.attrs.get("outside_domain", "none") != "none":
        lines.append(f"outside the model's domain (non-finite), not analysed: "
                     f"{ds.attrs['outside_domain']}")
    for output in ds["output"].values:
        row = ds[key].sel(output=output)
        if not np.any(row.values):
            lines.append(f"  {labels.output(str(output), goal_set, lang)}: "
                         f"{labels.text('constant_output', lang)}")
            continue
        order = np.argsort(-row.values, kind="stable")[:top]
        best = ", ".join(f"{labels.parameter(str(row['input'].values[i]), lang)} "
                         f"{float(row.values[i]):.3g}" for i in order)
        lines.append(f"  {labels.output(str(output), goal_set, lang)}: {best}")
    return "\n".join(lines)
