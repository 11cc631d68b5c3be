"""Plan projects: a folder with a ``plansim.toml`` manifest naming the plan's files.

A project is found from ``--project DIR``, else the current directory and its
parents, else the bundled example (the Karamay District plan, shipped with the
package). Every command and API call gets its model, indicator definitions,
history, goals, calibration and scenarios from one :class:`Project`; nothing in
``simulator/`` names a variable of a particular model. The manifest::

    name = "..."                                 # the plan, as results report it
    model = "models/town.mdl"                    # Vensim model
    indicators = "models/indicators.toml"        # indicator name -> model variable
    goals = "scenarios/goals.toml"               # the plan's goals
    calibration = "scenarios/calibrated.toml"    # written by `plansim calibrate`
    uncertainties = "scenarios/uncertainties.toml"  # optional: default shared futures
    loops = "models/loops.toml"                  # optional: loops spec of `plansim loops`
    scenarios = "scenarios"                      # where scenario names resolve
    default_scenario = "plan"                    # scenario of `plansim run` / `reach`
    [history]                                    # the plan's past figures:
    file = "models/data/history.csv"             #   what the calibration fits, and
    years = [2000, 2005]                         #   how runs are compared with it
    errors = "models/data/history_errors.csv"    #   optional: each figure's error model
    [analyze]                                    # what `plansim analyze` charts

Paths are relative to the manifest and must stay inside the project folder (symbolic
links resolved); ``model`` is a ``.mdl`` (or ``.xmile``) file. See README.md ("Use
plansim for your own plan", "What plansim refuses").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import InputError
from . import tomlfile, validate

MANIFEST = "plansim.toml"
TOP_KEYS = {"name", "name_zh", "description", "model", "indicators", "history", "goals", "calibration",
            "uncertainties", "scenarios", "default_scenario", "analyze", "loops"}
HISTORY_KEYS = {"file", "years", "errors", "initial_values", "derived", "not_represented",
                "soft_target"}
REPLACED_HISTORY_KEYS = {"relative_tolerance", "point_tolerance"}  # by the error model
DERIVED_KEYS = {"indicator", "measure", "base_year"}
SOFT_TARGET_KEYS = {"indicator", "year", "value", "sd", "reason"}
ANALYZE_KEYS = {"fan_charts"}


@dataclass(frozen=True)
class Derived:
    """A history figure computed from an indicator (e.g. compound growth since a year)."""

    indicator: str
    measure: str  # "growth" (%/yr compound) | "ratio" | "increase" (per year)
    base_year: int


@dataclass(frozen=True)
class SoftTarget:
    """A calibration assumption: an indicator's value in a year, with a standard deviation
    (the indicator's unit) that weighs it like a history figure's error."""

    indicator: str
    year: int
    value: float
    sd: float
    reason: str


@dataclass(frozen=True)
class HistorySettings:
    """How the model is compared with the plan's history (manifest ``[history]``)."""

    years: range
    initial_values: tuple[str, ...] = ()
    derived: dict[str, Derived] = field(default_factory=dict)
    not_represented: dict[str, str] = field(default_factory=dict)
    soft_targets: tuple[SoftTarget, ...] = ()


@dataclass(frozen=True, eq=False)
class Project:
    """A plan project: its files and per-plan settings (see the module docstring)."""

    root: Path
    name: str
    name_zh: str  # the plan's name in Chinese texts (default: name)
    description: str
    model: Path
    indicators_file: Path
    history: Path
    history_errors: Path | None  # observation-error model (simulator.calibrate.errors)
    goals: Path
    calibration: Path
    uncertainties: Path | None
    loops: Path | None  # feedback-loop spec of `plansim loops`
    scenarios: Path
    default_scenario: Path
    history_settings: HistorySettings
    fan_charts: tuple[str, ...] = ()
    found_by: str = "given"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @cached_property
    def indicators(self) -> dict:
        """The indicator definitions (:class:`simulator.inputs.indicators.Indicator` by name),
        checked to define every indicator the manifest names."""
        from . import indicators

        catalogue = indicators.load(self.indicators_file)
        settings = self.history_settings
        named = [("analyze.fan_charts", n) for n in self.fan_charts]
        named += [(f"history.derived.{k}.indicator", d.indicator)
                  for k, d in settings.derived.items()]
        named += [(f"history.soft_target[{i}].indicator", t.indicator)
                  for i, t in enumerate(settings.soft_targets)]
        named += [("history.initial_values", n) for n in settings.initial_values]
        for key, name in named:
            if name not in catalogue:
                raise InputError(self.manifest, key, f"'{name}' is not an indicator of "
                                 f"{self.indicators_file.name}",
                                 "name an indicator defined there, or define it")
        return catalogue

    @property
    def cache_dir(self) -> Path:
        """Where translated models are cached: the per-user cache (``PLANSIM_CACHE_DIR``
        overrides it), never beside the model."""
        from ..engine.translate import default_cache_dir

        return default_cache_dir()

    def describe(self) -> str:
        """One line: which project is used, and how it was found."""
        return f"project '{self.name}' ({self.root}; {self.found_by})"


MODEL_SUFFIXES = (".mdl", ".xmile", ".stmx")  # Vensim; Stella/iThink XMILE


def inside(target: Path, root: Path) -> bool:
    """Whether the resolved ``target`` lies in the resolved folder ``root``."""
    return Path(target).resolve().is_relative_to(Path(root).resolve())


def _path(manifest: Path, data: dict, key: str, *, directory: bool = False,
          required: bool = True, label: str | None = None) -> Path | None:
    """A manifest path: inside the project (symbolic links resolved), else one line."""
    value = data.get(key)
    key = label or key
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise InputError(manifest, key, "missing or not a path",
                         f'write {key} = "relative/path" (relative to {MANIFEST})')
    target = (manifest.parent / value).resolve()
    if not inside(target, manifest.parent):
        raise InputError(manifest, key, f"'{value}' is outside the project folder "
                         f"{manifest.parent}", "keep the project's files inside its folder "
                         "(a path on the command line may point elsewhere)")
    if key == "model" and target.suffix.lower() not in MODEL_SUFFIXES:
        raise InputError(manifest, key, f"'{value}' is not a model file "
                         f"({' or '.join(MODEL_SUFFIXES)})", "name the project's Vensim model")
    ok = target.is_dir() if directory else target.is_file()
    if not ok and not (key == "calibration" and target.parent.is_dir()):
        what = "folder" if directory else "file"
        raise InputError(manifest, key, f"{what} '{value}' not found",
                         f"give a {what} relative to {manifest.parent}")
    return target


def _year(manifest, key, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(manifest, key, f"{value!r} is not a year", "write a year, e.g. 2005")
    return value


def _number(manifest, key, value, positive=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            positive and value <= 0):
        raise InputError(manifest, key, f"{value!r} is not a {'positive ' if positive else ''}"
                         "number", "write a number")
    return float(value)


def _table(manifest, key, value, allowed: set[str] | None = None) -> dict:
    if not isinstance(value, dict):
        raise InputError(manifest, key, "not a table", f"write [{key}]")
    for k in value:
        if allowed is not None and k not in allowed:
            raise InputError(manifest, f"{key}.{k}", "unknown key",
                             f"use only {', '.join(sorted(allowed))}")
    return value


MAX_YEAR = 10_000
"""History years are calendar years (or model years): at most this in size."""


def _history_settings(manifest: Path, data: dict) -> HistorySettings:
    table = _table(manifest, "history", data.get("history"), HISTORY_KEYS)
    years = table.get("years")
    if (not isinstance(years, list) or len(years) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in years)
            or years[0] > years[1]):
        raise InputError(manifest, "history.years", f"{years!r} is not [first, last]",
                         "write years = [first year, last year] of the history")
    if not all(-MAX_YEAR <= y <= MAX_YEAR for y in years):
        raise InputError(manifest, "history.years", f"{years!r} is not a pair of calendar "
                         f"years (at most {MAX_YEAR} in size)",
                         "write years = [first year, last year] of the history")
    for key in REPLACED_HISTORY_KEYS & set(table):
        raise InputError(manifest, f"history.{key}", "replaced by the observation-error model",
                         'remove it; give each figure\'s error in the file of errors = "..." '
                         "(see `plansim calibrate --report`)")
    derived = {}
    for name, spec in _table(manifest, "history.derived", table.get("derived", {})).items():
        key = f"history.derived.{name}"
        spec = _table(manifest, key, spec, DERIVED_KEYS)
        if spec.get("measure") not in ("growth", "ratio", "increase") or not isinstance(
                spec.get("indicator"), str):
            raise InputError(manifest, key, "needs indicator, measure and base_year",
                             'write indicator = "...", measure = "growth", base_year = YEAR')
        derived[name] = Derived(spec["indicator"], spec["measure"],
                                _year(manifest, f"{key}.base_year", spec.get("base_year")))
    not_represented = _table(manifest, "history.not_represented",
                             table.get("not_represented", {}))
    targets = []
    soft = table.get("soft_target", [])
    if not isinstance(soft, list):
        raise InputError(manifest, "history.soft_target", "not a list of tables",
                         "write [[history.soft_target]] tables")
    for i, spec in enumerate(soft):
        key = f"history.soft_target[{i}]"
        spec = _table(manifest, key, spec, SOFT_TARGET_KEYS)
        missing = SOFT_TARGET_KEYS - set(spec)
        if missing:
            raise InputError(manifest, f"{key}.{min(missing)}", "missing",
                             f"a soft target needs {', '.join(sorted(SOFT_TARGET_KEYS))}")
        targets.append(SoftTarget(str(spec["indicator"]),
                                  _year(manifest, f"{key}.year", spec["year"]),
                                  _number(manifest, f"{key}.value", spec["value"]),
                                  _number(manifest, f"{key}.sd", spec["sd"], True),
                                  str(spec["reason"])))
    initial = table.get("initial_values", [])
    if not isinstance(initial, list) or not all(isinstance(v, str) for v in initial):
        raise InputError(manifest, "history.initial_values", "not a list of indicator names",
                         'write initial_values = ["indicator", ...]')
    return HistorySettings(
        years=range(years[0], years[1] + 1),
        initial_values=tuple(initial), derived=derived,
        not_represented={str(k): str(v) for k, v in not_represented.items()},
        soft_targets=tuple(targets))


def load(directory: Path | str, found_by: str = "given") -> Project:
    """Read and check the manifest of the project in ``directory``."""
    root = Path(directory).resolve()
    manifest = root / MANIFEST
    data = tomlfile.read(manifest, "no plansim.toml here",
                         "give a project folder (`plansim init DIR` makes one)")
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(manifest, key, "unknown key",
                             f"use only {', '.join(sorted(TOP_KEYS))}")
    if not isinstance(data.get("history"), dict):
        raise InputError(manifest, "history", "missing or not a table",
                         'write [history] with file = "models/data/history.csv" and years')
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(manifest, "name", "missing", 'write name = "the plan\'s name"')
    name_zh = data.get("name_zh", name)
    if not isinstance(name_zh, str) or not name_zh.strip():
        raise InputError(manifest, "name_zh", "not a name",
                         'write name_zh = "规划名称" (the plan\'s name in Chinese) or leave it out')
    validate.text(manifest, "name", name)  # shown in every verdict, chart and brief
    validate.text(manifest, "name_zh", name_zh)
    validate.text(manifest, "description", data.get("description", "-"), limit=2000)
    scenarios = _path(manifest, data, "scenarios", directory=True)
    default = data.get("default_scenario", "plan")
    if not isinstance(default, str):
        raise InputError(manifest, "default_scenario", "not a name",
                         'write default_scenario = "plan"')
    default_path = scenarios / (default if default.endswith(".toml") else f"{default}.toml")
    if not default_path.is_file():
        raise InputError(manifest, "default_scenario", f"'{default_path}' not found",
                         f"name a scenario file in {scenarios}")
    analyze = _table(manifest, "analyze", data.get("analyze", {}), ANALYZE_KEYS)
    fans = analyze.get("fan_charts", [])
    if not isinstance(fans, list) or not all(isinstance(f, str) for f in fans):
        raise InputError(manifest, "analyze.fan_charts", "not a list of indicator names",
                         'write fan_charts = ["indicator", ...]')
    return Project(
        root=root, name=name.strip(), name_zh=name_zh.strip(), description=str(data.get("description", "")),
        model=_path(manifest, data, "model"), indicators_file=_path(manifest, data, "indicators"),
        history=_path(manifest, data["history"], "file", label="history.file"),
        history_errors=_path(manifest, data["history"], "errors", required=False,
                             label="history.errors"),
        goals=_path(manifest, data, "goals"),
        calibration=_path(manifest, data, "calibration"),
        uncertainties=_path(manifest, data, "uncertainties", required=False),
        loops=_path(manifest, data, "loops", required=False),
        scenarios=scenarios, default_scenario=default_path,
        history_settings=_history_settings(manifest, data), fan_charts=tuple(fans),
        found_by=found_by)


def bundled_root() -> Path:
    """The bundled example: in the installed package, or this source checkout's root."""
    here = Path(__file__).resolve().parents[1]  # the simulator package
    for candidate in (here / "_karamay", here.parent):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise InputError(here, None, "the bundled example project is missing",
                     "reinstall plansim, or give --project DIR")


def find(explicit: Path | str | None = None, start: Path | str | None = None) -> Project:
    """The project of ``--project DIR``, else of ``start`` (default cwd) or a parent,
    else the bundled example."""
    if explicit is not None:
        if not (Path(explicit) / MANIFEST).is_file():
            raise InputError(explicit, "--project", f"no {MANIFEST} in this folder",
                             "give a project folder (`plansim init DIR` makes one)")
        return load(explicit, "--project")
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return load(folder, "found from the current directory")
    return load(bundled_root(), "bundled example")
