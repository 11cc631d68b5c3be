"""``plansim chart KIND SOURCE``: one chart from a result on disk, as PNG (300 dpi) and SVG.

=============  ==============================================  =========================
KIND           SOURCE                                          options
=============  ==============================================  =========================
scorecard      reach directory (probabilities per goal) or a   
               scenario (its central run's margins)
fan            reach directory or scenario                     ``indicator``
conflicts      reach directory
prim           reach directory (box limits and trade-off)      ``goal`` (default: all)
tornado,       ``plansim sensitivity --out`` directory         ``output`` (default: all)
sobol, morris,
pawn
lever-map      ``plansim sweep --out`` directory               ``levers``, ``value``
=============  ==============================================  =========================

The chart functions themselves (:mod:`simulator.plotting`) are the Python API; this
module reads the files and names the outputs.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .. import plotting
from ..errors import InputError
from ..inputs import scenario as scenario_mod
from ..inputs import validate
from ..inputs.project import Project, find
from ..running import runs, seal
from ..running.outputs import check_dir, locked
from . import briefing, labels

KINDS = ("scorecard", "fan", "conflicts", "prim", "tornado", "sobol", "morris", "pawn",
         "lever-map")


def _reach_dir(source) -> bool:
    return source is not None and (Path(source) / "results.nc").is_file()


def _goal_set(ds: xr.Dataset | None, project: Project):
    from ..inputs import goals

    if ds is not None and ds.attrs.get("scenario_file"):
        path = project.scenarios / validate.name("results.nc", "scenario_file",
                                                 ds.attrs["scenario_file"])
        if path.is_file():
            return scenario_mod.load(path, project).goal_set()
    return goals.load(project.goals)


def draw(kind: str, source=None, lang: str = "en", out: Path | str = "out/charts",
         indicator: str | None = None, goal: str | None = None, output: str | None = None,
         levers: str | None = None, value: str = "joint",
         project: Project | None = None) -> list[Path]:
    """Draw ``kind`` from ``source`` into ``out``; the files written (PNG and SVG)."""
    project = find() if project is None else project
    labels.check_lang(lang)
    plotting.style.use(lang)
    if kind not in KINDS:
        raise InputError("command line", "KIND", f"'{kind}' is not a chart",
                         f"use one of {', '.join(KINDS)}")
    # a device, a file or an unwritable place is refused before any work; the charts
    # of the same kind and language in ``out`` are redrawn (as a sweep's summary is)
    out = check_dir(out, tuple(f"{kind}_{lang}.{fmt}" for fmt in plotting.style.FORMATS),
                    force=True)
    with locked(out, "plansim chart"):  # every chart of the command, or none
        return _draw(kind, source, lang, out, indicator, goal, output, levers, value, project)


def _draw(kind, source, lang, out, indicator, goal, output, levers, value, project
          ) -> list[Path]:
    figures: dict[str, object] = {}
    if kind in ("scorecard", "fan", "conflicts", "prim"):
        if _reach_dir(source):
            ds = briefing.load_results(source)
            goal_set = _goal_set(ds, project)
            briefing.check_against_goals(ds, Path(source) / "results.nc", goal_set, project)
        elif kind in ("conflicts", "prim"):
            raise InputError(source or "SOURCE", None, "not a reach directory",
                             "run `plansim reach --out DIR` and give DIR")
        else:
            central = runs.run_scenario(source, project)
            goal_set = central.goal_set
            ds = central.indicators.assign(central.evaluation)
        if kind == "scorecard":
            figures["scorecard"] = (
                plotting.probabilities(ds.plan.summary(), goal_set=goal_set, lang=lang)
                if "plausible" in ds else plotting.scorecard(ds, goal_set, lang=lang))
        elif kind == "fan":
            name = indicator or goal_set.goals[0].indicator
            if name not in ds:
                raise InputError("command line", "--indicator", f"'{name}' is not in the result",
                                 "name an indicator the result holds")
            figures[f"fan_{name}"] = plotting.fan(ds, name, goal_set, project, lang=lang)
        elif kind == "conflicts":
            figures["conflicts"] = plotting.conflicts(ds, goal_set, lang=lang)
        else:
            if goal is not None and goal not in goal_set.ids:
                raise InputError("command line", "--goal", f"'{goal}' is not a goal",
                                 "give a goal id (`plansim goals`)")
            from .brief import discovery_inputs

            chosen = [goal] if goal else briefing.prim_target(ds.plan.summary())
            if chosen == []:  # no goal both holds and fails: nothing to restrict
                chosen = None
            scen_file = project.scenarios / ds.attrs.get("scenario_file", "")
            inputs = (discovery_inputs(ds, scenario_mod.load(scen_file, project))
                      if scen_file.is_file() and scen_file.suffix == ".toml" else None)
            box = ds.plan.discover(chosen, inputs=inputs)
            goal = goal or (chosen[0] if chosen else None)
            if not box["runs"]:
                raise InputError(Path(source) / "results.nc", "plausible", box["note"],
                                 "reach a scenario whose futures reproduce the history "
                                 "(`plansim run` shows its central case)")
            if not box.get("restrictions"):
                raise InputError("command line", "--goal", box.get("note", "no PRIM box found"),
                                 "choose a goal that holds in some futures and fails in others")
            stem = f"prim_{goal or 'all'}"
            figures[f"{stem}_limits"] = plotting.prim_limits(box, goal_set, lang=lang)
            figures[f"{stem}_tradeoff"] = plotting.prim_tradeoff(box, goal_set, lang=lang)
    elif kind == "lever-map":
        summary, path = _sweep_summary(Path(source or ""))
        scen = scenario_mod.load(summary.get("scenario"), project)
        pair = tuple(s.strip() for s in levers.split(",")) if levers else None
        try:
            figures["lever_map"] = plotting.lever_map(
                summary, {k: lv.value for k, lv in scen.levers.items()}, pair, value,
                scen.goal_set(), lang=lang)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise InputError(path, "--levers/--value", str(exc),
                             "name two swept levers and joint, goals_met_mean or a goal id") \
                from exc
    else:
        path = Path(source or "") / f"{kind}.nc"
        if not path.is_file():
            raise InputError(path, None, "no result of this method",
                             f"run `plansim sensitivity --method {kind} --out DIR` first")
        try:
            with xr.open_dataset(path) as opened:
                ds = opened.load()
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            raise InputError(path, None, f"not a readable netCDF result ({type(exc).__name__})",
                             f"rerun `plansim sensitivity --method {kind}`") from exc
        seal.check_dataset(ds, path, f"plansim sensitivity --method {kind}")
        goal_set = _goal_set(ds, project)
        outputs = [output] if output else [str(o) for o in ds["output"].values]
        key = {"sobol": "ST", "morris": "mu_star", "pawn": "median", "tornado": "swing"}[kind]
        for o in outputs:
            if o not in ds["output"].values:
                raise InputError(path, "--output", f"'{o}' was not analysed",
                                 f"use one of {', '.join(map(str, ds['output'].values))}")
            if not ds[key].sel(output=o).values.any():  # constant: no chart, say so
                print(f"{o}: {labels.text('constant_output', lang)}: no chart")
                continue
            draw_one = plotting.tornado if kind == "tornado" else plotting.indices
            stem = validate.name(path, "output", f"{kind}_{o.replace(':', '_')}")
            try:
                figures[stem] = draw_one(ds, o, goal_set, lang=lang)
            except (KeyError, ValueError, IndexError) as exc:
                raise InputError(path, None, f"not a result of `plansim sensitivity "
                                 f"--method {kind}` ({type(exc).__name__}: "
                                 f"{str(exc)[:60]})", "give a directory that command "
                                 "wrote") from exc
    written = []
    for stem, fig in figures.items():
        validate.name(source or "command line", "chart", stem)
        png = plotting.save(fig, out / f"{stem}_{lang}.png")
        written += [png, png.with_suffix(".svg")]
    return written


def _sweep_summary(source: Path) -> tuple[dict, Path]:
    """The summary of the sweep in ``source``: rebuilt from its store, checked whole
    (digests of metadata, coordinates and every block), when the store is there; else
    ``summary.json`` if it is a JSON object naming its scenario; else one line."""
    from ..sweep import store as sweep_store
    from ..sweep import summary as sweep_summary

    path = source / "summary.json"
    if (source / sweep_store.STORE).is_dir():
        return sweep_summary.summarize(source), source / sweep_store.STORE
    if not path.is_file():
        raise InputError(path, None, "no sweep summary", "give a `plansim sweep --out` DIR")
    summary = seal.read_json(path, "plansim sweep")
    if not isinstance(summary, dict) or not isinstance(summary.get("scenario"), str):
        raise InputError(path, "scenario", "not a sweep summary naming its scenario",
                         "rerun the `plansim sweep` command to rebuild it")
    return summary, path
