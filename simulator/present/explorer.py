"""Lever explorer for Jupyter: a slider per lever, the answer redrawn on every change.

``simulator.explore("plan")`` shows one slider per lever of the scenario (within
its bounds) and, whenever a slider moves, re-runs the same fixed set of sampled
futures (one vectorised ensemble) and redraws the scorecard (probability of each
goal and of all together) and a fan chart of one chosen indicator. The computing
part, :class:`Explorer`, needs no browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import xarray as xr

from .. import plotting, sample
from ..analyze import reachability
from ..inputs import scenario as scenario_mod
from ..running import ensemble
from . import labels

FUTURES = 1000


@dataclass
class Explorer:
    """A scenario, a fixed sample of futures and the indicator whose fan is drawn."""

    scenario: scenario_mod.Scenario
    futures: int = FUTURES
    seed: int = 0
    indicator: str | None = None
    samples: xr.Dataset = field(init=False)
    last_summary: dict | None = field(init=False, default=None)
    plan_summary: dict | None = field(init=False, default=None)
    _units: dict = field(init=False, default_factory=dict)
    sliders: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        if isinstance(self.scenario, str) or self.scenario is None:
            self.scenario = scenario_mod.load(self.scenario)
        # the futures and, when the calibration has an ensemble, calibration sets drawn
        # with them (as `plansim reach` does)
        self.samples = sample.futures(self.scenario, self.futures, self.seed)
        self.goal_set = self.scenario.goal_set()
        self.indicator = self.indicator or self.goal_set.goals[0].indicator

    def levers(self) -> dict[str, tuple[float, float, float]]:
        """Each lever's (low bound, plan value, high bound)."""
        return {k: (lv.bounds[0], lv.value, lv.bounds[1])
                for k, lv in sorted(self.scenario.levers.items())}

    def compute(self, values: dict[str, float]) -> tuple[dict, xr.Dataset]:
        """The reach summary and the ensemble under lever ``values`` (others: the plan's)."""
        bounds = self.levers()
        for k, v in values.items():
            if k not in bounds:
                raise KeyError(f"'{k}' is not a lever of scenario '{self.scenario.name}'")
            lo, _, hi = bounds[k]
            if not lo <= v <= hi:
                raise ValueError(f"{k} = {v:g} is outside its bounds [{lo:g}, {hi:g}]")
        levers = {k: float(values.get(k, plan)) for k, (_, plan, _) in bounds.items()}
        data = ensemble.run(self.scenario, self.samples, levers=levers, names=[self.indicator])
        summary = reachability.summarize(data[["met", "joint"]], data["plausible"])
        summary["groups"] = self._groups(data)
        self.last_summary = summary
        if self.plan_summary is None and levers == {k: p for k, (_, p, _) in bounds.items()}:
            self.plan_summary = summary
        return summary, data

    def _groups(self, data: xr.Dataset) -> dict[str, float | None]:
        """Probability that every goal of each goal group holds (plausible futures)."""
        keep = data["plausible"].values.astype(bool)
        met = data["met"].values.astype(bool)[keep]
        goals = [str(g) for g in data["goal"].values]
        out = {}
        for name, ids in self.goal_set.groups.items():
            cols = [goals.index(g) for g in ids if g in goals]
            out[name] = float(met[:, cols].all(axis=1).mean()) if keep.any() and cols else None
        return out

    def changes(self, summary: dict, lang: str = "en") -> list[tuple[str, str, str]]:
        """(what, now, change against the plan's levers) for all goals together, each goal
        group and each goal, as numbers: ``2,706个情景中有12个（1.2%）``, ``+0.8个百分点``."""
        if self.plan_summary is None:
            self.compute({})
        plan, n = self.plan_summary, summary["runs_counted"]

        def row(what: str, p, p0) -> tuple[str, str, str]:
            if p is None or p0 is None:
                na = labels.text("not_available", lang)
                return what, na, na
            now = labels.text("count_of", lang, c=labels.count(round(p * n)),
                              n=labels.count(n), p=labels.percent(p, lang))
            return what, now, labels.text("points", lang, x=f"{100 * (p - p0):+.1f}")

        rows = [row(labels.text("all_goals", lang), summary["joint_probability"]["probability"],
                    plan["joint_probability"]["probability"])]
        rows += [row(labels.text("goal_group", lang, group=labels.group(g, lang)), p,
                     plan["groups"].get(g)) for g, p in summary["groups"].items()]
        rows += [row(labels.goal_target_by_id(g, self.goal_set, lang), v["probability"],
                     plan["goals"][g]["probability"]) for g, v in summary["goals"].items()]
        return rows

    def readout(self, name: str, value: float, lang: str = "en") -> str:
        """A slider's value for a reader: ``1.5%/年``, ``40%``."""
        from ..inputs import model

        if not self._units:
            self._units.update({k: p.units for k, p in
                                model.parameters(self.scenario.project).items()})
        return labels.parameter_value(name, value, self._units.get(name, ""), lang)

    def figures(self, values: dict[str, float], lang: str = "en"):
        """The scorecard and the fan chart under lever ``values``."""
        summary, data = self.compute(values)
        return (plotting.probabilities(summary, goal_set=self.goal_set, lang=lang),
                plotting.fan(data, self.indicator, self.goal_set, self.scenario.project,
                             lang=lang))


def _table(rows, lang: str) -> str:
    import html

    head = "".join(f"<th style='text-align:left'>{html.escape(labels.text(k, lang))}</th>"
                   for k in ("col_goal", "col_now", "col_vs_plan"))
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>"
                                    for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def explore(scenario=None, futures: int = FUTURES, indicator: str | None = None,
            seed: int = 0, lang: str = "en"):
    """Sliders for every lever (values with units and %), a button back to the plan's
    levers, and the redrawn answer: all goals together, each goal group and each goal as
    numbers with their change against the plan, the scorecard and a fan chart (call it in
    a Jupyter notebook)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    labels.check_lang(lang)
    ex = Explorer(scenario, futures, seed, indicator)
    sliders, readouts = {}, {}
    for name, (lo, value, hi) in ex.levers().items():
        sliders[name] = widgets.FloatSlider(
            value=value, min=lo, max=hi, step=(hi - lo) / 100 if hi > lo else 1.0,
            description=labels.parameter(name, lang), readout=False,
            continuous_update=False, disabled=hi <= lo,
            style={"description_width": "14em"}, layout=widgets.Layout(width="30em"))
        readouts[name] = widgets.Label(ex.readout(name, value, lang))
    choice = widgets.Dropdown(
        options=[(labels.indicator(n, lang), n) for n in
                 sorted({g.indicator for g in ex.goal_set.goals})],
        value=ex.indicator, description=labels.text("goal", lang))
    reset = widgets.Button(description=labels.text("reset_to_plan", lang))
    numbers = widgets.HTML()
    out = widgets.Output()
    quiet = {"on": False}

    def redraw(_=None):
        if quiet["on"]:
            return
        ex.indicator = choice.value
        values = {k: s.value for k, s in sliders.items()}
        for k, s in sliders.items():
            readouts[k].value = ex.readout(k, s.value, lang)
        summary, data = ex.compute(values)
        numbers.value = _table(ex.changes(summary, lang), lang)
        with out:
            out.clear_output(wait=True)
            for fig in (plotting.probabilities(summary, goal_set=ex.goal_set, lang=lang),
                        plotting.fan(data, ex.indicator, ex.goal_set, ex.scenario.project,
                                     lang=lang)):
                display(fig)
                plt.close(fig)

    def back_to_plan(_=None):
        quiet["on"] = True
        for k, (_, value, _) in ex.levers().items():
            sliders[k].value = value
        quiet["on"] = False
        redraw()

    for s in (*sliders.values(), choice):
        s.observe(redraw, names="value")
    reset.on_click(back_to_plan)
    rows = [widgets.HBox([sliders[k], readouts[k]]) for k in sliders]
    display(widgets.VBox([*rows, widgets.HBox([reset, choice]), numbers, out]))
    ex.sliders, ex.reset = sliders, back_to_plan
    redraw()
    return ex
