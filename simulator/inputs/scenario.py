"""Scenario files: levers, uncertainties and overrides in the XLRM shape, checked before use.

A scenario (``scenarios/*.toml`` of a project) holds::

    name = "plan"
    description = "..."
    goals = "goals.toml"              # optional (default: the project's goals)
    uncertainties = "uncertainties.toml"  # optional: share one [uncertainties] file
    calibration = "calibrated.toml"   # optional (default: the project's calibration)

    [levers."talent attraction rate"]     # what the district decides (acting from 2006)
    value = 0.01
    bounds = [0.0, 0.03]                  # optional: the range a lever search may use

    [uncertainties."oil expansion shift"]    # what it does not control
    distribution = "triangular"           # uniform | triangular | truncnormal | discrete
    low = 0.02
    mode = 0.07
    high = 0.12
    # truncnormal: mean, sd, low, high;  discrete: values = [...], weights = [...]
    # central = ...  (optional; value of single runs; default mode / mean / midpoint)

    [overrides]                           # any other parameter, fixed
    "death rate" = 0.005

    [implementation."investment attraction"]  # a lever whose size the plan does not give:
    distribution = "uniform"              # sampled with the futures over a documented range
    low = 0.0                             # (a policy-implementation uncertainty); the same
    high = 0.25                           # keys as an uncertainty; not also under [levers]

A file a scenario names resolves next to the scenario first, then in the
project's scenarios folder, so a scenario copied anywhere still runs. A scenario
with neither an ``uncertainties`` file nor tables samples the project's shared
uncertainties (manifest key ``uncertainties``); write an empty ``[uncertainties]``
table for none. Every name is checked against the model (its role and documented
range) before anything runs; a problem raises :class:`~simulator.errors.InputError`
naming the file, the key and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from .. import calibrate
from ..errors import InputError
from . import goals, model, tomlfile, validate
from .project import Project, find

DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "discrete": ("values",),
}
TOP_KEYS = {"name", "description", "goals", "calibration", "levers", "uncertainties",
            "overrides", "implementation"}


@dataclass(frozen=True)
class Lever:
    name: str
    value: float
    bounds: tuple[float, float]


@dataclass(frozen=True)
class Uncertainty:
    """An uncertain parameter and its distribution."""

    name: str
    distribution: str
    spec: dict

    @property
    def low(self) -> float:
        return float(min(self.spec["values"])) if self.distribution == "discrete" \
            else float(self.spec["low"])

    @property
    def high(self) -> float:
        return float(max(self.spec["values"])) if self.distribution == "discrete" \
            else float(self.spec["high"])

    @property
    def central(self) -> float:
        s = self.spec
        if "central" in s:
            return float(s["central"])
        if self.distribution == "triangular":
            return float(s["mode"])
        if self.distribution == "truncnormal":
            return float(s["mean"])
        if self.distribution == "discrete":
            w = np.asarray(s.get("weights", [1.0] * len(s["values"])), dtype=float)
            return float(s["values"][int(np.argmax(w))])
        return 0.5 * (float(s["low"]) + float(s["high"]))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Map uniform [0, 1) samples to this distribution (inverse CDF)."""
        s = self.spec
        if self.distribution == "uniform":
            return s["low"] + u * (s["high"] - s["low"])
        if self.distribution == "triangular":
            c = (s["mode"] - s["low"]) / (s["high"] - s["low"])
            return stats.triang.ppf(u, c, loc=s["low"], scale=s["high"] - s["low"])
        if self.distribution == "truncnormal":
            a = (s["low"] - s["mean"]) / s["sd"]
            b = (s["high"] - s["mean"]) / s["sd"]
            return stats.truncnorm.ppf(u, a, b, loc=s["mean"], scale=s["sd"])
        values = np.asarray(s["values"], dtype=float)
        w = np.asarray(s.get("weights", [1.0] * len(values)), dtype=float)
        edges = np.cumsum(w) / w.sum()
        return values[np.minimum(np.searchsorted(edges, u, side="right"), len(values) - 1)]


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: levers, uncertainties, overrides, goals and calibration."""

    name: str
    description: str
    path: Path
    levers: dict[str, Lever]
    uncertainties: dict[str, Uncertainty]
    overrides: dict[str, float]
    goals_path: Path
    calibration_path: Path
    project: Project
    calibrated: dict[str, float] = field(default_factory=dict)
    uncertainties_path: Path | None = None  # the shared file, when the scenario names one
    goal_selection: str | None = None  # a group name or goal ids (see GoalSet.select)
    # levers whose intensity the plan does not give, sampled with the futures (also in
    # ``uncertainties``, so every ensemble draws them; a lever search does not move them)
    implementation: tuple[str, ...] = ()

    def goal_set(self) -> goals.GoalSet:
        """The goals evaluated: all of the goals file, or the selection."""
        full = goals.load(self.goals_path, self.project)
        return full if self.goal_selection is None else full.select(self.goal_selection)

    def with_goals(self, selection: str | None) -> Scenario:
        """The same scenario evaluating only ``selection`` (checked now)."""
        scen = dataclasses.replace(self, goal_selection=selection)
        scen.goal_set()
        return scen

    def deciding(self, names) -> Scenario:
        """The same scenario with the levers ``names`` set by the caller (a sweep): those of
        them sampled as implementation uncertainties are no longer drawn."""
        names = set(names) & set(self.implementation)
        if not names:
            return self
        return dataclasses.replace(
            self, uncertainties={k: u for k, u in self.uncertainties.items() if k not in names},
            implementation=tuple(k for k in self.implementation if k not in names))

    def base_parameters(self) -> dict[str, float]:
        """Calibrated values, then overrides, then lever values (uncertainties not set)."""
        params = dict(self.calibrated)
        params.update(self.overrides)
        params.update({k: lv.value for k, lv in self.levers.items()})
        return params

    def calibration_sets(self):
        """The calibration's history-matched ensemble (None for a point-only calibration)."""
        if not self.calibration_path.is_file():
            return None
        return calibrate.load_sets(self.calibration_path, self.project)

    def central_parameters(self) -> dict[str, float]:
        """Parameters of the single central run: base values and central uncertainties."""
        params = self.base_parameters()
        params.update({k: u.central for k, u in self.uncertainties.items()})
        return params


def _lever(path, name, table, params) -> Lever:
    key = f"levers.{name}"
    p = validate.known(path, key, name, params, ("lever",))
    if not isinstance(table, dict) or "value" not in table:
        raise InputError(path, key, "a lever needs a table with `value`",
                         f'write [levers."{name}"] with value = ...')
    extra = set(table) - {"value", "bounds"}
    if extra:
        raise InputError(path, f"{key}.{min(extra)}", "unknown key",
                         "a lever has only `value` and `bounds`")
    value = validate.number(path, f"{key}.value", table["value"])
    validate.in_range(path, f"{key}.value", p, value)
    bounds = table.get("bounds", [p.lower, p.upper])
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise InputError(path, f"{key}.bounds", "bounds must be [low, high]",
                         "write bounds = [low, high]")
    lo, hi = (validate.number(path, f"{key}.bounds", b) for b in bounds)
    if not lo <= value <= hi:
        raise InputError(path, f"{key}.bounds", f"[{lo:g}, {hi:g}] does not contain the value",
                         "widen the bounds or change the value")
    validate.in_range(path, f"{key}.bounds", p, lo)
    validate.in_range(path, f"{key}.bounds", p, hi)
    return Lever(name, value, (lo, hi))


def _uncertainty(path, name, table, params, section: str = "uncertainties",
                 roles: tuple[str, ...] = ("uncertain", "calibrated")) -> Uncertainty:
    key = f"{section}.{name}"
    p = validate.known(path, key, name, params, roles)
    if not isinstance(table, dict) or table.get("distribution") not in DISTRIBUTIONS:
        raise InputError(path, f"{key}.distribution", "missing or unknown distribution",
                         f"use one of {', '.join(DISTRIBUTIONS)}")
    dist = table["distribution"]
    allowed = set(DISTRIBUTIONS[dist]) | {"distribution", "central", "weights"}
    for k in table:
        if k not in allowed:
            raise InputError(path, f"{key}.{k}", f"not a key of a {dist} distribution",
                             f"use {', '.join(DISTRIBUTIONS[dist])} (and optionally central)")
    spec = {}
    for k in DISTRIBUTIONS[dist]:
        if k not in table:
            raise InputError(path, f"{key}.{k}", "missing", f"a {dist} distribution needs `{k}`")
    if dist == "discrete":
        values = validate.sequence(path, f"{key}.values", table["values"],
                                   "write values = [a, b, ...]")
        spec["values"] = [validate.number(path, f"{key}.values", v) for v in values]
        for v in spec["values"]:
            validate.in_range(path, f"{key}.values", p, v)
        if "weights" in table:
            weights = validate.sequence(path, f"{key}.weights", table["weights"],
                                        "write weights = [w1, w2, ...]")
            w = [validate.number(path, f"{key}.weights", v) for v in weights]
            if len(w) != len(values) or min(w) < 0 or sum(w) <= 0:
                raise InputError(path, f"{key}.weights", "weights do not match the values",
                                 "give one non-negative weight per value")
            spec["weights"] = w
    else:
        for k in DISTRIBUTIONS[dist]:
            spec[k] = validate.number(path, f"{key}.{k}", table[k])
        if not spec["low"] < spec["high"]:
            raise InputError(path, f"{key}.high", "high must exceed low", "swap or widen them")
        validate.in_range(path, f"{key}.low", p, spec["low"])
        validate.in_range(path, f"{key}.high", p, spec["high"])
        if dist == "triangular" and not spec["low"] <= spec["mode"] <= spec["high"]:
            raise InputError(path, f"{key}.mode", "mode outside [low, high]",
                             "put the mode between low and high")
        if dist == "truncnormal" and spec["sd"] <= 0:
            raise InputError(path, f"{key}.sd", "sd must be positive", "give sd > 0")
    u = Uncertainty(name, dist, spec)
    if "central" in table:
        spec["central"] = validate.number(path, f"{key}.central", table["central"])
        if not u.low <= spec["central"] <= u.high:
            raise InputError(path, f"{key}.central", "central outside the distribution's range",
                             "put central between low and high")
    return u


def reference(path: Path, value, key: str, project: Project) -> Path:
    """A file named in ``path``: next to it first, then in the project's scenarios folder;
    confined to the project's folder or the scenario's own (symbolic links resolved)."""
    from .project import inside

    validate.path_text(path, key, value)
    places = [path.parent.resolve(), project.scenarios]
    for place in places:
        target = (place / value).resolve()
        if target.is_file():
            if not (inside(target, project.root) or inside(target, places[0])):
                raise InputError(path, key, f"'{value}' is outside the project "
                                 f"({project.root}) and the scenario's folder",
                                 "keep the files a scenario names inside the project or "
                                 "beside the scenario")
            return target
    raise InputError(path, key, f"'{value}' found neither next to the scenario "
                     f"nor in the project ({places[1]})",
                     "give an existing file (relative to either)")


def resolve(name_or_path: str | Path | None, project: Project | None = None) -> Path:
    """A scenario path from a path or a name in the project's scenarios folder
    (``plan`` -> plan.toml); ``None`` is the project's default scenario."""
    project = find() if project is None else project
    if name_or_path is None:
        return project.default_scenario
    validate.path_text("command line", "SCENARIO", str(name_or_path),
                       f"give a path or a name from {project.scenarios} (e.g. plan)")
    p = Path(name_or_path)
    bare = str(name_or_path) == p.name  # a name, not a path: no directory part
    if bare and p.suffix != ".toml" and not p.exists():
        candidate = project.scenarios / f"{p.name}.toml"
        if candidate.exists():
            return candidate
    return p


def load(name_or_path: str | Path | None = None, project: Project | None = None) -> Scenario:
    """Read and check a scenario file (a path, or a name in the project's scenarios)."""
    project = find() if project is None else project
    path = resolve(name_or_path, project)
    data = tomlfile.read(path, "scenario file not found",
                         f"give a path or a name from {project.scenarios} (e.g. plan)")
    if not data:
        raise InputError(path, None, "empty scenario (no name, levers, uncertainties or "
                         "overrides)", "write the scenario's tables (see scenarios/plan.toml)")
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(path, key, "unknown key", f"use only {', '.join(sorted(TOP_KEYS))}")
    name = (validate.name(path, "name", data["name"]) if "name" in data
            else path.stem)
    description = validate.string(path, "description", data.get("description", ""))
    if "uncertainties" not in data and project.uncertainties is not None:
        data["uncertainties"] = str(project.uncertainties)
    if isinstance(data.get("uncertainties"), str):
        shared = reference(path, data["uncertainties"], "uncertainties", project)
        data["uncertainties"] = tomlfile.read(
            shared, "file not found", "give an existing uncertainties file").get(
            "uncertainties", {})
        path_for_uncertainties = shared
    else:
        path_for_uncertainties = path
    for section in ("levers", "uncertainties", "overrides", "implementation"):
        if not isinstance(data.get(section, {}), dict):
            raise InputError(path, section, "not a table", f"write [{section}] tables")
    params = model.parameters(project)
    levers = {n: _lever(path, n, t, params) for n, t in data.get("levers", {}).items()}
    uncs = {n: _uncertainty(path_for_uncertainties, n, t, params)
            for n, t in data.get("uncertainties", {}).items()}
    overrides = {}
    for n, v in data.get("overrides", {}).items():
        key = f"overrides.{n}"
        p = validate.known(path, key, n, params, ("calibrated", "uncertain", "lever", "fixed"))
        overrides[n] = validate.number(path, key, v)
        validate.in_range(path, key, p, overrides[n])
    implementation = {n: _uncertainty(path, n, t, params, "implementation", ("lever",))
                      for n, t in data.get("implementation", {}).items()}
    lever_set, unc_set, over_set = set(levers), set(uncs), set(overrides)
    both = (lever_set & unc_set) | (lever_set & over_set) | (unc_set & over_set) | (
        set(implementation) & (lever_set | unc_set | over_set))
    if both:
        name = min(both)
        raise InputError(path, name, "set in more than one section",
                         "list each parameter in one of levers, uncertainties, overrides, "
                         "implementation")
    goals_path = (project.goals if data.get("goals") is None
                  else reference(path, data["goals"], "goals", project))
    cal_path = (project.calibration if data.get("calibration") is None
                else reference(path, data["calibration"], "calibration", project))
    goals.load(goals_path, project)
    calibrated = calibrate.load_values(cal_path, project) if cal_path.is_file() else {}
    uncs.update(implementation)
    return Scenario(name=name, description=description, path=path.resolve(),
                    levers=levers, uncertainties=uncs, overrides=overrides,
                    implementation=tuple(sorted(implementation)),
                    goals_path=goals_path, calibration_path=cal_path, project=project,
                    calibrated=calibrated,
                    uncertainties_path=(path_for_uncertainties.resolve()
                                        if path_for_uncertainties != path else None))
