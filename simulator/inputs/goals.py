"""Plan goals: loading ``goals.toml`` and evaluating signed margins on indicator data.

A margin is normalised by the goal's threshold and is positive when the goal is
met; a goal over several years takes its smallest margin. Evaluation works on any
indicator dataset with dims ``(run, time)`` and returns ``(run, goal)`` arrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError
from . import model, tomlfile, validate
from .project import Project, find

COMPARATORS = (">=", ">", "<=", "<", "approx")
# "target": a figure the plan sets (控制在, 达到…以上, 降低…左右), part of the joint verdict;
# "projection": a figure the plan expects and sizes its services for (将达…左右), evaluated and
# shown as the plan's expectation but outside the joint verdict, the rankings and the search
KINDS = ("target", "projection")
MEASURES = ("level", "ratio", "growth", "increase")
_REQUIRED = ("id", "indicator", "years", "comparator", "threshold", "unit", "section", "quote")
FROM_PROJECT = object()  # default of goals.load: the project's model years and indicators


@dataclass(frozen=True)
class Goal:
    """One goal of the plan, as the model can evaluate it."""

    id: str
    indicator: str
    years: tuple[int, ...]
    comparator: str
    threshold: float
    unit: str
    section: str
    quote: str
    measure: str = "level"
    base_year: int | None = None
    tolerance: float = 0.0
    note: str = ""
    label_zh: str = ""  # short names for charts and briefs (simulator.present.labels derives them
    label_en: str = ""  # from the indicator when goals.toml does not give them)
    other_reading: str = ""  # an indicator the goal could also be read on (e.g. real income
    reading: str = ""        # for a growth rate the plan does not call real), and why not
    kind: str = "target"  # or "projection" (KINDS)
    # the other reading's threshold, when the other reading is another figure of the same
    # clause (e.g. 年均增长15% beside the 8亿元 it states with it); None: the goal's own
    other_threshold: float | None = None

    def other(self) -> Goal | None:
        """The goal read the other way (its other indicator and/or threshold), or None."""
        if not (self.other_reading or self.other_threshold is not None):
            return None
        return dataclasses.replace(
            self, indicator=self.other_reading or self.indicator,
            threshold=self.threshold if self.other_threshold is None else self.other_threshold,
            other_reading="", other_threshold=None, reading="")

    def describe(self) -> str:
        """A one-line statement of the goal, e.g. ``tertiary_share > 30 % in 2010``."""
        years = (f"{self.years[0]}" if len(self.years) == 1
                 else f"every year {self.years[0]}-{self.years[-1]}")
        what = {"level": self.indicator,
                "ratio": f"{self.indicator} / {self.base_year}",
                "growth": f"{self.indicator} growth since {self.base_year}",
                "increase": f"{self.indicator} yearly increase since {self.base_year}"}
        comp = "≈" if self.comparator == "approx" else self.comparator
        tol = f" ± {self.tolerance:g}" if self.tolerance else ""
        return f"{what[self.measure]} {comp} {self.threshold:g}{tol} {self.unit}, {years}"


@dataclass(frozen=True)
class GoalSet:
    """The goals the model represents, and those it cannot (with reasons)."""

    goals: tuple[Goal, ...]
    out_of_scope: tuple[dict, ...] = field(default_factory=tuple)
    source: str = ""
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the plan's projections (kind = "projection"): evaluated beside the goals, never part
    # of ``goals``, so the joint verdict, rankings, groups and lever search never see them
    projections: tuple[Goal, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[str]:
        return [g.id for g in self.goals]

    def subset(self, ids: list[str]) -> GoalSet:
        chosen = tuple(g for g in self.goals if g.id in set(ids))
        return GoalSet(chosen, self.out_of_scope, self.source, self.groups, self.projections)

    def select(self, spec: str) -> GoalSet:
        """The goals named by ``spec``: comma-separated group names and goal ids."""
        names = [s.strip() for s in str(spec).split(",") if s.strip()]
        ids: list[str] = []
        for name in names:
            for gid in self.groups.get(name, (name,)):
                if gid not in ids:
                    ids.append(gid)
        unknown = [i for i in ids if i not in self.ids]
        projected = [i for i in unknown if i in {p.id for p in self.projections}]
        if projected:
            raise InputError(self.source, "--goals", f"'{projected[0]}' is a projection of "
                             "the plan, not a goal: it is shown beside every verdict and "
                             "never part of one", "select goals (targets) or groups")
        if unknown or not ids:
            raise InputError(self.source, "--goals", f"'{unknown[0] if unknown else spec}' is "
                             "neither a goal id nor a group",
                             f"use groups ({', '.join(sorted(self.groups))}) or goal ids "
                             "from `plansim goals`")
        return self.subset(ids)

    def __getitem__(self, goal_id: str) -> Goal:
        for g in (*self.goals, *self.projections):
            if g.id == goal_id:
                return g
        raise KeyError(goal_id)


def _goal_from_table(path: Path, i: int, table: dict, years_available: tuple[int, ...] | None,
                     vocabulary) -> Goal:
    where = f"goal[{i}]"
    for key in _REQUIRED:
        if key not in table:
            raise InputError(path, f"{where}.{key}", "missing", f"add `{key} = ...` to this goal")
    gid = validate.name(path, f"{where}.id", table["id"])
    where = f"goal '{gid}'"
    for key in ("unit", "section", "quote", "note", "label_zh", "label_en", "reading", "kind"):
        if key in table:
            validate.string(path, f"{where}.{key}", table[key])
    allowed = set(_REQUIRED) | {"measure", "base_year", "tolerance", "note", "label_zh",
                                 "label_en", "other_reading", "other_threshold", "reading",
                                 "kind"}
    for key in table:
        if key not in allowed:
            raise InputError(path, f"{where}.{key}", "unknown key",
                             f"use only {', '.join(sorted(allowed))}")
    if not isinstance(table["indicator"], str) or not table["indicator"]:
        raise InputError(path, f"{where}.indicator", "not a name", "write the indicator's name")
    if vocabulary is not None and table["indicator"] not in vocabulary:
        raise InputError(path, f"{where}.indicator", f"unknown indicator '{table['indicator']}'",
                         "name an indicator of the project's indicators file")
    other = table.get("other_reading", "")
    if not isinstance(other, str) or (other and vocabulary is not None
                                      and other not in vocabulary):
        raise InputError(path, f"{where}.other_reading", f"unknown indicator {other!r}",
                         "name an indicator of the project's indicators file")
    other_threshold = (validate.number(path, f"{where}.other_threshold",
                                       table["other_threshold"])
                       if "other_threshold" in table else None)
    if other_threshold == 0:
        raise InputError(path, f"{where}.other_threshold", "zero",
                         "margins are normalised by the threshold; use a non-zero threshold")
    if (other or other_threshold is not None) and not table.get("reading"):
        raise InputError(path, f"{where}.reading", "missing",
                         "say why the goal is read on its indicator and not on the other")
    kind = table.get("kind", "target")
    if kind not in KINDS:
        raise InputError(path, f"{where}.kind", f"'{kind}' is not allowed",
                         'use "target" (a figure the plan sets) or "projection" (a figure '
                         "it expects: shown, never part of the joint verdict)")
    if not isinstance(table["comparator"], str) or table["comparator"] not in COMPARATORS:
        raise InputError(path, f"{where}.comparator", f"'{table['comparator']}' is not allowed",
                         f"use one of {', '.join(COMPARATORS)}")
    measure = table.get("measure", "level")
    if not isinstance(measure, str) or measure not in MEASURES:
        raise InputError(path, f"{where}.measure", f"'{measure}' is not allowed",
                         f"use one of {', '.join(MEASURES)}")
    years = table["years"]
    span = years_available if years_available is not None else range(-10**6, 10**6)
    if (not isinstance(years, list) or not years or len(years) > len(span)
            or not all(isinstance(y, int) and y in span for y in years)):
        raise InputError(path, f"{where}.years", f"{years!r} is not a list of model years",
                         f"give years within {span[0]}-{span[-1]}")
    base = table.get("base_year")
    if measure != "level" and (not isinstance(base, int) or isinstance(base, bool)
                               or base not in span
                               or base >= min(years)):
        raise InputError(path, f"{where}.base_year", f"{base!r} does not fit measure '{measure}'",
                         "give a model year before the goal's years")
    threshold = validate.number(path, f"{where}.threshold", table["threshold"])
    tolerance = validate.number(path, f"{where}.tolerance", table.get("tolerance", 0.0))
    if threshold == 0 or tolerance < 0:
        raise InputError(path, f"{where}.threshold", "threshold is zero or tolerance negative",
                         "margins are normalised by the threshold; use a non-zero threshold")
    return Goal(id=gid, indicator=table["indicator"], years=tuple(years),
                comparator=table["comparator"], threshold=threshold, unit=table["unit"],
                section=table["section"], quote=table["quote"], measure=measure,
                base_year=base, tolerance=tolerance, note=table.get("note", ""),
                label_zh=str(table.get("label_zh", "")), label_en=str(table.get("label_en", "")),
                other_reading=other, reading=str(table.get("reading", "")), kind=kind,
                other_threshold=other_threshold)


def load(path: Path | str | None = None, project: Project | None = None, *,
         years_available=FROM_PROJECT, vocabulary=FROM_PROJECT) -> GoalSet:
    """Read and check a goals file (default: the project's); bad content raises
    :class:`InputError`.

    ``years_available`` and ``vocabulary`` (indicator names) are the project's model
    years and indicators by default; ``None`` accepts any year or name (``plansim
    audit`` reads a plan without a model).
    """
    if path is None or years_available is FROM_PROJECT or vocabulary is FROM_PROJECT:
        project = find() if project is None else project
        years_available = model.saved_years(project) if years_available is FROM_PROJECT else years_available
        vocabulary = project.indicators if vocabulary is FROM_PROJECT else vocabulary
    path = project.goals if path is None else Path(path)
    data = tomlfile.read(path, "file not found", "give the path of an existing goals file")
    unknown = sorted(set(data) - {"goal", "groups", "out_of_scope"})
    if unknown:
        raise InputError(path, unknown[0], "unknown key", "use only goal, groups, out_of_scope")
    tables = data.get("goal")
    if not isinstance(tables, list) or not tables:
        raise InputError(path, "goal", "no [[goal]] tables", "add at least one [[goal]]")
    validate.sequence(path, "goal", tables, "keep the goals file to the plan's goals")
    for i, t in enumerate(tables):
        validate.table(path, f"goal[{i}]", t, "write each goal as a [[goal]] table")
    goals = [_goal_from_table(path, i, t, years_available, vocabulary)
             for i, t in enumerate(tables)]
    ids = [g.id for g in goals]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(path, f"goal '{dupes[0]}'", "duplicate id", "give every goal its own id")
    projections = tuple(g for g in goals if g.kind == "projection")
    goals = [g for g in goals if g.kind == "target"]
    if not goals:
        raise InputError(path, "goal", "every [[goal]] is a projection",
                         'add at least one goal with kind = "target" (the default)')
    groups = {}
    group_tables = validate.table(path, "groups", data.get("groups", {}),
                                  'write [groups] with name = ["goal id", ...]')
    for name, members in group_tables.items():
        projected = [m for m in members if m in {p.id for p in projections}] \
            if isinstance(members, list) else []
        if projected:
            raise InputError(path, f"groups.{name}", f"'{projected[0]}' is a projection",
                             "list goals (targets) only: a projection is never part of a "
                             "joint verdict or a frontier group")
        if not isinstance(members, list) or not all(m in ids for m in members):
            bad = next((m for m in members if m not in ids), members) \
                if isinstance(members, list) else members
            raise InputError(path, f"groups.{name}", f"{bad!r} is not a goal id",
                             "list ids of [[goal]] tables")
        groups[name] = tuple(members)
    out_of_scope = validate.sequence(path, "out_of_scope", data.get("out_of_scope", []),
                                     "write [[out_of_scope]] tables", allow_empty=True)
    for i, entry in enumerate(out_of_scope):
        validate.table(path, f"out_of_scope[{i}]", entry,
                       "write [[out_of_scope]] tables with goal, section and reason")
        for key in ("goal", "section", "reason"):
            validate.string(path, f"out_of_scope[{i}].{key}", entry.get(key))
    return GoalSet(tuple(goals), tuple(out_of_scope), str(path), groups, projections)


def indicators_needed(goal_set: GoalSet) -> set[str]:
    """Indicators the goals are read on, their other readings included."""
    return ({g.indicator for g in (*goal_set.goals, *goal_set.projections)}
            | {g.other_reading for g in goal_set.goals if g.other_reading})


def band(goal: Goal) -> tuple[float | None, float | None]:
    """The values that meet ``goal`` (None: unbounded on that side), e.g. 235,000-245,000
    persons for 约24万 rounded to the nearest 万."""
    lo, hi = goal.threshold - goal.tolerance, goal.threshold + goal.tolerance
    return {">=": (lo, None), ">": (lo, None), "<=": (None, hi), "<": (None, hi),
            "approx": (lo, hi)}[goal.comparator]


def measured(goal: Goal, values: xr.DataArray) -> xr.DataArray:
    """The goal's measure of an indicator over ``(run, time)``, at the goal's years."""
    at = values.sel(time=list(goal.years))
    if goal.measure == "level":
        return at
    base = values.sel(time=goal.base_year)
    elapsed = at["time"] - goal.base_year
    if goal.measure == "ratio":
        return at / base
    if goal.measure == "growth":
        return 100.0 * ((at / base) ** (1.0 / elapsed) - 1.0)
    return (at - base) / elapsed


def margin(goal: Goal, value: xr.DataArray) -> xr.DataArray:
    """Signed margin normalised by the threshold (>= 0 means met, for >= <= approx)."""
    t, tol = goal.threshold, goal.tolerance
    if goal.comparator in (">=", ">"):
        m = (value - (t - tol)) / abs(t)
    elif goal.comparator in ("<=", "<"):
        m = ((t + tol) - value) / abs(t)
    else:
        m = (tol - abs(value - t)) / abs(t)
    return m


def _met(goal: Goal, value: xr.DataArray) -> xr.DataArray:
    t, tol = goal.threshold, goal.tolerance
    return {">=": value >= t - tol, ">": value > t - tol, "<=": value <= t + tol,
            "<": value < t + tol, "approx": abs(value - t) <= tol}[goal.comparator]


def _measure_checked(goal: Goal, data: xr.Dataset) -> xr.DataArray:
    v = measured(goal, data[goal.indicator])
    bad = ~np.isfinite(v)
    if bool(bad.any()):
        run = int(v["run"].values[np.argwhere(bad.values)[0][0]])
        raise FloatingPointError(
            f"goal '{goal.id}': indicator '{goal.indicator}' is not finite in run {run}")
    return v


def holds(goal: Goal, data: xr.Dataset) -> xr.DataArray:
    """Whether ``goal`` (or projection) holds in every one of its years, per run."""
    return _met(goal, _measure_checked(goal, data)).all("time")


def _worst(goal: Goal, v: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The value and margin in the goal's worst year, and whether it holds in every year."""
    m = margin(goal, v)
    worst = m.argmin("time")
    return (v.isel(time=worst).drop_vars("time", errors="ignore"),
            m.isel(time=worst).drop_vars("time", errors="ignore"), _met(goal, v).all("time"))


def evaluate(data: xr.Dataset, goals: GoalSet) -> xr.Dataset:
    """Margins, met flags and the joint flag for every run and goal.

    ``data`` holds indicators with dims ``(run, time)`` (a missing ``run`` dim is
    added). Returns ``value`` and ``margin`` ``(run, goal)``, ``met`` ``(run, goal)``
    and ``joint`` ``(run,)``; ``met_other_reading`` ``(run, goal)`` is the goal read on its
    ``other_reading`` indicator (its own ``met`` where it has none). The plan's projections
    (``goals.projections``, those whose indicator ``data`` hold) give ``projection_value``
    and ``projection_met``
    ``(run, projection)``, never part of ``joint``. A NaN or inf raises
    ``FloatingPointError`` naming the run and the goal.
    """
    if "run" not in data.dims:
        data = data.expand_dims(run=[0])
    values, margins, mets, others = [], [], [], []
    for goal in goals.goals:
        v = _measure_checked(goal, data)
        value, m, met = _worst(goal, v)
        values.append(value)
        margins.append(m)
        mets.append(met)
        # the other reading, when the goal has one and the data hold its indicator
        other = goal.other()
        others.append(_met(other, measured(other, data[other.indicator])).all("time")
                      if other is not None and other.indicator in data else mets[-1])
    goal_index = xr.DataArray(goals.ids, dims="goal", name="goal")
    out = xr.Dataset({
        "value": xr.concat(values, dim=goal_index),
        "margin": xr.concat(margins, dim=goal_index),
        "met": xr.concat(mets, dim=goal_index),
        "met_other_reading": xr.concat(others, dim=goal_index),
    }).transpose("run", "goal")
    out["joint"] = out["met"].all("goal")
    out["met_other_reading"].attrs["readings"] = ";".join(
        f"{g.id}={o.indicator}" for g in goals.goals if (o := g.other()) is not None)
    out["met_other_reading"].attrs["thresholds"] = ";".join(
        f"{g.id}={g.other_threshold!r}" for g in goals.goals if g.other_threshold is not None)
    out["margin"].attrs["description"] = "signed margin / |threshold|; >= 0 means met"
    out["value"].attrs["description"] = "goal measure in the goal's worst year"
    # the projections whose indicator the data hold (as for other readings)
    projections = [p for p in goals.projections if p.indicator in data]
    if projections:
        shown = [_worst(p, _measure_checked(p, data)) for p in projections]
        index = xr.DataArray([p.id for p in projections], dims="projection",
                             name="projection")
        out["projection_value"] = xr.concat([s[0] for s in shown], dim=index).transpose(
            "run", "projection")
        out["projection_met"] = xr.concat([s[2] for s in shown], dim=index).transpose(
            "run", "projection")
        out["projection_met"].attrs["description"] = (
            "the plan's projection holds (its band); never part of joint")
    return out
