"""Model v3's "done when" statistics (issue 16) over the plan scenario's futures.

    python benchmarks/model_statistics.py                # 10,000 futures, seed 0
    python benchmarks/model_statistics.py --runs 2000    # a quicker look

Futures are drawn as `plansim reach` draws them (calibration sets from the history-matched
ensemble with the uncertainties) and only plausible runs (2000-2005 within 3 sd) count.
Years are the model's annual values (t = Y.0 is year Y, the interval (Y-1, Y]).
Prints one line per statistic with the threshold the issue sets.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from simulator import sample
from simulator.inputs import scenario
from simulator.running import ensemble

INDICATORS = ["gdp_real", "va_oil_real", "unemployment_rate",
              "income_ratio_xinjiang", "population", "job_availability", "green_ratio"]
YEARS = list(range(2006, 2016))


def _longest_run(mask: np.ndarray) -> np.ndarray:
    """Longest run of consecutive True along the years, per future."""
    best = np.zeros(mask.shape[0], dtype=int)
    current = np.zeros(mask.shape[0], dtype=int)
    for j in range(mask.shape[1]):
        current = np.where(mask[:, j], current + 1, 0)
        best = np.maximum(best, current)
    return best


def statistics(data) -> dict[str, float]:
    """The issue's statistics from an ensemble dataset (plausible runs only)."""
    keep = data["plausible"].values.astype(bool)
    series = {k: data[k].sel(time=list(range(2005, 2016))).values[keep] for k in INDICATORS}
    gdp = series["gdp_real"]
    growth = 100.0 * (gdp[:, 1:] / gdp[:, :-1] - 1.0)          # 2006..2015, %/yr
    swing = -np.diff(growth, axis=1)                            # fall of growth year to year
    unemployment = np.median(series["unemployment_rate"][:, 1:], axis=0)
    oil = series["va_oil_real"]
    # a collapse of the real oil price by 40% or more (the sampled shock depth) that begins in
    # 2005 < t <= 2015; it falls in year Y = the year whose interval (Y-1, Y] holds its start.
    # The statistic: the change of real oil output from year Y-1 to year Y.
    depth = data["oil price shock depth"].values[keep]
    start = data["oil price shock year"].values[keep]
    collapse_year = np.ceil(start).astype(int)
    has = (depth >= 0.4) & (collapse_year >= 2006) & (collapse_year <= 2015)
    col = collapse_year[has] - 2005                      # index into 2005..2015
    rows = np.flatnonzero(has)
    oil_fall = -100.0 * (oil[rows, col] / oil[rows, col - 1] - 1.0)
    ratio_2010 = series["income_ratio_xinjiang"][:, 5]
    # slack: registered unemployment above each future's own frictional rate (points)
    slack = (series["unemployment_rate"][:, 1:]
             - 100.0 * data["frictional unemployment"].values[keep][:, None])
    shocked = (start <= 2015) & (depth >= 0.2)
    pop_2015 = series["population"][:, -1]
    vacancies = data["job_availability"].sel(time=YEARS).values[keep]
    green = data["green_ratio"].sel(time=[2000, 2001, 2005]).values[keep]
    gdp_0 = data["gdp_real"].sel(time=[2000, 2001, 2002]).values[keep]
    return {
        "plausible futures": float(keep.sum()),
        "share with job availability above 1 in every year 2006-2015 (%)":
            100.0 * float((vacancies > 1.0).all(axis=1).mean()),
        "median real GDP growth 2001 (%)": float(np.median(
            100.0 * (gdp_0[:, 1] / gdp_0[:, 0] - 1.0))),
        "median real GDP growth 2002 (%)": float(np.median(
            100.0 * (gdp_0[:, 2] / gdp_0[:, 1] - 1.0))),
        "median green ratio change 2001 (points)": float(np.median(green[:, 1] - green[:, 0])),
        "median green ratio change per year 2000-2005 (points)": float(np.median(
            (green[:, 2] - green[:, 0]) / 5.0)),
        "share with a year of real GDP falling 1% or more (%)":
            100.0 * float((growth <= -1.0).any(axis=1).mean()),
        "share with real growth falling > 8 points year to year (%)":
            100.0 * float((swing > 8.0).any(axis=1).mean()),
        "largest fall of growth year to year (points)": float(swing.max()),
        "median unemployment: range over 2006-2015 (points)":
            float(unemployment.max() - unemployment.min()),
        "share of run-years 2006-2015 with job availability above 1 (%)":
            100.0 * float((vacancies > 1.0).mean()),
        "range of unemployment 2006-2015 within each future, median (points)":
            float(np.median(np.ptp(series["unemployment_rate"][:, 1:], axis=1))),
        "largest one-year change of unemployment, 90th percentile of futures (points)":
            float(np.percentile(np.abs(np.diff(series["unemployment_rate"], axis=1)).max(
                axis=1), 90)),
        "largest one-year change of unemployment in any future (points)":
            float(np.abs(np.diff(series["unemployment_rate"], axis=1)).max()),
        "futures with unemployment 1 point or more above the frictional rate for 3 years or "
        "more (%)": 100.0 * float((_longest_run(slack >= 1.0) >= 3).mean()),
        "range of the median unemployment without an oil collapse of 20% or more (points)":
            float(np.ptp(np.median(series["unemployment_rate"][~shocked, 1:], axis=0)))
            if (~shocked).any() else float("nan"),
        "median unemployment 2006 (%)": float(unemployment[0]),
        "median unemployment 2015 (%)": float(unemployment[-1]),
        "futures with an oil price collapse of 40% or more": float(has.sum()),
        "median fall of real oil output in the collapse year (%)":
            float(np.median(oil_fall)) if oil_fall.size else float("nan"),
        "median district/Xinjiang real income ratio 2010": float(np.median(ratio_2010)),
        "5% district/Xinjiang ratio 2010": float(np.percentile(ratio_2010, 5)),
        "95% district/Xinjiang ratio 2010": float(np.percentile(ratio_2010, 95)),
        "median population 2015 (thousand)": float(np.median(pop_2015)) / 1000.0,
        "95th percentile population 2015 / median":
            float(np.percentile(pop_2015, 95) / np.median(pop_2015)),
    }


THRESHOLDS = {
    "share with a year of real GDP falling 1% or more (%)": (">=", 2.0),
    "share with real growth falling > 8 points year to year (%)": (">=", 1.0),
    "median unemployment: range over 2006-2015 (points)": (">=", 0.1),
    "median fall of real oil output in the collapse year (%)": (">=", 3.0),
    "median district/Xinjiang real income ratio 2010": ("in", (1.1, 1.6)),
    "95th percentile population 2015 / median": ("<", 1.6),
}


def bands(data) -> str:
    """5/50/95% bands over the plausible futures, 2006-2015 (real GDP growth, population,
    unemployment, the district/Xinjiang income ratio)."""
    keep = data["plausible"].values.astype(bool)
    gdp = data["gdp_real"].sel(time=list(range(2005, 2016))).values[keep]
    rows = {"real GDP growth, %/yr": 100.0 * (gdp[:, 1:] / gdp[:, :-1] - 1.0),
            "population, thousand": data["population"].sel(time=YEARS).values[keep] / 1e3,
            "unemployment rate, %": data["unemployment_rate"].sel(time=YEARS).values[keep],
            "district/Xinjiang real income ratio":
                data["income_ratio_xinjiang"].sel(time=YEARS).values[keep]}
    lines = []
    for name, values in rows.items():
        lines.append(name)
        lines.append("  year " + "".join(f"{y:>9d}" for y in YEARS))
        for q in (5, 50, 95):
            lines.append(f"  {q:>3d}% " + "".join(f"{v:9.2f}" for v in
                                                   np.percentile(values, q, axis=0)))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    plan = scenario.load("plan")
    samples = sample.futures(plan, args.runs, args.seed, "ensemble")
    data = ensemble.run(plan, samples, names=INDICATORS)
    stats = statistics(data)
    failed = 0
    print(f"plan scenario, {args.runs:,} futures, seed {args.seed}")
    for name, value in stats.items():
        verdict = ""
        if name in THRESHOLDS:
            op, bound = THRESHOLDS[name]
            ok = (value >= bound if op == ">=" else value < bound if op == "<"
                  else bound[0] <= value <= bound[1])
            failed += not ok
            verdict = f"   (issue: {op} {bound}) {'holds' if ok else 'FAILS'}"
        shown = f"{value:,.0f}" if name.startswith(("futures with", "plausible futures")) \
            and float(value).is_integer() else f"{value:,.2f}"  # counts are whole numbers
        print(f"{name}: {shown}{verdict}")
    print(bands(data))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
