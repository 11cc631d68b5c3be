"""Sweeps: a grid or sample of lever settings x sampled futures, run in resumable blocks.

A sweep answers "which lever settings make the goals reachable together, and how
likely?" over many runs. Every lever setting meets the same futures (common random
numbers), so differences between settings are the levers' doing. Runs are computed
in blocks (one vectorised integration each, :func:`simulator.running.ensemble.run_block`),
written block by block into a Zarr v3 store, and summarised in ``summary.json``.

Spec file (TOML)::

    description = "..."                # optional
    scenario = "plan"                  # path relative to this file, or a scenario name of
                                       # the project: calibration, fixed levers, futures, goals
    seed = 1                           # seed of every sample (default 0)
    futures = 200                      # futures sampled (Latin hypercube over the scenario's
                                       # uncertainties) and shared by every lever setting
    block_size = 2000                  # runs per block (default 2000; at most 100,000)
    indicators = ["population", "green_ratio"]   # indicators to store (default: none);
                                       # goals are evaluated on what they need regardless
    years = [2010, 2015]               # years of the stored indicators (default: every
                                       # year the model saves)

    # either a grid: explicit values per lever, full factorial (first lever varies slowest)
    [levers."talent attraction rate"]
    grid = [0.0, 0.01, 0.02, 0.03]
    [levers."greening spending share"]
    grid = [0.08, 0.12, 0.2]

    # or a sample: n settings by Latin hypercube within the scenario's lever bounds
    # (the documented range for a lever the scenario does not list), seeded by `seed`
    [lever_sample]
    n = 64
    levers = ["talent attraction rate", "greening spending share"]
    # (equivalently: `samples = 64` in each [levers."..."] table, all with the same n)

Levers the spec does not list keep the scenario's values. Every key is checked before
anything runs: an unknown key or lever, a value outside the lever's documented range
(``plansim params``), a malformed file raise :class:`~simulator.errors.InputError`
naming the file, the key and the fix.

Runs: ``settings x futures``; run ``r`` is setting ``r // futures`` under future
``r % futures``; block ``b`` holds runs ``[b * block_size, (b + 1) * block_size)``.

Output directory ``DIR``::

    DIR/sweep.zarr/        Zarr v3 group, arrays chunked by block along `run`:
        run, time, goal                    coordinates (time = the stored years)
        <indicator>        (run, time)     the requested indicators at the requested years
        <lever>            (run,)          swept lever values (fixed levers: attrs)
        <uncertainty>      (run,)          sampled uncertain inputs
        <calibrated>, calibration_set (run,) calibrated parameters drawn from the
                                           history-matched ensemble, and the set's index
        setting, future    (run,)          index of the lever setting and of the future
        margin, met        (run, goal)     goal margins (>= 0 met) and met flags
        joint, plausible   (run,)          all goals met; run reproduces the history
        in_domain          (run,)          model output finite (else never plausible)
        attrs: provenance, the canonical spec, its hash, the fingerprint
    DIR/blocks/NNNNNN.done completion marker of block NNNNNN, with the sha256 of
                           each of the block's chunk files
    DIR/summary.json       joint probability per setting (Wilson 95%), plausible counts,
                           the best setting and its goals, provenance

Resume: the store is pre-allocated (metadata written in a temporary directory and
renamed into place), then each block's chunks are written (Zarr writes each chunk
atomically), fsync'ed, and only then is the block's marker renamed into place. Running
the same command again redoes exactly the blocks without a marker, so a sweep killed
at any moment (even ``kill -9``) ends bit-identical to one never interrupted. The
store records a fingerprint of the spec, the scenario (levers, overrides, uncertainties,
calibrated values), goals, history (and the project's history settings), indicator
definitions, model, the sampled design and the numeric package versions; resuming
into a store with another fingerprint is refused. Finished blocks
are verified against their markers' chunk digests on resume and before
``summary.json`` is rebuilt; a missing, truncated, swapped or altered chunk is
reported in one notice line and its block recomputed, never used.

Determinism: everything random is drawn in the parent from ``seed`` (futures by
:func:`simulator.sample.latin_hypercube`; lever samples by a Latin hypercube on the
stream ``[seed, 1]``), and the block split depends only on the spec, so in-process,
``--workers K`` (spawned processes) and ``--scheduler tcp://HOST:PORT`` (a Dask
cluster) give identical stores. Workers receive a block's inputs, run it with their
own once-per-process translated model and return arrays; they refuse to run if their
model file or numeric packages differ from the parent's. Only the parent writes.

Memory: no step holds more than a few blocks of time series; the summary reads only
the ``(run,)`` flags and one setting's ``met`` rows; the futures sample is held whole
(``futures x uncertainties``). :meth:`Spec.memory_bytes` estimates the total before
anything is allocated and :func:`simulator.running.memory.check` refuses a sweep over the
limit (``--max-memory``).

Modules: :mod:`.spec` (the file, the fingerprint), :mod:`.store` (the Zarr store,
markers, verification), :mod:`.execution` (blocks in-process, in local processes or
on Dask), :mod:`.summary` (``summary.json``); this module runs them in order.
"""
from __future__ import annotations

import errno
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from ..errors import InputError
from ..inputs import validate
from ..inputs.project import Project
from ..running import memory, outputs, results
from . import execution, store
from .execution import WorkerMismatch, compute_block
from .spec import Spec, fingerprint_parts, futures_sample, load_spec, sha
from .store import STORE
from .summary import SUMMARY, summarize


@dataclass
class SweepOutcome:
    """What a sweep did: where it wrote, how many blocks it ran now or found done."""

    out_dir: Path
    store: Path
    summary_path: Path
    summary: dict
    blocks_run: int
    blocks_resumed: int
    executor: str
    workers_seen: set[str]

    def report(self) -> str:
        s = self.summary
        best = s["best_setting"]
        p = best["joint_probability"]
        levers = ", ".join(f"{k} = {v:.4g}" for k, v in best["levers"].items())
        if p["value"] is None:
            verdict = "no plausible futures: no probability can be given"
        else:
            lo, hi = p["interval"]
            verdict = (f"all {len(best['goals'])} goals together in {100 * p['value']:.1f}% of "
                       f"{best['plausible_runs']} plausible futures "
                       f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}%)")
        return "\n".join([
            (f"sweep '{s.get('spec_file', '')}' (scenario '{s.get('scenario', '')}', seed "
             f"{s.get('seed')}): {s['settings']} lever settings x {s['futures']} futures = "
             f"{s['runs']} runs in {s['blocks']} blocks"),
            (f"blocks: {self.blocks_run} run now, {self.blocks_resumed} already done "
             f"({self.executor})"),
            f"best setting #{best['setting']}: {levers}",
            f"  {verdict}",
            (f"  mean goals met per plausible future: {best['goals_met_mean']:.1f} of "
             f"{len(best['goals'])}" if best["goals_met_mean"] is not None else "  -"),
            f"wrote {self.store} and {self.summary_path}",
        ])


def _progress_bar(progress, total: int, initial: int):
    """A callable ticking one block, and a closer: tqdm on a terminal when ``None``, else
    one stderr line per tenth of the blocks (a log shows the sweep goes on)."""
    if callable(progress):
        return progress, lambda: None
    if progress is False:
        return (lambda k: None), lambda: None
    if progress is None and not sys.stderr.isatty():
        state = {"done": initial, "shown": 10 * initial // max(total, 1)}

        def line(k: int) -> None:
            state["done"] += k
            tenth = 10 * state["done"] // max(total, 1)
            if tenth > state["shown"]:
                state["shown"] = tenth
                print(f"plansim: sweep blocks: {state['done']} of {total}", file=sys.stderr,
                      flush=True)

        return line, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc="sweep blocks", unit="block", file=sys.stderr)
    return bar.update, bar.close


def _notice(text: str) -> None:
    print(f"plansim: notice: {text}", file=sys.stderr, flush=True)


def _results(tasks, pending: list[int], client, scheduler, workers):
    if client is not None:
        return execution.dask(tasks, pending, client), f"dask {scheduler}"
    if workers is not None:
        return execution.processes(tasks, pending, workers), f"{workers} local processes"
    return execution.in_process(tasks, pending), "in-process"


def execute(spec_path: str | Path, out_dir: str | Path, workers: int | None = None,
            scheduler: str | None = None, progress=None, project: Project | None = None,
            max_memory: str | None = None, notice=_notice,
            security: str | Path | None = None) -> SweepOutcome:
    """Run (or resume) a sweep; see :func:`run_sweep`."""
    outputs.check_path_text(str(out_dir), "--out")
    spec = load_spec(spec_path, project)
    if workers is not None and scheduler is not None:
        raise InputError("command line", "--workers/--scheduler", "both given",
                         "give --workers K for local processes or --scheduler for a cluster")
    if workers is not None:
        workers = validate.integer("command line", "--workers", workers, 1, 1024)
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise InputError("command line", "--scheduler", f"{scheduler!r} is not an address",
                         "give tcp://HOST:PORT")
    if security is not None and scheduler is None:
        raise InputError("command line", "--security", "given without --scheduler",
                         "give --scheduler tls://HOST:PORT with it")
    memory.check(spec.memory_bytes(workers or 0), f"this sweep ({spec.runs} runs)", max_memory)
    out = Path(out_dir)
    outputs.check_dir(out, (SUMMARY,), force=True)  # a device, a file or unwritable: refused
    futures = futures_sample(spec)
    parts = fingerprint_parts(spec, futures)
    fingerprint = sha(parts)
    store_path = out / STORE
    if store_path.exists():
        store.check(store_path, spec, parts)  # before anything is written

    client = execution.connect(scheduler, security) if scheduler is not None else None
    try:
        with outputs.locked(out, "sweep", staged=False):  # resumable blocks
            store.clean_partials(out)
            goal_set = spec.scenario.goal_set()
            if store_path.exists():
                store.check(store_path, spec, parts)
            else:
                shutil.rmtree(out / store.MARKERS, ignore_errors=True)  # of a deleted store
                store.create(store_path, spec, parts, goal_set.ids)
            (out / store.MARKERS).mkdir(exist_ok=True)
            done = store.completed(out, fingerprint, spec.n_blocks, notice)
            resumed = len(done)
            tasks = execution.Tasks(spec, futures, parts)
            writer = store.Writer(out, spec, fingerprint)
            run_now, seen, executor = 0, set(), "in-process"
            for _attempt in range(2):  # a block found corrupt at the end is redone once
                pending = [b for b in range(spec.n_blocks) if b not in done]
                if not pending:
                    break
                results_iter, executor = _results(tasks, pending, client, scheduler, workers)
                tick, close = _progress_bar(progress, spec.n_blocks, len(done))
                try:
                    for result in results_iter:
                        try:
                            writer.write(result)
                        except OSError as exc:
                            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                                raise
                            raise outputs.DiskFullError(
                                f"{out}: disk full while writing block {result['block']} "
                                f"({shutil.disk_usage(out).free >> 20} MB free, the store "
                                f"needs about {spec.store_bytes() >> 20} MB); fix: free space "
                                "and rerun the same command to resume") from exc
                        seen.add(result["worker"])
                        tick(1)
                finally:
                    close()
                    if hasattr(results_iter, "close"):
                        results_iter.close()
                run_now += len(pending)
                done = store.completed(out, fingerprint, spec.n_blocks, notice)
            missing = sorted(set(range(spec.n_blocks)) - done)
            if missing:
                raise RuntimeError(f"blocks {missing[:5]} do not verify after the sweep")
            summary_data = summarize(out, check=False)  # verified just above
            summary_path = results.write_json(summary_data, out / SUMMARY, sealed=True)
    finally:
        if client is not None:
            client.close()
    return SweepOutcome(out, store_path, summary_path, summary_data, run_now, resumed,
                        executor, seen)


def run_sweep(spec_path: str | Path, out_dir: str | Path, workers: int | None = None,
              scheduler: str | None = None, progress=None,
              project: Project | None = None) -> Path:
    """Run (or resume) the sweep ``spec_path`` into ``out_dir``; return ``summary.json``'s path.

    ``workers``: run blocks in that many local processes; ``scheduler``: on the Dask
    cluster at that address (``tcp://HOST:PORT``); neither: in this process.
    ``progress``: ``None`` shows a tqdm bar over blocks when stderr is a terminal,
    ``False`` none, ``True`` always, a callable is called with ``1`` per block.
    Running it again with the same arguments resumes: only blocks without a completion
    marker are run. Results are identical whatever the executor. ``project``: the
    project whose scenarios a spec names (default: :func:`simulator.inputs.project.find`).
    """
    return execute(spec_path, out_dir, workers, scheduler, progress, project).summary_path


def open_store(out_dir: str | Path) -> xr.Dataset:
    """The sweep store as a lazy :class:`xarray.Dataset`."""
    return xr.open_zarr(Path(out_dir) / STORE, consolidated=True)


__all__ = ["Spec", "SweepOutcome", "WorkerMismatch", "compute_block", "execute",
           "fingerprint_parts", "futures_sample", "load_spec", "open_store", "run_sweep",
           "summarize"]
