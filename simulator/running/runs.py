"""A scenario's central run: the plan's policy on the calibrated model, goals evaluated.

``run_scenario`` is what ``plansim run`` does: one run with every uncertainty at
its central value, every indicator over the model's years, and the scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

from ..errors import DomainError
from ..inputs import goals as goals_mod
from ..inputs import scenario as scenario_mod
from ..inputs.project import Project
from ..numbers import positional
from . import simulate


@dataclass
class ScenarioRun:
    """Indicators ``(time)`` and goal evaluation of one central run."""

    scenario: scenario_mod.Scenario
    indicators: xr.Dataset
    evaluation: xr.Dataset
    goal_set: goals_mod.GoalSet

    @property
    def all_met(self) -> bool:
        return bool(self.evaluation["joint"].item())

    def scorecard(self) -> str:
        """Each goal: value, target, margin and met/missed; then the joint verdict."""
        ev = self.evaluation.isel(run=0)
        lines = [(f"Scenario '{self.scenario.name}': central run "
                 f"({len(self.goal_set.goals)} goals)"),
                 f"{'goal':28s} {'value':>12s}  {'target':>22s} {'margin':>8s}  status"]
        for g in self.goal_set.goals:
            e = ev.sel(goal=g.id)
            comp = "≈" if g.comparator == "approx" else g.comparator
            tol = f"±{g.tolerance:g}" if g.tolerance else ""
            target = f"{comp} {plain(g.threshold)}{tol}"
            lines.append(f"{g.id:28s} {plain(float(e['value'])):>12s}  {target:>22s} "
                         f"{100 * float(e['margin']):>+7.1f}%  "
                         f"{'met' if bool(e['met']) else 'MISSED'}")
        missed = [g.id for g in self.goal_set.goals if not bool(ev['met'].sel(goal=g.id))]
        verdict = ("All goals met together." if not missed else
                   f"Not all met together: {len(missed)} of {len(self.goal_set.goals)} missed "
                   f"({', '.join(missed)}).")
        lines.append(verdict)
        for p in self.goal_set.projections:  # what the plan expects: never in the verdict
            if "projection_met" in ev:
                e = ev.sel(projection=p.id)
                lines.append(f"The plan's projection (not a goal): {p.id} {p.describe()}: "
                             f"{float(e['projection_value']):,.6g}, "
                             f"{'as projected' if bool(e['projection_met']) else 'not as projected'}.")
        return "\n".join(lines)

    def dataset(self) -> xr.Dataset:
        """Indicators over ``time`` plus the goal evaluation, as one dataset."""
        ind = self.indicators.isel(run=0, drop=True)
        ev = self.evaluation.isel(run=0, drop=True)
        ev = ev.rename({k: f"goal_{k}" for k in ev.data_vars})
        return xr.merge([ind, ev])


def plain(value: float) -> str:
    """A number for a person: four significant figures, thousands separated from 1,000 on,
    never scientific notation."""
    return positional(value, 4, grouped=True)


def run_scenario(name_or_path=None, project: Project | None = None,
                 goals: str | None = None) -> ScenarioRun:
    """Run a scenario's central case and evaluate its goals (or the ``goals`` selection).

    ``name_or_path``: a scenario name, a path, or a loaded :class:`~simulator.inputs.scenario.Scenario`
    (whose goal selection stands unless ``goals`` is given). A central run outside the
    model's domain raises :class:`~simulator.errors.DomainError`.
    """
    if isinstance(name_or_path, scenario_mod.Scenario):
        scen = name_or_path if goals is None else name_or_path.with_goals(goals)
    else:
        scen = scenario_mod.load(name_or_path, project).with_goals(goals)
    goal_set = scen.goal_set()
    params = scen.central_parameters()
    data = simulate.run(params, project=scen.project)
    if not bool(data["in_domain"].all()):
        raise outside_domain(scen, params)
    params = [k for k in data.data_vars if data[k].dims == ("run",)]
    indicators = data.drop_vars(params)
    evaluation = goals_mod.evaluate(indicators, goal_set)
    return ScenarioRun(scen, indicators, evaluation, goal_set)


def outside_domain(scen: scenario_mod.Scenario, params: dict[str, float]) -> DomainError:
    """The one-line error for a central run outside the model's domain (inputs attached)."""
    found = simulate.diagnose(params, project=scen.project, reference=scen.calibrated)
    problem = (found.describe() if found is not None
               else "the model leaves its domain")
    moved = [n for n, *_ in (found.responsible if found else [])]
    sections = [s for s, names in (("levers", scen.levers), ("overrides", scen.overrides),
                                   ("uncertainties", scen.uncertainties))
                if any(n in names for n in moved)]
    return DomainError(scen.path, ", ".join(sections) or "parameters", problem,
                       "move them toward their central values",
                       inputs={k: float(v) for k, v in sorted(params.items())}, diagnosis=found)
