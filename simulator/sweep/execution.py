"""Running a sweep's blocks: in this process, in local processes or on a Dask cluster.

Everything random was drawn in the parent; a block task carries its inputs and
:func:`compute_block` returns the arrays to store. Local worker processes exit when
their parent dies (a watchdog thread notices the new parent process id), so a
``kill -9`` of a sweep leaves no computation behind.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError, PlansimError
from ..inputs import model
from ..running import ensemble
from .spec import Spec, numeric_versions

CONNECT_TIMEOUT = "20s"  # to reach a Dask scheduler
ORPHAN_CHECK_SECONDS = 0.5


class WorkerMismatch(PlansimError):
    """A worker's model file or numeric packages differ from the parent's."""


@lru_cache(maxsize=8)
def _check_worker(mdl_path: str, cache_dir: str, model_hash: str, versions_json: str) -> None:
    vm = model._vector_model(mdl_path, cache_dir)
    if vm.model_sha256 != model_hash:
        raise WorkerMismatch(f"the process on {socket.gethostname()} (pid {os.getpid()}) runs "
                             f"model {vm.model_sha256[:12]}, the sweep needs {model_hash[:12]}: "
                             f"give every worker the same {Path(mdl_path).name} at {mdl_path} "
                             "and restart it")
    mine = numeric_versions()
    if json.loads(versions_json) != mine:
        raise WorkerMismatch(f"worker on {socket.gethostname()} has packages {mine}, the sweep "
                             f"needs {versions_json}: install the same versions")


def compute_block(task: dict) -> dict:
    """Run one block (what every executor calls; module-level so it pickles by reference).

    ``task`` carries the block's inputs, drawn in the parent; the result holds the
    arrays to store for its runs. The model is translated and loaded once per process.
    """
    project = task["scenario"].project
    _check_worker(str(project.model), str(project.cache_dir), task["model_hash"],
                  task["versions"])
    runs = np.arange(task["start"], task["stop"])
    # RANDOM functions: the stream of each run's future, the same under every setting
    samples = xr.Dataset({k: ("run", v) for k, v in task["samples"].items()},
                         coords={"run": runs, ensemble.FUTURE: ("run", task["future"])},
                         attrs={"seed": task["seed"]})
    data = ensemble.run_block(task["scenario"], samples, task["goal_set"],
                              levers=task["levers"], names=task["names"])
    if [str(g) for g in data["goal"].values] != task["goals"]:
        raise RuntimeError("goal order differs between the parent and the worker")
    arrays = {name: np.ascontiguousarray(data[name].sel(time=task["years"]).values,
                                         dtype=float)
              for name in task["indicators"]}
    arrays.update({k: np.asarray(v, dtype=float) for k, v in task["levers"].items()})
    arrays.update({k: np.asarray(v, dtype=float) for k, v in task["samples"].items()})
    if task["calibration_set"] is not None:
        arrays["calibration_set"] = np.asarray(task["calibration_set"], dtype=np.int64)
    arrays["margin"] = np.ascontiguousarray(data["margin"].values, dtype=float)
    for k in ("met", "joint", "plausible", "in_domain"):
        arrays[k] = np.ascontiguousarray(data[k].values, dtype=bool)
    return {"block": task["block"], "worker": f"{socket.gethostname()}:{os.getpid()}",
            "arrays": arrays}


class Tasks:
    """Block tasks built on demand from the parent's sample (memory: one block each)."""

    def __init__(self, spec: Spec, futures: xr.Dataset, parts: dict[str, str]):
        self.spec = spec
        self.goal_set = spec.scenario.goal_set()
        self.names = spec.computed_indicators(self.goal_set)
        self.futures = {k: np.asarray(futures[k].values, dtype=float) for k in futures.data_vars}
        self.calibration_set = (np.asarray(futures["calibration_set"].values, dtype=np.int64)
                                if "calibration_set" in futures.coords else None)
        self.model_hash = parts["model"]
        self.versions = json.dumps(numeric_versions(), sort_keys=True)

    def __call__(self, block: int) -> dict:
        spec = self.spec
        start, stop = spec.block_runs(block)
        runs = np.arange(start, stop)
        setting, future = runs // spec.futures, runs % spec.futures
        return {"block": block, "start": start, "stop": stop, "scenario": spec.scenario,
                "goal_set": self.goal_set, "names": self.names,
                "samples": {k: v[future] for k, v in self.futures.items()}, "future": future,
                "calibration_set": (None if self.calibration_set is None
                                    else self.calibration_set[future]),
                "levers": {k: spec.settings[setting, j] for j, k in enumerate(spec.levers)},
                "indicators": list(spec.indicators), "years": list(spec.years),
                "goals": self.goal_set.ids, "model_hash": self.model_hash, "seed": spec.seed,
                "versions": self.versions}


def exit_with_parent(parent_pid: int, interval: float = ORPHAN_CHECK_SECONDS) -> None:
    """In a worker process: exit as soon as ``parent_pid`` is no longer the parent.

    A daemon thread polls the parent process id; when the parent dies (even by
    ``kill -9``) the worker is re-parented and exits at once with ``os._exit``.
    """
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def in_process(tasks: Tasks, blocks: list[int]):
    for b in blocks:
        yield compute_block(tasks(b))


def processes(tasks: Tasks, blocks: list[int], workers: int):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with_parent, initargs=(os.getpid(),))
    todo, running = iter(blocks), set()
    try:
        while True:
            while len(running) < 2 * workers:
                b = next(todo, None)
                if b is None:
                    break
                running.add(pool.submit(compute_block, tasks(b)))
            if not running:
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        for fut in running:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


SECURITY_KEYS = ("ca_file", "cert", "key")
SCHEMES = ("tcp://", "tls://")


def security(path: str | Path | None, scheduler: str):
    """Dask's :class:`~distributed.security.Security` for ``scheduler`` from the TOML file
    ``path`` (``ca_file``, ``cert``, ``key``: PEM files, relative to it), required for
    ``tls://`` and refused for ``tcp://``; ``None`` for a plain ``tcp://`` address."""
    from ..inputs import tomlfile, validate

    if not scheduler.startswith(SCHEMES):
        raise InputError("command line", "--scheduler", f"{scheduler!r} is not a tcp:// or "
                         "tls:// address", "give tls://HOST:PORT (or tcp://HOST:PORT on a "
                         "trusted network)")
    if path is None:
        if scheduler.startswith("tls://"):
            raise InputError("command line", "--security", "a tls:// scheduler needs "
                             "certificates", "give --security FILE (ca_file, cert, key)")
        return None
    if not scheduler.startswith("tls://"):
        raise InputError("command line", "--security", "certificates are for a tls:// "
                         "scheduler", f"give --scheduler tls://{scheduler.split('://', 1)[1]}")
    path = Path(path)
    data = tomlfile.read(path, "security file not found", "give a TOML file with ca_file, "
                         "cert and key")
    validate.keys(path, "", data, SECURITY_KEYS)
    files = {}
    for key in SECURITY_KEYS:
        if key not in data:
            raise InputError(path, key, "missing", f'write {key} = "file.pem"')
        value = validate.path_text(path, key, data[key])
        target = (path.parent / value).resolve()
        if not target.is_file():
            raise InputError(path, key, f"'{value}' not found", "give a PEM file (relative "
                             "to the security file)")
        files[key] = str(target)
    from distributed.security import Security

    return Security(tls_ca_file=files["ca_file"], tls_client_cert=files["cert"],
                    tls_client_key=files["key"], require_encryption=True)


def connect(scheduler: str, security_file: str | Path | None = None):
    """A Dask client of ``scheduler`` (see :func:`security`); over plain ``tcp://`` one
    warning line: Dask carries pickled data, which runs code where it is read."""
    from distributed import Client

    secure = security(security_file, scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False,
                        security=secure)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("command line", "--scheduler", f"cannot reach a Dask scheduler at "
                         f"{scheduler} ({type(exc).__name__})",
                         "start one (`dask scheduler`, `dask worker ADDRESS`) and give its "
                         "tls://HOST:PORT with --security FILE (or tcp://HOST:PORT on a "
                         "trusted network)") from exc
    if secure is None:
        print(f"plansim: warning: {scheduler} is plain tcp (no authentication, no "
              "encryption) and Dask runs the pickled data it receives: use it only on a "
              "cluster and network you trust, else tls:// with --security FILE",
              file=sys.stderr, flush=True)
    return client


def dask(tasks: Tasks, blocks: list[int], client):
    from distributed import as_completed

    threads = sum(client.nthreads().values()) or 1
    todo = iter(blocks)
    queue = as_completed(loop=client.loop)
    running = []

    def submit() -> bool:
        b = next(todo, None)
        if b is None:
            return False
        fut = client.submit(compute_block, tasks(b), pure=False)
        queue.add(fut)
        running.append(fut)
        return True

    try:
        for _ in range(2 * threads):
            if not submit():
                break
        for fut in queue:
            result = fut.result()
            running.remove(fut)
            fut.release()
            submit()
            yield result
    finally:
        for fut in running:
            fut.cancel()
