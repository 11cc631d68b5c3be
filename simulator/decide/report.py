"""The frontier for a reader: the nearest reachable plan in two lines, and tables.

Labels, not ids; units on every number; no scientific notation.  ``lang`` is "en" or
"zh" (labels from the goals file and simulator/data/labels.toml).
"""

from __future__ import annotations

import pandas as pd

from ..present import labels

MOVES_SHOWN = 3  # threshold moves named in the two lines (the largest)


def number(value: float | None) -> str:
    """A figure without scientific notation: 240,000 / 13,900 / 7.25 / 0.0312."""
    if value is None:
        return "n/a"
    v = float(value)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.4f}".rstrip("0").rstrip(".") if v else "0"


def pct(p: float | None, ci: list | None = None) -> str:
    if p is None:
        return "n/a"
    text = f"{100 * p:.1f}%"
    return text + (f" (95% CI {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%)" if ci else "")


def _threshold(entry: dict) -> str:
    comp = "≈" if entry["comparator"] == "approx" else entry["comparator"]
    if "tolerance" in entry:
        return (f"{comp} {number(entry['threshold'])} ± {number(entry['tolerance'])} "
                f"{entry['unit']} (instead of ± {number(entry['original_tolerance'])})")
    return (f"{comp} {number(entry['threshold'])} {entry['unit']} (instead of "
            f"{number(entry['original'])})")


def _levers(values, units: dict[str, str], lang: str = "en") -> str:
    if not isinstance(values, dict):
        return "the scenario's levers" if lang == "en" else "情景原有政策"
    return "; ".join(f"{labels.parameter(k, lang)} = {number(v)} {units.get(k, '')}".rstrip()
                     for k, v in values.items())


def nearest_lines(f: dict, units: dict[str, str] | None = None) -> list[str]:
    """Two lines: what the nearest reachable plan is, and its probability."""
    n = f["nearest"]
    units = units or {}
    target = f"{100 * f['target']:.0f}%"
    if n["kind"] == "levers":
        first = f"Nearest reachable plan (>= {target}): every goal, with other levers."
        second = f"  {pct(n['probability'], n['ci'])} with {_levers(n['lever_values'], units)}."
    else:
        lever = ("the scenario's levers" if n["lever_values"] == "scenario"
                 else "searched levers (frontier.nearest.lever_values)")
        shown = sorted(n["relaxed"], key=lambda r: -r["move"])[:MOVES_SHOWN]
        moved = "; ".join(f"{r['label_en']} {_threshold(r)}" for r in shown)
        if len(n["relaxed"]) > MOVES_SHOWN:
            moved += f"; {len(n['relaxed']) - MOVES_SHOWN} smaller moves (frontier.nearest)"
        if n["kind"] == "threshold":
            first = f"Nearest reachable plan (>= {target}): every goal, with {moved}."
        else:
            dropped = len(n["goals"])
            first = (f"Nearest reachable plan (>= {target}): without {dropped} "
                     f"goal{'s' if dropped > 1 else ''} (" + ", ".join(n["goals"]) + ")"
                     + (f", with {moved}." if moved else "."))
        second = (f"  {len(n['kept'])} goals hold together in "
                  f"{pct(n['probability'], n['ci'])} of plausible futures, under {lever}.")
    return [first, second]


def text(f: dict, units: dict[str, str] | None = None) -> str:
    """The frontier as a planner reads it (English)."""
    units = units or {}
    lines = nearest_lines(f, units)
    lines.append(f"Largest goal sets holding together in >= {100 * f['target']:.0f}% of "
                 f"{f['futures']} plausible futures:")
    for s in f["maximal_sets"]:
        lever = "scenario's levers" if s["levers"] == "scenario" else "searched levers"
        lines.append(f"  {s['size']} goals, {pct(s['probability'], s['ci'])}, {lever}: "
                     + ", ".join(s["goals"]))
    if f["relaxed"]:
        lines.append("Threshold each blocking goal would need (with the largest set above):")
        for r in f["relaxed"]:
            where = "" if r["levers"] == "scenario" else ", searched levers"
            what = ("as planned" if r["move"] == 0 else _threshold(r)
                    if r["threshold"] is not None else "no threshold reaches it")
            lines.append(f"  {r['label_en']}: {what}: {pct(r['probability'], r['ci'])}{where}")
    rs = f["ranking_stability"]
    if rs["blocking_goals"]:
        stable = rs["blocking_goals"][:rs["stable_to"]]
        lines.append(f"Most blocking (stable in {rs['bootstrap']} bootstrap samples): "
                     + (", ".join(stable) if stable else "no ranking is stable"))
    lines.append(f"Trade-offs: {len(f['pareto'])} Pareto-optimal lever settings "
                 f"(on {f['search']['futures']} futures; table: pareto.csv).")
    r = f["robust"]
    lines.append(f"Robust setting (best worst group): {r['worst_group']} met in "
                 f"{pct(r['satisficing_worst'], r['ci'])}; levers: "
                 f"{_levers(r['lever_values'], units)}.")
    if r["failure_box"]:
        lines.append("  it fails mostly when: " + "; ".join(
            f"{b['label_en']} in {number(b['low'])}-{number(b['high'])} {b['unit']}".rstrip()
            for b in r["failure_box"])
            + f" (covers {pct(r['box_coverage'])} of failures, {pct(r['box_density'])} "
            "fail inside)")
    return "\n".join(lines)


def pareto_table(f: dict, units: dict[str, str], lang: str = "en") -> pd.DataFrame:
    """One row per Pareto setting: each group's share, joint, worst, regret, levers (units
    in the column names)."""
    rows = []
    for s in f["pareto"]:
        row = {f"{g} (% of futures)": round(100 * p, 1)
               for g, p in s["group_probability"].items()}
        row.update({"all goals (%)": round(100 * s["joint"], 1),
                    "worst group (%)": round(100 * s["satisficing_worst"], 1),
                    "largest regret (points)": round(100 * s["regret_max"], 1)})
        for k, v in s["lever_values"].items():
            unit = units.get(k, "")
            row[f"{labels.parameter(k, lang)} ({unit})" if unit else
                labels.parameter(k, lang)] = float(f"{v:.4g}")
        rows.append(row)
    return pd.DataFrame(rows)
