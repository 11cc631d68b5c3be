"""Benchmark: `plansim reach` and `plansim frontier` against one ensemble evaluation.

In one process: samples the scenario's futures (10,000 by default, as `plansim reach`),
times one evaluation of that ensemble under the scenario's levers
(:func:`simulator.running.ensemble.run`, the unit; timed before and after each command and
averaged, as other work on a shared machine drifts), then :func:`simulator.decide.reach.reach` and
:func:`simulator.decide.frontier` with their defaults, each split into phases (time spent
in a phase's functions, nested calls counted once, in the innermost phase).  Prints each
phase's share of the command's wall time and ends with two lines:

    reach ratio: X      (reach wall time / one evaluation; issue 20's target <= 4)
    frontier ratio: Y   (frontier wall time / one evaluation; target <= 20)

    python benchmarks/bench_reach.py [--scenario plan] [--runs 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator import decide, sample
from simulator.decide import evaluate, goal_frontier, pareto, reach, search
from simulator.inputs import scenario
from simulator.running import ensemble


class Phases:
    """Wall time per phase; a phase's nested phases are subtracted from it."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.stack: list[list] = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            self.stack.append([phase, 0.0])
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                _, inner = self.stack.pop()
                self.times[phase] = self.times.get(phase, 0.0) + spent - inner
                if self.stack:
                    self.stack[-1][1] += spent

        setattr(owner, attr, timed)

    def report(self, title: str, wall: float, unit: float) -> None:
        print(f"{title}: {wall:.1f} s wall = {wall / unit:.2f} evaluations")
        other = wall - sum(self.times.values())
        for phase, t in sorted(self.times.items(), key=lambda kv: -kv[1]) + [("other", other)]:
            print(f"  {phase:38s} {t:7.1f} s  {100 * t / wall:5.1f}%")
        self.times = {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="plan")
    ap.add_argument("--runs", type=int, default=reach.DEFAULT_RUNS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    scen = scenario.load(args.scenario)
    names = sorted({g.indicator for g in scen.goal_set().goals})

    samples = sample.futures(scen, args.runs, args.seed)
    ensemble.run(scen, samples.isel(run=slice(0, 50)), names=names)  # model loaded

    def evaluation() -> float:
        start = time.perf_counter()
        ensemble.run(scen, samples, names=names)
        spent = time.perf_counter() - start
        print(f"one evaluation of the {args.runs}-future ensemble: {spent:.2f} s")
        return spent

    # the unit is timed before and after each command (a shared machine's load drifts)
    units = [evaluation()]
    print(f"workers for reach/frontier: {evaluate.default_workers()}")

    phases = Phases()
    phases.wrap(sample, "futures", "sampling futures")
    phases.wrap(ensemble, "run", "full ensembles (plan, priors)")
    phases.wrap(reach, "calibration_summary", "calibration summary (besides ensembles)")
    phases.wrap(evaluate.Evaluator, "__init__", "2000-2005 runs held (branch)")
    phases.wrap(evaluate.Settings, "evaluate", "branched evaluations")
    phases.wrap(pareto, "search", "Pareto search (NSGA-III)")
    phases.wrap(search, "_relaxed", "relaxed thresholds")
    phases.wrap(goal_frontier, "ranking_stability", "ranking bootstrap")
    phases.wrap(search, "_robust", "robust setting and PRIM box")

    def ratio(title: str, command) -> float:
        """The command's wall time over the unit timed before and after it."""
        start = time.perf_counter()
        command()
        wall = time.perf_counter() - start
        phases.times, spent = {}, phases.times  # the unit's own run is no phase
        units.append(evaluation())
        unit = (units[-2] + units[-1]) / 2
        phases.times = spent
        phases.report(title, wall, unit)
        return wall / unit

    reach_ratio = ratio("plansim reach", lambda: reach.reach(scen, runs=args.runs,
                                                             seed=args.seed))
    frontier_ratio = ratio("plansim frontier", lambda: decide.frontier(scen, runs=args.runs,
                                                                       seed=args.seed))
    print(f"reach ratio: {reach_ratio:.2f}")
    print(f"frontier ratio: {frontier_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
