"""How much each sampled lever assumption moves each goal (issue 16).

    plansim reach plan --runs 10000 --seed 0 --out out/reach-plan
    python benchmarks/lever_assumptions.py out/reach-plan

Levers the plan gives no size for are drawn with the futures (`[implementation]` in the
scenario). For each, the goal probabilities among plausible futures in the lowest and the
highest third of its range; goals that move by `--min` points or more are printed, and
said to be conditional on the range: their probability (and the joint one) is that of the
range drawn, so a range whose end the plan text does not give (scenarios/plan.toml says
which, e.g. the commerce/tourism boost's high end) carries over into them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import xarray as xr


def thirds(result_dir: Path, minimum: float = 8.0) -> list[str]:
    """One line per sampled lever: joint and moving goals, lowest third -> highest third."""
    data = xr.open_dataset(result_dir / "results.nc")
    summary = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    keep = data["plausible"].values.astype(bool)
    met, joint = data["met"].values[keep], data["joint"].values[keep]
    goals = [str(g) for g in data["goal"].values]
    lines = []
    for lever, r in sorted(summary.get("implementation", {}).items()):
        x = data[lever].values[keep]
        span = (r["high"] - r["low"]) / 3
        low, high = x <= r["low"] + span, x >= r["high"] - span
        moved = [f"{g} {100 * met[low, i].mean():.0f}% -> {100 * met[high, i].mean():.0f}%"
                 for i, g in enumerate(goals)
                 if abs(met[high, i].mean() - met[low, i].mean()) * 100 >= minimum]
        lines.append(f"{lever} [{r['low']:g}, {r['high']:g}], {low.sum()} / {high.sum()} "
                     f"futures: all goals {100 * joint[low].mean():.1f}% -> "
                     f"{100 * joint[high].mean():.1f}%; " + ("; ".join(moved) or "no goal moves"))
        if moved:
            lines.append(f"  conditional on {lever} in [{r['low']:g}, {r['high']:g}]: "
                         + ", ".join(m.split(" ", 1)[0] for m in moved))
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path, help="a `plansim reach` output directory")
    ap.add_argument("--min", type=float, default=8.0, help="points a goal must move")
    args = ap.parse_args(argv)
    print("\n".join(thirds(args.result, args.min)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
