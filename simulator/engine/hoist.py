"""Constant sub-expressions of the step equations, evaluated once per run instead of per step.

PySD evaluates an element whose dependencies are all constants once per run (its
"run" cache), but a constant part *inside* a step equation, ``net_migration() * (1 -
migrant_working_age_share())``, is computed again at every step: an array operation
over the runs each time, for the same values.  Here each maximal sub-expression of a
step equation built only from numbers, run-cached elements (constants included) and pure
operations (and INITIAL values) is evaluated where PySD evaluates it (lazily, at its first use, by the same
numpy calls on the same values, so with the same bits and the same exceptions) and kept
for the rest of the run.

The rewrite takes PySD's translation, already checked by :mod:`.trust`, apart with
``ast`` and puts it back together: the only new code is one call per sub-expression to a
name ``_plansim_hoisted_<k>``, whose function holds that sub-expression as it stood.  A
sub-expression qualifies only if every node in it is one of: a number; a call without
arguments of an element PySD caches per run or of an INITIAL object; ``+ - * /`` or unary ``-``/``+``; a call of
:data:`PURE_NAMES` or of numpy's :data:`PURE_NUMPY` (no draws, no time, no state).  The
rewritten functions pass :func:`.trust.check_source` again before they are compiled.

Kept values are valid only while PySD's constant cache is in place: they are used from
``Model._add_constant_cache`` (when PySD freezes its run-cached elements) to the next
``_remove_constant_cache`` (before the engine sets the next ensemble's constants), and
only for sub-expressions whose elements are all run-cached in that run (INITIAL values
are set before, when PySD initialises the run).  Outside that
window (initialisation, a model whose graph changed) each call evaluates its
sub-expression as the original equation would.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pysd.py_backend import statefuls as _st

from . import trust
from .runs import _REAL_NAME, _as_real

HOISTED_PREFIX = "_plansim_hoisted_"
FILLED_PREFIX = "_plansim_filled_"
BOUNDS = frozenset({"maximum", "minimum"})
"""numpy functions whose number-against-array form is run against a filled array."""
_EXACT = 2.0 ** 53
PURE_NAMES = frozenset({"_as_real", "_vector_power", "zidz", "xidz"})
"""Module-level functions a hoisted sub-expression may call (the engine's pure versions)."""
PURE_NUMPY = frozenset({"exp", "log", "sqrt", "maximum", "minimum", "abs"})
"""numpy functions (``np.<name>``) a hoisted sub-expression may call."""
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_UNARY = (ast.USub, ast.UAdd)
_MISSING = object()
_FLOAT64 = np.dtype(np.float64)


class HoistedValues:
    """The kept values of one model's hoisted sub-expressions and when they are valid."""

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}
        self.allowed: set[int] = set()
        self.elements: dict[int, frozenset[str]] = {}  # per sub-expression: its elements
        self.initials: frozenset[str] = frozenset()  # INITIAL objects among them

    def start(self, cache_type: dict[str, Any]) -> None:
        """PySD's constant cache is in place: keep the sub-expressions whose elements are
        all run-cached in this run."""
        self.values.clear()
        self.allowed.clear()
        initials = self.initials
        self.allowed.update(k for k, names in self.elements.items() if all(
            name in initials or cache_type.get(name) == "run" for name in names))

    def stop(self) -> None:
        """The constants may change: keep nothing."""
        self.values.clear()
        self.allowed.clear()

    @staticmethod
    def bound(function: Callable[..., Any], number: float,
              real: bool = False) -> Callable[[Any], Any]:
        """``function(number, x)`` (``_as_real(function(number, x))`` if ``real``); for a
        float64 ``(N,)`` array ``x``, ``function(filled, x)`` with ``filled`` the number as
        a float64 ``(N,)`` array (numpy's loop over two arrays: the same comparison per
        element as against the broadcast number, which numpy converts to float64 the same
        way, and a third of the time at N = 1,000; a float64 array, which ``_as_real``
        returns as it is).  The filled array is the site's own, made once per N, and never
        written."""
        filled = np.full(0, number, dtype=np.float64)

        def bounded(x: Any) -> Any:
            nonlocal filled
            if type(x) is np.ndarray and x.dtype is _FLOAT64:
                if filled.shape == x.shape:
                    return function(filled, x)
                if x.ndim == 1:
                    filled = np.full(x.shape, number, dtype=np.float64)
                    return function(filled, x)
            return _as_real(function(number, x)) if real else function(number, x)

        return bounded

    def function(self, key: int, evaluate: Callable[[], Any]) -> Callable[[], Any]:
        values, allowed, get = self.values, self.allowed, self.values.get

        def hoisted() -> Any:
            value = get(key, _MISSING)
            if value is _MISSING:
                value = evaluate()
                if key in allowed:
                    values[key] = value
            return value

        return hoisted


class _Rewriter(ast.NodeTransformer):
    """Replaces each maximal constant sub-expression by a call to its hoisted name."""

    def __init__(self, constant: set[str], numpy_name: str | None, start: int):
        self.constant = constant
        self.numpy_name = numpy_name
        self.found: list[tuple[int, ast.expr, frozenset[str]]] = []
        # (key, function, number, within _as_real)
        self.bounds: list[tuple[int, str, float | int, bool]] = []
        self.next = start

    def _elements(self, node: ast.AST) -> frozenset[str] | None:
        """The run-cached elements of a qualifying sub-expression; None if it does not."""
        if isinstance(node, ast.Constant):
            value = node.value
            return frozenset() if type(value) in (int, float) else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY):
            left, right = self._elements(node.left), self._elements(node.right)
            return None if left is None or right is None else left | right
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            return self._elements(node.operand)
        if not isinstance(node, ast.Call) or node.keywords:
            return None
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.constant and not node.args:
            return frozenset({func.id})
        pure = (isinstance(func, ast.Name) and func.id in PURE_NAMES) or (
            isinstance(func, ast.Attribute) and func.attr in PURE_NUMPY
            and isinstance(func.value, ast.Name) and func.value.id == self.numpy_name)
        if not pure or not node.args:
            return None
        names: frozenset[str] = frozenset()
        for argument in node.args:
            found = self._elements(argument)
            if found is None:
                return None
            names |= found
        return names

    def visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.expr) and _has_operation(node):
            names = self._elements(node)
            if names is not None and names:
                key = self.next
                self.next += 1
                self.found.append((key, node, names))
                return ast.copy_location(ast.Call(
                    func=ast.Name(id=f"{HOISTED_PREFIX}{key}", ctx=ast.Load()),
                    args=[], keywords=[]), node)
        real = (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == _REAL_NAME and len(node.args) == 1 and not node.keywords)
        call = node.args[0] if real else node
        bound = self._bound(call)
        if bound is not None:  # [_as_real(]np.maximum(0, x)[)] -> _plansim_filled_<k>(x)
            key = self.next
            self.next += 1
            self.bounds.append((key, *bound, real))
            return ast.copy_location(ast.Call(
                func=ast.Name(id=f"{FILLED_PREFIX}{key}", ctx=ast.Load()),
                args=[self.visit(call.args[1])], keywords=[]), node)
        return self.generic_visit(node)

    def _bound(self, node: ast.AST) -> tuple[str, float | int] | None:
        """(function, number) of ``np.maximum(number, x)`` or ``np.minimum(number, x)``."""
        if not (isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords):
            return None
        func, first = node.func, node.args[0]
        if not (isinstance(func, ast.Attribute) and func.attr in BOUNDS
                and isinstance(func.value, ast.Name) and func.value.id == self.numpy_name):
            return None
        if isinstance(first, ast.UnaryOp) and isinstance(first.op, ast.USub) \
                and isinstance(first.operand, ast.Constant):
            value = first.operand.value
            value = -value if type(value) in (int, float) else None
        else:
            value = first.value if isinstance(first, ast.Constant) else None
        if type(value) not in (int, float) or not abs(value) < _EXACT:
            return None
        return func.attr, value


def _has_operation(node: ast.expr) -> bool:
    """Whether hoisting ``node`` saves an operation (it is not a bare element or number)."""
    return isinstance(node, (ast.BinOp, ast.UnaryOp)) or (
        isinstance(node, ast.Call) and bool(node.args))


def hoist(model: Any, source: str, py_path: Path,
          model_path: Path | str) -> ast.Module | None:
    """Rewrite ``model``'s step equations (of the translation ``source``, from the file
    ``py_path``) with their constant sub-expressions hoisted; the translation's tree with
    the step equations as rewritten (their decorators dropped), None without any.

    Call before the step cache wraps the components (it wraps what is installed here).
    """
    module = model.components._components
    cache_type = getattr(model, "cache_type", {}) or {}
    # INITIAL values are set when PySD initialises, before its constant cache
    initials = frozenset(name for name, value in vars(module).items()
                         if isinstance(value, _st.Initial))
    constant = {name for name, kind in cache_type.items()
                if kind == "run" and not model.get_args(name)} | initials
    step = {name for name, kind in cache_type.items() if kind == "step"}
    numpy_name = next((name for name, value in vars(module).items() if value is np), None)
    if not step:
        return None
    tree = trust.parse(source)
    values = model.__dict__.setdefault("_plansim_hoisted", HoistedValues())
    values.initials = initials
    rewriter = _Rewriter(constant, numpy_name, start=len(values.elements))
    rewritten: list[ast.FunctionDef] = []
    hoisted: list[ast.FunctionDef] = []
    for statement in tree.body:
        if not (isinstance(statement, ast.FunctionDef) and statement.name in step):
            continue
        before, bounds = len(rewriter.found), len(rewriter.bounds)
        statement.decorator_list = []
        new = rewriter.visit(statement)
        if len(rewriter.found) == before and len(rewriter.bounds) == bounds:
            continue
        rewritten.append(new)
        for key, expression, _ in rewriter.found[before:]:  # named as its equation
            hoisted.append(ast.FunctionDef(
                name=statement.name, args=ast.arguments(
                    posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                    kwarg=None, defaults=[]),
                body=[ast.Return(value=expression)], decorator_list=[], returns=None,
                type_comment=None))
    if not rewritten:
        return tree
    for key, _, names in rewriter.found:
        values.elements[key] = names
    functions = _compiled(rewritten, module, py_path, model_path)
    evaluators = _compiled(hoisted, module, py_path, model_path)
    for (key, _, _), evaluate in zip(rewriter.found, evaluators):
        setattr(module, f"{HOISTED_PREFIX}{key}", values.function(key, evaluate))
    for key, name, number, real in rewriter.bounds:
        setattr(module, f"{FILLED_PREFIX}{key}",
                values.bound(getattr(np, name), number, real))
    for function in functions:
        _install(model, function)
    return tree


def _compiled(definitions: Iterable[ast.FunctionDef], module: Any, py_path: Path,
              model_path: Path | str) -> list[Callable[..., Any]]:
    """The functions ``definitions`` compiled in the model module's namespace, after
    :func:`.trust.check_source` (the translation's own rules) on their source."""
    definitions = list(definitions)
    tree = ast.fix_missing_locations(ast.Module(body=definitions, type_ignores=[]))
    trust.check_source(ast.unparse(tree), model_path)
    compiled = []
    for definition in definitions:
        code = compile(ast.Module(body=[definition], type_ignores=[]), str(py_path), "exec")
        namespace: dict[str, Any] = {}
        exec(code, vars(module), namespace)  # noqa: S102 (the checked translation's own code)
        compiled.append(namespace[definition.name])
    return compiled


def _install(model: Any, function: Callable[..., Any]) -> None:
    """``function`` in place of its component, keeping PySD's attributes (and its cache
    wrapper, which the step cache re-wraps from ``__wrapped__``)."""
    module = model.components._components
    current = getattr(module, function.__name__)
    original = getattr(current, "__wrapped__", current)
    function.__dict__.update({key: value for key, value in original.__dict__.items()
                              if key != "__wrapped__"})
    function.__doc__ = original.__doc__
    if hasattr(current, "__wrapped__"):
        current.__wrapped__ = function
    else:
        setattr(module, function.__name__, function)
