"""Errors a user can fix: each carries one line naming the file, the key and the fix."""

from __future__ import annotations


class PlansimError(Exception):
    """Base class of errors that the CLI reports in one line with exit code 2."""


class InputError(PlansimError):
    """Bad user input: a scenario, goals or spec file that cannot be used as written."""

    def __init__(self, file: object, key: str | None, problem: str, fix: str):
        self.file = str(file)
        self.key = key
        self.problem = problem
        self.fix = fix
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}; fix: {fix}")
