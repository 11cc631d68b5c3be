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

import numpy as np
import xarray as xr

from .. import plotting
from ..analyze import reachability
from ..errors import InputError
from ..inputs import goals as goals_mod
from ..inputs import validate
from ..inputs.project import Project, find
from ..running import results, seal


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
    seal.check_dataset(ds, path, "plansim reach")  # checked whole, before any work
    for key in ("met", "joint", "plausible", "margin"):
        if key not in ds:
            raise InputError(path, key, "missing", "give the directory of a `plansim reach` run")
    _check_consistent(ds, path)
    return ds


def _units(project: Project) -> dict[str, str]:
    from ..inputs import model

    return {k: p.units for k, p in model.parameters(project).items()}


def prim_targets(summary: dict) -> list[list[str] | None]:
    """PRIM's targets in order of preference: all goals together when that holds in some
    futures and fails in others (None), then each goal holding the rest back that holds in
    some futures and fails in others."""
    out: list[list[str] | None] = []
    joint = summary["joint_probability"]["count"]
    if 0 < joint < summary["runs_counted"]:
        out.append(None)
    for step in summary["held_back_by"]:
        p = summary["goals"][step["goal"]]["probability"]
        if p is not None and 0 < p < 1:
            out.append([step["goal"]])
    return out


def prim_target(summary: dict) -> list[str] | None:
    """PRIM's default target: the first of :func:`prim_targets` (None: all goals; []
    nothing)."""
    targets = prim_targets(summary)
    return targets[0] if targets else []


_ALTERED = "rerun `plansim reach` (the result was altered or is not a reach result)"


def _check_consistent(ds: xr.Dataset, path: Path) -> None:
    """The flags of a reach result agree with each other and with the margins."""
    dims = {"met": ("run", "goal"), "margin": ("run", "goal"), "joint": ("run",),
            "plausible": ("run",)}
    for key, want in dims.items():
        if ds[key].dims != want:
            raise InputError(path, key, f"dimensions {ds[key].dims} are not {want}", _ALTERED)
    flags = {k: ds[k].values for k in ("met", "joint", "plausible")}
    for key, values in flags.items():
        if not np.isin(values, (0, 1)).all():
            raise InputError(path, key, "holds values other than 0 and 1", _ALTERED)
    met, margin = flags["met"].astype(bool), ds["margin"].values
    with np.errstate(invalid="ignore"):
        wrong = (met & ~(margin >= 0)) | (~met & (margin > 0))
    if wrong.any() or not np.array_equal(flags["joint"].astype(bool), met.all(axis=1)):
        raise InputError(path, "met", "does not agree with the margins and joint flags",
                         _ALTERED)


def check_against_goals(ds: xr.Dataset, path: Path | str, goal_set: goals_mod.GoalSet,
                        project: Project | None = None) -> None:
    """The margins and met flags of a reach result are the goals of ``goal_set``
    evaluated on the result's own trajectories (runs inside the model's domain); else
    one line: a goal renamed, reordered or altered in ``results.nc`` is never reported.
    With ``project``, no run marked plausible is ruled out by its history screen."""
    path = Path(path)
    ids = [str(g) for g in ds["goal"].values]
    unknown = sorted(set(ids) - set(goal_set.ids))
    if unknown or len(set(ids)) != len(ids):
        raise InputError(path, "goal", f"{(unknown or ids)[0]!r} is not a goal of "
                         f"{Path(goal_set.source).name} (or is listed twice)", _ALTERED)
    goals = [g for g in goal_set.goals if g.id in ids and g.indicator in ds
             and ds[g.indicator].dims == ("run", "time")]
    if not goals:
        return
    inside = (ds["in_domain"].astype(bool) if "in_domain" in ds
              else xr.DataArray(np.ones(ds.sizes["run"], bool), dims="run"))
    data = ds[sorted({g.indicator for g in goals})].where(inside, 0.0)
    try:
        redone = goals_mod.evaluate(data, goal_set.subset([g.id for g in goals]))
    except (FloatingPointError, KeyError, ValueError) as exc:
        raise InputError(path, "goal", f"its trajectories do not evaluate ({exc})",
                         _ALTERED) from None
    ok = inside.values
    _check_projections(ds, path, goal_set, inside)
    if project is not None:
        _check_plausible(ds, path, project, inside)
    for g in goals:
        stored = ds.sel(goal=g.id)
        if not (np.array_equal(stored["met"].values.astype(bool)[ok],
                               redone["met"].sel(goal=g.id).values[ok])
                and np.array_equal(stored["margin"].values[ok],
                                   redone["margin"].sel(goal=g.id).values[ok],
                                   equal_nan=True)):
            raise InputError(path, f"goal {g.id}", "its margins are not the goal evaluated "
                             "on the result's own trajectories", _ALTERED)


def _check_projections(ds: xr.Dataset, path: Path, goal_set: goals_mod.GoalSet,
                       inside: xr.DataArray) -> None:
    """The plan's projections in a result are those of ``goal_set``, evaluated on the
    result's own trajectories (the brief and ``plansim analyze`` show them)."""
    if "projection_met" not in ds:
        return
    known = {p.id: p for p in goal_set.projections}
    for pid in (str(p) for p in ds["projection"].values):
        if pid not in known:
            raise InputError(path, "projection", f"{pid!r} is not a projection of "
                             f"{Path(goal_set.source).name}", _ALTERED)
        p = known[pid]
        if p.indicator not in ds or ds[p.indicator].dims != ("run", "time"):
            continue
        ok = inside.values
        redone = goals_mod.holds(p, ds[[p.indicator]].where(inside, 0.0)).values
        if not np.array_equal(ds["projection_met"].sel(projection=pid).values.astype(bool)[ok],
                              redone[ok]):
            raise InputError(path, f"projection {pid}", "is not the projection evaluated on "
                             "the result's own trajectories", _ALTERED)


def analyze(out_dir: Path | str, goal_set: goals_mod.GoalSet | None = None,
            project: Project | None = None, lang: str = "en",
            progress: bool = True) -> dict[str, Path]:
    """Write the briefing's charts (PNG and SVG, labels in ``lang``, file names ending in
    ``_<lang>``) and tables into ``out_dir``/analysis (locked while written, every file
    or none); a tqdm bar on stderr follows the steps (``progress``)."""
    from ..running import outputs

    if not (Path(out_dir) / "results.nc").is_file():
        load_results(out_dir)  # its one line, before anything is made
    target = outputs.check_dir(Path(out_dir) / "analysis", (f"probabilities_{lang}.png",),
                               option="DIR/analysis", force=True)  # before any work
    with outputs.locked(target, "plansim analyze"):
        return _analyze(out_dir, goal_set, project, lang, progress)


def _analyze(out_dir: Path | str, goal_set: goals_mod.GoalSet | None,
             project: Project | None, lang: str, progress: bool) -> dict[str, Path]:
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
    goal_set = goal_set or goals_mod.load(project=project)
    check_against_goals(ds, Path(out_dir) / "results.nc", goal_set, project)
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

    # the first target PRIM finds a box for (all goals together may hold in too few
    # futures to bound; then the goals holding the rest back, in order)
    for chosen in (prim_targets(summary) if summary["runs_counted"] else []):
        key = "ALL" if chosen is None else chosen[0]
        box = boxes.get(key) or ds.plan.discover(chosen, inputs=inputs)
        if box.get("restrictions"):
            written["prim"] = plotting.save(plotting.prim_limits(box, goal_set, lang=lang,
                                                                 units=_units(project)),
                                            target / f"prim{suffix}.png")
            break
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


def _check_plausible(ds: xr.Dataset, path: Path, project: Project, inside: xr.DataArray) -> None:
    from ..inputs import history

    figs = history.figures(project)
    needed = history.indicators_needed(figs)
    if not figs or any(n not in ds or ds[n].dims != ("run", "time") for n in needed):
        return
    try:
        redone = history.plausible(ds[needed].where(inside, 0.0), figs) & inside
    except (KeyError, ValueError) as exc:
        raise InputError(path, "plausible", f"its trajectories do not cover the project's "
                         f"history ({exc})", _ALTERED) from None
    # the plausible flags are the screen itself, both ways: a run the history rules out is
    # never counted, and a run it keeps is never set aside (a brief over fewer futures)
    if (ds["plausible"].values.astype(bool) != redone.values).any():
        raise InputError(path, "plausible", "its flags are not the project's history screen "
                         "of the result's own trajectories", _ALTERED)
