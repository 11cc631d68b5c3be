"""Joint reachability: the probability that all goals hold together, and the best levers.

``reach`` samples the scenario's uncertainties (Latin hypercube, seeded) jointly with
calibration sets of the history-matched ensemble, runs the ensemble under the scenario's
levers, screens runs against the project's history,
evaluates every goal, then runs a quick frontier (:mod:`simulator.decide`: a short
NSGA-III search over the goal groups on the first plausible futures, every setting
branched from the 2005 state) and reports its nearest reachable plan and the searched
setting with the highest joint probability, re-evaluated on the full sample; the deep
search is ``plansim frontier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .. import sample
from ..analyze import calibration as calibration_analysis
from ..analyze import reachability
from ..errors import InputError
from ..inputs import model
from ..inputs.scenario import Scenario
from ..present import labels
from ..running import ensemble, memory, results

DEFAULT_RUNS = 10_000  # ~9,900 plausible: a 95% Wilson interval under 2 points for any p
SEARCH_RUNS = 200  # plausible futures of reach's quick search (plansim frontier: deeper)
SEARCH_GENERATIONS = 3
SEARCH_POPULATION = 12  # settings per generation of the quick search (NSGA-III)
MAX_RUNS = 50_000_000
FILES = ("results.nc", "summary.json")


def calibration_mode(scenario: Scenario, requested: str = "ensemble") -> str:
    """``ensemble`` when calibration sets are drawn (asked for, and the calibration has an
    ensemble), else ``point``."""
    if requested == "ensemble" and scenario.calibration_sets() is not None:
        return "ensemble"
    return "point"


def recorded_inputs(scenario: Scenario, runs: int, seed: int, search_runs: int,
                    generations: int, calibration: str = "ensemble") -> dict:
    """What ``summary.json`` records of a run's inputs: equal records, equal results."""
    return {**results.provenance(scenario, seed), "runs": int(runs),
            "search_runs": int(search_runs), "generations": int(generations),
            "calibration_mode": calibration_mode(scenario, calibration)}


@dataclass
class Reach:
    """An evaluated scenario ensemble and its lever search."""

    scenario: Scenario
    seed: int
    data: xr.Dataset  # plan levers: indicators, inputs, margins, met, joint, plausible
    summary: dict
    best_levers: dict[str, float]
    best_summary: dict
    best_evaluation: xr.Dataset
    calibration: dict  # mode, variance shares, robustness under priors, fixed uncertainties
    search_runs: int = SEARCH_RUNS
    generations: int = SEARCH_GENERATIONS
    frontier: dict | None = None  # decide.frontier: reach's quick one, or plansim frontier's

    def summary_json(self) -> dict:
        """What ``summary.json`` holds."""
        s = self.summary
        return {
            **recorded_inputs(self.scenario, int(self.data.sizes["run"]), self.seed,
                              self.search_runs, self.generations, self.calibration["mode"]),
            "plausible_runs": s["runs_counted"],
            "implausible_runs": int(self.data.sizes["run"]) - s["runs_counted"],
            "outside_domain_runs": self.outside_domain,
            "joint_probability": {"value": s["joint_probability"]["probability"],
                                  "interval": s["joint_probability"]["interval"]},
            "goals": {g: {"value": v["probability"], "interval": v["interval"],
                          **({"other_reading": {
                              "indicator": v["other_reading"]["indicator"],
                              "value": v["other_reading"]["probability"],
                              "interval": v["other_reading"]["interval"],
                              **({"threshold": v["other_reading"]["threshold"]}
                                 if "threshold" in v["other_reading"] else {})}}
                             if "other_reading" in v else {})}
                      for g, v in s["goals"].items()},
            **({"projections": projection_entries(s["projections"], self.scenario.goal_set())}
               if s.get("projections") else {}),
            "binding_goals": s["binding_goals"],
            "held_back_by": s["held_back_by"],
            "conflicts": s["conflicts"][:10],
            "calibration": self.calibration,
            "levers": {k: lv.value for k, lv in self.scenario.levers.items()},
            # levers the plan gives no size for, sampled with the futures (what the verdict
            # assumed about their implementation)
            "implementation": {k: {"distribution": self.scenario.uncertainties[k].distribution,
                                   "low": self.scenario.uncertainties[k].low,
                                   "high": self.scenario.uncertainties[k].high}
                               for k in self.scenario.implementation},
            "best_levers": {
                "values": self.best_levers,
                "joint_probability": {
                    "value": self.best_summary["joint_probability"]["probability"],
                    "interval": self.best_summary["joint_probability"]["interval"]},
                    "binding_goals": self.best_summary["binding_goals"],
                "goals": {g: {"value": v["probability"], "interval": v["interval"]}
                          for g, v in self.best_summary["goals"].items()},
                "mean_goals_met": self.best_summary["mean_goals_met"],
            },
            **({"frontier": self.frontier} if self.frontier is not None else {}),
        }

    @property
    def outside_domain(self) -> int:
        """Sampled futures whose run left the model's domain (never counted)."""
        if "in_domain" not in self.data:
            return 0
        return int((~self.data["in_domain"].values.astype(bool)).sum())

    def leader_verdict(self, lang: str = "en") -> str:
        """The leader's verdict (:mod:`simulator.analyze.verdict`): the same sentences as
        the brief and ``plansim analyze`` of this result print."""
        from ..analyze import verdict as verdict_mod

        met = self.data["met"].values.astype(bool)[self.data["plausible"].values.astype(bool)]
        return verdict_mod.leader(self.scenario, self.summary_json(), lang, met).text()

    def verdict(self) -> str:
        """A statement a policy researcher can quote."""
        s, b = self.summary, self.best_summary
        jp, bj = s["joint_probability"], b["joint_probability"]
        n, sampled = s["runs_counted"], self.data.sizes["run"]
        goal_set = self.scenario.goal_set()
        outside = (f"; {self.outside_domain} outside the model's domain, not counted"
                   if self.outside_domain else "")
        history = "{first}–{last}".format(**labels.project_texts(self.scenario.project))
        lines = [(f"Scenario '{self.scenario.name}' of {self.scenario.project.name}: {n} "
                  f"plausible futures (consistent with {history}) of {sampled} "
                  f"sampled (seed {self.seed}{outside}).")]
        if n == 0:
            lines.append(f"No sampled future reproduces {history} inside the model's domain: "
                         "no probability can be given. Check the scenario's uncertainties "
                         "and calibration (`plansim run` shows the central case).")
            return "\n".join(lines)
        lines.append(f"All {len(s['goals'])} goals met together under the scenario's levers: "
                     f"{_pct(jp)}.")
        if self.scenario.implementation:
            lines.append("Assumed (levers the plan gives no size for, sampled with the "
                         "futures): " + "; ".join(
                             f"{k} {self.scenario.uncertainties[k].distribution} "
                             f"{self.scenario.uncertainties[k].low:g} to "
                             f"{self.scenario.uncertainties[k].high:g}"
                             for k in self.scenario.implementation) + ".")
        if s["binding_goals"]:
            top = ", ".join(f"{b_['goal']} ({100 * b_['share']:.1f}% of futures)"
                            for b_ in s["binding_goals"][:3])
            lines.append(f"Binding goals (the only goal missed): {top}.")
        lines.extend(_held_back(s["held_back_by"][:6]))
        if s["conflicts"]:
            lines.append("Conflicting goals (met together less often than if independent):")
            lines.extend(f"  {c['goals'][0]} and {c['goals'][1]}: together in "
                         f"{100 * c['p_both']:.1f}% of futures, {100 * c['p_independent']:.1f}% "
                         "if independent" for c in s["conflicts"][:3])
        hardest = sorted(s["goals"].items(), key=lambda kv: kv[1]["probability"])[:3]
        lines.append("Least likely goals:")
        lines.extend(f"  {g} ({goal_set[g].describe()}): {_pct(v)}" for g, v in hardest)
        lines.extend(_reading_lines(s["goals"], goal_set))
        lines.extend(f"Projection (the plan's expectation, not in the joint verdict): {p} "
                     f"({goal_set[p].describe()}): {_pct(v)}"
                     for p, v in s.get("projections", {}).items())
        units = {k: p.units for k, p in model.parameters(self.scenario.project).items()}
        lines.append(f"Best levers found: joint probability {_pct(bj)}"
                     + (" with:" if self.best_levers else " (the scenario has no levers)."))
        lines.extend(f"  {k} = {v:.4g} {units.get(k, '')}".rstrip()
                     for k, v in self.best_levers.items())
        if bj["count"] == 0 and self.best_levers:
            lines.append("No lever setting searched meets every goal in any future; the one "
                         "shown meets the most goals on average "
                         f"({b['mean_goals_met']:.1f} of {len(b['goals'])}, against "
                         f"{s['mean_goals_met']:.1f} under the scenario's levers).")
        if b["binding_goals"]:
            lines.append("Still binding under the best levers: " + ", ".join(
                x["goal"] for x in b["binding_goals"][:3]) + ".")
        lines.extend(self._frontier_lines())
        lines.extend(_calibration_lines(self.calibration))
        width = jp["interval"][1] - jp["interval"][0]
        if width > 0.02:
            lines.append(f"Note: the 95% interval is {100 * width:.1f} points wide; "
                         "use more --runs for a tighter answer.")
        return "\n".join(lines)

    def _frontier_lines(self) -> list[str]:
        """The nearest reachable plan in two lines, and where the deeper answer is."""
        if self.frontier is None:
            return []
        from . import report

        units = {k: p.units for k, p in model.parameters(self.scenario.project).items()}
        lines = report.nearest_lines(self.frontier, units)
        if self.frontier.get("quick"):
            lines.append(f"  (quick search on {self.frontier['futures']} futures; the goal "
                         f"frontier, trade-offs and robust levers: `plansim frontier "
                         f"{self.scenario.name}`)")
        return lines

    def write(self, out_dir: Path | str) -> tuple[Path, Path]:
        """Write ``results.nc`` and ``summary.json`` into ``out_dir``."""
        out_dir = Path(out_dir)
        best = self.best_evaluation.drop_vars(["plausible", "calibration_set"], errors="ignore")
        best = best.rename({k: f"best_{k}" for k in best.data_vars})
        ds = xr.merge([self.data, best])
        attrs = {**results.provenance(self.scenario, self.seed),
                 "best_levers": self.best_levers, "calibration_mode": self.calibration["mode"],
                 "calibration_sets_hash": self.calibration.get("sets_hash", "none")}
        nc = results.write_netcdf(ds, out_dir / "results.nc", attrs)
        js = results.write_json(self.summary_json(), out_dir / "summary.json",
                                sealed=True)
        return nc, js


def _share(p: float | None, digits: int = 1) -> str:
    return "n/a" if p is None else f"{100 * p:.{digits}f}%"


def _calibration_lines(cal: dict) -> list[str]:
    if cal["mode"] == "point":
        lines = [("Calibration: point values of the calibration file; calibration uncertainty not "
                 "sampled.")]
    else:
        shares = cal["variance_shares"]
        joint = shares.get("ALL")
        top = sorted(((g, v["calibration"]) for g, v in shares.items()
                      if v is not None and g != "ALL"), key=lambda kv: -kv[1])[:3]
        lines = [(f"Calibration: {cal['sets_drawn']} distinct sets drawn from "
                 f"{cal['sets_available']} history-matched parameter sets ({cal['file']}; "
                 f"effective sample size {cal['effective_sets']:.0f}); each carries the "
                 f"{cal['history_space_from_sets']} parameters acting before 2006, so every "
                 "future reproduces 2000-2005 without a screen "
                 f"({cal['runs_reproducing_history']} of the sampled futures checked do).")]
        lines.append("Share of outcome variance from calibration (the rest: future "
                     "uncertainty): joint " + (f"{100 * joint['calibration']:.0f}%"
                                               if joint else "n/a (no variance)")
                     + ("; most: " + ", ".join(f"{g} {100 * v:.0f}%" for g, v in top)
                        if top else "") + ".")
        rob = cal["robustness"]
        priors = list(rob["probabilities"])
        joint_by = " / ".join(_share(rob["probabilities"][p]["ALL"]) for p in priors)
        lines.append(f"Robustness to the calibration prior ({' / '.join(priors)}): joint "
                     f"{joint_by}.")
        dep = [d for d in rob["prior_dependent"] if d["goal"] != "ALL"]
        if dep:
            lines.append(f"  depends on the prior (> {100 * rob['threshold']:.0f} points or "
                         "verdict flips): " + "; ".join(
                             f"{d['goal']} " + " / ".join(_share(v, 0)
                                                          for v in d["by_prior"].values())
                             for d in dep))
        else:
            lines.append(f"  no goal moves by more than {100 * rob['threshold']:.0f} points "
                         "or flips its verdict across these priors.")
    if cal["fixed_uncertain"]:
        lines.append(f"Uncertain parameters not sampled (fixed at their documented defaults: "
                     f"the scenario lists no distribution): {len(cal['fixed_uncertain'])}.")
    return lines


def _fixed_uncertain(scenario: Scenario) -> list[str]:
    set_by_scenario = set(scenario.uncertainties) | set(scenario.overrides) | set(
        scenario.calibrated)
    return sorted(set(model.parameters(scenario.project, role="uncertain")) - set_by_scenario)


def calibration_summary(scenario: Scenario, samples: xr.Dataset, data: xr.Dataset,
                        summary: dict, names: list[str], seed: int) -> dict:
    """Mode, variance shares and robustness under the alternative priors."""
    out = {"mode": samples.attrs.get("calibration", "point"),
           "fixed_uncertain": _fixed_uncertain(scenario),
           "fixed_uncertain_reason": "no distribution in the scenario's uncertainties; "
                                     "fixed at the model file's documented default"}
    if out["mode"] != "ensemble":
        return out
    sets = scenario.calibration_sets()
    groups = data["calibration_set"].values
    mask = data["plausible"].values.astype(bool)
    goals = [str(g) for g in data["goal"].values]
    out.update({"file": sets.path.name, "sets_hash": sets.file_hash,
                "sets_available": sets.size,
                "effective_sets": sets.effective_size("documented"),
                "sets_drawn": int(np.unique(groups).size),
                "history_space_from_sets": len(sets.names),
                "runs_reproducing_history": int(data["plausible"].values.sum()),
                "runs_per_draw": sample.RUNS_PER_SET,
                "variance_shares": calibration_analysis.variance_shares(
                    data["met"].values, goals, groups, mask)})
    by_prior = {"documented": summary}
    for prior in ("uniform", "mirrored"):
        alt = sample.futures(scenario, samples.sizes["run"], seed, prior=prior)
        alt_data = _goals_met(scenario, alt)
        by_prior[prior] = reachability.summarize(alt_data[["met", "joint"]],
                                                 alt_data["plausible"])
    out["robustness"] = calibration_analysis.robustness(by_prior)
    return out


def _goals_met(scenario: Scenario, samples: xr.Dataset) -> xr.Dataset:
    """The goal part of ``ensemble.run(scenario, samples)`` (margin, met, joint, plausible),
    bit for bit, on both cores (:mod:`simulator.decide`; one setting: nothing to branch)."""
    from . import Evaluator, default_workers

    evaluator = Evaluator(scenario, samples, workers=default_workers(), branched=False)
    return evaluator.dataset(evaluator.plan)


def projection_entries(projections: dict, goal_set) -> dict:
    """``summary.json``'s ``projections``: each projection's probability and the band of
    values it counts as met (in the goal's unit; null: unbounded)."""
    from ..inputs import goals as goals_mod

    return {p: {"value": v["probability"], "interval": v["interval"], "count": v["count"],
                "band": list(goals_mod.band(goal_set[p])), "unit": goal_set[p].unit,
                "years": list(goal_set[p].years)}
            for p, v in projections.items()}


def _reading_lines(per_goal: dict, goal_set) -> list[str]:
    """A goal read one way, with its probability read the other way beside it."""
    return [f"Reading: {g} as {goal_set[g].describe()}: {_pct(v)}; as "
            f"{goal_set[g].other().describe()}: {_pct(v['other_reading'])} "
            f"({goal_set[g].reading})" for g, v in per_goal.items() if "other_reading" in v]


def _pct(p: dict) -> str:
    lo, hi = p["interval"]
    if p["probability"] is None:
        return "no plausible future to count"
    return f"{100 * p['probability']:.1f}% (95% CI {100 * lo:.1f}-{100 * hi:.1f}%)"


def _held_back(steps: list[dict]) -> list[str]:
    """"Held back by" lines; consecutive steps at the same printed probability share one."""
    if not steps:
        return []
    lines, dropped, group = ["Held back by (dropping goals one at a time):"], [], []
    for i, step in enumerate(steps):
        dropped.append(step["goal"])
        group.append(step["goal"])
        here = _pct(step["joint_without"])
        following = _pct(steps[i + 1]["joint_without"]) if i + 1 < len(steps) else None
        if here != following:
            lines.append(f"  without {', '.join(dropped)}: the rest hold together in {here}"
                         if len(group) == 1 else
                         f"  without {', '.join(dropped)}: the rest hold together in {here} "
                         f"(dropping the last {len(group)} one by one changed nothing)")
            group = []
    return lines


def search_levers(evaluator, search, seed: int, generations: int = SEARCH_GENERATIONS,
                  progress=None) -> tuple[dict[str, float], dict]:
    """A quick frontier (:func:`simulator.decide.frontier` on the search futures) and, of
    every setting its Pareto search evaluated, the one with the highest joint probability
    on the search futures (tie-breaker: the mean share of goals met, weighted
    to never outweigh one more future with every goal met)."""
    from .. import decide

    if not evaluator.names:
        return {}, decide.frontier(evaluator.scenario, seed=seed, evaluator=evaluator,
                                   search=search, generations=0, quick=True)
    quick = decide.frontier(evaluator.scenario, seed=seed, evaluator=evaluator, search=search,
                            search_runs=search.n, generations=generations,
                            population=SEARCH_POPULATION, quick=True)
    if progress is not None:
        progress(generations + 1)
    settings = search.archive()
    e = search.evaluate(settings)
    counted = np.maximum(e.ok.sum(axis=1), 1)
    joint = (e.met.all(axis=2) & e.ok).sum(axis=1) / counted
    share = np.where(e.ok, e.met.mean(axis=2), 0.0).sum(axis=1) / counted
    best = settings[int(np.argmax(joint + 0.5 * share / counted))]
    return evaluator.as_dict(best), quick


def _per_run_bytes(scenario: Scenario) -> int:
    goal_set = scenario.goal_set()
    n_ind = len({g.indicator for g in goal_set.goals}
                | set(ensemble.history_indicators(scenario.project)))
    n_inputs = len(scenario.uncertainties) + len(scenario.levers) + len(scenario.overrides) \
        + len(scenario.calibrated)
    return 8 * (n_ind * 16 + n_inputs + 3 * len(goal_set.goals))


def result_bytes(scenario: Scenario, runs: int) -> int:
    """Upper estimate of the size of ``results.nc`` (both ensembles, uncompressed)."""
    return 2 * runs * _per_run_bytes(scenario)


def memory_bytes(scenario: Scenario, runs: int, search_runs: int = SEARCH_RUNS) -> int:
    """Upper estimate of what :func:`reach` holds at once (see :mod:`simulator.running.memory`).

    Two ensembles (scenario levers, best levers) of ``runs``: indicators over the
    years, inputs and goal arrays, about three copies each while blocks are joined and
    results written; plus the lever search's engine calls in work (at most
    ``decide.evaluate.CHUNK_RUNS`` runs in each of two processes).
    """
    from .evaluate import CHUNK_RUNS

    per_run = _per_run_bytes(scenario)
    search = 2 * CHUNK_RUNS
    block = memory.block_size(runs) + search
    return 6 * runs * per_run + block * memory.BLOCK_BYTES_PER_RUN


def check_scenario(scenario: Scenario) -> None:
    """Refuse a scenario whose futures would all be one run."""
    if not scenario.uncertainties:
        raise InputError(scenario.path, "uncertainties", "no uncertainties: every sampled "
                         "future would be the same run", "add [uncertainties] or "
                         "uncertainties = \"uncertainties.toml\" (`plansim run` gives the "
                         "central run)")


def reach(scenario: Scenario, runs: int = DEFAULT_RUNS, seed: int = 0,
          search_runs: int = SEARCH_RUNS, generations: int = SEARCH_GENERATIONS,
           progress=None, calibration: str = "ensemble") -> Reach:
    """Evaluate the scenario over ``runs`` futures and search its levers.

    ``calibration="ensemble"`` draws calibration sets jointly with the futures and adds
    the variance shares and the robustness under alternative priors; ``"point"`` runs
    every future on the point calibration.
    """
    check_scenario(scenario)
    samples = sample.futures(scenario, runs, seed, calibration)
    goal_set = scenario.goal_set()
    names = sorted({g.indicator for g in goal_set.goals})
    tick = (lambda k: progress("runs", k)) if progress else None
    data = ensemble.run(scenario, samples, names=names, progress=tick)
    projected = ["projection_met"] if "projection_met" in data else []
    summary = reachability.summarize(data[["met", "joint", "met_other_reading", *projected]],
                                      data["plausible"])
    from . import Evaluator, default_workers, search_futures

    # all futures: the plan (run above, remembered) and the best setting only, so nothing
    # to branch; the search's futures branch from the 2005 state
    evaluator = Evaluator(scenario, samples, workers=default_workers(), branched=False)
    evaluator.remember(evaluator.plan, data)  # the plan's runs above: not run again
    step = (lambda k: progress("search", k)) if progress else None
    best, quick = search_levers(evaluator, search_futures(evaluator, search_runs), seed,
                                generations, progress=step)
    best_eval = evaluator.dataset(np.array([best[k] for k in evaluator.names]))
    if tick:
        tick(samples.sizes["run"])
    reading = ["met_other_reading"] if "met_other_reading" in best_eval else []
    best_summary = reachability.summarize(best_eval[["met", "joint", *reading]],
                                          best_eval["plausible"])
    cal = calibration_summary(scenario, samples, data, summary, names, seed)
    return Reach(scenario, seed, data, summary, best, best_summary, best_eval, cal, search_runs,
                 generations, quick)
