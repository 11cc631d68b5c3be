"""Dimensional check of every equation of a Vensim model: ``plansim check [MODEL]``.

The model is read with PySD's translator (``VensimFile`` -> ``AbstractModel``) and
each parsed equation is walked with the declared units of the variables it uses,
as pint quantities of the registry in :mod:`.registry` (``CNY100M``, ``Dmnl``,
``1/Year``, ``person``, ``tce``, ``%``, ``ha``...; a name it does not know becomes
a new base unit). The model's time unit is the unit of ``TIME STEP``.

What must agree (a *finding* otherwise):

- the terms of a sum or difference (``sum``), the arms of IF THEN ELSE, MIN,
  MAX, XIDZ, ACTIVE INITIAL and SAMPLE IF TRUE (``arms``), the two sides of a
  comparison (``comparison``);
- function arguments (``argument``): EXP, LN, LOG and the trigonometric
  functions take dimensionless arguments, so does an exponent, and a
  dimensioned base needs a literal exponent; the time arguments of SMOOTH,
  DELAY, TREND, FORECAST, STEP, RAMP and PULSE are in the time unit;
- a stock's flow equals the stock's units per time unit (``integ``) and its
  initial value the stock's units (``initial``; also for SMOOTHI, DELAY1I...);
- the result of an equation and its declared units (``declared``).

Units agree when their dimensions agree and, where no number multiplies or
divides on either side, their scale too (``CNY100M`` + ``CNY10K`` is a finding;
``x * 1e8`` may be a conversion, so only its dimension is checked). A numeric
literal is dimensionless: one added to, compared with or given as a time
argument next to a dimensioned quantity is reported (``literal``) and taken to
have that quantity's units, so the check goes on; 0 fits any units, and a
number as an initial value (INTEG, SMOOTHI, DELAY1I...) is a figure in the
stock's units. A
disagreement between two dimensioned quantities makes the result unknown, which
stops the same error being reported again further up the equation. Variables
without declared units are not checked (``plansim check`` lists them).

Each finding is one line, ``variable: kind: fragment [units] vs fragment [units]``;
exit status 1 when there are findings, 0 when the model is clean; ``--json``
prints the findings as JSON. API: :func:`check` returns a :class:`Report`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pint
from pysd.translators.structures import abstract_expressions as ae

from .parsed import TIME, Element, ParsedModel, parse
from .registry import Units

_DIMENSIONLESS_FUNCTIONS = {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos",
                            "arctan", "sinh", "cosh", "tanh"}
_SAME_UNIT_FUNCTIONS = {"abs", "integer"}
_ARMS_FUNCTIONS = {"min", "max", "quantum", "modulo", "active_initial"}
_VENSIM_CALLS = {"if_then_else": "IF THEN ELSE", "active_initial": "ACTIVE INITIAL",
                 "pulse_train": "PULSE TRAIN"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3, "negative": 4, "positive": 4}
KINDS = ("sum", "arms", "comparison", "argument", "integ", "initial", "declared", "literal",
         "units")


@dataclass(frozen=True)
class Dim:
    """What the check knows of a (sub)expression: its quantity, whether its scale is known,
    and its value if it is a bare number."""

    quantity: pint.Quantity | None  # None: unknown (undeclared units or an earlier finding)
    exact: bool = True  # False once a number multiplies or divides: the scale may be converted
    literal: float | None = None

    @property
    def known(self) -> bool:
        return self.quantity is not None


UNKNOWN = Dim(None)


@dataclass(frozen=True)
class Finding:
    """Two parts of one equation whose units disagree."""

    variable: str
    kind: str
    left: str
    left_units: str
    right: str
    right_units: str

    def line(self) -> str:
        return (f"{self.variable}: {self.kind}: {self.left} [{self.left_units}] vs "
                f"{self.right} [{self.right_units}]")


@dataclass
class Report:
    """Findings of a dimensional check of one model."""

    model: Path
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    undeclared: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def text(self) -> str:
        lines = [f.line() for f in self.findings]
        if self.undeclared:
            lines.append(f"not checked (no units declared): {', '.join(self.undeclared)}")
        verdict = ("no unit inconsistencies" if self.clean else
                   f"{len(self.findings)} unit inconsistenc{'y' if len(self.findings) == 1 else 'ies'}")
        lines.append(f"{self.model.name}: {self.checked} equations checked, {verdict}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        from ..running.provenance import file_hash, versions

        return {"model": str(self.model), "model_sha256": file_hash(self.model),
                **versions(), "version_pint": pint.__version__,
                "equations_checked": self.checked,
                "not_checked": self.undeclared, "findings": [asdict(f) for f in self.findings]}


def check(mdl_path: Path | str) -> Report:
    """Check every equation of a Vensim model; bad input raises InputError."""
    model = parse(mdl_path)
    units = Units()
    declared: dict[str, Dim] = {}
    report = Report(Path(mdl_path))
    for element in model.elements.values():
        if not element.units:
            declared[element.py] = UNKNOWN
            if element.kind != "lookup":
                report.undeclared.append(element.name)
            continue
        try:
            declared[element.py] = Dim(units.parse(element.units))
        except (ValueError, pint.errors.PintError) as exc:
            declared[element.py] = UNKNOWN
            report.findings.append(Finding(element.name, "units", "declared units",
                                           element.units, "a units expression", str(exc)))
    try:
        time = Dim(units.parse(model.time_units()))
    except (ValueError, pint.errors.PintError):
        time = UNKNOWN
    declared.setdefault(TIME, time)
    for element in model.elements.values():
        if element.kind in ("lookup", "constant") or not declared[element.py].known:
            continue
        walker = _Equation(element, model, declared, time, units.one)
        for equation in element.equations:
            walker.check(equation)
        report.findings += walker.findings
        report.checked += 1
    return report


class _Equation:
    """Infers the units of one element's equations, collecting findings."""

    def __init__(self, element: Element, model: ParsedModel, declared: dict[str, Dim],
                 time: Dim, one: pint.Quantity):
        self.element = element
        self.one = one
        self.declared = declared
        self.time = time
        self.names = {e.py: e.name for e in model.elements.values()}
        self.names[TIME] = "Time"
        self.lookups = {e.py for e in model.elements.values() if e.kind == "lookup"}
        self.findings: list[Finding] = []

    # -- reporting -----------------------------------------------------------------------
    def _report(self, kind, left, a: Dim, right, b: Dim) -> None:
        self.findings.append(Finding(self.element.name, kind, text(left, self.names),
                                     Units.show(a.quantity), text(right, self.names)
                                     if not isinstance(right, str) else right,
                                     Units.show(b.quantity)))

    def check(self, equation) -> None:
        mine = self.declared[self.element.py]
        if isinstance(equation, numbers.Real):
            return
        if isinstance(equation, ae.IntegStructure):
            self._integ(equation, mine)
            return
        result = self.visit(equation)
        if result.known and result.literal is None and _mismatch(result, mine):
            self._report("declared", equation, result, "declared units", mine)

    # -- agreement -----------------------------------------------------------------------
    def _same(self, kind, left, a: Dim, right, b: Dim) -> Dim:
        """The units of two parts that must agree (reporting when they do not)."""
        if not (a.known and b.known):
            return UNKNOWN
        if a.literal is not None and b.literal is not None:
            return a
        for lit, lit_node, other, other_node in ((a, left, b, right), (b, right, a, left)):
            if lit.literal is not None:
                if lit.literal != 0 and not other.quantity.dimensionless:
                    self._report("literal", lit_node, lit, other_node, other)
                return other
        if _mismatch(a, b):
            self._report(kind, left, a, right, b)
            return UNKNOWN
        return Dim(a.quantity, a.exact and b.exact)

    def _expect(self, kind, node, wanted: Dim, what) -> None:
        """A part that must have the units ``wanted`` (a time argument, a flow, ...).

        A number is taken to have those units if it is an initial value (a figure with
        the stock's units) or 0; elsewhere a dimensioned number is a ``literal`` finding.
        """
        got = self.visit(node)
        if not (got.known and wanted.known):
            return
        if got.literal is not None:
            if got.literal != 0 and kind != "initial" and not wanted.quantity.dimensionless:
                self._report("literal", node, got, what, wanted)
            return
        if _mismatch(got, wanted):
            self._report(kind, node, got, what, wanted)

    def _dimensionless(self, node, function: str) -> None:
        got = self.visit(node)
        if got.known and not got.quantity.dimensionless:
            self._report("argument", node, got, f"argument of {function}", Dim(self.one))

    # -- structures ----------------------------------------------------------------------
    def _integ(self, node: ae.IntegStructure, stock: Dim) -> None:
        if self.time.known:
            per_time = Dim(stock.quantity / self.time.quantity)
            self._expect("integ", node.flow, per_time, f"{self.element.name} per time unit")
        self._expect("initial", node.initial, stock, f"{self.element.name}")

    def visit(self, node) -> Dim:
        if isinstance(node, numbers.Real):
            return Dim(self.one, literal=float(node))
        if isinstance(node, ae.ReferenceStructure):
            return self.declared.get(node.reference, UNKNOWN)
        if isinstance(node, ae.ArithmeticStructure):
            return self._arithmetic(node)
        if isinstance(node, ae.LogicStructure):
            return self._logic(node)
        if isinstance(node, ae.CallStructure):
            return self._call(node)
        return self._structure(node)

    def _arithmetic(self, node: ae.ArithmeticStructure) -> Dim:
        args = node.arguments
        if node.operators and node.operators[0] in ("negative", "positive"):
            return self.visit(args[0])
        value = self.visit(args[0])
        for k, (op, arg) in enumerate(zip(node.operators, args[1:]), start=1):
            right = self.visit(arg)
            left_node = args[0] if k == 1 else ae.ArithmeticStructure(node.operators[:k - 1],
                                                                      args[:k])
            if op in ("+", "-"):
                value = self._same("sum", left_node, value, arg, right)
            elif op in ("*", "/"):
                value = _product(value, right, op)
            elif op == "^":
                value = self._power(value, right, left_node, arg)
        return value

    def _power(self, base: Dim, exponent: Dim, base_node, exponent_node) -> Dim:
        if not (base.known and exponent.known):
            return UNKNOWN
        if not exponent.quantity.dimensionless:
            self._report("argument", exponent_node, exponent, "an exponent", Dim(self.one))
            return UNKNOWN
        if exponent.literal is not None:
            literal = base.literal ** exponent.literal if base.literal is not None else None
            return Dim(base.quantity ** exponent.literal, base.exact, literal)
        if not base.quantity.dimensionless:
            self._report("argument", base_node, base,
                         f"a base raised to {text(exponent_node, self.names)} (not a number)",
                         Dim(self.one))
            return UNKNOWN
        return Dim(self.one, base.exact)

    def _logic(self, node: ae.LogicStructure) -> Dim:
        args = node.arguments
        if node.operators[0] in (":AND:", ":OR:", ":NOT:"):
            for arg in args:
                self.visit(arg)
        else:
            value = self.visit(args[0])
            for op, arg in zip(node.operators, args[1:]):
                value = self._same("comparison", args[0], value, arg, self.visit(arg))
        return Dim(self.one)

    def _call(self, node: ae.CallStructure) -> Dim:
        name = node.function.reference
        args = node.arguments
        if name in self.lookups:
            for arg in args:
                self.visit(arg)
            return self.declared.get(name, UNKNOWN)
        if name == "if_then_else":
            self.visit(args[0])
            return self._same("arms", args[1], self.visit(args[1]), args[2], self.visit(args[2]))
        if name in _ARMS_FUNCTIONS:
            value = self.visit(args[0])
            for arg in args[1:]:
                value = self._same("arms", args[0], value, arg, self.visit(arg))
            return value
        if name in _SAME_UNIT_FUNCTIONS:
            return self.visit(args[0])
        if name in _DIMENSIONLESS_FUNCTIONS:
            for arg in args:
                self._dimensionless(arg, name.upper())
            return Dim(self.one)
        if name == "sqrt":
            value = self.visit(args[0])
            return Dim(value.quantity ** 0.5, value.exact) if value.known else UNKNOWN
        if name == "power":
            return self._power(self.visit(args[0]), self.visit(args[1]), args[0], args[1])
        if name in ("xidz", "zidz"):
            ratio = _product(self.visit(args[0]), self.visit(args[1]), "/")
            if name == "xidz":
                return self._same("arms", ae.ArithmeticStructure(["/"], args[:2]), ratio,
                                  args[2], self.visit(args[2]))
            return ratio
        if name in ("step", "ramp", "pulse", "pulse_train"):
            return self._time_function(name, args)
        for arg in args:
            self.visit(arg)
        return UNKNOWN

    def _time_function(self, name: str, args) -> Dim:
        times = {"step": args[1:], "ramp": args[1:], "pulse": args, "pulse_train": args}[name]
        for arg in times:
            self._expect("argument", arg, self.time, f"a time argument of {name.upper()}")
        if name == "step":
            return self.visit(args[0])
        if name == "ramp":
            return _product(self.visit(args[0]), self.time, "*")
        return Dim(self.one)

    def _structure(self, node) -> Dim:
        title = type(node).__name__.replace("Structure", "").upper()
        if isinstance(node, (ae.SmoothStructure, ae.SmoothNStructure, ae.DelayStructure,
                             ae.DelayNStructure, ae.DelayFixedStructure)):
            value = self.visit(node.input)
            delay = node.smooth_time if hasattr(node, "smooth_time") else node.delay_time
            self._expect("argument", delay, self.time, f"the time argument of {title}")
            if not isinstance(getattr(node, "order", 1), numbers.Real):
                self._dimensionless(node.order, f"the order of {title}")
            if node.initial is not node.input:
                self._expect("initial", node.initial, value, f"the input of {title}")
            return value
        if isinstance(node, (ae.TrendStructure, ae.ForecastStructure)):
            value = self.visit(node.input)
            self._expect("argument", node.average_time, self.time, f"the time argument of {title}")
            if self.time.known:
                self._expect("initial", node.initial_trend, Dim(1 / self.time.quantity),
                             f"a fractional trend of {title}")
            if isinstance(node, ae.ForecastStructure):
                self._expect("argument", node.horizon, self.time, f"the horizon of {title}")
                return value
            return Dim(1 / self.time.quantity) if self.time.known else UNKNOWN
        if isinstance(node, ae.SampleIfTrueStructure):
            self.visit(node.condition)
            return self._same("arms", node.input, self.visit(node.input), node.initial,
                              self.visit(node.initial))
        if isinstance(node, ae.InitialStructure):
            return self.visit(node.initial)
        if isinstance(node, ae.InlineLookupsStructure):
            self.visit(node.argument)
            return self.declared[self.element.py]
        return UNKNOWN


def _mismatch(a: Dim, b: Dim) -> bool:
    """Whether two known units disagree in dimension, or in scale where both scales are known."""
    ratio = (a.quantity / b.quantity).to_base_units()
    if not ratio.dimensionless:
        return True
    return a.exact and b.exact and not math.isclose(ratio.magnitude, 1.0, rel_tol=1e-9)


def _product(a: Dim, b: Dim, op: str) -> Dim:
    if not (a.known and b.known):
        return UNKNOWN
    quantity = a.quantity * b.quantity if op == "*" else a.quantity / b.quantity
    literal = None
    if a.literal is not None and b.literal is not None:
        literal = a.literal * b.literal if op == "*" else (
            a.literal / b.literal if b.literal else math.inf)
    scaled = any(d.literal not in (None, 1.0) for d in (a, b))
    return Dim(quantity, a.exact and b.exact and not scaled, literal)


def text(node, names: dict[str, str], parent: int = 0) -> str:
    """An equation fragment in Vensim spelling."""
    if isinstance(node, numbers.Real):
        return f"{float(node):g}"
    if isinstance(node, ae.ReferenceStructure):
        return names.get(node.reference, node.reference)
    if isinstance(node, (ae.ArithmeticStructure, ae.LogicStructure)):
        ops, args = node.operators, node.arguments
        if ops and ops[0] in ("negative", "positive", ":NOT:"):
            sign = {"negative": "-", "positive": "+", ":NOT:": ":NOT: "}[ops[0]]
            return sign + text(args[0], names, 4)
        level = _PRECEDENCE.get(ops[0], 0) if ops else 0
        body = text(args[0], names, level)
        for op, arg in zip(ops, args[1:]):
            body += f" {op} {text(arg, names, level + (op in '-/^'))}"
        return f"({body})" if level < parent else body
    if isinstance(node, ae.CallStructure):
        ref = node.function.reference
        name = names.get(ref) or _VENSIM_CALLS.get(ref, ref.upper())
        return f"{name}({', '.join(text(a, names) for a in node.arguments)})"
    title = type(node).__name__.replace("Structure", "").upper()
    parts = [text(getattr(node, f.name), names) for f in fields(node)
             if f.name not in ("order", "lookups", "non_negative")]
    return f"{title}({', '.join(parts)})"
