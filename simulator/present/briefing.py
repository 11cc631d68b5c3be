"""``plansim analyze``: charts and tables for a briefing from a ``plansim reach`` result.

Reads ``DIR/results.nc`` and writes into ``DIR/analysis/``: goal probabilities
(scenario levers vs best levers found), a sensitivity heatmap and table (PAWN, over
the sampled futures and the calibration sets drawn with them), the share of each goal's
outcome variance from calibration vs futures (``calibration_shares.csv``),
PRIM boxes for every goal that holds in some futures and fails in others, and
fan charts of the indicators the project's manifest lists (``[analyze] fan_charts``).
With no plausible future the probabilities and fan charts say so (n/a) and no
sensitivity or PRIM box is computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from .. import plotting
from ..analyze import reachability
from ..errors import InputError
from ..inputs import goals as goals_mod
from ..inputs import validate
from ..inputs.project import Project, find
from ..running import results


def load_results(out_dir: Path | str) -> xr.Dataset:
    """The ensemble of a reach run, checked to be one."""
    path = Path(out_dir) / "results.nc"
    if not path.is_file():
        raise InputError(path, None, "no results file", "run `plansim reach --out DIR` first")
    try:
        with xr.open_dataset(path) as opened:
            ds = opened.load()
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise InputError(path, None, f"not a readable netCDF result ({type(exc).__name__})",
                         "give the directory of a `plansim reach` run") from exc
    for key in ("met", "joint", "plausible", "margin"):
        if key not in ds:
            raise InputError(path, key, "missing", "give the directory of a `plansim reach` run")
    return ds


def analyze(out_dir: Path | str, goal_set: goals_mod.GoalSet | None = None,
            project: Project | None = None, lang: str = "en") -> dict[str, Path]:
    """Write the briefing's charts (PNG and SVG, labels in ``lang``) and tables."""
    from ..plotting import style
    from . import labels

    style.use(labels.check_lang(lang))
    project = find() if project is None else project
    ds = load_results(out_dir)
    target = Path(out_dir) / "analysis"
    target.mkdir(parents=True, exist_ok=True)
    goal_set = goal_set or goals_mod.load(project=project)
    written: dict[str, Path] = {}

    summary = ds.plan.summary()
    compare = None
    if "best_met" in ds:
        best = xr.Dataset({"met": ds["best_met"].astype(bool),
                           "joint": ds["best_joint"].astype(bool)})
        compare = reachability.summarize(best, ds["plausible"].astype(bool))
    written["probabilities"] = plotting.save(
        plotting.probabilities(summary, compare=compare, goal_set=goal_set, lang=lang,
                               title=f"{ds.attrs.get('scenario', '?')}: "
                                     f"{summary['runs_counted']} "
                                     f"{labels.text('plausible_futures', lang)}"),
        target / "probabilities.png")

    if summary["runs_counted"]:  # PAWN needs plausible runs; with none there is nothing
        indices = ds.plan.sensitivity()
        written["sensitivity_chart"] = plotting.save(
            plotting.heatmap(indices, goal_set=goal_set, lang=lang), target / "sensitivity.png")
        table = indices.to_pandas()
        results.write_csv(table, target / "sensitivity.csv", float_format="%.4f")
        written["sensitivity_table"] = target / "sensitivity.csv"

    boxes = {}
    for goal, stats in summary["goals"].items():
        if stats["probability"] is not None and 0.02 <= stats["probability"] <= 0.98:
            boxes[goal] = ds.plan.discover([goal])
    if 0 < summary["joint_probability"]["count"] < summary["runs_counted"]:
        boxes["ALL"] = ds.plan.discover()
    results.write_text(json.dumps(boxes, indent=2, sort_keys=True) + "\n",
                       target / "discovery.json")
    written["discovery"] = target / "discovery.json"

    if "calibration_set" in ds.coords or "calibration_set" in ds:
        table = ds.plan.calibration_shares()
        results.write_csv(table, target / "calibration_shares.csv", float_format="%.4f")
        written["calibration_shares"] = target / "calibration_shares.csv"

    for name in project.fan_charts:
        if name in ds and validate.name(project.manifest, "analyze.fan_charts", name):
            written[f"fan_{name}"] = plotting.save(plotting.fan(ds, name, goal_set, project,
                                                                lang=lang),
                                                   target / f"fan_{name}.png")
    return written
