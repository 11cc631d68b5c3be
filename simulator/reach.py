"""Joint reachability: the probability that all goals hold together, and the best levers.

``reach`` samples the scenario's uncertainties (Latin hypercube, seeded) jointly with
calibration sets of the history-matched ensemble, runs the ensemble under the scenario's
levers, screens runs against the project's history,
evaluates every goal, then searches the levers within their bounds
(``scipy.optimize.differential_evolution``, seeded, vectorised: one ensemble per
generation) for the setting with the highest joint probability on a common subset
of futures, and re-evaluates the best setting on the full sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.optimize import differential_evolution

from . import ensemble, memory, model, results, sample
from .analyze import calibration as calibration_analysis
from .analyze import reachability
from .errors import InputError
from .scenario import Scenario

DEFAULT_RUNS = 10_000  # ~9,900 plausible: a 95% Wilson interval under 2 points for any p
SEARCH_RUNS = 500
SEARCH_GENERATIONS = 30
SEARCH_POPULATION = 5  # per lever (scipy's popsize)
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
            "goals": {g: {"value": v["probability"], "interval": v["interval"]}
                      for g, v in s["goals"].items()},
            "binding_goals": s["binding_goals"],
            "held_back_by": s["held_back_by"],
            "conflicts": s["conflicts"][:10],
            "calibration": self.calibration,
            "levers": {k: lv.value for k, lv in self.scenario.levers.items()},
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
        }

    @property
    def outside_domain(self) -> int:
        """Sampled futures whose run left the model's domain (never counted)."""
        if "in_domain" not in self.data:
            return 0
        return int((~self.data["in_domain"].values.astype(bool)).sum())

    def verdict(self) -> str:
        """A statement a policy researcher can quote."""
        s, b = self.summary, self.best_summary
        jp, bj = s["joint_probability"], b["joint_probability"]
        n, sampled = s["runs_counted"], self.data.sizes["run"]
        goal_set = self.scenario.goal_set()
        outside = (f"; {self.outside_domain} outside the model's domain, not counted"
                   if self.outside_domain else "")
        lines = [(f"Scenario '{self.scenario.name}': {n} plausible futures of {sampled} "
                 f"sampled (seed {self.seed}{outside}).")]
        if n == 0:
            lines.append("No sampled future reproduces 2000-2005 inside the model's domain: "
                         "no probability can be given. Check the scenario's uncertainties "
                         "and calibration (`plansim run` shows the central case).")
            return "\n".join(lines)
        lines.append(f"All {len(s['goals'])} goals met together under the scenario's levers: "
                     f"{_pct(jp)}.")
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
        lines.extend(_calibration_lines(self.calibration))
        width = jp["interval"][1] - jp["interval"][0]
        if width > 0.02:
            lines.append(f"Note: the 95% interval is {100 * width:.1f} points wide; "
                         "use more --runs for a tighter answer.")
        return "\n".join(lines)

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
        js = results.write_json(self.summary_json(), out_dir / "summary.json")
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
        alt_data = ensemble.run(scenario, alt, names=names)
        by_prior[prior] = reachability.summarize(alt_data[["met", "joint"]],
                                                 alt_data["plausible"])
    out["robustness"] = calibration_analysis.robustness(by_prior)
    return out


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


def _score(data: xr.Dataset, n_candidates: int, per: int) -> np.ndarray:
    """Joint probability per candidate (plausible runs only), plus a small tie-breaker.

    The tie-breaker is the mean share of goals met, weighted (half of one future's
    worth) so that it never outweighs one more future with every goal met: where
    no candidate reaches any joint success, the search still moves toward settings
    that meet more goals.
    """
    joint = data["joint"].values.reshape(n_candidates, per)
    ok = data["plausible"].values.reshape(n_candidates, per)
    share = data["met"].mean("goal").values.reshape(n_candidates, per)
    counted = np.maximum(ok.sum(axis=1), 1)
    p = (joint & ok).sum(axis=1) / counted
    mean_share = np.where(ok, share, 0.0).sum(axis=1) / counted
    return p + 0.5 * mean_share / counted


def search_levers(scenario: Scenario, samples: xr.Dataset, seed: int,
                  generations: int = SEARCH_GENERATIONS, progress=None) -> dict[str, float]:
    """Lever values (within their bounds) maximising the joint probability on ``samples``."""
    names = sorted(scenario.levers)
    if not names:
        return {}
    bounds = [scenario.levers[k].bounds for k in names]
    free = [i for i, (lo, hi) in enumerate(bounds) if hi > lo]
    per = samples.sizes["run"]

    def objective(xs: np.ndarray) -> np.ndarray:
        xs = np.atleast_2d(xs.T).T  # (dims, candidates)
        k = xs.shape[1]
        full = np.array([[lv.value for lv in (scenario.levers[n] for n in names)]] * k).T
        full[free] = xs
        tiled = samples.isel(run=np.tile(np.arange(per), k))
        tiled = tiled.assign_coords(run=np.arange(k * per))
        levers = {n: np.repeat(full[i], per) for i, n in enumerate(names)}
        # names=[]: only what the goals and the history screen need (ensemble.run adds them)
        data = ensemble.run(scenario, tiled, levers=levers, names=[], block_size=k * per)
        if progress is not None:
            progress(1)
        return -_score(data, k, per)

    if not free:
        return {n: scenario.levers[n].value for n in names}
    x0 = np.array([scenario.levers[names[i]].value for i in free])
    result = differential_evolution(
        objective, [bounds[i] for i in free], seed=seed, maxiter=generations,
        popsize=SEARCH_POPULATION, polish=False, vectorized=True, updating="deferred",
        init="latinhypercube", x0=x0, tol=0.0, atol=0.0)
    best = {n: scenario.levers[n].value for n in names}
    for j, i in enumerate(free):
        best[names[i]] = float(result.x[j])
    return best


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
    """Upper estimate of what :func:`reach` holds at once (see :mod:`simulator.memory`).

    Two ensembles (scenario levers, best levers) of ``runs``: indicators over the
    years, inputs and goal arrays, about three copies each while blocks are joined and
    results written; plus the lever search's candidates and one block in work.
    """
    per_run = _per_run_bytes(scenario)
    search = SEARCH_POPULATION * max(len(scenario.levers), 1) * search_runs
    block = min(runs, ensemble.BLOCK_SIZE) + search
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
    summary = reachability.summarize(data[["met", "joint"]], data["plausible"])
    plausible_runs = np.flatnonzero(data["plausible"].values)[:search_runs]
    subset = samples.isel(run=plausible_runs) if plausible_runs.size else samples.isel(
        run=slice(0, search_runs))
    step = (lambda k: progress("search", k)) if progress else None
    best = search_levers(scenario, subset, seed, generations, progress=step)
    best_data = ensemble.run(scenario, samples, levers=best, names=names, progress=tick)
    best_summary = reachability.summarize(best_data[["met", "joint"]], best_data["plausible"])
    best_eval = best_data[["margin", "met", "joint", "plausible"]]
    cal = calibration_summary(scenario, samples, data, summary, names, seed)
    return Reach(scenario, seed, data, summary, best, best_summary, best_eval, cal, search_runs,
                 generations)
