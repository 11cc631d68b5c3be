"""How much each sampled lever assumption moves each goal (issue 16).

    plansim reach plan --runs 10000 --seed 0 --out out/reach-plan
    python benchmarks/lever_assumptions.py out/reach-plan

Levers the plan gives no size for are drawn with the futures (`[implementation]` in the
scenario). For each, the goal probabilities among plausible futures in the lowest and the
highest third of its range, with the difference's bootstrap 95% interval (futures resampled
within each third) and the number of futures in each third. Goals that move by `--min`
points or more are printed and said to be conditional on the range: their probability (and
the joint one) is that of the range drawn, so a range whose end the plan text does not give
(scenarios/plan.toml says which, e.g. the commerce/tourism boost's high end) carries over
into them.

A range the budget does not pay cannot move a goal, whatever the goal's sensitivity (third
review of v3.2, REVIEW-v3.2c.md: the energy-saving ranges printed "no goal moves" while the
programmes ran at zero in 89% of futures). For the levers the district budget pays
(`PAID_BY`), the futures are re-run to read the share of their ask the budget paid over
2006-2010; where the median is below `--unpaid` the line says "not paid" instead of "no goal
moves".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

# Budget-paid levers of models/karamay.mdl and the variable that scales what they ask: talent
# (`talent arrivals`) gets the discretionary `budget scale`; the commerce boost above the part
# public investment builds (`commerce effect`) is paid with the rises of greening and public
# investment, `committed budget scale` (v3.3b); the industry and transport energy-saving
# programmes run at `programme effort multiplier` = requested x `held budget scale` (v3.3).
PAID_BY = {"talent attraction rate": "budget scale",
           "commerce tourism boost": "committed budget scale",
           "energy saving programme": "held budget scale",
           "transport energy programme": "held budget scale"}
YEARS = list(range(2006, 2011))
BOOTSTRAP = 1000


def paid_shares(data: xr.Dataset, levers: list[str], block: int = 2000) -> dict[str, np.ndarray]:
    """Per plausible future, the mean over 2006-2010 of the budget scale paying each lever
    (re-running the result's futures: same scenario, draws, seed; refuses if the levers drawn
    differ from the result's)."""
    from simulator import sample
    from simulator.inputs import scenario
    from simulator.inputs.model import vector_model
    from simulator.running import ensemble

    plan = scenario.load(str(data.attrs["scenario"]))
    seed = int(data.attrs.get("seed", 0))
    samples = sample.futures(plan, data.sizes["run"], seed,
                             str(data.attrs.get("calibration_mode", "ensemble")))
    for lever in levers:
        if not np.array_equal(samples[lever].values, data[lever].values):
            raise SystemExit(f"lever_assumptions: '{lever}' drawn differently from the result "
                             "(scenario or model changed since the reach run); run "
                             "`plansim reach` again")
    scales = sorted({PAID_BY[k] for k in levers})
    vm = vector_model(plan.project)
    parts = {s: [] for s in scales}
    for start in range(0, samples.sizes["run"], block):
        part = samples.isel(run=slice(start, start + block))
        out = vm.run(ensemble.parameters(plan, part, None), scales, years=YEARS, seed=seed,
                     run_keys=ensemble.noise_keys(part))
        for s in scales:
            parts[s].append(out[s].mean("time").values)
    keep = data["plausible"].values.astype(bool)
    by_scale = {s: np.concatenate(v)[keep] for s, v in parts.items()}
    return {k: by_scale[PAID_BY[k]] for k in levers}


def _bootstrap(low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half-width (points) of the bootstrap 95% interval of mean(high) - mean(low), per column."""
    diffs = np.empty((BOOTSTRAP, low.shape[1]))
    for b in range(BOOTSTRAP):
        diffs[b] = (high[rng.integers(0, len(high), len(high))].mean(0)
                    - low[rng.integers(0, len(low), len(low))].mean(0))
    lo, hi = np.percentile(diffs, [2.5, 97.5], axis=0)
    return 100 * (hi - lo) / 2


def thirds(result_dir: Path, minimum: float = 8.0, unpaid: float = 0.1,
           paid: dict[str, np.ndarray] | None = None) -> list[str]:
    """One line per sampled lever: joint and moving goals, lowest third -> highest third,
    each change with its bootstrap 95% interval and the futures in each third; a range the
    budget does not pay is said to be unpaid, not robust."""
    data = xr.open_dataset(result_dir / "results.nc")
    summary = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    keep = data["plausible"].values.astype(bool)
    met, joint = data["met"].values[keep], data["joint"].values[keep]
    goals = [str(g) for g in data["goal"].values]
    levers = sorted(summary.get("implementation", {}))
    if paid is None:
        paid = paid_shares(data, [k for k in levers if k in PAID_BY])
    rng = np.random.default_rng(0)
    both = np.column_stack([joint, met]).astype(float)   # column 0: all goals together
    lines = []
    for lever in levers:
        r = summary["implementation"][lever]
        x = data[lever].values[keep]
        span = (r["high"] - r["low"]) / 3
        low, high = x <= r["low"] + span, x >= r["high"] - span
        p_low, p_high = 100 * both[low].mean(0), 100 * both[high].mean(0)
        delta, half = p_high - p_low, _bootstrap(both[low], both[high], rng)
        head = (f"{lever} [{r['low']:g}, {r['high']:g}], lowest / highest third "
                f"{low.sum():,} / {high.sum():,} futures: all goals {p_low[0]:.1f}% -> "
                f"{p_high[0]:.1f}% ({delta[0]:+.1f} ± {half[0]:.1f} points)")
        # a goal moves when the change is at least `minimum` points and its interval
        # excludes 0 (fewer futures, wider intervals: noise is not a move)
        moved = [i for i in range(1, both.shape[1])
                 if abs(delta[i]) >= minimum and abs(delta[i]) > half[i]]
        top = 1 + int(np.argmax(np.abs(delta[1:])))
        largest = f"{goals[top - 1]} {delta[top]:+.1f} ± {half[top]:.1f}"
        share = paid.get(lever)
        note = ""
        if share is not None:
            med = float(np.median(share))
            note = (f"; the budget ({PAID_BY[lever]}) pays a median {med:.2f} of what it asks "
                    f"2006-2010, at least half in {100 * np.mean(share >= 0.5):.0f}% of futures")
            if med < unpaid:
                lines.append(head + "; range NOT PAID in most futures, so it cannot move a "
                             "goal there (not a finding that the goals are robust to it; "
                             f"largest difference, noise: {largest})" + note)
                continue
        if moved:
            lines.append(head + "; " + "; ".join(
                f"{goals[i - 1]} {p_low[i]:.0f}% -> {p_high[i]:.0f}% ({delta[i]:+.1f} ± "
                f"{half[i]:.1f})" for i in moved) + note)
            lines.append(f"  conditional on {lever} in [{r['low']:g}, {r['high']:g}]: "
                         + ", ".join(goals[i - 1] for i in moved))
        else:
            lines.append(head + f"; no goal moves by {minimum:g} points or more with an "
                         f"interval excluding 0 (largest: {largest})" + note)
    lines.append(f"± : half-width of the bootstrap 95% interval ({BOOTSTRAP} resamples of the "
                 "futures within each third); points of probability")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path, help="a `plansim reach` output directory")
    ap.add_argument("--min", type=float, default=8.0, help="points a goal must move")
    ap.add_argument("--unpaid", type=float, default=0.1,
                    help="median share of its ask paid below which a range is 'not paid'")
    args = ap.parse_args(argv)
    print("\n".join(thirds(args.result, args.min, args.unpaid)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
