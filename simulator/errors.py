"""Errors a user can fix: each carries one line naming the file, the key and the fix."""

from __future__ import annotations

import re

MAX_LINE = 280  # characters of an error line after "plansim: error: "
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: object) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def shorten(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters (an ellipsis marks the cut)."""
    if len(text) <= limit:
        return text
    keep = max(limit - 1, 2)
    head = (2 * keep) // 3
    return text[:head] + "…" + text[len(text) - (keep - head):]


def fit(parts: list[str], budget: int) -> list[str]:
    """``parts`` with control characters escaped, the longest cut to a common length so
    that together they fit ``budget`` characters (short parts are kept whole)."""
    parts = [one_line(p) for p in parts]
    if sum(map(len, parts)) <= budget:
        return parts
    cap = budget
    while cap > 12 and sum(min(len(p), cap) for p in parts) > budget:
        cap -= 1
    return [shorten(p, cap) for p in parts]


def shown(value: object, limit: int = 40) -> str:
    """A value as an error message quotes it: ``repr`` for non-strings, at most ``limit``."""
    return shorten(one_line(value if isinstance(value, str) else repr(value)), limit)


class PlansimError(Exception):
    """Base class of errors that the CLI reports in one line with exit code 2."""


class InputError(PlansimError):
    """Bad user input: a scenario, goals or spec file that cannot be used as written.

    ``file``, ``key``, ``problem`` and ``fix`` keep what they were given; the message
    escapes control characters and is shortened (in the middle of its longest part)
    to one line of at most :data:`MAX_LINE` characters.
    """

    def __init__(self, file: object, key: str | None, problem: str, fix: str):
        self.file = str(file)
        self.key = key
        self.problem = problem
        self.fix = fix
        separators = len(": ") * (2 if key else 1) + len("; fix: ")
        parts = [self.file, *([shorten(one_line(key), 48)] if key else []), str(problem),
                 str(fix)]
        parts = fit(parts, MAX_LINE - separators)
        where = ": ".join(parts[:-2])
        super().__init__(f"{where}: {parts[-2]}; fix: {parts[-1]}")


class DomainError(InputError):
    """Parameters within their documented ranges that take the model outside its domain.

    ``inputs`` holds every parameter value of the run (written beside the output by
    the command line), ``diagnosis`` the :class:`simulator.running.domain.Diagnosis`.
    """

    def __init__(self, file: object, key: str | None, problem: str, fix: str,
                 inputs: dict | None = None, diagnosis: object = None):
        super().__init__(file, key, problem, fix)
        self.inputs = dict(inputs or {})
        self.diagnosis = diagnosis
