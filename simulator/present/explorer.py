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
        self.last_summary = summary
        return summary, data

    def figures(self, values: dict[str, float], lang: str = "en"):
        """The scorecard and the fan chart under lever ``values``."""
        summary, data = self.compute(values)
        return (plotting.probabilities(summary, goal_set=self.goal_set, lang=lang),
                plotting.fan(data, self.indicator, self.goal_set, self.scenario.project,
                             lang=lang))


def explore(scenario=None, futures: int = FUTURES, indicator: str | None = None,
            seed: int = 0, lang: str = "en"):
    """Sliders for every lever and the redrawn answer (call it in a Jupyter notebook)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    labels.check_lang(lang)
    ex = Explorer(scenario, futures, seed, indicator)
    sliders = {}
    for name, (lo, value, hi) in ex.levers().items():
        sliders[name] = widgets.FloatSlider(
            value=value, min=lo, max=hi, step=(hi - lo) / 100 if hi > lo else 1.0,
            description=labels.parameter(name, lang), readout_format=".3g",
            continuous_update=False, disabled=hi <= lo,
            style={"description_width": "14em"}, layout=widgets.Layout(width="36em"))
    choice = widgets.Dropdown(
        options=[(labels.indicator(n, lang), n) for n in
                 sorted({g.indicator for g in ex.goal_set.goals})],
        value=ex.indicator, description=labels.text("goal", lang))
    out = widgets.Output()

    def redraw(_=None):
        ex.indicator = choice.value
        values = {k: s.value for k, s in sliders.items()}
        with out:
            out.clear_output(wait=True)
            for fig in ex.figures(values, lang):
                display(fig)
                plt.close(fig)

    for s in (*sliders.values(), choice):
        s.observe(redraw, names="value")
    display(widgets.VBox([*sliders.values(), choice, out]))
    ex.sliders = sliders
    redraw()
    return ex
