"""Benchmark: how fast the lever explorer answers a slider change.

One change is what :func:`simulator.explore` does when a slider moves: re-run the
fixed sample of futures under the new lever values (one vectorised ensemble) and
redraw the scorecard and the fan chart. The script moves each lever of the
scenario in turn to a random value within its bounds, times every change (compute
alone, and compute plus drawing), and prints the median, the worst and their ratio
to the one-second budget of issue 9. The last line is ``ratio: X`` (median change
time / 1 s; below 1 means within budget).

    python benchmarks/bench_explorer.py [--scenario plan] [--futures 1000] [--changes 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from simulator.present.explorer import Explorer

BUDGET_S = 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="plan")
    ap.add_argument("--futures", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ex = Explorer(args.scenario, futures=args.futures, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    movable = [(k, lo, hi) for k, (lo, _, hi) in ex.levers().items() if hi > lo]
    ex.figures({})  # warm-up: model translation, fonts, first ensemble
    plt.close("all")
    values: dict[str, float] = {}
    compute, total = [], []
    for i in range(args.changes):
        name, lo, hi = movable[i % len(movable)]
        values[name] = float(rng.uniform(lo, hi))
        t0 = time.perf_counter()
        ex.compute(values)
        t1 = time.perf_counter()
        figs = ex.figures(values)
        for f in figs:
            f.canvas.draw()  # what Jupyter's inline backend does when it shows the figure
        t2 = time.perf_counter()
        plt.close("all")
        compute.append(t1 - t0)
        total.append(t2 - t1)
    print(f"scenario {args.scenario}: {args.futures} futures, {args.changes} slider changes")
    print(f"compute only      median {statistics.median(compute):.3f} s, "
          f"worst {max(compute):.3f} s")
    print(f"compute + redraw  median {statistics.median(total):.3f} s, worst {max(total):.3f} s")
    print(f"ratio: {statistics.median(total) / BUDGET_S:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
