"""The audit for a reader: a terminal table with the details below it, or strict JSON."""

from __future__ import annotations

import json

from . import Report
from .finding import VERDICTS, Finding, num


def _involved(f: Finding) -> str:
    ids = list(f.goals) or [i.id for i in f.items]
    return ", ".join(ids)


def _row(cells, widths) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()


def table(report: Report) -> str:
    """Findings as a numbered table, each then in full; consistent checks; coverage."""
    head = (f"plan audit: {len(report.findings)} findings, {len(report.consistent)} checks "
            "consistent (no model run)")
    lines = [head]
    if report.findings:
        rows = [("#", "verdict", "check", "gap", "involves")]
        rows += [(str(k), f.verdict, f.check, f"{num(f.gap, 3)} {f.gap_unit}".strip(),
                  _involved(f)) for k, f in enumerate(report.findings, start=1)]
        widths = [max(len(r[c]) for r in rows) for c in range(4)] + [0]
        lines += ["", *(_row(r, widths) for r in rows)]
        for k, f in enumerate(report.findings, start=1):
            lines += ["", f"{k}. [{f.verdict}] {f.check}: {f.en}", f"   {f.zh}",
                      f"   arithmetic: {f.arithmetic}"]
            lines += [f"   [{i.section}] {i.statement} — {i.quote}" for i in f.items]
    if report.consistent:
        lines += ["", "consistent checks:"]
        lines += [f"  {f.check}: {f.en}" for f in report.consistent]
    lines += ["", "goals consistent with every goal and figure they were checked against: "
              + (", ".join(report.consistent_goals) or "none")]
    unchecked = report.unchecked_goals
    if unchecked:
        lines += ["goals no arithmetic check reaches:"]
        lines += [f"  {g}: {why}" for g, why in unchecked.items()]
    if report.projections:
        lines += ["the plan's projections (what it expects, not goals):"]
        lines += [f"  {p}: {text}" for p, text in report.projections.items()]
    lines += ["", "verdicts: " + "; ".join(f"{v}: {d}" for v, d in VERDICTS.items())]
    return "\n".join(lines)


def to_json(report: Report) -> str:
    """Strict JSON (no NaN or infinity), UTF-8 text."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)
