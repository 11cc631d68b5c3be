"""Memory a command will need, estimated before anything is allocated, and its limit.

The limit is half the machine's physical memory unless the user sets another with
``--max-memory SIZE`` (``reach``, ``sweep``) or the ``PLANSIM_MAX_MEMORY``
environment variable (``500M``, ``8G``, ``1.5T`` or bytes). Estimates are upper
bounds of the arrays a command holds at once, plus the working memory of one
vectorised block (:data:`BLOCK_BYTES_PER_RUN`, measured on the district model).
"""

from __future__ import annotations

import os
import re

from ..errors import InputError

ENV = "PLANSIM_MAX_MEMORY"
BLOCK_BYTES_PER_RUN = 20_000  # one run inside a vectorised block (measured 8-11 KB, x2)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)


def parse_size(text: str, source: str = "--max-memory") -> int:
    """Bytes of a size such as ``8G``, ``500MB``, ``1.5T`` or ``1000000``."""
    m = _SIZE.fullmatch(str(text)) if len(str(text)) < 40 else None
    if not m or float(m[1]) <= 0:
        raise InputError("command line", source, f"{str(text)[:40]!r} is not a size",
                         "give a size such as 500M, 8G or 1.5T")
    return int(float(m[1]) * _UNITS[m[2].upper()])


def physical() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def available() -> int:
    """Memory the machine can give now without swapping (Linux ``MemAvailable``), else
    the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical()


def limit(given: str | None = None) -> int:
    """The limit: ``given`` (``--max-memory``), else ``PLANSIM_MAX_MEMORY``, else half of RAM."""
    if given is not None:
        return parse_size(given)
    if os.environ.get(ENV):
        return parse_size(os.environ[ENV], ENV)
    return physical() // 2


def check(needed: int, what: str, given: str | None = None) -> None:
    """Refuse, in one line, a command whose estimate ``needed`` exceeds the limit."""
    cap = limit(given)
    if needed > cap:
        raise InputError("command line", "--max-memory", f"{what} needs about "
                         f"{_human(needed)} of memory, more than the limit of {_human(cap)}",
                         f"use fewer runs, or raise the limit with --max-memory (or {ENV})")


BLOCK_SHARE = 8
"""A vectorised block may take this fraction (1/8) of the memory limit."""
MIN_BLOCK, MAX_BLOCK = 2_000, 10_000
"""Bounds of a block chosen from memory: below 2,000 runs the per-call cost of PySD's
step loop dominates (2,000-run blocks cost 1.9x per run against 10,000-run ones on the
district model); above 10,000 runs each of a step's arrays (8 bytes a run) outgrows
what a core's cache keeps of a step's working set, and the runs per CPU second fall
(district model, 43 indicators in two years, 80,000 runs in blocks of 5,000 / 10,000 /
20,000 / 40,000 / 80,000 runs: 27,500 / 28,700 / 26,600 / 23,900 / 23,400 runs per CPU
second on a 1 MB L2 cache, benchmarks/README.md)."""


THREADS_ENV = "PLANSIM_THREADS"


def threads() -> int:
    """Threads an ensemble's blocks run on: ``PLANSIM_THREADS``, else the cores this
    process may use (numpy releases the GIL inside each operation over a block's runs,
    so two threads use two cores; each thread has its own translated model)."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise InputError("environment", THREADS_ENV, f"{text[:20]!r} is not a number "
                             "of threads", "give a positive integer, e.g. 2")
        return int(text)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def block_size(runs: int, given: str | None = None) -> int:
    """Runs per vectorised block for an ensemble of ``runs``: as many as an eighth of the
    memory limit, or of the memory available now if less (a shared machine), holds
    (:data:`BLOCK_BYTES_PER_RUN` each), within [:data:`MIN_BLOCK`, :data:`MAX_BLOCK`],
    and never more than ``runs``.  Results do not depend on it (each
    run's arithmetic is its own; RANDOM streams are keyed by the run's future)."""
    fits = min(limit(given), available()) // (BLOCK_SHARE * BLOCK_BYTES_PER_RUN)
    return max(1, min(runs, max(MIN_BLOCK, min(MAX_BLOCK, fits))))


def _human(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.1f} {unit}B"
    return f"{n} B"
