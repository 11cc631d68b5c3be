"""Benchmark: plansim's engine against its compiled peer, SDEverywhere's C, on one model.

Three engines, the same model and the same sampled inputs, in one process: (a) the
plain PySD loop (one ``model.run(params=...)`` per run, timed on a subset and scaled),
(b) :meth:`simulator.engine.VectorModel.run`, in one thread and in ``--threads`` threads
over run slices (each thread its own VectorModel, as :func:`simulator.running.ensemble.run` runs
blocks; default :func:`simulator.running.memory.threads`), and (c) SDEverywhere (Vensim -> C, MIT;
runtime and recipe in ``../shared/peers/sdeverywhere``, see its PROVENANCE.md) built
with ``gcc -O2`` and run by its harness, N runs in one process, every output at every
saved step in one buffer.  The engines run in turn, ``--repeat`` rounds per size, and the fastest of each
counts (on a shared machine each round sees about the same load).  For each N it prints runs/s, the ratios and peak memory; for
the smallest N the agreement of (b) and (c) (max and median relative difference over
every output value; compiled C's ``exp``/``pow`` differ from numpy's in the last bit, so
the two cannot be bit-identical).  The last lines are ``sde ratio on T threads: Y`` and
``sde ratio: X``, plansim's runs/s divided by SDEverywhere C ``-O2``'s at N = 10,000,
X like for like (one thread each; the harness is single-threaded).  Skipped, in one line, when node, npm
or gcc is missing.  The machine is shared: compare ratios from one run, not seconds.

    python benchmarks/bench_peer.py [--model models/karamay.mdl]
        [--sizes 1000 10000 100000] [--loop-subset 100] [--peer DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import head, loop_runs, peak_rss_mib, sample, timed

from simulator.engine import VectorModel
from simulator.running import memory

RATIO_SIZE = 10_000
SDE_PACKAGE = "@sdeverywhere/compile"
HELPERS_FIX = ("XLSX.set_fs(fs)", "if (XLSX.set_fs) XLSX.set_fs(fs)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "karamay.mdl")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--loop-subset", type=int, default=100,
                        help="runs timed one at a time with plain PySD")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameter sample")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads over run slices (default: the usable cores)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the engines in turn per size; the fastest of each kept")
    parser.add_argument("--peer", type=Path,
                        default=ROOT.parent / "shared" / "peers" / "sdeverywhere",
                        help="SDEverywhere's C runtime, harness and recipe")
    parser.add_argument("--work", type=Path, default=ROOT / "models" / ".cache" / "sde",
                        help="scratch folder: the translator's npm install, generated C, "
                             "binaries (git-ignored)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "models" / ".cache")
    parser.add_argument("--scaling", type=int, nargs="*", default=[10_000, 100_000],
                        help="plansim alone at these N, in blocks chosen from memory, asking "
                             "for the project's indicators in the goal years (each N in a "
                             "fresh process: its own peak memory); add 1000000 to measure it")
    parser.add_argument("--scaling-years", type=float, nargs="+", default=[2010.0, 2015.0],
                        help="the years the scaling runs ask for (the plan's goal years)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="scaling: also the peak of Python/numpy allocations (slower)")
    parser.add_argument("--scaling-child", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def missing_tools(peer: Path) -> str | None:
    for tool in ("node", "npm", "gcc"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if not (peer / "sde_harness.c").is_file():
        return f"no SDEverywhere recipe at {peer}"
    return None


def _run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {done.stderr.strip()[-600:]}")
    return done.stdout


def translator(peer: Path, work: Path) -> Path:
    """The npm install of SDEverywhere's translator (the recipe's package.json, its one-line
    fix of helpers.js) and gen.mjs beside it; returns the folder."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "gen.mjs"):
        shutil.copyfile(peer / name, work / name)
    package = work / "node_modules" / SDE_PACKAGE
    if not package.is_dir():
        _run(["npm", "install", "--no-audit", "--no-fund"], cwd=work)
    helpers = package / "src" / "_shared" / "helpers.js"
    text = helpers.read_text(encoding="utf-8")
    if HELPERS_FIX[1] not in text:
        helpers.write_text(text.replace(HELPERS_FIX[0], HELPERS_FIX[1], 1), encoding="utf-8")
    return work


def build(peer: Path, work: Path, model: Path, inputs: list[str], outputs: list[str]) -> Path:
    """SDEverywhere's C of ``model`` (patched as the recipe says) and its -O2 harness."""
    patched = work / f"{model.stem}_sde.mdl"
    _run([sys.executable, str(peer / "sde_patch_model.py"), str(model), str(patched)])
    spec = work / "spec.json"
    spec.write_text(json.dumps({"inputVarNames": inputs, "outputVarNames": outputs}),
                    encoding="utf-8")
    generated = work / "build"
    shutil.rmtree(generated, ignore_errors=True)
    _run(["node", str(work / "gen.mjs"), str(patched), str(spec), str(generated)], cwd=work)
    binary = work / "harness_O2"
    _run(["gcc", "-O2", "-I", str(peer / "c"), "-I", str(generated),
          str(peer / "sde_harness.c"), str(generated / f"{patched.stem}.c"),
          *(str(peer / "c" / f) for f in ("model.c", "vensim.c", "macros.c")),
          "-lm", "-o", str(binary)])
    return binary


def run_sde(binary: Path, work: Path, params: Mapping[str, np.ndarray], n: int,
            n_outputs: int, n_saved: int, keep: bool, repeat: int
            ) -> tuple[float, np.ndarray | None]:
    """SDEverywhere's runs/s for the first ``n`` runs (and their outputs if ``keep``)."""
    matrix = np.ascontiguousarray(np.stack([v[:n] for v in params.values()], axis=1),
                                  dtype="<f8")
    inputs = work / "params.bin"
    matrix.tofile(inputs)
    out = work / "outputs.bin"
    stdout = _run([str(binary), str(inputs), str(n), str(matrix.shape[1]), str(n_outputs),
                   str(n_saved), str(repeat), *([str(out)] if keep else [])])
    rate = float(re.search(r"runs_per_s=(\d+)", stdout).group(1))
    values = None
    if keep:
        values = np.fromfile(out, dtype="<f8").reshape(n, n_outputs, n_saved)
        out.unlink()
    inputs.unlink()
    return rate, values


def agreement(vector, sde: np.ndarray, outputs: list[str]) -> tuple[float, float]:
    """Max and median relative difference over every output value, relative to the largest
    magnitude of that output over all runs and years (a value that cancels to 0 in one
    engine and to 3e-15 in the other is a difference of 3e-15 of its scale, not 100%)."""
    ours = np.stack([vector[name].values for name in outputs], axis=1)  # (run, out, time)
    scale = np.max(np.maximum(np.abs(ours), np.abs(sde)), axis=(0, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(ours - sde) / scale, 0.0)
    rel = rel[np.isfinite(rel)]
    return float(rel.max()), float(np.median(rel))


def sliced_run(models: list[VectorModel], pool: ThreadPoolExecutor,
               params: Mapping[str, np.ndarray], n: int, outputs: list[str]) -> list:
    """The first ``n`` runs in ``len(models)`` slices, one thread and model per slice."""
    edges = np.linspace(0, n, len(models) + 1).astype(int)
    jobs = [pool.submit(model.run, {k: v[a:b] for k, v in params.items()}, outputs,
                        check_finite=False)
            for model, a, b in zip(models, edges[:-1], edges[1:])]
    return [job.result() for job in jobs]


def fastest(func, repeat: int) -> float:
    """The fastest of ``repeat`` calls (each result dropped before the next call)."""
    return min(timed(func)[0] for _ in range(max(repeat, 1)))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def indicator_variables(model: Path, variables: list[str]) -> list[str]:
    """The model variables ``indicators.toml`` beside the model maps (what a plan project's
    commands ask the engine for); else the first 30 outputs."""
    path = model.parent / "indicators.toml"
    if path.is_file():
        import tomllib

        table = tomllib.loads(path.read_text(encoding="utf-8")).get("indicator", {})
        wanted = [entry["variable"] for entry in table.values() if "variable" in entry]
        known = [v for v in dict.fromkeys(wanted) if v in variables]
        if known:
            return known
    return variables[:30]


def own_peak_mib() -> float:
    """This process's own peak resident memory: ``VmHWM`` (Linux; ``ru_maxrss`` survives
    ``exec`` and so holds the parent's), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def scaling_child(args: argparse.Namespace) -> int:
    """One line for N = ``args.scaling_child``: plansim's runs/s on one thread in blocks of
    :func:`simulator.running.memory.block_size` (what ``ensemble.run`` picks), keeping only
    the indicators in ``--scaling-years`` (preallocated ``(N, years)`` arrays), and this
    process's peak memory."""
    import tracemalloc

    warnings.simplefilter("ignore")
    n = args.scaling_child
    vm = VectorModel(args.model.resolve(), args.cache_dir)
    outputs = indicator_variables(args.model.resolve(), vm.variables)
    years = np.asarray(args.scaling_years, dtype=float)
    block = memory.block_size(n, given=None)
    rng_seed = args.seed
    first = sample(vm, min(block, n), rng_seed)  # the same draws for every block: same cost
    vm.run(head(first, 10), outputs, years=years, check_finite=False)  # warm-up
    kept = {name: np.empty((n, len(years))) for name in outputs}
    block_rates: list[float] = []  # wall runs/s of each block, its copy into kept included

    def all_blocks() -> None:
        for start in range(0, n, block):
            size = min(block, n - start)
            wall = time.perf_counter()
            data = vm.run(head(first, size), outputs, years=years, check_finite=False)
            for name in outputs:
                kept[name][start:start + size] = data[name].values
            del data
            block_rates.append(size / (time.perf_counter() - wall))

    rss_before = own_peak_mib()
    seconds = cpu = float("inf")
    for _ in range(1 if n >= 1_000_000 else max(args.repeat, 1)):
        wall, cpu_start = time.perf_counter(), time.process_time()
        all_blocks()
        seconds = min(seconds, time.perf_counter() - wall)
        cpu = min(cpu, time.process_time() - cpu_start)
    fastest_block, median_block = max(block_rates), float(np.median(block_rates))
    traced = ""
    if args.tracemalloc:
        tracemalloc.start()
        all_blocks()
        traced = f" tracemalloc_peak_mib={tracemalloc.get_traced_memory()[1] / 2**20:.0f}"
        tracemalloc.stop()
    print(f"scaling N={n} block={block} outputs={len(outputs)} years={len(years)} "
          f"seconds={seconds:.2f} runs_per_s={n / seconds:.0f} "
          f"cpu_seconds={cpu:.2f} runs_per_cpu_s={n / cpu:.0f} "
          f"fastest_block_runs_per_s={fastest_block:.0f} "
          f"median_block_runs_per_s={median_block:.0f} "
          f"peak_rss_mib={own_peak_mib():.0f} rss_after_load_mib={rss_before:.0f}{traced}")
    return 0


def scaling(args: argparse.Namespace) -> None:
    """Each ``--scaling`` N in a fresh process (:func:`scaling_child`); runs/s relative
    to the smallest N."""
    if not args.scaling:
        return
    print(f"plansim alone, 1 thread, blocks from memory (limit {memory.limit() / 2**30:.1f} "
          f"GiB), indicators of {args.model.name} in {args.scaling_years}; load average "
          f"{os.getloadavg()[0]:.1f}")
    rates, fastest = {}, {}
    for n in sorted(args.scaling):
        command = [sys.executable, str(Path(__file__).resolve()), "--scaling-child", str(n),
                   "--model", str(args.model), "--cache-dir", str(args.cache_dir),
                   "--seed", str(args.seed), "--repeat", str(args.repeat),
                   "--scaling-years", *map(str, args.scaling_years),
                   *(["--tracemalloc"] if args.tracemalloc else [])]
        line = _run(command).strip().splitlines()[-1]
        rates[n] = float(re.search(r"runs_per_cpu_s=(\d+)", line).group(1))
        fastest[n] = float(re.search(r"fastest_block_runs_per_s=(\d+)", line).group(1))
        print(f"{line} cpu_vs_N={min(rates)}: {rates[n] / rates[min(rates)]:.2f} "
              f"wall_fastest_block_vs_N={min(fastest)}: "
              f"{fastest[n] / fastest[min(fastest)]:.2f} (load {os.getloadavg()[0]:.1f})")
    for what, values in ((("runs per CPU second, which the load of a shared machine "
                          "disturbs least"), rates),
                         (("wall runs/s of the fastest block, the least loaded moment of "
                          "each N"), fastest)):
        low, high = min(values.values()), max(values.values())
        print(f"scaling spread ({what}): slowest/fastest {low / high:.2f} over N = "
              f"{', '.join(f'{n:,}' for n in sorted(values))}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scaling_child is not None:
        return scaling_child(args)
    why = missing_tools(args.peer)
    if why is not None:
        print(f"bench_peer: skipped ({why}; SDEverywhere's C needs node, npm and gcc)")
        return 0
    warnings.simplefilter("ignore")
    model = args.model.resolve()
    vm = VectorModel(model, args.cache_dir)
    threads = memory.threads() if args.threads is None else max(1, args.threads)
    models = [vm] + [VectorModel(model, args.cache_dir) for _ in range(threads - 1)]
    pool = ThreadPoolExecutor(threads)
    params = sample(vm, max(args.sizes), args.seed)
    outputs = vm.variables
    years = vm.default_years
    print(f"model: {model.name} ({len(params)} constants sampled, {len(outputs)} outputs, "
          f"{len(years)} saved years); {threads} threads; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared: compare ratios)")
    binary = build(args.peer, translator(args.peer, args.work), model, list(params), outputs)

    for each in models:  # warm-up: first-call set-up
        each.run(head(params, 10), outputs, check_finite=False)
    subset = head(params, args.loop_subset)
    loop_cpu = time.process_time()
    loop_seconds, _ = loop_runs(model, args.cache_dir, subset, outputs, years)
    loop_cpu = args.loop_subset / (time.process_time() - loop_cpu)
    loop_rate = args.loop_subset / loop_seconds
    print(f"(a) plain PySD loop: {args.loop_subset} runs in {loop_seconds:.2f} s = "
          f"{loop_rate:.1f} runs/s ({loop_cpu:.1f} runs per CPU second)")
    print(f"{'N':>8} {'PySD loop/s':>12} {'plansim 1 thread/s':>19} "
          f"{f'plansim {threads} threads/s':>20} {'SDE C -O2/s':>12} {'1 thread/SDE':>12} "
          f"{'plansim/loop':>13} {'peak RSS MiB':>13} {'SDE RSS MiB':>12} "
          f"{'CPU: 1 thread/SDE':>18} {'CPU: plansim/loop':>18}")
    ratios = {}
    for n in sorted(args.sizes):
        runs = head(params, n)
        keep = n == min(args.sizes)
        # the three engines in turn, --repeat rounds, the fastest of each kept: the load of
        # a shared machine changes by the second, so each round sees about the same load
        one = rate = sde_rate = one_cpu = sde_cpu = 0.0
        sde_values = None
        for round_ in range(max(args.repeat, 1)):
            wall, cpu = time.perf_counter(), time.process_time()
            vm.run(runs, outputs, check_finite=False)
            one = max(one, n / (time.perf_counter() - wall))
            one_cpu = max(one_cpu, n / (time.process_time() - cpu))
            if threads > 1:
                rate = max(rate, n / fastest(
                    lambda n=n: sliced_run(models, pool, params, n, outputs), 1))
            cpu = children_cpu()
            sde, values = run_sde(binary, args.work, params, n, len(outputs), len(years),
                                  keep and round_ == 0, 1)
            if not (keep and round_ == 0):  # (the run writing its outputs to a file: not timed)
                sde_cpu = max(sde_cpu, n / max(children_cpu() - cpu, 1e-9))
            sde_rate = max(sde_rate, sde)
            sde_values = values if values is not None else sde_values
        rate = rate if threads > 1 else one
        ratios[n] = (one / sde_rate, rate / sde_rate)
        print(f"{n:>8} {loop_rate:>12.1f} {one:>19.0f} {rate:>20.0f} {sde_rate:>12.0f} "
              f"{ratios[n][0]:>12.2f} "
              f"{one / loop_rate:>13.0f} {peak_rss_mib():>13.0f} {children_rss_mib():>12.0f} "
              f"{one_cpu / sde_cpu if sde_cpu else float('nan'):>18.2f} "
              f"{one_cpu / loop_cpu:>18.0f}")
        if keep:
            worst, median = agreement(vm.run(runs, outputs, check_finite=False), sde_values,
                                      outputs)
            print(f"agreement at N={n}: max relative difference {worst:.3g}, "
                  f"median {median:.3g}")
    pool.shutdown()
    size = RATIO_SIZE if RATIO_SIZE in ratios else max(ratios)
    at = "" if size == RATIO_SIZE else f" (N={size})"
    if threads > 1:
        print(f"sde ratio on {threads} threads: {ratios[size][1]:.2f}{at}")
    scaling(args)
    print(f"sde ratio: {ratios[size][0]:.2f}{at}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
