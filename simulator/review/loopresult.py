"""What ``plansim loops`` measured, its verdict on each loop, and the three ways it prints.

:mod:`.loops` reads the spec and runs the knockouts; this module holds the ratios of
each loop by each of its cuts (:class:`CutResult`, :class:`LoopResult`), decides the
measured polarity and whether the spec is true to it, and prints the table
(``text``), the table of ``models/README.md`` (``markdown``) and JSON (``as_dict``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

DORMANT_TOLERANCE = 0.02
"""A ratio within 2% of 1 is neither reinforcing nor balancing; a loop whose every
ratio is so is dormant."""
DISAGREEMENT = 0.10
"""Two cuts of a loop disagree when their ratios differ by more than 10% of the smaller."""
POLARITIES = {"+": "reinforcing", "-": "balancing"}
MEASURED = {**POLARITIES, "mixed": "mixed", "dormant": "dormant", "": "-"}
_SHOWN = {"cut blocks": "inf", "no effect": "-", "NaN or inf": "NaN"}


def _sign(ratio: float) -> str:
    """"+" amplifies, "-" damps, "0" neither, "x" reverses the perturbation's effect (the
    perturbation reaches the output by ways of opposite sign: no polarity can be read)."""
    if ratio < 0:
        return "x"
    if ratio > 1 + DORMANT_TOLERANCE:
        return "+"
    return "-" if ratio < 1 - DORMANT_TOLERANCE else "0"


FIXES = {  # what to change when a loop is a problem, by the start of its status
    "outside": "perturb less, or bound the model where the run leaves its domain",
    "no effect": "perturb a constant that moves the outputs",
    "the cut blocks": "cut the loop off the perturbation's way to the outputs",
    "DORMANT": 'write dormant = "the measured reason", or perturb the loop harder',
    "ACTIVE": "drop the dormant key: the loop is active",
    "AS LABELLED": "drop the mixed key: the loop measures as labelled",
    "MIXED": "read the output where the perturbation enters the loop and cut on the "
             "loop's way back, where few other loops pass; or correct the label; or "
             'write mixed = "the measured reason"',
}
FIXES["CONTRADICTS"] = FIXES["MIXED"]


@dataclass
class CutResult:
    """The knockout ratios of one loop by one cut: ``ratios[output][year]``.

    A ratio is None where it is not a number (``cells`` says why): the perturbation
    moves the output only with the loop intact ("cut blocks": the ratio measures
    nothing), it does not move the output ("no effect"), or a run left the model's
    domain ("NaN or inf").
    """

    cut: str
    chosen: bool  # chosen by plansim (the spec named fewer than two cuts)
    also_cuts: tuple[str, ...]  # the other documented loops through this cut (by name)
    ratios: dict[str, dict[float, float | None]]
    cells: dict[str, dict[float, str]]  # ratio | cut blocks | no effect | NaN or inf

    @property
    def label(self) -> str:
        return self.cut + (" (chosen by plansim)" if self.chosen else "")

    def cell(self, output: str, year: float) -> str:
        """A ratio as printed: three decimals, or what stands in for it."""
        kind = self.cells[output][year]
        return f"{self.ratios[output][year]:.3f}" if kind == "ratio" else _SHOWN[kind]


@dataclass
class LoopResult:
    """The knockout ratios of one loop by each of its cuts, and the verdict on them."""

    loop: object  # loops.Loop
    by_cut: list[CutResult]

    @property
    def ratios(self) -> dict[str, dict[float, float | None]]:
        """The ratios by the first cut (the one the spec names first)."""
        return self.by_cut[0].ratios

    @property
    def cells(self) -> dict[str, dict[float, str]]:
        return self.by_cut[0].cells

    def _kinds(self) -> list[str]:
        return [kind for c in self.by_cut for by_year in c.cells.values()
                for kind in by_year.values()]

    def _values(self) -> list[float]:
        return [r for c in self.by_cut for by_year in c.ratios.values()
                for r in by_year.values() if r is not None]

    @property
    def notes(self) -> list[str]:
        return [f"{output} {year:g}: {kind} (cut {c.cut})" for c in self.by_cut
                for output, by_year in c.cells.items()
                for year, kind in by_year.items() if kind != "ratio"]

    @property
    def measured(self) -> str:
        """The measured polarity: "+", "-", "mixed", "dormant", or "" (no ratio)."""
        signs = {_sign(r) for r in self._values()}
        active = signs - {"0"}
        if not signs:
            return ""
        if not active:
            return "dormant"
        return "mixed" if len(active) > 1 or "x" in active else active.pop()

    @property
    def measured_dormant(self) -> bool:
        return "cut blocks" not in self._kinds() and self.measured == "dormant"

    @property
    def disagreements(self) -> list[tuple[str, float, str, float, str, float]]:
        """(output, year, cut, ratio, other cut, its ratio) where two cuts disagree by
        more than :data:`DISAGREEMENT`."""
        out = []
        for output, by_year in self.by_cut[0].ratios.items():
            for year in by_year:
                values = [(c.cut, c.ratios[output][year]) for c in self.by_cut
                          if c.ratios[output][year] is not None]
                out += [(output, year, a, ra, b, rb)
                        for (a, ra), (b, rb) in itertools.combinations(values, 2)
                        if abs(ra - rb) > DISAGREEMENT * min(abs(ra), abs(rb))]
        return out

    def _verdict(self) -> tuple[str, bool]:
        """(status, whether the spec is true to the measurement)."""
        kinds, loop, measured = self._kinds(), self.loop, self.measured
        if "NaN or inf" in kinds:
            return "outside the model's domain (NaN or inf)", False
        if all(kind == "no effect" for kind in kinds):
            return "no effect: the perturbation does not move the outputs", False
        if "cut blocks" in kinds:
            return "the cut blocks the perturbation: no ratio", False
        if measured == "dormant":
            return ("dormant", True) if loop.dormant else (
                "DORMANT but not documented dormant", False)
        if loop.dormant:
            return "ACTIVE but documented dormant", False
        if measured == loop.polarity:
            return ("AS LABELLED but documented mixed: drop mixed", False) if loop.mixed \
                else ("as labelled", True)
        if loop.mixed:
            return ("mixed" if measured == "mixed"
                    else f"{MEASURED[measured]}, documented mixed"), True
        if measured == "mixed":
            return "MIXED but not documented mixed", False
        return f"CONTRADICTS its label: measures {MEASURED[measured]}", False

    @property
    def status(self) -> str:
        return self._verdict()[0]

    @property
    def problem(self) -> bool:
        return not self._verdict()[1]

    @property
    def fix(self) -> str | None:
        """What to change in the spec (or the model) when the loop is a problem."""
        status, ok = self._verdict()
        return None if ok else next(fix for start, fix in FIXES.items()
                                    if status.startswith(start))

    @property
    def reason(self) -> str | None:
        """The spec's reason for a dormant or mixed loop."""
        return self.loop.dormant or self.loop.mixed

    def remarks(self) -> list[str]:
        """What a reader should know beside the ratios: reason, shared cuts, disagreement."""
        lines = [f"{'dormant' if self.loop.dormant else 'mixed'}: {self.reason}"] \
            if self.reason else []
        if len(self.by_cut) == 1:
            lines.append("one cut only: no other variable of the chain is a clean cut for "
                         "this perturbation")
        lines += [f"cut '{c.cut}' also cuts: {', '.join(c.also_cuts)}"
                  for c in self.by_cut if c.also_cuts]
        lines += [f"cut '{c.cut}' reverses the effect (a ratio below 0): the perturbation "
                  "reaches the output by ways of opposite sign, so this cut shows no polarity"
                  for c in self.by_cut if any(r < 0 for by in c.ratios.values()
                                              for r in by.values() if r is not None)]
        lines += [f"cuts disagree by more than {DISAGREEMENT:.0%}: {output} {year:g}: "
                  f"{ra:.3f} ({a}) vs {rb:.3f} ({b})"
                  for output, year, a, ra, b, rb in self.disagreements]
        return lines + self.notes + ([f"fix: {self.fix}"] if self.problem else [])


@dataclass
class Measurement:
    spec: object  # loops.Spec
    results: list[LoopResult]
    provenance: dict

    @property
    def problems(self) -> list[LoopResult]:
        return [r for r in self.results if r.problem]

    def _rows(self):
        for res in self.results:
            for k, (cut, output) in enumerate(itertools.product(res.by_cut, res.loop.outputs)):
                yield res, cut, output, k == 0

    def text(self) -> str:
        years = self.spec.years
        head = (f"{'loop':26s} {'pol':3s} {'cut':40s} {'output':24s} "
                + " ".join(f"{y:>7g}" for y in years) + f"  {'measured':11s} status")
        lines = [head, "-" * len(head)]
        for res, cut, output, first in self._rows():
            loop = res.loop
            cells = " ".join(f"{cut.cell(output, y):>7s}" for y in years)
            lines.append(f"{loop.name[:26] if first else '':26s} "
                         f"{loop.polarity if first else '':3s} "
                         f"{cut.label[:40] if output == loop.outputs[0] else '':40s} "
                         f"{output[:24]:24s} {cells}  "
                         + (f"{MEASURED[res.measured]:11s} {res.status}" if first else ""))
            if (cut, output) == (res.by_cut[-1], res.loop.outputs[-1]):
                lines += [f"{'':4s}{remark}" for remark in res.remarks()]
        lines.append(f"ratio: effect of the perturbation with the loop / with the cut frozen; "
                     f"reinforcing above {1 + DORMANT_TOLERANCE:g}, balancing below "
                     f"{1 - DORMANT_TOLERANCE:g}, dormant between")
        split = [r.loop.id for r in self.results if r.disagreements]
        if split:
            lines.append(f"cuts disagree by more than {DISAGREEMENT:.0%} for "
                         f"{len(split)} loop(s): {', '.join(split)}")
        bad = self.problems
        lines.append(f"{len(bad)} loop(s) need attention: {', '.join(r.loop.id for r in bad)}"
                     if bad else f"all {len(self.results)} loops as documented")
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        years = self.spec.years
        lines = ["| loop | polarity | perturbation | cut | also cuts | output | "
                 + " | ".join(f"ratio {y:g}" for y in years) + " | measured | status |",
                 "|---|---|---|---|---|---|" + "---|" * len(years) + "---|---|"]
        for res, cut, output, first in self._rows():
            loop = res.loop
            status = res.status
            if res.reason:
                status += f": {res.reason}"
            split = sorted({f"{o} {y:g}" for o, y, *_ in res.disagreements})
            if split:
                status += f"; cuts disagree by more than {DISAGREEMENT:.0%} ({', '.join(split)})"
            if len(res.by_cut) == 1:
                status += "; one clean cut only"
            new_cut = output == loop.outputs[0]
            lines.append("| " + " | ".join([
                loop.name if first else "", loop.polarity if first else "",
                loop.perturbation.describe() if first else "",
                cut.label if new_cut else "",
                ", ".join(cut.also_cuts) if new_cut else "",
                output, *(cut.cell(output, y) for y in years),
                MEASURED[res.measured] if first else "",
                status.replace("|", "/") if first else ""]) + " |")
        return "\n".join(line.rstrip() for line in lines)

    def as_dict(self) -> dict:
        def ratios(by_output):
            return {o: {f"{y:g}": v for y, v in by.items()} for o, by in by_output.items()}

        return {"spec": str(self.spec.path), "model": str(self.spec.model),
                "years": list(self.spec.years), "dormant_tolerance": DORMANT_TOLERANCE,
                "disagreement": DISAGREEMENT, "provenance": self.provenance,
                "loops": [{"id": r.loop.id, "name": r.loop.name,
                           "polarity": POLARITIES[r.loop.polarity],
                           "measured_polarity": MEASURED[r.measured],
                           "chain": list(r.loop.chain), "cut": r.loop.cut,
                           "perturbation": r.loop.perturbation.describe(),
                           "documented_dormant": r.loop.dormant,
                           "documented_mixed": r.loop.mixed,
                           "ratios": ratios(r.ratios),
                           "cuts": [{"cut": c.cut, "chosen_by": "plansim" if c.chosen
                                     else "spec", "also_cuts": list(c.also_cuts),
                                     "ratios": ratios(c.ratios)} for c in r.by_cut],
                           "cuts_disagree": [{"output": o, "year": y, "ratios": {a: ra, b: rb}}
                                             for o, y, a, ra, b, rb in r.disagreements],
                           "notes": r.notes, "status": r.status, "problem": r.problem,
                           "fix": r.fix}
                          for r in self.results]}
