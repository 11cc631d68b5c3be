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
    cut = ["labour force", "job seekers"]  # one variable of the chain, or several
    outputs = ["population"]     # variables whose response is compared
    dormant = "why"              # optional: the loop is documented as dormant
    mixed = "why"                # optional: its measured polarity is not its label's
    [loop.perturbation]
    parameter = "talent attraction rate"   # a constant; or input = "<exogenous variable>"
    absolute = 0.005                       # or relative = 0.1 (a fraction of the value)
    from = 2006                            # optional: a step from this year (default: all run)

The chain names model variables, each using the one before it, and closes on its
first name; a cut is a variable of the chain that is neither a stock nor a
constant. The activity of a loop is measured by knockout: the effect of the
perturbation on each output with the loop intact, divided by its effect with the
loop cut, the cut variable replaced by its time path in the unperturbed run
(plain PySD, ``params={cut: pandas.Series}``), each run starting from the
scenario's central parameters. A ratio above 1 means the loop amplifies the
perturbation (reinforcing), below 1 that it damps it (balancing); within
:data:`DORMANT_TOLERANCE` of 1 it is neither.

Cuts are checked on PySD's dependency graph of the model before any run
(:mod:`.loopgraph`); a spec is refused (one line, exit 2) when the perturbation
enters a cut directly (within one time step, not by way of the loop's stocks:
freezing the cut would freeze that way too) or when a cut lies on every way from
the perturbation to an output. A loop is measured by at least two cuts when the
chain has them: when the spec names one, ``plansim loops`` adds a clean cut,
preferring one the perturbation reaches only through the outputs (on the loop's
way back, not on the perturbation's way to the outputs), then one the fewest other
documented loops pass through, then the farthest along the chain. Freezing a cut cuts every loop through it, so the report names the
documented loops each cut also cuts, and says where two cuts of a loop disagree
by more than :data:`DISAGREEMENT` (relative to the smaller ratio).

The measured polarity of a loop is reinforcing when every ratio of every cut,
output and year that lies outside the tolerance is above 1, balancing when every
such ratio is below 1, mixed when there are both or a ratio is negative (the
perturbation reaches the output by ways of opposite sign: that cut shows no
polarity), dormant when there is none. A loop is a *problem* (exit status 1) when its measured polarity contradicts its
label or is mixed and the spec does not say ``mixed = "reason"`` (nor says so
when it measures as labelled), when it is measured dormant but not documented
dormant or the other way round, when the perturbation moves none of its outputs,
when the perturbation moves an output only with the loop intact (a cut blocks
it: no ratio), or when a run leaves the model's domain (NaN or inf). ``--json``
prints the measurement, ``--markdown`` the table ``models/README.md`` holds. API:
:func:`load_spec` (checked: every name, link, cut and number) and :func:`measure`.
"""

from __future__ import annotations

import dataclasses
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
from .loopgraph import DependencyGraph
from .loopresult import (
    DISAGREEMENT,
    DORMANT_TOLERANCE,
    POLARITIES,
    CutResult,
    LoopResult,
    Measurement,
)
from .parsed import ParsedModel, parse

__all__ = ["DISAGREEMENT", "DORMANT_TOLERANCE", "POLARITIES", "CutResult", "Loop", "LoopResult",
           "Measurement", "Perturbation", "Spec", "load_spec", "measure", "measure_scenario"]

DEFAULT_YEARS = (2010, 2015)
LOOP_KEYS = {"id", "name", "polarity", "chain", "cut", "outputs", "perturbation", "dormant",
             "mixed"}
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
    cut: str  # the first cut the spec names
    outputs: tuple[str, ...]
    perturbation: Perturbation
    dormant: str | None
    mixed: str | None = None
    cuts: tuple[str, ...] = ()  # every cut measured: the spec's, then any plansim chose
    chosen: tuple[str, ...] = ()  # the cuts plansim chose (the spec named fewer than two)

    def __post_init__(self):
        if not self.cuts:
            object.__setattr__(self, "cuts", (self.cut,))


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
    graph = DependencyGraph.of_model(mdl)
    loops = tuple(_checked_cuts(path, lp, loops, graph, model) for lp in loops)
    return Spec(path, mdl, data.get("scenario"), years, loops)


def _checked_cuts(path, loop: Loop, loops, graph: DependencyGraph, model: ParsedModel) -> Loop:
    """The loop with its cuts checked on PySD's dependency graph, and a second cut added
    when the spec names one and the chain has another clean one."""
    clean = [c for c in _cut_candidates(loop, model) if _cut_fault(loop, c, graph) is None]
    others = [c for c in clean if c not in loop.cuts]
    for cut in loop.cuts:
        fault = _cut_fault(loop, cut, graph)
        if fault is not None:
            raise InputError(path, f"loop.{loop.id}.cut", fault, (
                f"cut at {' or '.join(repr(c) for c in others[:3])}") if others else (
                "perturb a constant that reaches the loop through one of its stocks"))
    if len(loop.cuts) >= 2 or not others:
        return loop
    n = len(loop.chain) - 1
    first = loop.chain.index(loop.cut)

    def preference(cut):
        # first a cut the perturbation reaches only through the outputs (on the loop's way
        # back, not on the perturbation's way to them), then one that mixes the fewest
        # documented loops, then the farthest along the chain from the first cut
        ahead = graph.reaches(loop.perturbation.variable, cut, removed=set(loop.outputs))
        shared = sum(cut in other.chain for other in loops if other.id != loop.id)
        apart = abs(loop.chain.index(cut) - first)
        return ahead, shared, -min(apart, n - apart), loop.chain.index(cut)

    second = min(others, key=preference)
    return dataclasses.replace(loop, cuts=(*loop.cuts, second), chosen=(second,))


def _cut_candidates(loop: Loop, model: ParsedModel) -> list[str]:
    """Variables of the chain a cut may freeze (no stock, no constant), in chain order."""
    return [v for v in dict.fromkeys(loop.chain)
            if model.elements[v].kind not in ("stock", "constant")]


def _cut_fault(loop: Loop, cut: str, graph: DependencyGraph) -> str | None:
    """Why ``cut`` cannot measure the loop (None: it can)."""
    source = loop.perturbation.variable
    direct = graph.direct_path(source, cut)
    if direct is not None:
        way = " -> ".join(direct if len(direct) <= 3 else [direct[0], "...", direct[-1]])
        return (f"the perturbation enters '{cut}' directly ({way}), so freezing it "
                "measures that way, not the loop")
    for output in loop.outputs:  # (an output the perturbation never reaches: "no effect")
        if graph.reaches(source, output) and not graph.reaches(source, output, removed={cut}):
            return f"'{cut}' lies on every way from the perturbation to '{output}'"
    return None


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
    cuts = table.get("cut")
    if isinstance(cuts, list):
        cuts = validate.names(path, f"{where}.cut", cuts, 'write cut = ["a", "b"] (variables '
                              'of the chain)')
    cuts = [cuts] if not isinstance(cuts, list) else cuts
    cuts = tuple(dict.fromkeys(_variable(path, f"{where}.cut", _text(path, f"{where}.cut", c),
                                         model) for c in cuts))
    for cut in cuts:
        if cut not in chain:
            raise InputError(path, f"{where}.cut", f"'{cut}' is not on the chain",
                             "cut the loop at one of its variables")
        if model.elements[cut].kind in ("stock", "constant"):
            raise InputError(path, f"{where}.cut", f"'{cut}' is a {model.elements[cut].kind}",
                             "cut at an auxiliary or a flow of the loop")
    outputs = validate.names(path, f"{where}.outputs", table.get("outputs"),
                             'write outputs = ["a variable"]')
    outputs = tuple(_variable(path, f"{where}.outputs", o, model) for o in outputs)
    dormant, mixed = (table.get(k) for k in ("dormant", "mixed"))
    if dormant is not None and mixed is not None:
        raise InputError(path, f"{where}.mixed", "a loop documented both dormant and mixed",
                         "keep the one the measurement shows")
    dormant, mixed = (None if v is None else _text(path, f"{where}.{k}", v)
                      for k, v in (("dormant", dormant), ("mixed", mixed)))
    return Loop(loop_id, _text(path, f"{where}.name", table.get("name", loop_id)), polarity,
                chain, cuts[0], outputs, _perturbation(path, where, table.get("perturbation"),
                                                       model), dormant, mixed, cuts)


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


def measure(spec: Spec, params: dict[str, float] | None = None,
            provenance: dict | None = None) -> Measurement:
    """Knockout ratios of every loop of ``spec`` by each of its cuts, from the run with
    ``params``."""
    runner = _Runner(spec.model, dict(params or {}))
    needed = {v for lp in spec.loops for v in (*lp.outputs, *lp.cuts)} | {
        lp.perturbation.variable for lp in spec.loops if lp.perturbation.kind == "input"}
    base = runner.run({}, sorted(needed))
    results = []
    for loop in spec.loops:
        columns = list(loop.outputs)
        change = _perturbed(loop.perturbation, base, runner)
        intact = runner.run(change, columns)
        by_cut = []
        for cut in loop.cuts:
            frozen = {cut: pd.Series(base[cut].to_numpy(), index=base.index)}
            cut_base = runner.run(frozen, columns)
            cut_changed = runner.run({**change, **frozen}, columns)
            ratios, cells = _ratios(loop, spec.years, base, intact, cut_base, cut_changed)
            also = tuple(other.name for other in spec.loops
                         if other.id != loop.id and cut in other.chain)
            by_cut.append(CutResult(cut, cut in loop.chosen, also, ratios, cells))
        results.append(LoopResult(loop, by_cut))
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


def _ratios(loop: Loop, years, base, intact, cut_base, cut_changed):
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
    return ratios, cells


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
