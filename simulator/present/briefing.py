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


def _units(project: Project) -> dict[str, str]:
    from ..inputs import model

    return {k: p.units for k, p in model.parameters(project).items()}


def prim_target(summary: dict) -> list[str] | None:
    """PRIM's default target: all goals together when that holds in some futures and fails
    in others, else the goal holding the rest back most (None: all goals; [] nothing)."""
    joint = summary["joint_probability"]["count"]
    if 0 < joint < summary["runs_counted"]:
        return None
    for step in summary["held_back_by"]:
        p = summary["goals"][step["goal"]]["probability"]
        if p is not None and 0 < p < 1:
            return [step["goal"]]
    return []


def analyze(out_dir: Path | str, goal_set: goals_mod.GoalSet | None = None,
            project: Project | None = None, lang: str = "en",
            progress: bool = True) -> dict[str, Path]:
    """Write the briefing's charts (PNG and SVG, labels in ``lang``, file names ending in
    ``_<lang>``) and tables; a tqdm bar on stderr follows the steps (``progress``)."""
    import sys

    from tqdm import tqdm

    from ..inputs import scenario as scenario_mod
    from ..plotting import style
    from . import labels
    from .brief import discovery_inputs

    style.use(labels.check_lang(lang))
    project = find() if project is None else project
    ds = load_results(out_dir)
    target = Path(out_dir) / "analysis"
    target.mkdir(parents=True, exist_ok=True)
    goal_set = goal_set or goals_mod.load(project=project)
    written: dict[str, Path] = {}
    suffix = f"_{lang}"
    steps = ["probabilities", "sensitivity", "discovery", "prim", "calibration",
             *(f"fan_{n}" for n in project.fan_charts)]
    bar = tqdm(total=len(steps), desc="plansim analyze", file=sys.stderr, disable=not progress)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    summary = ds.plan.summary()
    compare = None
    if "best_met" in ds:
        best = xr.Dataset({"met": ds["best_met"].astype(bool),
                           "joint": ds["best_joint"].astype(bool)})
        compare = reachability.summarize(best, ds["plausible"].astype(bool))
    written["probabilities"] = plotting.save(
        plotting.probabilities(summary, compare=compare, goal_set=goal_set, lang=lang),
        target / f"probabilities{suffix}.png")
    step("probabilities")

    if summary["runs_counted"]:  # PAWN needs plausible runs; with none there is nothing
        indices = ds.plan.sensitivity()
        varies = [g for g in indices["goal"].values if float(indices.sel(goal=g).max()) > 0]
        if varies:  # a constant output gets no column (the table keeps it, at zero)
            written["sensitivity_chart"] = plotting.save(
                plotting.heatmap(indices.sel(goal=varies), goal_set=goal_set, lang=lang),
                target / f"sensitivity{suffix}.png")
        table = indices.to_pandas()
        results.write_csv(table, target / "sensitivity.csv", float_format="%.4f")
        written["sensitivity_table"] = target / "sensitivity.csv"
    step("sensitivity")

    scen_file = project.scenarios / ds.attrs.get("scenario_file", "")
    inputs = (discovery_inputs(ds, scenario_mod.load(scen_file, project))
              if scen_file.is_file() and scen_file.suffix == ".toml" else None)
    boxes = {}
    for goal, stats in summary["goals"].items():
        if stats["probability"] is not None and 0.02 <= stats["probability"] <= 0.98:
            boxes[goal] = ds.plan.discover([goal], inputs=inputs)
    if 0 < summary["joint_probability"]["count"] < summary["runs_counted"]:
        boxes["ALL"] = ds.plan.discover(inputs=inputs)
    results.write_text(json.dumps(boxes, indent=2, sort_keys=True) + "\n",
                       target / "discovery.json")
    written["discovery"] = target / "discovery.json"
    step("discovery")

    chosen = prim_target(summary) if summary["runs_counted"] else []
    if chosen != []:
        key = "ALL" if chosen is None else chosen[0]
        box = boxes.get(key) or ds.plan.discover(chosen, inputs=inputs)
        if box.get("restrictions"):
            written["prim"] = plotting.save(plotting.prim_limits(box, goal_set, lang=lang,
                                                                 units=_units(project)),
                                            target / f"prim{suffix}.png")
    step("prim")

    if "calibration_set" in ds.coords or "calibration_set" in ds:
        table = ds.plan.calibration_shares()
        results.write_csv(table, target / "calibration_shares.csv", float_format="%.4f")
        written["calibration_shares"] = target / "calibration_shares.csv"
    step("calibration")

    for name in project.fan_charts:
        if (name in ds and validate.name(project.manifest, "analyze.fan_charts", name)
                and float(ds[name].std()) > 0):  # a constant indicator: no chart
            written[f"fan_{name}"] = plotting.save(plotting.fan(ds, name, goal_set, project,
                                                                lang=lang),
                                                   target / f"fan_{name}{suffix}.png")
        step(f"fan_{name}")
    bar.close()
    return written
