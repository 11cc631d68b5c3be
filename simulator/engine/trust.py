"""A model is a program: what plansim lets a model's translation contain.

PySD translates a Vensim model into a Python module and imports it.  Names, units and
subscript elements reach that module through ``repr``; a variable's comment does not:
PySD writes it between ``\"\"\"`` as it stands (``python_model_builder.py`` ~785), so a
comment holding ``\"\"\"`` would end the docstring and run the rest as Python.  Two
guards, both applied before a translation is imported:

1. :func:`neutralise` rewrites the free text of the parsed model that PySD copies into
   source unquoted (comments: every ``"`` becomes ``'``, NUL and other control
   characters a space), so no comment can leave its string.
2. :func:`check_source` parses every built file and refuses, in one line naming the
   model and the line, anything the translator does not emit: statements other than
   imports of PySD, numpy, xarray, scipy and pathlib, assignments and function
   definitions at the top; calls to names the module does not define (``eval``,
   ``open``, ``__import__``...); attributes outside those PySD's templates write
   (``os.system``, ``Path.unlink``, ``__class__``...).

A model may still read files through GET DIRECT/XLS functions, by Vensim's design;
plansim's commands confine those to the model's folder (see README, "Models are
programs").
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import os
import re
import threading
from pathlib import Path

from pysd.translators.structures import abstract_model as _am

from .errors import EngineError


class UntrustedModel(EngineError):
    """A model whose translation holds code that PySD's translator does not emit."""


_IMPORTS = {("pathlib", "Path"), ("scipy", "stats"), ("pysd", "Component"),
            ("pysd.py_backend.model", "Macro")}
_IMPORT_AS = {("numpy", "np"), ("xarray", "xr")}
_BACKEND_MODULES = {f"pysd.py_backend.{m}" for m in ("functions", "statefuls", "external",
                                                      "data", "lookups", "allocation")}
"""What a translation may import: PySD's header (``builders/python/imports.py``) without
``utils`` (split-view loading, which plansim does not use)."""

ALLOWED_BUILTINS = frozenset({"abs", "bool", "dict", "float", "int", "len", "list", "max",
                              "min", "range", "round", "slice", "sum", "tuple", "zip"})

ALLOWED_ATTRIBUTES = frozenset({
    # numpy, xarray, scipy.stats and PySD calls written by the builder's templates
    # (every ``.name`` in pysd/builders/python/*.py strings, PySD 3.14.3)
    "DataArray", "abs", "add", "arange", "arccos", "arcsin", "arctan", "array", "cos", "cosh",
    "exp", "expand_dims", "final_time", "inf", "initial_time", "interp", "joinpath", "loc",
    "log", "logical_and", "logical_not", "logical_or", "maximum", "minimum", "nan",
    "ones_like", "parent", "pi", "power", "random", "rename", "reset_coords", "rvs",
    "saveper", "sin", "sinh", "sqrt", "stage", "tan", "tanh", "time_step", "transpose",
    "truncexpon", "truncnorm", "uniform", "values", "zeros_like",
    # np.random draws of RANDOM functions (sent to each run's stream by .draws)
    "normal", "exponential", "poisson", "binomial", "gamma", "beta", "lognormal",
    "triangular", "weibull", "negative_binomial",
})

_REFUSED_NAMES = frozenset(dir(builtins)) - ALLOWED_BUILTINS
"""Builtins a translation may not name (``eval``, ``open``, ``__import__``, ``getattr``...);
any other name is the module's own, a macro's input (set by PySD) or a NameError."""
_DUNDERS = frozenset({"__data", "__pysd_version__", "__file__"})
_NODES = frozenset({
    "Module", "Expr", "Import", "ImportFrom", "alias", "Assign", "AugAssign", "FunctionDef",
    "arguments", "arg", "Return", "For", "If", "Pass", "Attribute", "BinOp", "BoolOp",
    "Call", "Compare", "Constant", "Dict", "IfExp", "Lambda", "List", "Name", "Slice",
    "Subscript", "Tuple", "UnaryOp", "keyword", "Load", "Store", "Del",
    # operators
    "Add", "Sub", "Mult", "Div", "Mod", "Pow", "FloorDiv", "USub", "UAdd", "Not", "Invert",
    "And", "Or", "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "BitAnd", "BitOr", "In", "NotIn",
    "Is", "IsNot", "MatMult",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def neutralise(abstract: _am.AbstractModel) -> int:
    """Make every comment of ``abstract`` safe inside PySD's ``\"\"\"`` docstring (in place).

    ``"`` becomes ``'`` and control characters a space; the number of comments changed.
    """
    changed = 0
    for section in abstract.sections:
        for element in section.elements:
            doc = element.documentation or ""
            safe = _CONTROL.sub(" ", doc.replace('"', "'"))
            if safe != doc:
                element.documentation = safe
                changed += 1
    return changed


ALLOW_OUTSIDE_DATA = "PLANSIM_ALLOW_OUTSIDE_DATA"
"""Set (to 1) by ``--allow-outside-data``: a model may read data files anywhere."""


def data_files(abstract: _am.AbstractModel) -> list[tuple[str, str]]:
    """(variable, file) of every file the model reads: GET DIRECT/XLS data, constants,
    lookups and subscript ranges (a file named indirectly, ``?name``, is PySD's to find)."""
    found: list[tuple[str, str]] = []

    def walk(node, element: str) -> None:
        if isinstance(node, (list, tuple)):
            for item in node:
                walk(item, element)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            if isinstance(getattr(node, "file", None), str):
                found.append((element, node.file))
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name), element)

    for section in abstract.sections:
        for subscript_range in section.subscripts:
            source = subscript_range.subscripts
            if isinstance(source, dict) and isinstance(source.get("file"), str):
                found.append((subscript_range.name, source["file"]))
        for element in section.elements:
            for component in element.components:
                walk(component.ast, element.name)
    return [(e, f) for e, f in found if not f.startswith("?")]


def confine_data(abstract: _am.AbstractModel, mdl_path: Path) -> None:
    """Every data file of ``abstract`` in the model's folder (symbolic links resolved),
    unless ``PLANSIM_ALLOW_OUTSIDE_DATA`` is set (``--allow-outside-data``)."""
    if os.environ.get(ALLOW_OUTSIDE_DATA, "") not in ("", "0"):
        return
    folder = mdl_path.parent.resolve()
    for element, file in data_files(abstract):
        if not (folder / file).resolve().is_relative_to(folder):
            raise UntrustedModel(f"{mdl_path}: '{element}' reads '{file}', outside the "
                                 "model's folder; fix: put the data beside the model, or "
                                 "pass --allow-outside-data if you trust this model")


def _refuse(model: Path | str, node: ast.AST | None, what: str) -> UntrustedModel:
    line = f" (translation line {node.lineno})" if getattr(node, "lineno", None) else ""
    return UntrustedModel(f"{model}: the model's translation {what}{line}, which PySD's "
                          "translator does not write; plansim runs no code from a model "
                          "file; fix: remove it from the model (a comment, name or data "
                          "reference carrying Python)")


def _import_allowed(statement: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(statement, ast.Import):
        return all((a.name, a.asname) in _IMPORT_AS for a in statement.names)
    return not statement.level and all(
        statement.module in _BACKEND_MODULES or (statement.module, a.name) in _IMPORTS
        for a in statement.names) and all(a.asname is None for a in statement.names)


def _check_top(model, statement: ast.stmt, index: int) -> None:
    if isinstance(statement, ast.Expr):
        value = statement.value
        if index == 0 and isinstance(value, ast.Constant) and isinstance(value.value, str):
            return
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr == "add" and isinstance(value.func.value, ast.Name)
                and value.func.value.id.startswith(("_ext_", "_hardcodedlookup_"))):
            return  # ``_ext_data_x.add(...)``: another range of an external or lookup object
        raise _refuse(model, statement, "runs an expression at import")
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        if not _import_allowed(statement):
            raise _refuse(model, statement, f"imports '{ast.unparse(statement)[:60]}'")
    elif not isinstance(statement, (ast.Assign, ast.FunctionDef)):
        raise _refuse(model, statement, f"holds a {type(statement).__name__} statement")


def _check_function(model, function: ast.FunctionDef) -> None:
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                and isinstance(decorator.func.value, ast.Name)
                and decorator.func.value.id == "component" and decorator.func.attr == "add"):
            raise _refuse(model, decorator, "decorates a function with something else than "
                          "component.add")
    for index, statement in enumerate(function.body):
        if isinstance(statement, ast.Expr) and not (
                index == 0 and isinstance(statement.value, ast.Constant)):
            raise _refuse(model, statement, f"runs an expression in '{function.name}'")
        if isinstance(statement, (ast.FunctionDef, ast.Import, ast.ImportFrom)):
            raise _refuse(model, statement, f"nests a definition in '{function.name}'")


# CPython 3.11's AST constructor keeps its recursion depth in state shared between threads
# (python/cpython#106905): two threads translating at once (the engine's thread slots) raised
# "SystemError: AST constructor recursion depth mismatch". One parse at a time; a translation
# (PySD's parser evaluates literals with ast too) holds the same lock from start to end.
_PARSE = threading.RLock()


def parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse`` one thread at a time (see :data:`_PARSE`)."""
    with _PARSE:
        return ast.parse(source, mode=mode)


def check_source(source: str, model: Path | str) -> ast.Module:
    """The parsed ``source`` of a translation of ``model``, if it holds only what
    PySD's translator writes; else :class:`UntrustedModel` in one line."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError) as exc:
        raise _refuse(model, None, f"is not valid Python ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:60]})") from None
    for index, statement in enumerate(tree.body):
        _check_top(model, statement, index)
    for node in ast.walk(tree):
        kind = type(node).__name__
        if kind not in _NODES:
            raise _refuse(model, node, f"holds a {kind} node")
        if isinstance(node, ast.FunctionDef):
            if node.name.startswith("__"):
                raise _refuse(model, node, f"defines '{node.name}'")
            _check_function(model, node)
        elif isinstance(node, ast.Name) and (
                node.id in _REFUSED_NAMES or node.id.startswith("__") and node.id not in _DUNDERS):
            raise _refuse(model, node, f"uses the name '{node.id}'")

        elif isinstance(node, ast.Attribute) and node.attr not in ALLOWED_ATTRIBUTES:
            raise _refuse(model, node, f"uses the attribute '.{node.attr}'")
    return tree


def check_file(path: Path, model: Path | str) -> None:
    """:func:`check_source` on the file ``path`` (a translation of ``model``)."""
    check_source(path.read_text(encoding="utf-8"), model)
