"""Feedback loops measured by knockout: ``plansim loops [SCENARIO]``.

Each loop the model documents is described in a spec, ``models/loops.toml``::

    model = "karamay.mdl"        # optional, relative to the spec (default: the district model)
    scenario = "plan"            # optional: whose central run is perturbed (default: the
                                 # model's own values); the command line may name another
    years = [2010, 2015]         # optional: years at which activity is measured

    [[loop]]
    id = "migration-balance"
    name = "migration balance"
    polarity = "-"               # "+" reinforcing, "-" balancing
    chain = "job availability -> net migration rate -> ... -> job availability"
    cut = "labour force"         # an auxiliary or flow on the chain
    outputs = ["population"]     # variables whose response is compared
    dormant = "why"              # optional: the loop is documented as dormant
    [loop.perturbation]
    parameter = "talent attraction rate"   # a constant; or input = "<exogenous variable>"
    absolute = 0.005                       # or relative = 0.1 (a fraction of the value)
    from = 2006                            # optional: a step from this year (default: all run)

The chain names model variables, each using the one before it, and closes on its
first name; the cut is a variable of the chain that is neither a stock nor a
constant. The activity of a loop is measured by knockout: the effect of the
perturbation on each output with the loop intact, divided by its effect with the
loop cut, the cut variable replaced by its time path in the unperturbed run
(plain PySD, ``params={cut: pandas.Series}``), each run starting from the
scenario's central parameters. A ratio above 1 means the loop amplifies the
perturbation (reinforcing), below 1 that it damps it (balancing). A loop is
measured dormant when every ratio lies within :data:`DORMANT_TOLERANCE` of 1.

A loop is a *problem* (exit status 1) when it is measured dormant but not
documented dormant (``dormant = "reason"``), documented dormant but measured
active, when the perturbation moves none of its outputs, when the cut lies on
the perturbation's only way to an output (the effect vanishes with the cut: no
ratio), or when a run leaves the model's domain (NaN or inf). ``--json`` prints
the measurement, ``--markdown`` the table ``models/README.md`` holds. API:
:func:`load_spec` (checked: every name, link and number) and :func:`measure`.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs import tomlfile, validate
from ..inputs.project import Project, find
from .parsed import ParsedModel, parse

DEFAULT_YEARS = (2010, 2015)
DORMANT_TOLERANCE = 0.02
"""A loop whose every ratio lies within 2% of 1 is dormant."""
POLARITIES = {"+": "reinforcing", "-": "balancing"}
LOOP_KEYS = {"id", "name", "polarity", "chain", "cut", "outputs", "perturbation", "dormant"}
PERTURBATION_KEYS = {"parameter", "input", "relative", "absolute", "from"}
_ARROW = re.compile(r"\s*(?:->|→)\s*")
_ZERO = 1e-9  # relative size below which an effect is numerical noise


@dataclass(frozen=True)
class Perturbation:
    variable: str
    kind: str  # parameter | input
    change: float
    relative: bool
    start: float | None  # None: the whole run

    def describe(self) -> str:
        size = f"{self.change:+.0%}" if self.relative else f"{self.change:+g}"
        when = f" from {self.start:g}" if self.start is not None else ""
        return f"{self.variable} {size}{when}"


@dataclass(frozen=True)
class Loop:
    id: str
    name: str
    polarity: str
    chain: tuple[str, ...]
    cut: str
    outputs: tuple[str, ...]
    perturbation: Perturbation
    dormant: str | None


@dataclass(frozen=True)
class Spec:
    path: Path
    model: Path
    scenario: str | None
    years: tuple[float, ...]
    loops: tuple[Loop, ...]


def load_spec(path: Path | str | None = None, years=None, project: Project | None = None) -> Spec:
    """Read and check a loops spec (default: the project's, manifest key ``loops``) against
    its model (its ``model`` key, else the project's); any problem raises InputError."""
    if path is None:
        project = find() if project is None else project
        if project.loops is None:
            raise InputError(project.manifest, "loops", "the project names no loops spec",
                             'write loops = "models/loops.toml", or give --spec FILE')
        path = project.loops
    path = Path(path)
    data = tomlfile.read(path, "loops spec not found", "give a loops spec such as "
                         "models/loops.toml")
    validate.keys(path, "", data, ("model", "scenario", "years", "loop"),
                  "use only model, scenario, years and [[loop]]")
    if "scenario" in data:
        validate.name(path, "scenario", data["scenario"])
    if "model" in data:
        mdl = (path.parent / validate.path_text(path, "model", data["model"], "write model = "
                                                '"FILE.mdl" (relative to the spec)')).resolve()
    else:
        mdl = (find() if project is None else project).model
    model = parse(mdl)
    years = _years(path, data.get("years", DEFAULT_YEARS) if years is None else years, model)
    tables = validate.sequence(path, "loop", data.get("loop"), "add [[loop]] tables")
    loops = tuple(_loop(path, k, t, model) for k, t in enumerate(tables))
    ids = [lp.id for lp in loops]
    if len(set(ids)) != len(ids):
        twice = min(i for i in ids if ids.count(i) > 1)
        raise InputError(path, f"loop.{twice}", "id used twice", "give each loop its own id")
    return Spec(path, mdl, data.get("scenario"), years, loops)


def _years(path, years, model: ParsedModel) -> tuple[float, ...]:
    if isinstance(years, (int, float)) and not isinstance(years, bool):
        years = [years]
    years = [validate.number(path, "years", y) for y in validate.sequence(
        path, "years", list(years) if isinstance(years, tuple) else years,
        "write years = [2010, 2015]")]
    start, end, step = (model.elements[k].equations[0]
                        for k in ("INITIAL TIME", "FINAL TIME", "TIME STEP"))
    if not all(isinstance(v, numbers.Real) for v in (start, end, step)):
        raise InputError(model.path, "INITIAL TIME, FINAL TIME, TIME STEP", "not all numbers",
                         "write the time control as numbers")
    for y in years:
        if not start < y <= end:
            raise InputError(path, "years", f"{y} is outside the run ({start}, {end}]",
                             "give years inside the model's run")
        if not math.isclose((y - start) / step, round((y - start) / step), abs_tol=1e-6):
            raise InputError(path, "years", f"{y} is not a time step of the run",
                             f"give years {start} + k * {step}")
    return tuple(float(y) for y in years)


def _text(path, key, value) -> str:
    return validate.string(path, key, value, allow_empty=False).strip()


def _variable(path, key, name, model: ParsedModel) -> str:
    element = model.find(name)
    if element is None:
        raise InputError(path, key, f"'{name}' is not a variable of {model.path.name}",
                         "use the variable's name as the model file spells it")
    return element.name


def _loop(path, k: int, table, model: ParsedModel) -> Loop:
    validate.table(path, f"loop[{k}]", table, "write [[loop]] tables")
    loop_id = _text(path, f"loop[{k}].id", table.get("id"))
    where = f"loop.{loop_id}"
    validate.keys(path, where, table, LOOP_KEYS)
    polarity = validate.choice(path, f"{where}.polarity", table.get("polarity"),
                               tuple(POLARITIES),
                               'write "+" (reinforcing) or "-" (balancing)')
    chain = tuple(_variable(path, f"{where}.chain", n, model)
                  for n in _ARROW.split(_text(path, f"{where}.chain", table.get("chain"))))
    if len(chain) < 2 or chain[0] != chain[-1]:
        raise InputError(path, f"{where}.chain", "the chain does not close",
                         "write 'a -> b -> ... -> a' (end on the first variable)")
    for a, b in itertools.pairwise(chain):
        if a not in model.uses(b):
            raise InputError(path, f"{where}.chain", f"'{b}' does not use '{a}' in the model",
                             "name every variable of the loop in order, or drop the loop "
                             "if the model does not have it")
    cut = _variable(path, f"{where}.cut", _text(path, f"{where}.cut", table.get("cut")), model)
    if cut not in chain:
        raise InputError(path, f"{where}.cut", f"'{cut}' is not on the chain",
                         "cut the loop at one of its variables")
    if model.elements[cut].kind in ("stock", "constant"):
        raise InputError(path, f"{where}.cut", f"'{cut}' is a {model.elements[cut].kind}",
                         "cut at an auxiliary or a flow of the loop")
    outputs = validate.names(path, f"{where}.outputs", table.get("outputs"),
                             'write outputs = ["a variable"]')
    outputs = tuple(_variable(path, f"{where}.outputs", o, model) for o in outputs)
    dormant = table.get("dormant")
    if dormant is not None:
        dormant = _text(path, f"{where}.dormant", dormant)
    return Loop(loop_id, _text(path, f"{where}.name", table.get("name", loop_id)), polarity,
                chain, cut, outputs, _perturbation(path, where, table.get("perturbation"),
                                                   model), dormant)


def _perturbation(path, where, table, model: ParsedModel) -> Perturbation:
    where = f"{where}.perturbation"
    validate.table(path, where, table,
                   "write [loop.perturbation] with parameter and relative or absolute")
    validate.keys(path, where, table, PERTURBATION_KEYS)
    kinds = [k for k in ("parameter", "input") if k in table]
    sizes = [k for k in ("relative", "absolute") if k in table]
    if len(kinds) != 1 or len(sizes) != 1:
        raise InputError(path, where, "needs one of parameter/input and one of "
                         "relative/absolute", 'e.g. parameter = "x" and relative = 0.1')
    kind, size = kinds[0], sizes[0]
    name = _variable(path, f"{where}.{kind}", _text(path, f"{where}.{kind}", table[kind]), model)
    is_constant = model.elements[name].kind == "constant"
    if kind == "parameter" and not is_constant:
        raise InputError(path, f"{where}.parameter", f"'{name}' is not a constant",
                         "perturb a constant, or write input = ... for an exogenous variable")
    if kind == "input" and (is_constant or not _exogenous(name, model)):
        raise InputError(path, f"{where}.input", f"'{name}' is not an exogenous variable",
                         "give a variable that depends on no stock (or use parameter = ...)")
    change = validate.number(path, f"{where}.{size}", table[size])
    if change == 0:
        raise InputError(path, f"{where}.{size}", "0 changes nothing", "write a non-zero number")
    start = table.get("from")
    if start is not None:
        start = validate.number(path, f"{where}.from", start)
    return Perturbation(name, kind, change, size == "relative", start)


def _exogenous(name: str, model: ParsedModel) -> bool:
    """Whether nothing ``name`` depends on, directly or not, is a stock."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if model.elements[current].kind == "stock":
            return False
        todo += model.uses(current)
    return True


@dataclass
class LoopResult:
    """The knockout ratios of one loop: ``ratios[output][year]``.

    A ratio is None where it is not a number (``cells`` says why): the perturbation
    moves the output only with the loop intact ("cut blocks": the cut lies on the
    perturbation's way to the output, so the ratio measures nothing), it does not
    move the output ("no effect"), or a run left the model's domain ("NaN or inf").
    """

    loop: Loop
    ratios: dict[str, dict[float, float | None]]
    cells: dict[str, dict[float, str]]  # ratio | cut blocks | no effect | NaN or inf

    def _kinds(self) -> list[str]:
        return [kind for by_year in self.cells.values() for kind in by_year.values()]

    @property
    def notes(self) -> list[str]:
        return [f"{output} {year:g}: {kind}" for output, by_year in self.cells.items()
                for year, kind in by_year.items() if kind != "ratio"]

    @property
    def measured_dormant(self) -> bool:
        ratios = [r for by_year in self.ratios.values() for r in by_year.values()
                  if r is not None]
        return "cut blocks" not in self._kinds() and bool(ratios) and all(
            abs(r - 1) <= DORMANT_TOLERANCE for r in ratios)

    @property
    def status(self) -> str:
        kinds = self._kinds()
        if "NaN or inf" in kinds:
            return "outside the model's domain (NaN or inf)"
        if all(kind == "no effect" for kind in kinds):
            return "no effect: the perturbation does not move the outputs"
        if "cut blocks" in kinds:
            return "the cut blocks the perturbation: cut the loop off its way to the outputs"
        if self.measured_dormant:
            return "dormant" if self.loop.dormant else "DORMANT but not documented dormant"
        return "ACTIVE but documented dormant" if self.loop.dormant else "active"

    @property
    def problem(self) -> bool:
        return self.status not in ("active", "dormant")


@dataclass
class Measurement:
    spec: Spec
    results: list[LoopResult]
    provenance: dict

    @property
    def problems(self) -> list[LoopResult]:
        return [r for r in self.results if r.problem]

    def _rows(self):
        for res in self.results:
            for k, output in enumerate(res.loop.outputs):
                first = k == 0
                yield res, output, first

    def text(self) -> str:
        years = self.spec.years
        head = f"{'loop':28s} {'pol':3s} {'output':28s} " + " ".join(
            f"{y:>7g}" for y in years) + "  status"
        lines = [head, "-" * len(head)]
        for res, output, first in self._rows():
            cells = " ".join(f"{_cell(res, output, y):>7s}" for y in years)
            lines.append(f"{res.loop.name[:28] if first else '':28s} "
                         f"{res.loop.polarity if first else '':3s} {output[:28]:28s} {cells}  "
                         + (res.status + (f" ({res.loop.dormant})" if res.loop.dormant
                                          else "") if first else ""))
            if first:
                lines += [f"{'':33s}{note}" for note in res.notes]
        lines.append(f"ratio: effect of the perturbation with the loop / with the loop cut; "
                     f"dormant within {DORMANT_TOLERANCE:.0%} of 1")
        bad = self.problems
        lines.append(f"{len(bad)} loop(s) need attention: {', '.join(r.loop.id for r in bad)}"
                     if bad else f"all {len(self.results)} loops as documented")
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        years = self.spec.years
        lines = ["| loop | polarity | cut | perturbation | output | "
                 + " | ".join(f"ratio {y:g}" for y in years) + " | status |",
                 "|---|---|---|---|---|" + "---|" * len(years) + "---|"]
        for res, output, first in self._rows():
            loop = res.loop
            status = f"dormant: {loop.dormant}" if res.status == "dormant" else res.status
            lines.append("| " + " | ".join([
                loop.name if first else "", loop.polarity if first else "",
                loop.cut if first else "", loop.perturbation.describe() if first else "",
                output, *(_cell(res, output, y) for y in years),
                status.replace("|", "/") if first else ""]) + " |")
        return "\n".join(line.rstrip() for line in lines)

    def as_dict(self) -> dict:
        return {"spec": str(self.spec.path), "model": str(self.spec.model),
                "years": list(self.spec.years), "dormant_tolerance": DORMANT_TOLERANCE,
                "provenance": self.provenance,
                "loops": [{"id": r.loop.id, "name": r.loop.name,
                           "polarity": POLARITIES[r.loop.polarity],
                           "chain": list(r.loop.chain), "cut": r.loop.cut,
                           "perturbation": r.loop.perturbation.describe(),
                           "documented_dormant": r.loop.dormant,
                           "ratios": {o: {f"{y:g}": v for y, v in by.items()}
                                      for o, by in r.ratios.items()},
                           "notes": r.notes, "status": r.status, "problem": r.problem}
                          for r in self.results]}


def _cell(result: LoopResult, output: str, year: float) -> str:
    """A ratio as printed: three decimals, or what stands in for it."""
    kind = result.cells[output][year]
    if kind == "ratio":
        return f"{result.ratios[output][year]:.3f}"
    return {"cut blocks": "inf", "no effect": "-", "NaN or inf": "NaN"}[kind]


def measure(spec: Spec, params: dict[str, float] | None = None,
            provenance: dict | None = None) -> Measurement:
    """Knockout ratios of every loop of ``spec``, from the run with ``params``."""
    runner = _Runner(spec.model, dict(params or {}))
    needed = {v for lp in spec.loops for v in (*lp.outputs, lp.cut)} | {
        lp.perturbation.variable for lp in spec.loops if lp.perturbation.kind == "input"}
    base = runner.run({}, sorted(needed))
    results = []
    for loop in spec.loops:
        columns = list(loop.outputs)
        cut = {loop.cut: pd.Series(base[loop.cut].to_numpy(), index=base.index)}
        change = _perturbed(loop.perturbation, base, runner)
        intact = runner.run(change, columns)
        cut_base = runner.run(cut, columns)
        cut_changed = runner.run({**change, **cut}, columns)
        results.append(_ratios(loop, spec.years, base, intact, cut_base, cut_changed))
    return Measurement(spec, results, provenance or {})


def measure_scenario(scenario_name: str | Path | None = None, spec_path: Path | str | None = None,
                     years=None, project: Project | None = None) -> Measurement:
    """Knockout ratios from a scenario's central run (what ``plansim loops`` prints).

    The scenario (default: the spec's ``scenario``; without one, the model's own
    values) is one of the project's, so the spec's model must be the project's.
    """
    from ..inputs import scenario
    from ..running import results
    from ..running.provenance import file_hash

    project = find() if project is None else project
    spec = load_spec(spec_path, years, project)
    name = scenario_name if scenario_name is not None else spec.scenario
    if name is not None and spec.model != project.model:
        raise InputError(spec.path, "model", f"{spec.model.name} is not the project's model "
                         f"({project.model.name}), which scenario '{name}' is for",
                         "measure a scenario with the project's model, or drop the scenario")
    scen = None if name is None else scenario.load(name, project)
    provenance = {**results.provenance(scen, project=project, mdl_path=spec.model),
                  "loops_spec": spec.path.name, "loops_spec_hash": file_hash(spec.path)}
    return measure(spec, scen.central_parameters() if scen else {}, provenance)


def _perturbed(p: Perturbation, base: pd.DataFrame, runner: _Runner) -> dict:
    """The parameter values (or time path) of the perturbed run."""
    if p.kind == "parameter":
        value = runner.value(p.variable)
        new = value * (1 + p.change) if p.relative else value + p.change
        if p.start is None:
            return {p.variable: new}
        path = np.where(base.index.to_numpy() >= p.start - 1e-9, new, value)
    else:
        old = base[p.variable].to_numpy()
        changed = old * (1 + p.change) if p.relative else old + p.change
        after = base.index.to_numpy() >= (p.start if p.start is not None else -np.inf) - 1e-9
        path = np.where(after, changed, old)
    return {p.variable: pd.Series(path, index=base.index)}


def _ratios(loop: Loop, years, base, intact, cut_base, cut_changed) -> LoopResult:
    ratios, cells = {}, {}
    for output in loop.outputs:
        ratios[output], cells[output] = {}, {}
        for y in years:
            at = _row(base, y)
            tiny = _ZERO * abs(base[output].iloc[at])
            with_loop = intact[output].iloc[at] - base[output].iloc[at]
            without = cut_changed[output].iloc[at] - cut_base[output].iloc[at]
            ratio = None
            if not (math.isfinite(with_loop) and math.isfinite(without)):
                kind = "NaN or inf"
            elif abs(without) <= tiny:
                kind = "cut blocks" if abs(with_loop) > tiny else "no effect"
            else:
                kind, ratio = "ratio", float(with_loop / without)
            ratios[output][y], cells[output][y] = ratio, kind
    return LoopResult(loop, ratios, cells)


def _row(frame: pd.DataFrame, year: float) -> int:
    times = frame.index.to_numpy(dtype=float)
    at = int(np.argmin(np.abs(times - year)))
    if not math.isclose(times[at], year, abs_tol=1e-6):  # load_spec checked the years
        raise ValueError(f"{year} is not a time step of the run")
    return at


class _Runner:
    """Plain PySD runs of one model, each from a fresh state, saved at every time step."""

    def __init__(self, mdl_path: Path, params: dict[str, float]):
        import pysd

        from ..engine import translate_reference

        self.model = pysd.load(str(translate_reference(mdl_path)))
        self.params = params

    def value(self, name: str) -> float:
        if name in self.params:
            return float(self.params[name])
        self.model.reload()
        return float(getattr(self.model.components, self.model.namespace[name])())

    def run(self, changes: dict, columns: list[str]) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step = self.model.time.time_step()
            return self.model.run(params={**self.params, **changes}, return_columns=columns,
                                  saveper=step, reload=True)
