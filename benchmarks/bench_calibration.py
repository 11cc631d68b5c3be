"""Benchmark: calibration and the cost of drawing calibration sets in ``plansim reach``.

In one process:

1. the full ``plansim calibrate`` (point fit, identifiability, emcee history matching,
   default settings): wall-clock seconds and engine calls (the issue's budget: under
   5 minutes on 2 cores);
2. one history evaluation of W parameter sets (one vectorised call) against W calls of
   one set each: the ratio says what a walker costs inside a step;
3. ``reach`` on the default scenario with calibration sets drawn from the ensemble
   (three ensembles: documented, uniform and mirrored priors, plus the lever search)
   against ``--calibration point``; the last line is ``ratio: X`` (ensemble / point,
   the issue's budget: within 2).

    python benchmarks/bench_calibration.py [--runs 10000] [--skip-calibrate]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator import calibrate  # after the sys.path set-up above
from simulator.calibrate import match
from simulator.decide import reach
from simulator.inputs import scenario


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=reach.DEFAULT_RUNS,
                        help="futures of the reach comparison (default: reach's default)")
    parser.add_argument("--skip-calibrate", action="store_true",
                        help="skip step 1 (the full calibration)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.skip_calibrate:
        calls = [0]
        t0 = time.perf_counter()
        cal = calibrate.calibrate(progress=lambda k: calls.__setitem__(0, calls[0] + k))
        full = time.perf_counter() - t0
        print(f"calibrate: {full:.1f} s wall-clock ({calls[0]} emcee engine calls, "
              f"{cal.ensemble.size} accepted sets)")

    target = calibrate.Target.of_model()
    rng = np.random.default_rng(0)
    sets = target.lower + rng.random((match.WALKERS // 2, len(target.names))) * target.width
    t0 = time.perf_counter()
    target.standardized(sets)
    batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for row in sets[:20]:
        target.standardized(row[None, :])
    single = (time.perf_counter() - t0) / 20 * sets.shape[0]
    print(f"history of {sets.shape[0]} sets: one call {batch:.2f} s, one call per set "
          f"{single:.2f} s (ratio {single / batch:.0f})")

    plan = scenario.load("plan")
    timings = {}
    for mode in ("point", "ensemble"):
        t0 = time.perf_counter()
        reach.reach(plan, runs=args.runs, calibration=mode)
        timings[mode] = time.perf_counter() - t0
        print(f"reach --calibration {mode}: {timings[mode]:.1f} s ({args.runs} runs)")
    print(f"ratio: {timings['ensemble'] / timings['point']:.2f}")


if __name__ == "__main__":
    main()
