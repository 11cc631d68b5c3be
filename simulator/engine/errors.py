"""What the vectorised engine refuses or reports: its exceptions and the supported set."""

from __future__ import annotations

from collections.abc import Sequence

CONTROL_NAMES = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")
_CONTROL_PY = ("initial_time", "final_time", "time_step", "saveper")

# Vensim function -> the reference PySD's translator gives calls to it.
_SUPPORTED_CALLS = {
    "IF THEN ELSE": "if_then_else",
    "MIN": "min",
    "MAX": "max",
    "ABS": "abs",
    "SQRT": "sqrt",
    "LN": "ln",
    "LOG": "log",
    "EXP": "exp",
    "POWER": "power",
    "SIN": "sin",
    "COS": "cos",
    "TAN": "tan",
    "ARCSIN": "arcsin",
    "ARCCOS": "arccos",
    "ARCTAN": "arctan",
    "SINH": "sinh",
    "COSH": "cosh",
    "TANH": "tanh",
    "INTEGER": "integer",
    "MODULO": "modulo",
    "QUANTUM": "quantum",
    "XIDZ": "xidz",
    "ZIDZ": "zidz",
    "STEP": "step",
    "RAMP": "ramp",
    "PULSE": "pulse",
    "PULSE TRAIN": "pulse_train",
    "ACTIVE INITIAL": "active_initial",
    "GET TIME VALUE": "get_time_value",
    "SUM": "sum",
    "PROD": "prod",
    "VMIN": "vmin",
    "VMAX": "vmax",
    "ELMCOUNT": "elmcount",
    "VECTOR SELECT": "vector_select",
    "VECTOR SORT ORDER": "vector_sort_order",
    "VECTOR RANK": "vector_rank",
    "VECTOR REORDER": "vector_reorder",
    "INVERT MATRIX": "invert_matrix",
    "RANDOM UNIFORM": "random_uniform",
    "RANDOM 0 1": "random_0_1",
    "RANDOM NORMAL": "random_normal",
    "RANDOM EXPONENTIAL": "random_exponential",
}
_SUPPORTED_STRUCTURES = (
    "INTEG", "SMOOTH", "SMOOTHI", "SMOOTH3", "SMOOTH3I", "SMOOTH N",
    "DELAY1", "DELAY1I", "DELAY3", "DELAY3I", "DELAY N", "DELAY FIXED",
    "TREND", "FORECAST", "INITIAL", "SAMPLE IF TRUE", "WITH LOOKUP", "lookups",
    "GET XLS/DIRECT DATA", "GET XLS/DIRECT CONSTANTS", "GET XLS/DIRECT LOOKUPS", "MACRO",
    "ALLOCATE AVAILABLE", "ALLOCATE BY PRIORITY", "GAME",
)
SUPPORTED_FUNCTIONS: tuple[str, ...] = tuple(_SUPPORTED_CALLS) + _SUPPORTED_STRUCTURES
"""Vensim functions the engine guarantees (each is exercised by a model of tests/fixtures)."""

_LOOKUP_INTERPOLATIONS = ("interpolate", "hold_backward")

# Names the translated file may import from PySD's backend.
_ALLOWED_BACKEND_NAMES = frozenset({
    "Component", "HardcodedLookups",
    "Integ", "NonNegativeInteg", "Smooth", "Delay", "DelayN", "DelayFixed", "Macro", "Trend", "Forecast", "SampleIfTrue", "Initial",
    "if_then_else", "xidz", "zidz", "integer", "modulo", "quantum", "step", "ramp", "pulse",
    "active_initial", "get_time_value", "ExtData", "ExtConstant", "ExtLookup",
    "sum", "prod", "vmin", "vmax",
    "vector_select", "vector_sort_order", "vector_rank", "vector_reorder", "invert_matrix",
    "allocate_available", "allocate_by_priority",
})


class EngineError(Exception):
    """A model or a request the vectorised engine cannot run."""


class UnsupportedConstruct(EngineError):
    """The model uses a construct the engine does not guarantee with arrays.

    ``issues`` lists every ``(variable, construct)`` found.
    """

    def __init__(self, model: object, issues: Sequence[tuple[str, str]]):
        self.model = str(model)
        self.issues = list(issues)
        listed = "; ".join(f"variable '{var}' uses {what}" for var, what in self.issues)
        super().__init__(
            f"{self.model}: unsupported by the vectorised engine: {listed} "
            f"(supported: {', '.join(SUPPORTED_FUNCTIONS)})")


class UnknownNameError(EngineError, KeyError):
    """A parameter or output name that the model does not define (a KeyError too)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DomainError(EngineError):
    """A run left the model's domain (a value plain PySD cannot compute for that run)."""


class NonFiniteError(DomainError):
    """An output became NaN or infinite; names the first run, variable and time."""

    def __init__(self, message: str, run: int, run_label: object, variable: str,
                 time: float, n_runs: int):
        self.run = run
        self.run_label = run_label
        self.variable = variable
        self.time = time
        self.n_runs = n_runs
        super().__init__(message)
