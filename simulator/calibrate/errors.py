"""The observation-error model: how far from a printed figure the truth may lie.

Every figure of the project's history file gets a standard deviation (in the
figure's own unit) from independent components, added in quadrature:

* **rounding** - a figure printed with *d* decimals is the truth rounded to
  ``10**-d``: a uniform error of half that step, standard deviation
  ``0.5 * 10**-d / sqrt(3)``;
* **derived** - a figure computed from other printed figures (the expression in
  ``history_errors.csv``, printed figures in quotes) carries their rounding,
  propagated to first order, plus the difference between the row's value and the
  expression (the row's own rounding); such a row has no rounding of its own;
* **inconsistency** - where the plan's figures contradict an identity (the sector
  real growth rates against total real growth), the gap is computed from the
  table and shared: half of it as an error of every figure the row names;
* **discrepancy** - the model's structural error: relative to the figure or in
  points, per indicator (``*`` for the rest).

Nothing here is tuned to a model: the components come from the printed figures
and the companion file the manifest names (``[history] errors = "..."``; Karamay:
``models/data/history_errors.csv``), which ``plansim calibrate --report`` prints. A
project without one gets each figure's rounding and ``DEFAULT_DISCREPANCY``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..inputs import validate
from ..inputs.project import Project

COLUMNS = ["figure", "component", "kind", "value", "applies_to", "note"]
DEFAULT_DISCREPANCY = 0.01  # relative structural error of a project without an errors file
COMPONENTS = ("rounding", "derived", "inconsistency", "discrepancy")
DISCREPANCY_KINDS = ("relative", "points")
_QUOTED = re.compile(r"'([0-9.]+)'")
_REFERENCE = re.compile(r"\{([a-z_0-9]+\.[0-9]{4})\}")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow}


@dataclass(frozen=True)
class ErrorBudget:
    """The error components of one figure (standard deviations, the figure's unit)."""

    figure: str
    components: dict[str, float]

    @property
    def sd(self) -> float:
        return math.sqrt(sum(v * v for v in self.components.values()))


def rounding_sd(printed: str) -> float:
    """Standard deviation of the rounding of a printed number (uniform over its last step)."""
    text = printed.strip()
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals / math.sqrt(3.0)


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith(node.operand)
    raise ValueError("only numbers, + - * / ** and parentheses are allowed")


def evaluate(expression: str, values: dict[str, float],
             literals: list[float] | None = None) -> float:
    """Value of an expression: ``'x'`` printed figures, ``{key}`` figures of the table."""
    printed = iter(literals) if literals is not None else None

    def literal(m):
        return repr(next(printed) if printed is not None else float(m.group(1)))

    text = _QUOTED.sub(literal, expression)
    text = _REFERENCE.sub(lambda m: repr(values[m.group(1)]), text)
    return _arith(ast.parse(text, mode="eval"))


def propagated_sd(expression: str, values: dict[str, float]) -> float:
    """First-order rounding error of an expression of printed figures."""
    printed = _QUOTED.findall(expression)
    base = [float(p) for p in printed]
    centre = evaluate(expression, values, base)
    total = 0.0
    for i, text in enumerate(printed):
        step = rounding_sd(text)
        shifted = list(base)
        shifted[i] += step
        total += (evaluate(expression, values, shifted) - centre) ** 2
    return math.sqrt(total)


def _table(project: Project) -> pd.DataFrame:
    path = project.history_errors
    if path is None:
        return pd.DataFrame([["*", "discrepancy", "relative", str(DEFAULT_DISCREPANCY), "",
                              "no errors file in the manifest: 1% structural error"]],
                            columns=COLUMNS)
    table = validate.csv_table(path, tuple(COLUMNS), "give the path of the history's error "
                               "model (the manifest's [history] errors)")
    for line, row in enumerate(table.itertuples(index=False), start=2):
        if row.component == "discrepancy":
            validate.choice(path, f"line {line}.kind", row.kind, DISCREPANCY_KINDS)
            if validate.number_text(path, f"line {line}.value", row.value) < 0:
                raise InputError(path, f"line {line}.value", f"{row.value} is negative",
                                 "give the structural error as a size (0 or more)")
    return table


def budgets(history: pd.DataFrame, project: Project) -> dict[str, ErrorBudget]:
    """Error budget of every figure of ``history`` (its ``value`` column as printed text)."""
    path = project.history_errors or project.manifest
    rows = _table(project)
    keys = [f"{r.indicator}.{int(r.year)}" for r in history.itertuples()]
    printed = dict(zip(keys, history["value"].astype(str)))
    values = {k: float(v) for k, v in printed.items()}
    comps: dict[str, dict[str, float]] = {k: {} for k in keys}
    derived = {r.figure for r in rows.itertuples() if r.component == "derived"}
    for k in keys:
        if k not in derived:
            comps[k]["rounding"] = rounding_sd(printed[k])
    for i, r in enumerate(rows.itertuples()):
        where = f"row {i + 2} ({r.figure})"
        if r.component not in COMPONENTS[1:]:
            raise InputError(path, where, f"unknown component {r.component!r}",
                             "use derived, inconsistency or discrepancy")
        if r.component == "discrepancy":
            continue
        if r.figure not in values:
            raise InputError(path, where, "no such figure in history.csv",
                             "name a figure as indicator.year")
        try:
            value = evaluate(r.value, values)
            spread = propagated_sd(r.value, values)
        except (ValueError, KeyError, SyntaxError, ZeroDivisionError) as exc:
            raise InputError(path, f"{where}.value", f"cannot evaluate ({exc})",
                             "write arithmetic of 'printed' figures and {indicator.year}") from exc
        if r.component == "derived":
            comps[r.figure]["derived"] = math.hypot(spread, abs(values[r.figure] - value)
                                                    / math.sqrt(3.0))
        else:
            gap = abs(value - values[r.figure])
            for target in r.applies_to.split() or [r.figure]:
                if target not in comps:
                    raise InputError(path, f"{where}.applies_to", f"no figure {target!r}",
                                     "name figures of history.csv as indicator.year")
                comps[target]["inconsistency"] = gap / 2.0
    disc = {r.figure: (r.kind, float(r.value)) for r in rows.itertuples()
            if r.component == "discrepancy"}
    if "*" not in disc:
        raise InputError(path, "*", "no default discrepancy", "add a row for figure *")
    for k in keys:
        kind, size = disc.get(k.split(".")[0], disc["*"])
        comps[k]["discrepancy"] = size * abs(values[k]) if kind == "relative" else size
    return {k: ErrorBudget(k, c) for k, c in comps.items()}


def notes(project: Project) -> list[dict[str, str]]:
    """The companion file's rows, for reports and provenance."""
    return _table(project).to_dict("records")
