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


def _human(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.1f} {unit}B"
    return f"{n} B"
