"""Reading the project's TOML inputs, every failure one :class:`InputError` line.

The file is checked before it is parsed: a regular file, at most :data:`MAX_BYTES`
bytes, UTF-8 without a byte-order mark, arrays and inline tables nested at most
:data:`MAX_DEPTH` deep. This is the reading half of the one validation layer
(:mod:`simulator.inputs.validate` checks the values).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import InputError

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
_BOM = "\ufeff"


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            triple = text.startswith(c * 3, i)
            end, i = (c * 3 if triple else c), i + (3 if triple else 1)
            while i < n and not text.startswith(end, i):
                if c == '"' and text[i] == "\\":
                    i += 1
                elif not triple and text[i] == "\n":
                    break
                i += 1
            i += len(end)
            continue
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


def read(path: Path | str, missing: str, missing_fix: str,
         malformed_fix: str = "correct the TOML syntax") -> dict:
    """The parsed file; a missing, oversized, non-UTF-8 or malformed file raises InputError."""
    if any(ord(c) < 32 for c in str(path)):
        raise InputError(repr(str(path))[1:-1], None, "a path with control characters",
                         "give the file's real path")
    path = Path(path)
    if not path.is_file():
        problem = "a directory, not a file" if path.is_dir() else missing
        raise InputError(path, None, problem, missing_fix)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(path, None, f"{size} bytes is more than the {MAX_BYTES} an input "
                         "file may have", "give the intended file (inputs are small)")
    try:
        text = path.read_bytes()[:MAX_BYTES + 1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, "not UTF-8 text", "save the file as UTF-8") from exc
    except OSError as exc:
        raise InputError(path, None, f"cannot be read ({exc.strerror})",
                         "check the file's permissions") from exc
    if text.startswith(_BOM):
        raise InputError(path, None, "starts with a byte-order mark (BOM), which TOML "
                         "does not allow", "save the file as UTF-8 without BOM")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise InputError(path, None, f"arrays or tables nested {depth} deep (at most "
                         f"{MAX_DEPTH})", "flatten the nesting")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, None, f"malformed TOML ({exc})", malformed_fix) from exc
    except (RecursionError, OverflowError, ValueError) as exc:
        raise InputError(path, None, f"cannot be parsed ({type(exc).__name__})",
                         malformed_fix) from exc
