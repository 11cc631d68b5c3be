"""The step cache filled by one function per step: the equations every step evaluates.

At each Euler step PySD computes every stock's derivative; each derivative calls its
equations through the step cache, each equation is a Python function calling the others
through it: about 300 cached calls a step on the district model, two fifths of the
interpreter's work.  Here the equations that every step evaluates whatever the values
(the *strict* ones: reached from an INTEG's derivative or a SMOOTH's input and time,
never through an IF THEN ELSE branch, which PySD evaluates only when taken) and that the
step cache keeps are evaluated first, in one generated function, in an order where each
one's equations come before it: the same expressions (the checked translation's, with
their hoisted parts, :mod:`.hoist`) on the same values, each value stored in the step
cache under its name, as its cached call would; a call of another such equation reads the
value just computed.  A value already cached (an output read at a saved step, before the
step) is kept, not recomputed (a second version of the function, for a cache not empty).  What each equation computes does not depend on when in
the step it is computed (the states change only after every derivative is taken), so the
values are PySD's bit for bit.

The function also returns each INTEG's derivative (its ``ddt`` lambda's expression, the
same way), which the Euler step takes instead of calling ``ddt``.

Not for models with RANDOM functions (the draws' order is the order PySD evaluates in),
macros or runs as a named dimension.  If the function raises, the step goes on as PySD's
(the equation raises again there, named by the engine as before).

The generated function is built with ``ast`` from the checked translation's function
bodies and names only (``_v_<equation>`` locals, ``_data``/``_get``/``_missing``
arguments) and passes :func:`.trust.check_source` before it is compiled.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import trust

ROOTS = {"Integ": (0,), "Smooth": (0, 1)}
"""Stateful constructors whose derivative evaluates these lambda arguments at every step
(INTEG: its derivative; SMOOTH: its input and its smoothing time)."""
DERIVATIVE = "Integ"
"""The stateful whose derivative (its ``ddt``, the first lambda) the fill also returns."""
_MISSING = object()


def _strict_calls(expression: ast.AST, names: set[str]) -> list[str]:
    """Calls without arguments of ``names`` in ``expression``, outside any lambda, in
    Python's evaluation order."""
    found: list[str] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, (ast.Lambda, ast.BoolOp, ast.IfExp)):
            return  # (evaluated only in some cases)
        if isinstance(node, ast.Compare) and len(node.ops) > 1:  # a < b < c: c maybe not
            walk(node.left)
            walk(node.comparators[0])
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in names and not node.args and not node.keywords):
            found.append(node.func.id)
            return
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(expression)
    return found


class _Locals(ast.NodeTransformer):
    """Calls of the prefilled equations (outside lambdas) -> their local values."""

    def __init__(self, names: set[str]):
        self.names = names

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node  # (evaluated only when PySD evaluates it: left as it is)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if (isinstance(node.func, ast.Name) and node.func.id in self.names
                and not node.args and not node.keywords):
            return ast.copy_location(ast.Name(id=f"_v_{node.func.id}", ctx=ast.Load()), node)
        return self.generic_visit(node)


class Prefill:
    """One model's strict equations and the generated fill per set of cached equations."""

    def __init__(self, module: Any, tree: ast.Module, step: set[str], py_path: Path,
                 model_path: Path | str):
        self.module, self.py_path, self.model_path = module, py_path, model_path
        self.expressions: dict[str, ast.expr] = {}
        for statement in tree.body:
            if (isinstance(statement, ast.FunctionDef) and statement.name in step
                    and not statement.args.args and not statement.args.vararg
                    and not statement.args.kwarg and not statement.args.kwonlyargs):
                body = [s for s in statement.body if not (
                    isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value:
                    self.expressions[statement.name] = body[0].value
        names = set(self.expressions)
        self.calls = {name: _strict_calls(expression, names)
                      for name, expression in self.expressions.items()}
        roots: list[str] = []
        self.derivatives: list[tuple[str, ast.expr]] = []  # (INTEG object, its derivative)
        for statement in tree.body:
            value = getattr(statement, "value", None)
            if (isinstance(statement, ast.Assign) and isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name) and value.func.id in ROOTS):
                for position in ROOTS[value.func.id]:
                    if position < len(value.args) and isinstance(value.args[position],
                                                                  ast.Lambda):
                        roots += _strict_calls(value.args[position].body, names)
                target = statement.targets[0] if len(statement.targets) == 1 else None
                if (value.func.id == DERIVATIVE and isinstance(target, ast.Name) and value.args
                        and isinstance(value.args[0], ast.Lambda)):
                    self.derivatives.append((target.id, value.args[0].body))
        self.strict = self._order(roots)  # every strict equation, its equations first
        Fill = Callable[..., None] | None
        self.built: dict[frozenset[str], tuple[Fill, Fill]] = {}
        self.current: tuple[Fill, Fill] = (None, None)  # (into an empty cache, keeping)

    def _order(self, roots: list[str]) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for callee in self.calls[name]:
                visit(callee)
            order.append(name)

        for root in roots:
            visit(root)
        return order

    def select(self, cached: set[str]) -> None:
        """The fill for this run: the strict equations the step cache keeps (``cached``)."""
        chosen = frozenset(name for name in self.strict if name in cached)
        if chosen not in self.built:
            names = [n for n in self.strict if n in chosen]
            self.built[chosen] = (self._build(names, False), self._build(names, True))
        self.current = self.built[chosen]

    def _build(self, names: list[str], kept: bool) -> Callable[..., None] | None:
        """The fill of ``names``; ``kept``: a value already in the cache is kept (the
        cache is empty at the start of a step but for the outputs of a saved step)."""
        if not names and not self.derivatives:
            return None
        local = _Locals(set(names))
        body: list[ast.stmt] = []
        for name in names:
            value = f"_v_{name}"
            # _v_x = _data['x'] = <x>, or, keeping a cached value,
            # _v_x = _get('x', _missing); if _v_x is _missing: _v_x = _data['x'] = <x>
            store = ast.Assign(targets=[ast.Name(id=value, ctx=ast.Store()),
                                        ast.Subscript(value=ast.Name(id="_data", ctx=ast.Load()),
                                                      slice=ast.Constant(value=name),
                                                      ctx=ast.Store())],
                               value=local.visit(_copy(self.expressions[name])))
            if not kept:
                body.append(store)
                continue
            body.append(ast.Assign(targets=[ast.Name(id=value, ctx=ast.Store())],
                                   value=ast.Call(func=ast.Name(id="_get", ctx=ast.Load()),
                                                  args=[ast.Constant(value=name),
                                                        ast.Name(id="_missing", ctx=ast.Load())],
                                                  keywords=[])))
            body.append(ast.If(
                test=ast.Compare(left=ast.Name(id=value, ctx=ast.Load()), ops=[ast.Is()],
                                 comparators=[ast.Name(id="_missing", ctx=ast.Load())]),
                body=[store], orelse=[]))
        # return {'_integ_x': <its derivative>, ...}: what each INTEG's ``ddt`` returns
        body.append(ast.Return(value=ast.Dict(
            keys=[ast.Constant(value=name) for name, _ in self.derivatives],
            values=[local.visit(_copy(expression)) for _, expression in self.derivatives])))
        arguments = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in (
            "_data", "_get", "_missing")], vararg=None, kwonlyargs=[], kw_defaults=[],
            kwarg=None, defaults=[])
        function = ast.FunctionDef(name="_plansim_prefill", args=arguments, body=body,
                                   decorator_list=[], returns=None, type_comment=None)
        tree = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
        trust.check_source(ast.unparse(tree), self.model_path)
        namespace: dict[str, Any] = {}
        exec(compile(tree, str(self.py_path), "exec"), vars(self.module), namespace)  # noqa: S102
        return namespace["_plansim_prefill"]

    def __call__(self, data: dict) -> dict[str, Any] | None:
        """Fill the step cache ``data``; each INTEG's derivative by its object's name (None
        if the fill raised: the step computes them, and raises it again, named)."""
        fill = self.current[1 if data else 0]
        if fill is not None:
            try:
                return fill(data, data.get, _MISSING)
            except Exception:  # noqa: BLE001
                return None
        return None


def _copy(node: ast.expr) -> ast.expr:
    """A deep copy of an expression (the translation's tree is left as it is)."""
    return copy.deepcopy(node)
