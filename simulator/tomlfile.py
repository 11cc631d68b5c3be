"""Reading the project's TOML inputs, every failure one :class:`InputError` line."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import InputError


def read(path: Path | str, missing: str, missing_fix: str,
         malformed_fix: str = "correct the TOML syntax") -> dict:
    """The parsed file; a missing, non-UTF-8 or malformed file raises InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, missing, missing_fix)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, None, f"malformed TOML ({exc})", malformed_fix) from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, None, "not UTF-8 text", "save the file as UTF-8") from exc
