"""The one validation layer for values of every input file and of the command line.

Scenario, goals, calibration, uncertainties, sweep-spec, loops-spec and accounts files
are read by :func:`simulator.inputs.tomlfile.read` (size, depth, encoding), CSV tables (the
plan's history for the audit) by :func:`csv_table`, and their values checked here (type,
finiteness, range, known names, size); each failure raises one
:class:`~simulator.errors.InputError` naming the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from pathlib import Path

from ..errors import InputError, shown
from .tomlfile import MAX_BYTES

MAX_LIST = 10_000  # items of any list in an input file
MAX_NAME = 64  # characters of a name that becomes part of a file name
_SAFE_NAME = re.compile(r"[^\W_][\w.-]*")  # letters (any script), digits, _ . -


def number(path, key, value) -> float:
    """A finite float (ints of any size that fit a float; no booleans, strings or NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(path, key, f"{shown(value)} is not a number", "write a number")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise InputError(path, key, f"{str(value)[:20]} is not a finite number",
                         "write a finite number")
    return out


def integer(path, key, value, low: int, high: int | None = None) -> int:
    """A whole number within ``[low, high]`` (no booleans or floats)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, key, f"{shown(value)} is not an integer", "write a whole number")
    if value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InputError(path, key, f"{str(value)[:24]} is out of range", f"give a number {span}")
    return int(value)


def string(path, key, value, allow_empty: bool = True) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise InputError(path, key, f"{shown(value)} is not a {'' if allow_empty else 'non-empty '}"
                         "string", f'write {key.rsplit(".", 1)[-1]} = "..."')
    return value


MAX_TEXT = 200
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                     "\ufeff]")
"""Control characters (a terminal's escape sequences, line breaks) and invisible or
direction-changing format characters (``U+202E`` shows text backwards)."""


def text(path, key, value, limit: int = MAX_TEXT) -> str:
    """A text a person reads in a verdict, a chart or the brief (a plan's name): a
    non-blank string of at most ``limit`` characters without control, invisible or
    direction-changing characters."""
    string(path, key, value, allow_empty=False)
    if len(value) > limit or _HIDDEN.search(value):
        raise InputError(path, key, f"'{shown(value)}' is not a plain text (longer than "
                         f"{limit} characters, or with control or invisible characters)",
                         f"write {key} as plain text of at most {limit} characters")
    return value


MAX_PATH = 4096


def path_text(path, key, value, fix: str = "write a path string") -> str:
    """A string naming a file: non-empty, at most :data:`MAX_PATH` characters, no NUL or
    other control character."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, key, f"{shown(value)} is not a path", fix)
    if len(value) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(path, key, f"'{shown(value)}' is not a usable path (too long or "
                         "with control characters)", fix)
    return value


def table(path, key, value, fix: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(path, key, "not a table", fix)
    return value


def sequence(path, key, value, fix: str, allow_empty: bool = False) -> list:
    """A list of at most :data:`MAX_LIST` items."""
    if not isinstance(value, list) or (not value and not allow_empty):
        raise InputError(path, key, f"not a {'' if allow_empty else 'non-empty '}list", fix)
    if len(value) > MAX_LIST:
        raise InputError(path, key, f"{len(value)} items (at most {MAX_LIST})", fix)
    return value


def name(path, key, value) -> str:
    """The one check of a name that becomes (part of) a file name: a goal id, an indicator,
    a scenario, a chart's stem.  Letters (any script), digits, ``.``, ``_``, ``-``;
    starting with a letter or digit, without ``..``, at most :data:`MAX_NAME` characters."""
    string(path, key, value, allow_empty=False)
    if len(value) > MAX_NAME or not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise InputError(path, key, f"'{shown(value)}' cannot be part of a file name",
                         f"use up to {MAX_NAME} letters, digits, '.', '_' or '-', starting "
                         "with a letter or digit")
    return value


def in_range(path, key, param, value: float) -> None:
    """``value`` within the documented range of the model parameter ``param``."""
    if not param.contains(value):
        raise InputError(path, key, f"{value:g} is outside the documented range "
                         f"[{param.lower:g}, {param.upper:g}] of '{param.name}'",
                         f"use a value within [{param.lower:g}, {param.upper:g}]")


def known(path, key, name, params: dict, roles: tuple[str, ...]):
    """The model parameter ``name``, which must have one of ``roles``."""
    if not isinstance(name, str) or name not in params:
        close = difflib.get_close_matches(str(name), list(params), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(path, key, f"'{shown(name)}' is not a parameter of the model{hint}",
                         "use a parameter name from the model file "
                         "(`plansim params` lists them)")
    if params[name].role not in roles:
        raise InputError(path, key, f"'{name}' is a {params[name].role} parameter",
                         f"list it under a section for {' or '.join(roles)} parameters")
    return params[name]


def parameter_value(path, key, name, value, params: dict, roles: tuple[str, ...]) -> float:
    """A known parameter's value: a finite number within its documented range."""
    param = known(path, key, name, params, roles)
    out = number(path, key, value)
    in_range(path, key, param, out)
    return out


def choice(path, key, value, options, fix: str | None = None) -> str:
    """One of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise InputError(path, key, f"{shown(value)} is not one of {', '.join(options)}",
                         fix or f"write one of {', '.join(repr(o) for o in options)}")
    return value


def keys(path, where: str, table_: dict, allowed, fix: str | None = None) -> None:
    """No key of ``table_`` outside ``allowed`` (a misspelt key is never ignored)."""
    for key in table_:
        if key not in allowed:
            raise InputError(path, f"{where}.{key}" if where else key, "unknown key",
                             fix or f"use only {', '.join(sorted(allowed))}")


def names(path, key, value, fix: str, allow_empty: bool = False) -> list[str]:
    """A list of non-empty strings."""
    items = sequence(path, key, value, fix, allow_empty)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InputError(path, key, f"{shown(item)} is not a name", fix)
    return items


def number_text(path, key, text: str) -> float:
    """A number printed in a text table (a CSV cell): finite."""
    try:
        out = float(text)
    except (TypeError, ValueError):
        raise InputError(path, key, f"{shown(text)} is not a number",
                         "write the number as the plan prints it") from None
    if not math.isfinite(out):
        raise InputError(path, key, f"{shown(text)} is not a finite number",
                         "write the number as the plan prints it")
    return out


def csv_table(path, columns: tuple[str, ...], fix: str):
    """A UTF-8 CSV file with a header row holding ``columns``, every cell as text
    (empty cells as ''); a missing, oversized, empty, non-UTF-8 or malformed file, or
    a missing column, raises InputError."""
    import pandas as pd

    path_text("command line", "path", str(path))
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "a directory, not a file" if path.is_dir()
                         else "file not found", fix)
    if path.stat().st_size > MAX_BYTES:
        raise InputError(path, None, f"more than the {MAX_BYTES} bytes an input file may "
                         "have", "give the intended file (inputs are small)")
    try:
        table = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        raise InputError(path, None, "not UTF-8 text", "save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, None, "empty", fix) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(path, None, f"not a CSV table ({str(exc).splitlines()[0][:80]})",
                         "save it as a CSV table with a header row") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(path, missing[0], "column missing",
                         f"give the columns {', '.join(columns)} (others are ignored)")
    if len(table) > MAX_LIST:
        raise InputError(path, None, f"{len(table)} rows (at most {MAX_LIST})", fix)
    return table


HISTORY_COMPARATORS = ("=", "<")  # a reported figure, a bound the plan states


def history_table(path, columns: tuple[str, ...] = ("indicator", "year", "value",
                                                    "comparator")):
    """A project's history CSV, row by row: ``indicator`` a name, ``year`` a whole
    number, ``value`` a finite number (kept as printed: its rounding is its error),
    ``comparator`` ``=`` or ``<``, ``derived`` ``yes``/``no`` (empty or absent: no), one
    row per indicator and year.  Returns the table with ``year`` as int and
    ``derived`` as bool; the first bad cell raises InputError naming its line."""
    fix = "give the path of the plan's history CSV (see the manifest's [history] file)"
    table = csv_table(path, columns, fix)
    if "derived" not in table.columns:
        table["derived"] = ""
    seen: dict[tuple[str, int], int] = {}
    years, derived = [], []
    for line, row in enumerate(table.itertuples(index=False), start=2):
        key = f"line {line}"
        indicator = string(path, f"{key}.indicator", row.indicator.strip(), allow_empty=False)
        year_text = row.year.strip()
        if not year_text.lstrip("-").isdigit():
            raise InputError(path, f"{key}.year", f"{shown(row.year)} is not a whole number",
                             "write the year as a whole number")
        year = integer(path, f"{key}.year", int(year_text), 1, 9999)
        number_text(path, f"{key}.value", row.value.strip())
        choice(path, f"{key}.comparator", row.comparator.strip(), HISTORY_COMPARATORS)
        flag = choice(path, f"{key}.derived", row.derived.strip() or "no", ("yes", "no"))
        if (indicator, year) in seen:
            raise InputError(path, key, f"{indicator} {year} is also on line "
                             f"{seen[indicator, year]}", "keep one row per indicator and year")
        seen[indicator, year] = line
        years.append(year)
        derived.append(flag == "yes")
    for column in ("indicator", "value", "comparator"):
        table[column] = table[column].str.strip()
    table["year"] = years
    table["derived"] = derived
    return table


def goal_suffix(selection: str | None) -> str:
    """What the default output name adds for a goal selection ('' for all goals)."""
    if selection is None:
        return ""
    if len(selection) <= 40 and _SAFE_NAME.fullmatch(selection):
        return f"-{selection}"
    return "-goals-" + hashlib.sha256(selection.encode("utf-8")).hexdigest()[:10]
