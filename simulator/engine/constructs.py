"""Which Vensim constructs a model uses: checks on the parsed model and the translated Python."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path

from pysd.translators.structures import abstract_expressions as _ae
from pysd.translators.structures import abstract_model as _am
from pysd.translators.vensim.vensim_file import VensimFile
from pysd.translators.xmile.xmile_file import XmileFile

# --------------------------------------------------------------------------- construct checks
from .errors import (
    _ALLOWED_BACKEND_NAMES,
    _LOOKUP_INTERPOLATIONS,
    _SUPPORTED_CALLS,
    SUPPORTED_FUNCTIONS,
    UnsupportedConstruct,
)

XMILE_SUFFIXES = (".xmile", ".xml", ".stmx")
"""Stella/iThink model files, read by PySD's XMILE translator (``pysd.read_xmile``)."""
MODEL_SUFFIXES = (".mdl", *XMILE_SUFFIXES)
"""Model files the engine reads: Vensim ``.mdl`` and XMILE."""


def _parse_model(model_path: Path) -> _am.AbstractModel:
    """PySD's parsing into its abstract model, as in ``pysd.read_vensim`` (a ``.mdl``)
    or ``pysd.read_xmile`` (Stella/iThink XMILE); the engine walks either the same way."""
    if model_path.suffix.lower() in XMILE_SUFFIXES:
        model_file: VensimFile | XmileFile = XmileFile(model_path)
    else:
        model_file = VensimFile(model_path)
    model_file.parse()
    return model_file.get_abstract_model()

def _raise_if_unsupported(model: object, issues: list[tuple[str, str]]) -> None:
    if issues:
        raise UnsupportedConstruct(model, issues)


def _clean(name: str) -> str:
    """A Vensim name as PySD's translator writes references (lowercase, underscores)."""
    return name.lower().replace(" ", "_")


def used_constructs(mdl_path: str | os.PathLike) -> dict[str, set[str]]:
    """The Vensim functions and constructs each variable of a model uses."""
    used: dict[str, set[str]] = {}
    for variable, construct in _constructs(_parse_model(Path(mdl_path))):
        used.setdefault(variable, set()).add(construct)
    return used


def _abstract_issues(abstract: _am.AbstractModel) -> list[tuple[str, str]]:
    """Every (variable, construct) of the parsed model outside the supported set."""
    return [(variable, construct) for variable, construct in _constructs(abstract)
                     if construct not in SUPPORTED_FUNCTIONS
                     and not construct.startswith("subscripts")]


def _constructs(abstract: _am.AbstractModel) -> list[tuple[str, str]]:
    """Every (variable, construct) of the parsed model and its macros, without repeats.

    A call to a macro counts as the construct ``MACRO``; the macro's own equations
    are checked like the model's.
    """
    macros = {_clean(section.name) for section in abstract.sections[1:]}
    found: list[tuple[str, str]] = []
    for section in abstract.sections:
        callables = macros | {_clean(e.name) for e in section.elements
                              if any(isinstance(c, _am.AbstractLookup) for c in e.components)}
        for element in section.elements:
            if isinstance(element, _am.AbstractControlElement):
                continue
            for component in element.components:
                found += [(element.name, "MACRO" if what == "lookups" and _is_macro_call(
                    component, macros) else what)
                          for what in _component_constructs(component, callables)]
    return list(dict.fromkeys(found))


def _is_macro_call(component: _am.AbstractComponent, macros: set[str]) -> bool:
    return any(isinstance(node, _ae.CallStructure) and node.function.reference in macros
               for node in walk(component.ast))


def _component_constructs(component: _am.AbstractComponent, lookups: set[str]) -> list[str]:
    found = []
    if component.subscripts and component.subscripts[0]:
        found.append(f"subscripts {list(component.subscripts[0])}")
    if isinstance(component, _am.AbstractData) and not isinstance(
            component.ast, _ae.GetDataStructure):
        found.append("a data variable (:=)")
    for node in walk(component.ast):
        what = _construct_name(node, lookups)
        if what is not None:
            found.append(what)
        if isinstance(node, _ae.ReferenceStructure) and node.subscripts:
            found.append(f"subscripts {list(node.subscripts.subscripts)}")
    return found


def walk(node: object) -> Iterator[object]:
    """Depth-first walk over PySD's abstract syntax (dataclasses, tuples, lists)."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)
    elif is_dataclass(node) and not isinstance(node, type):
        yield node
        for field in fields(node):
            yield from walk(getattr(node, field.name))


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
    from .trust import parse  # one parse at a time (CPython 3.11 and threads)

    tree = parse(source)
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
