"""Vectorised ensemble engine: N runs of a Vensim model in one PySD integration.

The runs travel through PySD as 1-D numpy arrays of shape ``(N,)``: every model
constant is set to such an array and PySD's own expressions, stateful objects,
``Model.run`` and Euler loop carry the arrays from INITIAL TIME on (numpy
broadcasting covers every unsubscripted operation; a scalar that does not depend
on a parameter, e.g. ``Time``, simply stays a scalar).  Arrays are wrapped in
xarray only when the result is assembled.  PySD 3.14.3 needs these adjustments,
all made here, none in the model:

1. Translation (:func:`translate`).  The Python builder wraps numpy calls on
   unsubscripted expressions in ``float(...)`` (``python_expressions_builder.py``
   ~699); the patched builder removes the wrapper after proving, with Python's
   tokenizer, that it encloses the whole expression.  Vensim's ``^`` calls
   :func:`_power` (C ``pow`` per run, as Python's ``**``) because numpy's SIMD
   ``power`` may differ from C ``pow`` in the last bit.  The ``float`` at ~1945
   only wraps single elements of subscripted variables, which are refused.
   Files are cached by sha256 of the model, PySD version and :data:`ENGINE_TAG`.
2. Parameters.  ``Model.set_components`` refuses numpy arrays (it takes them for
   subscripted values), so :meth:`VectorModel._set_constants` does what it does
   for a constant value (``lambda: value``, dependencies emptied, cache entry
   dropped) with the run arrays.  Python ints stay integers (``np.full`` gives
   int64), because PySD's scalar path keeps an integer SMOOTH state and
   truncates the first input written into it.
3. Functions.  PySD's ``if_then_else``, ``xidz``, ``zidz``, ``integer``,
   ``quantum``, ``modulo`` and ``pulse`` take ``if value:`` branches (one truth
   value) for anything that is not a DataArray; the loaded model's module gets
   versions that, for numpy arrays, do what PySD's DataArray branches do
   (``np.where`` for ``xr.where``) and call PySD's own otherwise.  Hard-coded
   lookups silently return their whole table for array arguments; they get an
   array version doing PySD's scalar branches run by run.
4. Stateful objects.  SMOOTH/DELAY/TREND/SAMPLE IF TRUE... fix their state's
   shape from the initial value, so every initial value and input is broadcast
   to ``(N,)`` (their states become ``(order, N)`` arrays, PySD's scalar layout
   with runs appended); orders must be one value; DELAY order casting must agree
   across runs.  TREND, FORECAST and SAMPLE IF TRUE call ``zidz``/
   ``if_then_else`` from PySD's ``statefuls`` module and get subclasses calling
   the array versions.
5. Output.  ``Model.run`` flattens into a pandas DataFrame; an output handler
   registered at PySD's ``ModelOutput.out_handlers`` extension point writes each
   saved value straight into the ``(N, years)`` result array instead.
6. Euler step.  ``Macro.state`` packs the states with ``np.array(dtype=object)``,
   which numpy turns into a 2-D object array for run-shaped states; the step is
   the same ``state + ddt * dt`` over a list (see :func:`_euler_step`).

Anything outside :data:`SUPPORTED_FUNCTIONS` (subscripts, macros, external data,
DELAY FIXED, RANDOM..., vector functions) is refused with
:class:`UnsupportedConstruct`, checked on the parsed model and again on the
translated Python.  On this machine results are bit-identical to plain PySD.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import math
import operator
import os
import re
import tempfile
import threading
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysd
import xarray as xr
from pysd.builders.python import python_expressions_builder as _peb
from pysd.builders.python.python_model_builder import ModelBuilder
from pysd.py_backend import functions as _pysd_functions
from pysd.py_backend import statefuls as _st
from pysd.py_backend.lookups import HardcodedLookups
from pysd.py_backend.output import ModelOutput, OutputHandlerInterface
from pysd.translators.structures import abstract_expressions as _ae
from pysd.translators.structures import abstract_model as _am
from pysd.translators.vensim.vensim_file import VensimFile

__all__ = [
    "ENGINE_TAG",
    "SUPPORTED_FUNCTIONS",
    "EngineError",
    "NonFiniteError",
    "UnknownNameError",
    "UnsupportedConstruct",
    "VectorModel",
    "model_hash",
    "reference_values",
    "run_single",
    "translate",
    "translate_reference",
    "used_constructs",
]

RUN = "run"
TIME = "time"
ENGINE_TAG = "e2"
"""Version of the translation patches; part of the cache key of translated files.

e1 sent ``WITH LOOKUP`` through ``xr.apply_ufunc`` (runs were DataArrays); e2 keeps
PySD's ``np.interp``, which keeps the shape of a numpy array argument."""

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
}
_SUPPORTED_STRUCTURES = (
    "INTEG", "SMOOTH", "SMOOTHI", "SMOOTH3", "SMOOTH3I", "SMOOTH N",
    "DELAY1", "DELAY1I", "DELAY3", "DELAY3I", "DELAY N",
    "TREND", "FORECAST", "INITIAL", "SAMPLE IF TRUE", "WITH LOOKUP", "lookups",
)
SUPPORTED_FUNCTIONS: tuple[str, ...] = tuple(_SUPPORTED_CALLS) + _SUPPORTED_STRUCTURES
"""Vensim functions the engine guarantees (each is exercised by tests/fixtures/functions.mdl)."""

_LOOKUP_INTERPOLATIONS = ("interpolate", "hold_backward")

# Names the translated file may import from PySD's backend.
_ALLOWED_BACKEND_NAMES = frozenset({
    "Component", "HardcodedLookups",
    "Integ", "Smooth", "Delay", "DelayN", "Trend", "Forecast", "SampleIfTrue", "Initial",
    "if_then_else", "xidz", "zidz", "integer", "modulo", "quantum", "step", "ramp", "pulse",
    "active_initial",
})

_HANDLER_SUFFIX = ".plansim-run-arrays"
_POWER_NAME = "_vector_power"
_TRANSLATION_LOCK = threading.Lock()
_SMALL_VENSIM = _pysd_functions.SMALL_VENSIM


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


class NonFiniteError(EngineError):
    """An output became NaN or infinite; names the first run, variable and time."""

    def __init__(self, message: str, run: int, run_label: object, variable: str,
                 time: float, n_runs: int):
        self.run = run
        self.run_label = run_label
        self.variable = variable
        self.time = time
        self.n_runs = n_runs
        super().__init__(message)


# --------------------------------------------------------------------------- hashing, cache


def model_hash(mdl_path: str | os.PathLike) -> str:
    """Sha256 hex digest of the .mdl file's bytes."""
    return hashlib.sha256(Path(mdl_path).read_bytes()).hexdigest()


def _cache_file(mdl_path: Path, cache_dir: Path, variant: str) -> Path:
    """Cache path of one translation of ``mdl_path`` (``variant``: vector or reference)."""
    stem = re.sub(r"\W", "_", mdl_path.stem, flags=re.ASCII) or "model"
    version = re.sub(r"\W", "_", pysd.__version__, flags=re.ASCII)
    digest = model_hash(mdl_path)[:20]
    return cache_dir / f"{stem}_{digest}_pysd{version}_{ENGINE_TAG}_{variant}.py"


def _default_cache_dir(mdl_path: Path) -> Path:
    return mdl_path.parent / ".cache"


def translate(mdl_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """Translate ``mdl_path`` for vectorised runs; return the cached Python file.

    The file is built once per (model text, PySD version, :data:`ENGINE_TAG`) and
    published atomically, so several processes may translate at the same time.
    Raises :class:`UnsupportedConstruct` for models using anything outside
    :data:`SUPPORTED_FUNCTIONS`.
    """
    return _translate(Path(mdl_path), cache_dir, vector=True)


def translate_reference(mdl_path: str | os.PathLike,
                        cache_dir: str | os.PathLike | None = None) -> Path:
    """Plain PySD translation of ``mdl_path`` (as ``pysd.read_vensim``), cached apart."""
    return _translate(Path(mdl_path), cache_dir, vector=False)


def _translate(mdl_path: Path, cache_dir: str | os.PathLike | None, vector: bool) -> Path:
    mdl_path = mdl_path.resolve()
    if not mdl_path.is_file():
        raise EngineError(f"model file not found: {mdl_path}")
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir(mdl_path)
    target = _cache_file(mdl_path, cache, "vector" if vector else "reference")
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    abstract = _parse_vensim(mdl_path)
    if vector:
        _raise_if_unsupported(mdl_path, _abstract_issues(abstract))
    _build_atomically(abstract, target, vector)
    return target


def _parse_vensim(mdl_path: Path) -> _am.AbstractModel:
    """PySD's Vensim parsing, as in ``pysd.read_vensim``."""
    ven_file = VensimFile(mdl_path)
    ven_file.parse()
    abstract = ven_file.get_abstract_model()
    if len(abstract.sections) > 1:
        macros = ", ".join(s.name for s in abstract.sections[1:])
        raise UnsupportedConstruct(mdl_path, [(macros, "MACRO")])
    return abstract


def _build_atomically(abstract: _am.AbstractModel, target: Path, vector: bool) -> None:
    """Build the Python file in a private directory, check it, then os.replace it."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".translating-") as tmp:
        built = Path(tmp) / target.name
        abstract.sections[0].path = built
        with _TRANSLATION_LOCK, (_array_safe_builders() if vector else contextlib.nullcontext()):
            ModelBuilder(abstract).build_model()
        if vector:
            _raise_if_unsupported(target, _source_issues(built.read_text(encoding="utf-8")))
        os.replace(built, target)


# --------------------------------------------------------------------------- builder patches


def _is_single_call_wrapper(inner: str) -> bool:
    """Whether ``inner`` has balanced brackets, i.e. ``float(`` + inner + ``)`` is one call."""
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(inner).readline):
            if token.type != tokenize.OP:
                continue
            depth += token.string in "([{"
            depth -= token.string in ")]}"
            if depth < 0:
                return False
    except (tokenize.TokenError, SyntaxError):
        return False
    return depth == 0


def _strip_float(expression: str) -> str:
    """Remove the builder's ``float(...)`` around a whole unsubscripted expression."""
    head, tail = "float(", ")"
    if not (expression.startswith(head) and expression.endswith(tail)):
        return expression
    inner = expression[len(head):-len(tail)]
    if not _is_single_call_wrapper(inner):
        return expression  # not one wrapper: left for the source check to refuse
    return f"({inner})"


@contextlib.contextmanager
def _array_safe_builders() -> Iterator[None]:
    """Patch PySD's Python builders so unsubscripted expressions keep array values.

    * ``float(...)`` around numpy calls is removed (it needs one value);
    * Vensim's ``^`` becomes ``_vector_power(a, b)`` (injected at load, see
      :func:`_power`) instead of Python's ``**``, which on arrays would be numpy's
      vectorised power, not the C ``pow`` PySD's scalar path calls.

    ``WITH LOOKUP``'s ``np.interp(x, xs, ys)`` needs nothing: on an array ``x`` it
    interpolates every element as it would the scalar.
    """
    call_build = _peb.CallBuilder.build_function_call

    def build_function_call(self: Any, arguments: dict) -> Any:
        built = call_build(self, arguments)
        if not built.subscripts:
            built.expression = _strip_float(built.expression)
        return built

    operators = _peb.OperationBuilder._operators_build
    patched_operators = dict(operators)
    patched_operators["^"] = (f"{_POWER_NAME}(%(left)s, %(right)s)",) + operators["^"][1:]

    _peb.CallBuilder.build_function_call = build_function_call
    _peb.OperationBuilder._operators_build = patched_operators
    try:
        yield
    finally:
        _peb.CallBuilder.build_function_call = call_build
        _peb.OperationBuilder._operators_build = operators


# --------------------------------------------------------------------------- construct checks


def _raise_if_unsupported(model: object, issues: list[tuple[str, str]]) -> None:
    if issues:
        raise UnsupportedConstruct(model, issues)


def _clean(name: str) -> str:
    """A Vensim name as PySD's translator writes references (lowercase, underscores)."""
    return name.lower().replace(" ", "_")


def used_constructs(mdl_path: str | os.PathLike) -> dict[str, set[str]]:
    """The Vensim functions and constructs each variable of a model uses."""
    used: dict[str, set[str]] = {}
    for variable, construct in _constructs(_parse_vensim(Path(mdl_path))):
        used.setdefault(variable, set()).add(construct)
    return used


def _abstract_issues(abstract: _am.AbstractModel) -> list[tuple[str, str]]:
    """Every (variable, construct) of the parsed model outside the supported set."""
    return [(variable, construct) for variable, construct in _constructs(abstract)
            if construct not in SUPPORTED_FUNCTIONS]


def _constructs(abstract: _am.AbstractModel) -> list[tuple[str, str]]:
    """Every (variable, construct) of the parsed model, in order, without repeats."""
    section = abstract.sections[0]
    lookups = {_clean(e.name) for e in section.elements
               if any(isinstance(c, _am.AbstractLookup) for c in e.components)}
    found: list[tuple[str, str]] = []
    for element in section.elements:
        if isinstance(element, _am.AbstractControlElement):
            continue
        for component in element.components:
            found += [(element.name, what) for what in _component_constructs(component, lookups)]
    return list(dict.fromkeys(found))


def _component_constructs(component: _am.AbstractComponent, lookups: set[str]) -> list[str]:
    found = []
    if component.subscripts and component.subscripts[0]:
        found.append(f"subscripts {list(component.subscripts[0])}")
    if isinstance(component, _am.AbstractData):
        found.append("a data variable (:=)")
    for node in _walk(component.ast):
        what = _construct_name(node, lookups)
        if what is not None:
            found.append(what)
        if isinstance(node, _ae.ReferenceStructure) and node.subscripts:
            found.append(f"subscripts {list(node.subscripts.subscripts)}")
    return found


def _walk(node: object) -> Iterator[object]:
    """Depth-first walk over PySD's abstract syntax (dataclasses, tuples, lists)."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)
    elif is_dataclass(node) and not isinstance(node, type):
        yield node
        for field in fields(node):
            yield from _walk(getattr(node, field.name))


_STRUCTURE_NAMES: dict[type, str] = {
    _ae.IntegStructure: "INTEG",
    _ae.SmoothNStructure: "SMOOTH N",
    _ae.DelayNStructure: "DELAY N",
    _ae.DelayFixedStructure: "DELAY FIXED",
    _ae.TrendStructure: "TREND",
    _ae.ForecastStructure: "FORECAST",
    _ae.SampleIfTrueStructure: "SAMPLE IF TRUE",
    _ae.InitialStructure: "INITIAL",
    _ae.InlineLookupsStructure: "WITH LOOKUP",
    _ae.GetDataStructure: "GET XLS/DIRECT DATA",
    _ae.GetLookupsStructure: "GET XLS/DIRECT LOOKUPS",
    _ae.GetConstantsStructure: "GET XLS/DIRECT CONSTANTS",
    _ae.DataStructure: "data (:=)",
    _ae.AllocateAvailableStructure: "ALLOCATE AVAILABLE",
    _ae.AllocateByPriorityStructure: "ALLOCATE BY PRIORITY",
    _ae.GameStructure: "GAME",
}
_NEUTRAL_NODES = (_ae.ArithmeticStructure, _ae.LogicStructure, _ae.ReferenceStructure,
                  _ae.SubscriptsReferenceStructure)


def _construct_name(node: object, lookups: set[str]) -> str | None:
    """The Vensim name of the function or construct ``node`` stands for (None: operators)."""
    if isinstance(node, _NEUTRAL_NODES):
        return None
    if isinstance(node, _ae.CallStructure):
        return _call_name(node.function.reference, lookups)
    if isinstance(node, (_ae.SmoothStructure, _ae.DelayStructure)):
        return _order_structure_name(node)
    if isinstance(node, _ae.LookupsStructure):
        ok = node.type in _LOOKUP_INTERPOLATIONS
        return "lookups" if ok else f"lookups with '{node.type}' interpolation"
    return _STRUCTURE_NAMES.get(type(node), type(node).__name__)


def _call_name(reference: str, lookups: set[str]) -> str:
    if reference in lookups:
        return "lookups"
    for vensim, pysd_name in _SUPPORTED_CALLS.items():
        if reference == pysd_name:
            return vensim
    return reference.upper().replace("_", " ")


def _order_structure_name(node: _ae.SmoothStructure | _ae.DelayStructure) -> str:
    kind = "SMOOTH" if isinstance(node, _ae.SmoothStructure) else "DELAY"
    order = {1: "1" if kind == "DELAY" else "", 3: "3"}.get(node.order, f" order {node.order}")
    explicit_initial = "I" if node.initial is not node.input else ""
    return f"{kind}{order}{explicit_initial}"


def _source_issues(source: str) -> list[tuple[str, str]]:
    """Second check, on the translated Python: backend names and ``float()`` calls."""
    tree = ast.parse(source)
    imported = {alias.asname or alias.name
                for node in tree.body if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("pysd") for alias in node.names}
    banned = imported - _ALLOWED_BACKEND_NAMES
    owners = _component_owners(tree)
    issues = []
    for node in tree.body:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id in banned:
                issues.append((_owner(node, owners), f"PySD backend object '{inner.id}'"))
            if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                    and inner.func.id == "float"):
                issues.append((_owner(node, owners), "a float() conversion of an expression"))
    return list(dict.fromkeys(issues))


def _component_owners(tree: ast.Module) -> dict[str, str]:
    """Module-level helper object name -> real name of the component using it."""
    owners: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        real = _decorated_name(node)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id.startswith("_") and real:
                owners.setdefault(inner.id, real)
    return owners


def _decorated_name(func: ast.FunctionDef) -> str | None:
    for decorator in func.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return None


def _owner(node: ast.stmt, owners: dict[str, str]) -> str:
    if isinstance(node, ast.FunctionDef):
        return _decorated_name(node) or node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return owners.get(node.targets[0].id, node.targets[0].id)
    return "<module>"


# --------------------------------------------------------------------------- array helpers


def _run_array(value: Any, n: int) -> np.ndarray:
    """``value`` as a numpy array of shape ``(n,)``; values (and integer dtypes) kept.

    An array that already has that shape is returned as it is: the engine and
    PySD never write into a value in place (states are replaced by new arrays).
    """
    if isinstance(value, np.ndarray) and value.shape == (n,):
        return value
    data = np.asarray(value)
    if data.ndim == 0:
        # np.full keeps Python ints as int64, like the int PySD's scalar path would see
        return np.full(n, data.item())
    raise EngineError(f"expected a scalar or {n} values over 'run', got shape {data.shape}")


def _if_then_else(condition: Any, val_if_true: Callable[[], Any],
                  val_if_false: Callable[[], Any]) -> Any:
    """PySD's ``if_then_else``, with its DataArray branch for numpy arrays.

    As PySD does for a DataArray condition: one branch only when the condition
    is the same in every run, else both branches and ``np.where`` (for
    ``xr.where``, same dtype promotion).  Scalars go to PySD's function.
    """
    if isinstance(condition, np.ndarray):
        if condition.all():
            return val_if_true()
        if not condition.any():
            return val_if_false()
        return np.where(condition, val_if_true(), val_if_false())
    return _pysd_functions.if_then_else(condition, val_if_true, val_if_false)


def _xidz(numerator: Any, denominator: Any, x: Any) -> Any:
    """PySD's ``xidz``, with its DataArray branch for a numpy denominator."""
    if isinstance(denominator, np.ndarray):
        return np.where(np.abs(denominator) < _SMALL_VENSIM, x, numerator / denominator)
    return _pysd_functions.xidz(numerator, denominator, x)


def _zidz(numerator: Any, denominator: Any) -> Any:
    """PySD's ``zidz``, with its DataArray branches for numpy arrays."""
    if isinstance(denominator, np.ndarray):
        return np.where(np.abs(denominator) < _SMALL_VENSIM, 0, numerator / denominator)
    if isinstance(numerator, np.ndarray) and abs(denominator) < _SMALL_VENSIM:
        return np.zeros(numerator.shape, dtype=np.int64)  # PySD: DataArray(0, numerator's dims)
    return _pysd_functions.zidz(numerator, denominator)


def _integer(x: Any) -> Any:
    """PySD's ``integer``: ``astype(int)`` for a numpy array (as for a DataArray)."""
    if isinstance(x, np.ndarray):
        return x.astype(int)
    return _pysd_functions.integer(x)


def _quantum(a: Any, b: Any) -> Any:
    """PySD's ``quantum``, with its DataArray branch for a numpy ``b``."""
    if isinstance(b, np.ndarray):
        return np.where(b < _SMALL_VENSIM, a, b * _integer(a / b))
    if b < _SMALL_VENSIM:
        return a
    return b * _integer(a / b)


def _modulo(x: Any, m: Any) -> Any:
    """PySD's ``modulo`` (``x - quantum(x, m)``) over :func:`_quantum`."""
    return x - _quantum(x, m)


def _run_pulse(time: Any, start: Any, repeat_time: Any = 0, width: Any = None,
               magnitude: Any = None, end: Any = None) -> Any:
    """PySD's ``pulse`` for arguments over runs: same comparisons, selected per run.

    PySD's version uses Python's chained comparisons and ``and``, which need one
    truth value.  Here every branch is computed for all runs with the same
    operations and the branch each run would take is selected with ``np.where``.
    """
    args = (start, repeat_time, width, magnitude, end)
    if not any(isinstance(a, np.ndarray) for a in args):
        return _pysd_functions.pulse(time, start, repeat_time, width, magnitude, end)
    t = time()
    width = .5 * time.time_step() if width is None else width
    out = magnitude / time.time_step() if magnitude is not None else 1
    single = (start - _SMALL_VENSIM <= t) & (t < start + width)
    if _is_zero_scalar(repeat_time):
        return np.where(single, out, 0)
    with np.errstate(all="ignore"):
        within = (start <= t) if end is None else (start <= t) & (t < end)
        on = (t - start + _SMALL_VENSIM) % repeat_time < width
    train = np.where(within & on, out, 0)
    return np.where(repeat_time == 0, np.where(single, out, 0), train)


def _is_zero_scalar(value: Any) -> bool:
    return not isinstance(value, np.ndarray) and value == 0


# PySD functions of the translated module -> their array versions (pulse: see above)
_ARRAY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "if_then_else": _if_then_else, "xidz": _xidz, "zidz": _zidz, "integer": _integer,
    "quantum": _quantum, "modulo": _modulo, "pulse": _run_pulse,
}


def _python_power(base: Any, exponent: Any) -> Any:
    """Python's ``**`` on one pair; numpy's answer where Python raises or goes complex."""
    try:
        result = base ** exponent
        if not isinstance(result, complex):
            return float(result)
    except (ZeroDivisionError, OverflowError):
        pass
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(base), np.float64(exponent)))


_OBJECT_POWER = np.frompyfunc(operator.pow, 2, 1)
_SAFE_POWER = np.frompyfunc(_python_power, 2, 1)


def _float_power_is_c_pow() -> bool:
    """Whether ``np.float_power`` gives Python's ``**`` bit for bit on this machine.

    Python's float ``**`` calls the C library's ``pow``; numpy's ``power`` has SIMD
    (e.g. AVX-512 SVML) loops that differ in the last bit for ~5% of arguments,
    while ``float_power`` (float64 only) calls C ``pow`` element by element.
    """
    rng = np.random.default_rng(20260101)
    base = np.concatenate([rng.uniform(0.0, 1e3, 4000), rng.lognormal(0.0, 20.0, 1000),
                           -rng.uniform(0.0, 10.0, 500)])
    exponent = np.concatenate([rng.uniform(-4.0, 4.0, 5000),
                               rng.integers(-5, 6, 500).astype(np.float64)])
    expected = np.array([a ** b for a, b in zip(base.tolist(), exponent.tolist())])
    with np.errstate(all="ignore"):
        return bool(np.array_equal(np.float_power(base, exponent), expected))


_FLOAT_POWER_IS_C_POW = _float_power_is_c_pow()


def _power(base: Any, exponent: Any) -> Any:
    """Vensim ``^`` exactly as PySD's scalar path computes it: Python's ``**`` per run.

    Arrays go through ``np.float_power`` when it is checked to equal Python's
    ``**`` (C ``pow``) bit for bit, else element by element through Python's
    operator (about 0.1 us per element).  Where Python would raise or return a
    complex number (0 to a negative power, negative base to a fractional power)
    the result is numpy's inf or NaN.
    """
    if not isinstance(base, np.ndarray) and not isinstance(exponent, np.ndarray):
        return base ** exponent
    if _FLOAT_POWER_IS_C_POW:
        return np.float_power(base, exponent)
    try:
        return np.asarray(_OBJECT_POWER(base, exponent), dtype=np.float64)
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        return np.asarray(_SAFE_POWER(base, exponent), dtype=np.float64)


class _RunLookups(HardcodedLookups):
    """Hard-coded lookup whose call takes an argument over runs.

    PySD's ``Lookups._call`` takes ``if x in ...`` branches for anything that is
    not a DataArray, and for an unsubscripted DataArray argument it builds
    ``xr.DataArray(nan, None, list(None))``; the TypeError is caught and the
    whole table returned.  Here every run takes PySD's scalar branches: exact x
    value -> its y; above/below the table -> last/first y; else ``np.interp``
    (what ``DataArray.interp`` calls for 1-D linear data) or hold-backward.
    """

    def __call__(self, x: Any, final_subs: Any = None) -> Any:
        if isinstance(x, np.ndarray) and x.ndim:
            return self._values(np.asarray(x, dtype=np.float64))
        return super().__call__(x, final_subs)

    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        """The table's x and y values (read from ``data`` once per table object)."""
        cached = self.__dict__.get("_run_table")
        if cached is None or cached[0] is not self.data:
            cached = (self.data, np.asarray(self.data["lookup_dim"].values, dtype=np.float64),
                      np.asarray(self.data.values, dtype=np.float64))
            self.__dict__["_run_table"] = cached
        return cached[1], cached[2]

    def _values(self, x: np.ndarray) -> np.ndarray:
        xs, ys = self._table()
        if self.interp == "hold_backward":
            out = ys[np.clip(np.searchsorted(xs, x, side="right") - 1, 0, None)]
        else:
            out = np.interp(x, xs, ys)
        position = np.clip(np.searchsorted(xs, x), 0, len(xs) - 1)
        exact = xs[position] == x
        out = np.where(exact, ys[position], out)
        above, below = x > xs[-1], x < xs[0]
        self._warn_extrapolation(above, below)
        return np.where(above, ys[-1], np.where(below, ys[0], out))

    def _warn_extrapolation(self, above: np.ndarray, below: np.ndarray) -> None:
        """PySD's extrapolation warnings, once per ensemble run and direction."""
        warned = self.__dict__.setdefault("warned", set())
        for side, mask in (("above the maximum", above), ("below the minimum", below)):
            if side not in warned and mask.any():
                warned.add(side)
                warnings.warn(f"{self.py_name}\nextrapolating data {side} value of the "
                              f"series in {int(mask.sum())} runs", stacklevel=2)


class _Broadcast:
    """Wraps a stateful object's callable so it returns a value over runs, shape (N,)."""

    def __init__(self, func: Callable[[], Any], runs: _RunCount):
        self.func = func
        self.runs = runs

    def __call__(self) -> np.ndarray:
        return _run_array(self.func(), self.runs.n)


class _Uniform:
    """Wraps an order argument: one scalar, equal in every run."""

    def __init__(self, func: Callable[[], Any], variable: str, what: str):
        self.func = func
        self.variable = variable
        self.what = what

    def __call__(self) -> int | float:
        values = np.unique(np.asarray(self.func(), dtype=np.float64))
        if values.size != 1:
            raise EngineError(f"the {self.what} of '{self.variable}' differs across runs "
                              f"({values.min()}..{values.max()}); the engine needs one value")
        value = values.item()
        return int(value) if value.is_integer() else value


class _RunDelayOrder:
    """Mixin for DELAY objects: refuse runs whose order PySD would cast differently.

    PySD lowers a delay's order while ``order * TIME STEP`` exceeds the *minimum*
    delay time, which over an ensemble is the minimum across runs; a single run
    uses its own delay time.  Ensembles where that gives different orders are
    refused before integrating.
    """

    variable: str

    def initialize(self, init_val: Any = None) -> None:
        delays = np.unique(np.asarray(self.delay_time_func(), dtype=np.float64))
        order, dt = int(self.order_func()), float(self.tstep())
        if len({_reduced_order(order, dt, d) for d in delays}) > 1:
            raise EngineError(
                f"the delay time of '{self.variable}' is below order x TIME STEP in some "
                f"runs only; PySD would cast the delay order differently per run")
        super().initialize(init_val)  # type: ignore[misc]


class _RunDelay(_RunDelayOrder, _st.Delay):
    """DELAY1/DELAY3(I) with the per-run order check."""


class _RunDelayN(_RunDelayOrder, _st.DelayN):
    """DELAY N with the per-run order check."""


def _reduced_order(order: int, dt: float, delay_time: float) -> int:
    """The order PySD keeps for one run (see ``Delay.initialize``)."""
    while order * dt > delay_time:
        order -= 1
    return order


# PySD 3.14.3's TREND, FORECAST and SAMPLE IF TRUE call ``zidz``/``if_then_else``
# imported into ``pysd.py_backend.statefuls``; these are their methods, verbatim but
# for calling the array versions.


class _RunTrend(_st.Trend):
    """TREND over run arrays (``Trend.__call__`` with :func:`_zidz`)."""

    def __call__(self) -> Any:
        return _zidz(self.input_func() - self.state,
                     self.average_time_function() * np.abs(self.state))


class _RunForecast(_st.Forecast):
    """FORECAST over run arrays (``Forecast.__call__`` with :func:`_zidz`)."""

    def __call__(self) -> Any:
        return self.input() * (
            1 + _zidz(self.input() - self.state, self.average_time() * self.state)
            * self.horizon())


class _RunSampleIfTrue(_st.SampleIfTrue):
    """SAMPLE IF TRUE over run arrays (PySD's methods with :func:`_if_then_else`)."""

    def __call__(self) -> Any:
        return _if_then_else(self.condition(), self.actual_value, lambda: self.state)

    def update(self, state: Any) -> None:
        self.state = self.state * 0 + _if_then_else(self.condition(), self.actual_value,
                                                    lambda: self.state)


@dataclass
class _RunCount:
    """The ensemble size of the current integration, shared with the wrappers."""

    n: int = 1


# Callables broadcast to runs per stateful class (pysd 3.14.3 attribute names), the
# order callables that must be one scalar, and the engine's subclasses.
_BROADCAST_ATTRS: dict[type, tuple[str, ...]] = {
    _st.Integ: ("init_func",),
    _st.Smooth: ("init_func", "input_func"),
    _st.Delay: ("init_func", "input_func", "delay_time_func"),
    _st.DelayN: ("init_func", "input_func", "delay_time_func"),
    _st.Trend: ("init_func", "input_func"),
    _st.Forecast: ("input",),
    _st.SampleIfTrue: ("init_func",),
    _st.Initial: ("init_func",),
}
_ORDER_ATTRS: dict[type, str] = {_st.Smooth: "order_func", _st.Delay: "order_func",
                                 _st.DelayN: "order_func"}
_RUN_CLASSES: dict[type, type] = {_st.Delay: _RunDelay, _st.DelayN: _RunDelayN,
                                  _st.Trend: _RunTrend, _st.Forecast: _RunForecast,
                                  _st.SampleIfTrue: _RunSampleIfTrue}


def _euler_step(model: pysd.py_backend.model.Model, dt: float) -> None:
    """PySD's Euler step, ``state + ddt * dt`` for every state, over a list.

    ``Macro.state``/``Macro.ddt`` pack the states with ``np.array(..., dtype=object)``;
    for run arrays of equal length numpy builds a 2-D object array (the states
    become object arrays) and for shapes sharing a leading length it raises.
    This does the same per-state arithmetic in the same order: all states are read,
    all derivatives computed, then every state updated with ``state + ddt * dt``.
    """
    elements = model._dynamicstateful_elements
    states = [element.state for element in elements]
    derivatives = [element.ddt() for element in elements]
    for element, state, ddt in zip(elements, states, derivatives):
        element.update(state + ddt * dt)


def _handler_file(n: int, columns: int) -> str:
    """The ``output_file`` that makes PySD use :class:`_ArrayOutput` for (n, columns)."""
    return f"{n}x{columns}{_HANDLER_SUFFIX}"


class _ArrayOutput(OutputHandlerInterface):
    """PySD output handler writing each saved value into its (N, years) result array.

    PySD creates it from ``output_file`` (see :func:`_handler_file`), which carries
    the shape.  Values are written where they belong, so no per-step copies are
    kept and nothing is flattened.
    """

    capture_elements_step: list[str]
    capture_elements_run: list[str]

    def __init__(self, out_file: object = None):
        self.out_file = out_file
        n, columns = (int(v) for v in Path(str(out_file)).stem.split("x"))
        self.shape = (n, columns)
        self.times: list[float] = []
        self.steps: dict[str, np.ndarray] = {}
        self.constants: dict[str, np.ndarray] = {}

    def initialize(self, model: Any) -> None:
        self.times = []
        self.steps = {key: np.empty(self.shape, dtype=np.float64)
                      for key in self.capture_elements_step}
        self.constants = {}

    def update(self, model: Any) -> None:
        column = len(self.times)
        if column == self.shape[1]:
            raise EngineError(f"PySD saved more than the {column} requested years")
        self.times.append(float(model.time()))
        components = model.components
        for key, array in self.steps.items():
            array[:, column] = getattr(components, key)()  # (n,) or a scalar, broadcast

    def postprocess(self, **kwargs: Any) -> _ArrayOutput:
        return self

    def add_run_elements(self, model: Any) -> None:
        for key in self.capture_elements_run:
            self.constants[key] = np.array(getattr(model.components, key)(), dtype=np.float64)

    def pop_series(self, key: str, index: np.ndarray) -> np.ndarray:
        """Output ``key`` at the saved times ``index``, shape (n, len(index))."""
        n, columns = self.shape
        if key in self.steps:
            saved = self.steps.pop(key)
            whole = len(index) == columns and np.array_equal(index, np.arange(columns))
            return saved if whole else saved[:, index]
        out = np.empty((n, len(index)), dtype=np.float64)
        if key in self.constants:
            out[:] = np.broadcast_to(self.constants[key], (n,))[:, None]
        elif key == "time":  # PySD captures Time (no cache type) in neither list
            out[:] = np.asarray(self.times, dtype=np.float64)[index]
        else:
            raise EngineError(f"PySD did not capture the output {key!r}")
        return out


ModelOutput.out_handlers.setdefault(_HANDLER_SUFFIX, _ArrayOutput)


# --------------------------------------------------------------------------- names, times


class _Names:
    """Name resolution over a PySD model's ``doc`` (real names and Python names)."""

    def __init__(self, doc: pd.DataFrame):
        self.doc = doc
        self.real_of_py = dict(zip(doc["Py Name"], doc["Real Name"]))
        self.py_of_real = dict(zip(doc["Real Name"], doc["Py Name"]))
        self.type_of = dict(zip(doc["Real Name"], doc["Type"]))
        self.folded = {self._fold(name): name for name in doc["Real Name"]}

    @staticmethod
    def _fold(name: str) -> str:
        return " ".join(name.replace("_", " ").split()).casefold()

    def real(self, name: str, role: str) -> str:
        """The Vensim name of ``name`` (real name, py name or case/space variant)."""
        if name in self.py_of_real:
            return name
        if name in self.real_of_py:
            return self.real_of_py[name]
        if isinstance(name, str) and self._fold(name) in self.folded:
            return self.folded[self._fold(name)]
        raise UnknownNameError(f"unknown {role} {name!r}: the model has no such variable")


@dataclass(frozen=True)
class _Control:
    initial_time: float
    final_time: float
    time_step: float
    saveper: float

    @classmethod
    def of(cls, model: Any) -> _Control:
        time = model.time
        return cls(float(time.initial_time()), float(time.final_time()),
                   float(time.time_step()), float(time.saveper()))

    def default_years(self) -> np.ndarray:
        count = round((self.final_time - self.initial_time) / self.saveper)
        return self.initial_time + self.saveper * np.arange(count + 1)

    def years(self, years: Iterable[float] | None) -> np.ndarray:
        """Sorted requested output times, each checked to be a saved Euler step."""
        if years is None:
            return self.default_years()
        listed = [years] if np.isscalar(years) else list(years)
        values = np.unique(np.ravel(np.asarray(listed, dtype=np.float64)))
        if values.size == 0:
            raise EngineError("years is empty")
        steps = (values - self.initial_time) / self.time_step
        bad = (np.abs(steps - np.round(steps)) > 1e-6) | (values < self.initial_time - 1e-9) \
            | (values > self.final_time + 1e-9)
        if bad.any():
            raise EngineError(
                f"years {values[bad].tolist()} are not steps of TIME STEP {self.time_step} "
                f"between INITIAL TIME {self.initial_time} and FINAL TIME {self.final_time}")
        return values


def _match_times(recorded: Sequence[float], years: np.ndarray, dt: float) -> np.ndarray:
    """Index into ``recorded`` of every requested year."""
    recorded_arr = np.asarray(recorded, dtype=np.float64)
    index = np.array([int(np.argmin(np.abs(recorded_arr - y))) if len(recorded_arr) else -1
                      for y in years])
    if len(recorded_arr) == 0 or np.any(np.abs(recorded_arr[index] - years) > dt * 1e-5):
        raise EngineError(f"PySD did not save all of the years {years.tolist()}")
    return index


# --------------------------------------------------------------------------- the engine


class VectorModel:
    """A Vensim model translated once and run as ensembles over a ``run`` dimension.

    One instance holds one PySD model; its runs are serialised by a lock (use one
    instance per thread or process for parallel ensembles).
    """

    def __init__(self, mdl_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None):
        self.mdl_path = Path(mdl_path).resolve()
        self.py_path = translate(self.mdl_path, cache_dir)
        _raise_if_unsupported(self.py_path,
                              _source_issues(self.py_path.read_text(encoding="utf-8")))
        self.model_sha256 = model_hash(self.mdl_path)
        self._model = pysd.load(str(self.py_path), initialize=False)
        self._names = _Names(self._model.doc)
        self._runs = _RunCount()
        self._lock = threading.Lock()
        self._make_array_safe()
        self._model.initialize()  # a first, one-run initialisation: control values, defaults
        self.control = _Control.of(self._model)
        self._constants = self._constant_names()
        self._defaults = {real: getattr(self._model.components, py)()
                          for real, py in self._constants.items()}
        self.parameters: dict[str, float] = {k: float(v) for k, v in self._defaults.items()}
        self.limits: dict[str, tuple[float, float]] = {
            real: self._limits(real) for real in self._constants}

    # -- description

    @property
    def doc(self) -> pd.DataFrame:
        """PySD's documentation table (Real Name, Py Name, Units, Limits, Type, ...)."""
        return self._model.doc

    @property
    def variables(self) -> list[str]:
        """Real names of the auxiliaries and stocks (no constants, lookups, control)."""
        doc = self.doc
        keep = doc["Type"].isin(["Auxiliary", "Stateful"]) & ~doc["Real Name"].isin(CONTROL_NAMES)
        return [name for name in doc.loc[keep, "Real Name"]
                if not self._model.get_args(self._names.py_of_real[name])]

    @property
    def default_years(self) -> np.ndarray:
        """Every SAVEPER step from INITIAL TIME to FINAL TIME."""
        return self.control.default_years()

    def _constant_names(self) -> dict[str, str]:
        doc = self.doc
        rows = doc[(doc["Type"] == "Constant") & ~doc["Py Name"].isin(_CONTROL_PY)]
        return dict(zip(rows["Real Name"], rows["Py Name"]))

    def _limits(self, real: str) -> tuple[float, float]:
        """(min, max) of the units field ``[min,max(,step)]``; nan for ``?`` or absent."""
        limits = self.doc.loc[self.doc["Real Name"] == real, "Limits"].iloc[0]
        values = [math.nan if v is None else float(v)
                  for v in (limits if isinstance(limits, tuple) else ())][:2]
        values += [math.nan] * (2 - len(values))
        return values[0], values[1]

    # -- making the loaded model array-safe

    def _make_array_safe(self) -> None:
        module = self._model.components._components
        for name, function in _ARRAY_FUNCTIONS.items():
            setattr(module, name, function)
        setattr(module, _POWER_NAME, _power)
        for lookup in self._model._lookup_elements:
            if lookup.interp not in _LOOKUP_INTERPOLATIONS:
                raise UnsupportedConstruct(self.mdl_path, [(lookup.py_name, "lookups")])
            lookup.__class__ = _RunLookups
        owners = self._stateful_owners()
        for name, element in self._model._stateful_elements.items():
            self._wrap_stateful(element, owners.get(name, name))
        self._model._euler_step = lambda dt: _euler_step(self._model, dt)

    def _stateful_owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for py, deps in self._model._dependencies.items():
            for dep in deps if isinstance(deps, dict) else ():
                if py in self._names.real_of_py:
                    owners.setdefault(dep, self._names.real_of_py[py])
        return owners

    def _wrap_stateful(self, element: Any, variable: str) -> None:
        kind = type(element)
        if kind not in _BROADCAST_ATTRS:
            raise UnsupportedConstruct(self.mdl_path, [(variable, kind.__name__)])
        for attr in _BROADCAST_ATTRS[kind]:
            setattr(element, attr, _Broadcast(getattr(element, attr), self._runs))
        if kind in _ORDER_ATTRS:
            attr = _ORDER_ATTRS[kind]
            setattr(element, attr, _Uniform(getattr(element, attr), variable, "order"))
        if kind in _RUN_CLASSES:
            element.__class__ = _RUN_CLASSES[kind]
            element.variable = variable

    # -- running

    def run(self, params: xr.Dataset | Mapping[str, Any], outputs: Sequence[str],
            years: Iterable[float] | None = None, *, check_finite: bool = True) -> xr.Dataset:
        """Integrate every run from INITIAL TIME; outputs over ``(run, time)``.

        ``params`` maps parameter names (Vensim or Python names) to scalars or 1-D
        arrays over runs (or DataArrays with dim ``run``); parameters not given keep
        their defaults.  ``outputs`` are variable names; ``years`` output times
        (default: every SAVEPER step).  The result also holds every given parameter
        as a ``(run,)`` variable (unless it is also an output).  Raises
        :class:`NonFiniteError` if an output is NaN/inf (unless ``check_finite`` is
        False) and :class:`UnknownNameError` for unknown names.
        """
        given, labels = self._given(params)
        out_names = list(dict.fromkeys(self._names.real(name, "output") for name in outputs))
        self._check_outputs(out_names)
        times = self.control.years(years)
        with self._lock:
            arrays = self._integrate(given, len(labels), out_names, times)
        if check_finite:
            _raise_if_non_finite(arrays, times, labels, given)
        return self._dataset(arrays, given, labels, times)

    def _given(self, params: xr.Dataset | Mapping[str, Any]) -> tuple[dict[str, np.ndarray],
                                                                       np.ndarray]:
        items = params.data_vars.items() if isinstance(params, xr.Dataset) else params.items()
        raw = {self._parameter(name): value for name, value in items}
        arrays = {name: _as_1d(name, value) for name, value in raw.items()}
        sizes = {a.size for a in arrays.values() if a.ndim == 1}
        if len(sizes) > 1:
            raise EngineError(f"parameter arrays differ in length: {sorted(sizes)}")
        n = sizes.pop() if sizes else 1
        labels = _run_labels(params, raw, n)
        return {k: np.array(np.broadcast_to(a, (n,)), dtype=np.float64)
                for k, a in arrays.items()}, labels

    def _parameter(self, name: str) -> str:
        real = self._names.real(name, "parameter")
        if real not in self._constants:
            raise UnknownNameError(
                f"{name!r} is not a settable constant of the model (its type is "
                f"{self._names.type_of.get(real)}); parameters: {sorted(self._constants)}")
        return real

    def _check_outputs(self, out_names: list[str]) -> None:
        for real in out_names:
            if self._model.get_args(self._names.py_of_real[real]):
                raise EngineError(f"output {real!r} is a lookup function, not a variable")

    def _integrate(self, given: dict[str, np.ndarray], n: int, out_names: list[str],
                   times: np.ndarray) -> dict[str, np.ndarray]:
        model = self._model
        model._remove_constant_cache()  # left in place only if a previous run raised
        self._set_constants({py: _run_array(given[real] if real in given
                                            else self._defaults[real], n)
                             for real, py in self._constants.items()})
        self._runs.n = n
        for lookup in model._lookup_elements:
            lookup.warned = set()
        for element in model._stateful_elements.values():
            element.shape_info = None  # else the last run's shapes are imposed on the new state
        py_outputs = [self._names.py_of_real[real] for real in out_names]
        with np.errstate(all="ignore"):
            handler = model.run(
                return_columns=py_outputs, return_timestamps=list(times),
                final_time=self.control.final_time, output_file=_handler_file(n, len(times)))
        index = _match_times(handler.times, times, self.control.time_step)
        return {real: handler.pop_series(self._names.py_of_real[real], index)
                for real in out_names}

    def _set_constants(self, values: Mapping[str, np.ndarray]) -> None:
        """``Model.set_components`` for constant values, which refuses numpy arrays.

        As PySD's ``_set_components`` does for a value that is neither a Series nor
        a callable: the component becomes ``lambda: value`` keeping the original's
        attributes, has no dependencies and leaves the step cache.  Unlike PySD,
        ``__wrapped__`` (set by the cache decorator) is not copied: it would chain
        every run's function, and with it every run's parameter arrays, to the next.
        """
        model = self._model
        components = model.components
        for py, value in values.items():
            original = getattr(components, py)
            constant = _constant_function(value)
            constant.__name__ = py
            constant.__dict__.update({key: attr for key, attr
                                      in getattr(original, "__dict__", {}).items()
                                      if key != "__wrapped__"})
            components._set_component(py, constant)
            model._dependencies[py] = {}
            model.cache.cached_funcs.discard(py)

    def _dataset(self, arrays: dict[str, np.ndarray], given: dict[str, np.ndarray],
                 labels: np.ndarray, times: np.ndarray) -> xr.Dataset:
        data = {real: ((RUN, TIME), values) for real, values in arrays.items()}
        data.update({real: ((RUN,), values) for real, values in given.items()
                     if real not in data})
        return xr.Dataset(data, coords={RUN: labels, TIME: times},
                          attrs={"model": self.mdl_path.name,
                                 "model_sha256": self.model_sha256,
                                 "pysd_version": pysd.__version__})


def _constant_function(value: Any) -> Callable[[], Any]:
    """``lambda: value`` (PySD's ``_constant_component`` without dimensions)."""
    return lambda: value


def _as_1d(name: str, value: Any) -> np.ndarray:
    if isinstance(value, xr.DataArray) and value.ndim and value.dims != (RUN,):
        raise EngineError(f"parameter {name!r}: expected dims ('run',), got {value.dims}")
    data = np.asarray(getattr(value, "values", value), dtype=np.float64)
    if data.ndim > 1:
        raise EngineError(f"parameter {name!r}: expected a scalar or 1-D array, "
                          f"got shape {data.shape}")
    return data


def _run_labels(params: Any, raw: Mapping[str, Any], n: int) -> np.ndarray:
    """The ``run`` coordinate: the one given with the parameters, else 0..n-1."""
    sources = [params] if isinstance(params, xr.Dataset) else list(raw.values())
    for source in sources:
        if isinstance(source, (xr.Dataset, xr.DataArray)) and RUN in source.coords:
            labels = np.asarray(source.coords[RUN].values)
            if labels.shape == (n,):
                return labels
    return np.arange(n)


def _raise_if_non_finite(arrays: Mapping[str, np.ndarray], times: np.ndarray,
                         labels: np.ndarray, given: Mapping[str, np.ndarray]) -> None:
    """Raise NonFiniteError naming the first (time, run, variable) with NaN or inf."""
    first: tuple[int, int, str] | None = None
    affected = np.zeros(len(labels), dtype=bool)
    for name, values in arrays.items():
        bad = ~np.isfinite(values)
        if not bad.any():
            continue
        affected |= bad.any(axis=1)
        t = int(np.argmax(bad.any(axis=0)))
        candidate = (t, int(np.argmax(bad[:, t])), name)
        if first is None or candidate[:2] < first[:2]:
            first = candidate
    if first is None:
        return
    t, run, name = first
    value = arrays[name][run, t]
    label = labels[run]
    inputs = ", ".join(f"{k}={float(v[run]):.17g}" for k, v in given.items())
    where = f"run {run}" + (f" (label {label!r})" if label != run else "")
    raise NonFiniteError(
        f"non-finite value {value} in {where}, variable '{name}' at time {times[t]:g} "
        f"({int(affected.sum())} of {len(labels)} runs affected); "
        f"inputs of run {run}: {inputs or 'defaults'}",
        run=run, run_label=label, variable=name, time=float(times[t]),
        n_runs=int(affected.sum()))


# --------------------------------------------------------------------------- reference


def reference_values(column: pd.Series) -> np.ndarray:
    """A column of plain PySD's output as float64.

    Complex values (Python's ``**`` of a negative base) become NaN, as numpy's
    power gives in the vectorised engine.
    """
    values = column.to_numpy()
    if values.dtype.kind in "cO":
        values = np.array([complex(v) for v in values])
        values = np.where(values.imag == 0, values.real, np.nan)
    return np.asarray(values, dtype=np.float64)


def run_single(mdl_path: str | os.PathLike, params: Mapping[str, float], outputs: Sequence[str],
               years: Iterable[float] | None = None, *,
               cache_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """One run with plain PySD: the reference the vectorised engine must reproduce.

    The model is translated exactly as ``pysd.read_vensim`` does (no patches) into
    its own cache file, loaded fresh with ``pysd.load`` and run with
    ``model.run(params=...)``.  NaN/inf are returned, not raised.  Dims (run=1, time).
    """
    mdl = Path(mdl_path).resolve()
    model = pysd.load(str(translate_reference(mdl, cache_dir)))
    names = _Names(model.doc)
    control = _Control.of(model)
    reals = {names.real(k, "parameter"): float(v) for k, v in params.items()}
    out_names = [names.real(name, "output") for name in outputs]
    times = control.years(years)
    columns = [real for real in out_names if names.py_of_real[real] != "time"]
    frame = model.run(params=reals, return_columns=columns, return_timestamps=list(times),
                      final_time=control.final_time)  # PySD cannot return Time as a column
    index = _match_times(list(frame.index), times, control.time_step)
    data = {real: ((RUN, TIME), (reference_values(frame[real]) if real in columns
                                 else frame.index.to_numpy(np.float64))[index][None, :])
            for real in out_names}
    data.update({real: ((RUN,), np.array([value])) for real, value in reals.items()
                 if real not in data})
    return xr.Dataset(data, coords={RUN: [0], TIME: times},
                      attrs={"model": mdl.name, "model_sha256": model_hash(mdl),
                             "pysd_version": pysd.__version__})
