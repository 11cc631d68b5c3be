"""Benchmark: one plain PySD run per parameter set versus the vectorised engine.

(a) is what EMA Workbench's PySD connector does: the model is loaded once and
``model.run(params=...)`` is called for every experiment.  It is timed on a subset
of the runs and scaled.  (b) is :meth:`simulator.engine.VectorModel.run` on the
same runs at each ensemble size.  The subset's results of (a) and (b) are checked
to be identical, then runs/s, their ratio and peak memory are printed.  The last
line is ``ratio: X`` for N = 10,000 (or the largest size if 10,000 is not run).

    python benchmarks/bench_engine.py [--model models/karamay.mdl]
        [--sizes 1000 10000 100000] [--loop-subset 200] [--repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pysd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.engine import (  # after the sys.path set-up above
    VectorModel,
    reference_values,
    translate_reference,
)

DEFAULT_MODEL = ROOT / "models" / "karamay.mdl"
FALLBACK_MODEL = ROOT / "tests" / "fixtures" / "functions.mdl"
RATIO_SIZE = 10_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="Vensim model (default models/karamay.mdl, else the test fixture)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000],
                        help="ensemble sizes N for the vectorised engine")
    parser.add_argument("--loop-subset", type=int, default=200,
                        help="runs timed one at a time with plain PySD")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameter sample")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time each size this many times and report the fastest "
                             "(the first call of a large size also pays for fresh memory)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="translation cache (default: the per-user cache, "
                             "PLANSIM_CACHE_DIR)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also measure each size's peak allocation with tracemalloc "
                             "(a second, much slower pass)")
    return parser.parse_args(argv)


def resolve_model(path: Path) -> Path:
    if path.exists():
        return path.resolve()
    print(f"{path} not found; using {FALLBACK_MODEL.relative_to(ROOT)}")
    return FALLBACK_MODEL


def sample(model: VectorModel, n: int, seed: int) -> dict[str, np.ndarray]:
    """Every parameter with finite limits, uniform within them.

    A model without limits (most of the SDXorg suite) gets every constant that
    does not set the time grid perturbed uniformly within ±10% of its default.
    """
    rng = np.random.default_rng(seed)
    bounded = {name: rng.uniform(low, high, n) for name, (low, high)
               in sorted(model.limits.items()) if np.isfinite(low) and np.isfinite(high)}
    return bounded or {name: default * rng.uniform(0.9, 1.1, n)
                       for name, default in sorted(model.parameters.items())
                       if name not in model.control_inputs}


def head(params: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {name: values[:n] for name, values in params.items()}


def loop_runs(model_path: Path, cache_dir: Path | None, params: Mapping[str, np.ndarray],
              outputs: list[str], years: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Plain PySD, one ``model.run(params=...)`` per run: seconds and (run, time) arrays."""
    model = pysd.load(str(translate_reference(model_path, cache_dir)))
    final_time = float(model.time.final_time())
    n = len(next(iter(params.values())))
    frames = []
    start = time.perf_counter()
    for i in range(n):
        experiment = {name: float(values[i]) for name, values in params.items()}
        frames.append(model.run(params=experiment, return_columns=outputs,
                                return_timestamps=list(years), final_time=final_time))
    seconds = time.perf_counter() - start
    return seconds, {name: np.stack([reference_values(f[name]) for f in frames]) for name in outputs}


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def peak_memory(func: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc, numpy included) while ``func`` runs."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(loop: Mapping[str, np.ndarray], vector: Any) -> tuple[float, int, int]:
    """Max relative difference, identical (bitwise, NaN = NaN) series and all series."""
    worst, identical, total = 0.0, 0, 0
    for name, expected in loop.items():
        actual = vector[name].values
        for row_actual, row_expected in zip(actual, expected):
            total += 1
            identical += bool(np.array_equal(row_actual, row_expected, equal_nan=True))
            scale = np.nanmax(np.abs(row_expected), initial=0.0) or 1.0
            with np.errstate(invalid="ignore"):
                diff = np.nanmax(np.abs(row_actual - row_expected), initial=0.0)
            worst = max(worst, float(diff / scale))
    return worst, identical, total


def describe(model_path: Path, vm: VectorModel, n_sampled: int, setup: float) -> str:
    name = model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path
    return (f"model: {name} ({len(vm.parameters)} constants, {n_sampled} sampled, "
            f"{len(vm.variables)} outputs, {len(vm.default_years)} years, "
            f"TIME STEP {vm.control.time_step}); load+translate {setup:.2f} s")


def time_sizes(vm: VectorModel, params: Mapping[str, np.ndarray], sizes: list[int],
               loop_rate: float, with_tracemalloc: bool, repeat: int = 1) -> dict[int, float]:
    """Time the engine at each size (ascending, so peak RSS is per size); runs/s by N.

    With ``repeat`` > 1 each size is run that many times and the fastest counts.
    """
    outputs = vm.variables
    rates = {}
    print(f"{'N':>8} {'vector s':>9} {'runs/s':>10} {'loop s (scaled)':>16} {'ratio':>7} "
          f"{'peak RSS MiB':>13}" + (f" {'tracemalloc MiB':>16}" if with_tracemalloc else ""))
    for n in sorted(sizes):
        runs = head(params, n)
        seconds = min(timed(lambda runs=runs: vm.run(runs, outputs, check_finite=False))[0]
                      for _ in range(max(repeat, 1)))
        rates[n] = n / seconds
        line = (f"{n:>8} {seconds:>9.2f} {rates[n]:>10.0f} {n / loop_rate:>16.1f} "
                f"{rates[n] / loop_rate:>7.0f} {peak_rss_mib():>13.0f}")
        if with_tracemalloc:
            peak = peak_memory(lambda runs=runs: vm.run(runs, outputs, check_finite=False))
            line += f" {peak / 2**20:>16.0f}"
        print(line)
    return rates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.simplefilter("ignore")  # PySD's lookup-extrapolation and pandas warnings
    model_path = resolve_model(args.model)
    setup, vm = timed(lambda: VectorModel(model_path, args.cache_dir))
    params = sample(vm, max(args.sizes + [args.loop_subset]), args.seed)
    print(describe(model_path, vm, len(params), setup))

    subset = head(params, args.loop_subset)
    loop_seconds, loop_result = loop_runs(model_path, args.cache_dir, subset, vm.variables,
                                          vm.default_years)
    loop_rate = args.loop_subset / loop_seconds
    print(f"(a) plain PySD loop: {args.loop_subset} runs in {loop_seconds:.2f} s "
          f"= {loop_rate:.1f} runs/s; peak RSS so far {peak_rss_mib():.0f} MiB")

    worst, identical, total = compare(loop_result,
                                      vm.run(subset, vm.variables, check_finite=False))
    print(f"subset check: {identical}/{total} series bit-identical, "
          f"max relative difference {worst:.3g}")
    if worst > 1e-12:
        print("ERROR: vectorised results differ from plain PySD")
        return 1

    rates = time_sizes(vm, params, args.sizes, loop_rate, args.tracemalloc, args.repeat)
    size = RATIO_SIZE if RATIO_SIZE in rates else max(rates)
    print(f"ratio: {rates[size] / loop_rate:.0f}" + ("" if size == RATIO_SIZE else f" (N={size})"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
