"""Benchmark: calibration and the cost of drawing calibration sets in ``plansim reach``.

In one process:

1. the full ``plansim calibrate`` (discrepancy fits, identifiability, waves, every prior's
   chains, default settings and workers): wall-clock seconds and engine runs (the
   issue's budget: at most 10 minutes on 2 cores);
2. the history errors of W parameter sets as calibration evaluates them
   (``Target.standardized``: runs stopped at the last history year, errors on arrays)
   against full runs through datasets (``signed(simulate(x))``), for W = 50 (one chain
   round near the engine's floor), 1,440 (one prior's 120 chains x 12 proposals) and
   4,000 (a wave): the ratio is the speed-up of every engine call of the calibration; and
   one call of 192 sets against 192 calls of one set;
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
        print(f"calibrate: {full:.1f} s wall-clock ({calls[0]} engine runs, "
              f"{cal.ensemble.size} stored sets)")

    target = calibrate.Target.of_model()
    rng = np.random.default_rng(0)
    pool = calibrate.load_sets().values
    target.standardized(pool[:10])
    for w in (50, 1440, 4000):
        sets = pool[np.arange(w) % pool.shape[0]]
        fast = _best(lambda s=sets: target.standardized(s))
        full = _best(lambda s=sets: target.signed(target.simulate(s)))
        print(f"history of {w} sets: calibration path {fast:.4f} s, full runs {full:.4f} s "
              f"(ratio {full / fast:.2f})")
    sets = target.lower + rng.random((192, len(target.names))) * target.width
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


def _best(call, repeat: int = 5) -> float:
    """Fastest of ``repeat`` timings of ``call()`` (CPU seconds of this process)."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        call()
        times.append(time.process_time() - t0)
    return min(times)


if __name__ == "__main__":
    main()
