"""Plan audit: the contradictions inside a plan's own figures, before any simulation.

Deterministic arithmetic over ``scenarios/goals.toml``, ``models/data/history.csv`` and
``models/data/accounts.toml``; no model run. One module per kind of check:

- :mod:`.rates`       goals on the same indicator and year: impossible together, or one
                      redundant given the other, read as the rate each needs;
- :mod:`.pace`        the rate a goal needs against its indicator's 2000-2005 pace;
- :mod:`.prices`      the inflation a current-price goal assumes beside a real-growth goal;
- :mod:`.identities`  sums, shares, per-capita products and stated rates in the history;
- :mod:`.joint`       goals on different indicators that an identity ties together.

``audit(goals_file, history_file)`` returns a :class:`Report`; its findings carry the
goals and figures involved (section and quote), the arithmetic, the gap and a
sentence in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..inputs import project as project_mod
from . import identities, joint, pace, plan, prices, rates
from .finding import VERDICTS, Finding, Item

__all__ = [
    "VERDICTS",
    "Finding",
    "Item",
    "Report",
    "audit",
    "project_files",
]


@dataclass(frozen=True)
class Report:
    """Every check run: ``findings`` (flagged, most severe first) and ``consistent``."""

    findings: tuple[Finding, ...]
    consistent: tuple[Finding, ...]
    goals: tuple[str, ...]
    unchecked: dict[str, str] = field(default_factory=dict)  # goal id -> why
    sources: dict[str, str] = field(default_factory=dict)  # file -> sha256
    projections: dict[str, str] = field(default_factory=dict)  # id -> the plan's expectation

    @property
    def consistent_goals(self) -> tuple[str, ...]:
        """Goals checked against others and figures and in no impossible or mismatch
        finding: they can hold together with everything they were checked against (they
        may still be redundant, or depart from the history's pace)."""
        broken = {g for f in self.findings if f.verdict in ("impossible", "mismatch")
                  for g in f.goals}
        seen = {g for f in (*self.findings, *self.consistent) for g in f.goals}
        return tuple(g for g in self.goals if g in seen and g not in broken)

    @property
    def unchecked_goals(self) -> dict[str, str]:
        """Goals no check involves, with the reason where one is known."""
        seen = {g for f in (*self.findings, *self.consistent) for g in f.goals}
        return {g: self.unchecked.get(g, "no other goal, figure or identity bears on it")
                for g in self.goals if g not in seen}

    def to_dict(self) -> dict:
        from ..running.provenance import versions

        return {"sources": self.sources, **versions(),
                "verdicts": VERDICTS,
                "findings": [f.to_dict() for f in self.findings],
                "consistent": [f.to_dict() for f in self.consistent],
                "consistent_goals": list(self.consistent_goals),
                "unchecked_goals": self.unchecked_goals,
                "projections": self.projections}


def audit(goals_file: Path | str | None = None, history_file: Path | str | None = None,
          accounts_file: Path | str | None = None) -> Report:
    """Audit a plan's figures (goals and history default to the project
    :func:`simulator.inputs.project.find` finds). ``accounts_file`` defaults to ``accounts.toml``
    beside the history file, if there is one. Bad input raises
    :class:`~simulator.errors.InputError`."""
    if goals_file is None or history_file is None:
        found = project_mod.find()
        goals_file = found.goals if goals_file is None else goals_file
        history_file = found.history if history_file is None else history_file
    the_plan = plan.load(goals_file, history_file, accounts_file)
    unchecked: dict[str, str] = {}
    found = (rates.check(the_plan, unchecked) + pace.check(the_plan, unchecked)
             + prices.check(the_plan)
             + identities.check(the_plan) + joint.check(the_plan))
    order = list(VERDICTS)
    flagged = sorted((f for f in found if f.flagged),
                     key=lambda f: (order.index(f.verdict), -f.gap if f.gap_unit == "%/yr"
                                    else 0.0))
    return Report(tuple(flagged), tuple(f for f in found if not f.flagged),
                  tuple(the_plan.goals.ids), unchecked, the_plan.sources,
                  expectations(the_plan))


def expectations(the_plan: plan.Plan) -> dict[str, str]:
    """The plan's projections (goals.toml ``kind = "projection"``): what it expects, the
    band that counts, and the pace from its latest figure; never checked as goals."""
    from ..inputs import goals as goals_mod

    out = {}
    for p in the_plan.goals.projections:
        lo, hi = goals_mod.band(p)
        year = p.years[-1]
        band = "-".join(f"{b:,.0f}" if b is not None else "…" for b in (lo, hi))
        text = (f"the plan expects {p.indicator} ≈ {p.threshold:,.0f} {p.unit} in {year} "
                f"({band} counts; [{p.section}] {p.quote}): a projection, not a goal, "
                "never part of a verdict")
        start = next((f for f in sorted(the_plan.figures, key=lambda f: -f.year)
                      if f.indicator == p.indicator and f.comparator == "=" and f.year < year),
                     None)
        if start is not None and start.value > 0 and p.threshold > 0:
            pace = 100 * ((p.threshold / start.value) ** (1 / (year - start.year)) - 1)
            text += f"; from {start.value:,.0f} in {start.year} it means {pace:.1f} %/yr"
        out[p.id] = text
    return out


def project_files(project: Path | str) -> tuple[Path, Path]:
    """A folder's goals and history files: its manifest's (``plansim.toml``), else the
    usual layout (``scenarios/goals.toml``, ``models/data/history.csv``)."""
    project = Path(project)
    if (project / project_mod.MANIFEST).is_file():
        found = project_mod.load(project)
        return found.goals, found.history
    return project / "scenarios" / "goals.toml", project / "models" / "data" / "history.csv"
