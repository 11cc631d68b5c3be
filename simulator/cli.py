"""The ``plansim`` command line.

Bad input (an unknown variable, a value out of range, malformed TOML, a missing
file) is reported in one line naming the file, the key and the fix, with exit
code 2. A command writes its result files only when it has them whole. Every
command works on one plan project (``--project DIR``, else the current directory
or a parent, else the bundled example) and, once its inputs are checked, names it
in one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .errors import MAX_LINE, DomainError, InputError, PlansimError, one_line, shorten
from .inputs import validate
from .running import memory, outputs

EXIT_INPUT = 2
CLI = "command line"
MAX_SEED = 2**32 - 1  # scipy's differential evolution takes seeds below 2**32
MAX_NFEV = 100_000
MAX_GENERATIONS = 10_000
MAX_CHECK_RUNS = 1_000  # engine-check: each perturbed run is also one plain PySD run
FRONTIER_FILES = ("frontier.json", "pareto.csv", "tradeoffs_en.png", "tradeoffs_en.svg",
                  "tradeoffs_zh.png", "tradeoffs_zh.svg")


def _announce(args) -> None:
    """Say which project the command uses (once its inputs are checked)."""
    print(f"plansim: {args.project.describe()}", file=sys.stderr)


def _uncalibrated_note(scen) -> None:
    """Say so when the calibration file does not exist yet (a new project)."""
    from .inputs import model

    if not scen.calibration_path.is_file() and model.parameters(scen.project, "calibrated"):
        print(f"note: no calibration yet ({scen.calibration_path} does not exist): the model's "
              "defaults stand in for the calibrated values; run `plansim calibrate`")


def _cmd_run(args) -> int:
    from .inputs import scenario
    from .running import results, runs

    outputs.check_path_text(args.out, "--out")
    scen = scenario.load(args.scenario, args.project).with_goals(args.goals)
    out = (Path(args.out) if args.out is not None
           else Path("out") / f"{scen.name}{validate.goal_suffix(args.goals)}.nc")
    expected = results.provenance(scen)
    outputs.check_file(out, force=args.force, same_run=lambda p: results.same_inputs(
        results.netcdf_attrs(p), expected))
    _uncalibrated_note(scen)
    _announce(args)
    try:
        run = runs.run_scenario(scen)
    except DomainError as exc:
        raise _with_inputs_file(exc, out.with_name(f"{out.stem}.outside-domain.json")) from exc
    results.write_netcdf(run.dataset(), out, expected)
    print(run.scorecard())
    print(f"wrote {out}")
    return 0


def _with_inputs_file(exc: DomainError, path: Path) -> InputError:
    """Write the run's full inputs to ``path``; the error line then names that file."""
    from .running import results

    results.write_json({"problem": exc.problem, "inputs": exc.inputs}, path)
    fix = f"{exc.fix}; all inputs: {path}"
    room = MAX_LINE - len(exc.file) - len(exc.key or "") - len(fix) - 11
    problem = exc.diagnosis.describe(room) if exc.diagnosis is not None else exc.problem
    return InputError(exc.file, exc.key, problem, fix)


def _cmd_calibrate(args) -> int:
    from . import calibrate
    from .inputs import history

    validate.integer(CLI, "--max-nfev", args.max_nfev, 1, MAX_NFEV)
    validate.integer(CLI, "--seed", args.seed, 0, MAX_SEED)
    if args.out is None and not args.dry_run and args.project.found_by == "bundled example":
        raise InputError(args.project.calibration, "--out", "is the bundled example's "
                         "calibration, not a file to replace", "give --out FILE, or run it in "
                         "a project folder (`plansim init DIR`, --project DIR)")
    validate.integer(CLI, "--particles", args.particles, 4 * calibrate.waves.ISLANDS,
                     1_000_000)
    validate.integer(CLI, "--final-steps", args.final_steps, 40, 1_000_000)
    if args.workers is not None:
        validate.integer(CLI, "--workers", args.workers, 1, 64)
    outputs.check_path_text(args.out, "--out")
    if not args.dry_run:  # the project's calibration is the file `calibrate` exists to replace
        target = Path(args.out or args.project.calibration)
        own_toml, own_nc = _own_calibration(target, args.project)
        outputs.check_file(target, force=args.force or own_toml)
        outputs.check_file(target.with_suffix(".nc"), force=args.force or own_nc)  # ensemble
    history.figures(args.project, discrepancy=False)
    with _calibration_lock(args):  # one calibrate at a time; both files, or neither
        return _calibrate_run(args)


def _calibration_lock(args):
    import contextlib

    if args.dry_run:
        return contextlib.nullcontext()
    return outputs.locked(Path(args.out or args.project.calibration).parent,
                          "plansim calibrate")


def _calibrate_run(args) -> int:
    from . import calibrate
    from .inputs import history

    _announce(args)
    bar, close = _bar(None, "history matching (runs)")
    try:
        cal = calibrate.calibrate(args.project, seed=args.seed, max_nfev=args.max_nfev,
                                  particles=args.particles, max_steps=args.final_steps,
                                  progress=bar, quick=args.quick, workers=args.workers)
    finally:
        close()
    if args.json:
        print(json.dumps(_finite(cal.as_dict()), indent=1, ensure_ascii=False))
        if not args.dry_run:
            calibrate.write(cal, args.out)
        return 0 if cal.all_within else 1
    if args.report:
        print(cal.report())
    else:
        print(cal.point.table())
        e = cal.ensemble
        print(f"history space: {len(cal.target.names)} parameters, "
              f"{len(cal.identifiability.free)} directions determined by the history")
        print(f"history-matched ensemble: {e.size} sets, effective "
              f"{e.effective_sizes()['documented']:.0f} (`plansim calibrate --report` for the "
              "waves, convergence, residuals and bound hits)")
    for name, why in history.not_represented(args.project).items():
        print(f"not represented: {name}: {why}")
    if args.dry_run:
        print("dry run: nothing written")
    else:
        toml_path, nc_path = calibrate.write(cal, args.out)
        print(f"wrote {toml_path} and {nc_path}")
    if not cal.all_within:
        bad = [r["figure"] for r in cal.point.residuals if not r["within"]]
        print(f"point fit NOT within {history.CUTOFF:g} sd: {', '.join(bad)}")
        return 1
    print(f"every represented figure is within {history.CUTOFF:g} sd of its error model")
    return 0


def _own_calibration(target: Path, project) -> tuple[bool, bool]:
    """Whether ``target`` (and the ensemble ``.nc`` beside it) are the project's own
    calibration files, which `calibrate` replaces without --force: the manifest's path,
    inside the project, holding what `calibrate` wrote (or nothing yet)."""
    from .inputs import project as project_mod
    from .inputs import tomlfile

    if not (target.resolve() == Path(project.calibration).resolve()
            and project_mod.inside(target, project.root)):
        return False, False
    if not target.exists():
        return True, not os.path.lexists(target.with_suffix(".nc"))
    try:
        meta = tomlfile.read(target, "", "").get("meta", {})
    except PlansimError:
        return False, False
    ours = isinstance(meta, dict) and "model_hash" in meta
    return ours, ours and meta.get("ensemble_file") == target.with_suffix(".nc").name


def _finite(obj):
    """``obj`` for strict JSON: numpy numbers as Python ones, NaN and inf as null."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _bar(total: int | None, desc: str):
    """One tqdm bar on a terminal; (None, no-op) otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr)
    return (lambda k: bar.update(k)), bar.close


def _progress_lines(totals: dict[str, int], labels: dict[str, str]):
    """Off a terminal: one stderr line per tenth of each stage (a log shows the work goes on)."""
    done = dict.fromkeys(totals, 0)
    shown = dict.fromkeys(totals, 0)

    def progress(kind: str, k: int) -> None:
        done[kind] += k
        tenth = 10 * done[kind] // max(totals[kind], 1)
        if tenth > shown[kind]:
            shown[kind] = tenth
            print(f"plansim: {labels[kind]}: {done[kind]} of {totals[kind]}", file=sys.stderr,
                  flush=True)

    return progress, lambda: None


def _progress_bars(total_runs: int, generations: int):
    """tqdm bars on a terminal (runs, then search generations); plain lines otherwise."""
    totals = {"runs": total_runs, "search": generations + 1}
    labels = {"runs": "runs (scenario, then best levers)", "search": "lever search generations"}
    if not sys.stderr.isatty():
        return _progress_lines(totals, labels)
    from tqdm import tqdm

    bars = {kind: tqdm(total=totals[kind], desc=labels[kind], file=sys.stderr)
            for kind in totals}

    def close():
        for bar in bars.values():
            bar.close()

    return (lambda kind, k: bars[kind].update(k)), close


def _futures_command(args, command: str):
    """reach's and frontier's common options checked, the scenario loaded: (scenario, out)."""
    from .decide import reach
    from .inputs import scenario

    validate.integer(CLI, "--runs", args.runs, 1, reach.MAX_RUNS)
    validate.integer(CLI, "--search-runs", args.search_runs, 1, reach.MAX_RUNS)
    validate.integer(CLI, "--generations", args.generations, 1, MAX_GENERATIONS)
    validate.integer(CLI, "--seed", args.seed, 0, MAX_SEED)
    outputs.check_path_text(args.out, "--out")
    scen = scenario.load(args.scenario, args.project).with_goals(args.goals)
    reach.check_scenario(scen)
    memory.check(reach.memory_bytes(scen, args.runs, args.search_runs),
                 f"{command} over {args.runs} futures", args.max_memory)
    out = (Path(args.out) if args.out is not None
           else Path("out") / f"{command}-{scen.name}{validate.goal_suffix(args.goals)}")
    return scen, out


def _cmd_reach(args) -> int:
    from .decide import reach
    from .present import labels
    from .running import results

    labels.check_lang(args.lang)  # the verdict's language, before any work
    scen, out = _futures_command(args, "reach")
    expected = reach.recorded_inputs(scen, args.runs, args.seed, args.search_runs,
                                     args.generations, args.calibration)
    outputs.check_dir(out, reach.FILES, force=args.force, same_run=lambda d: (
        results.same_inputs(results.json_object(d / "summary.json"), expected)),
        needed_bytes=reach.result_bytes(scen, args.runs))
    deeper = _deeper_frontier(scen, args, None)  # a frontier.json beside: checked first
    with outputs.locked(out, "plansim reach"):
        _uncalibrated_note(scen)
        _announce(args)  # once the directory is ours
        progress, close = _progress_bars(2 * args.runs, args.generations)
        try:
            result = reach.reach(scen, runs=args.runs, seed=args.seed,
                                 search_runs=args.search_runs, generations=args.generations,
                                 progress=progress, calibration=args.calibration)
        finally:
            close()
        result.frontier = deeper if deeper is not None else result.frontier
        nc, js = result.write(out)
    print(result.leader_verdict(args.lang))
    if args.lang == "en":  # the analyst's details (goal ids, model units) in English only
        print("\nDetails for analysts:\n" + result.verdict())
    print(f"wrote {nc} and {js}")
    return 0


def _deeper_frontier(scen, args, quick: dict | None) -> dict | None:
    """`plansim frontier`'s result of the same inputs (its default --out), else ``quick``."""
    from . import decide

    found = decide.existing(Path("out") / f"frontier-{scen.name}{validate.goal_suffix(args.goals)}",
                            scen, args.runs, args.seed, args.calibration)
    return found if found is not None else quick


def _cmd_frontier(args) -> int:
    import json

    from . import decide
    from .decide import report
    from .inputs import model
    from .running import results

    if args.workers is not None:
        validate.integer(CLI, "--workers", args.workers, 1, 64)
    if not 0.0 < args.target < 1.0:
        raise InputError(CLI, "--target", f"{args.target:g} is not a probability between 0 "
                         "and 1", "give e.g. --target 0.5")
    scen, out = _futures_command(args, "frontier")
    outputs.check_dir(out, FRONTIER_FILES, force=args.force)
    with outputs.locked(out, "plansim frontier"):
        _uncalibrated_note(scen)
        if not args.json:
            _announce(args)
        print(f"plansim: frontier of {scen.name} over {args.runs} futures: searching on "
              f"{args.search_runs} plausible futures, at most {args.generations} generations",
              file=sys.stderr, flush=True)
        f = decide.frontier(scen, target=args.target, runs=args.runs, seed=args.seed,
                            search_runs=args.search_runs, generations=args.generations,
                            workers=args.workers, calibration=args.calibration)
        units = {k: p.units for k, p in model.parameters(scen.project).items()}
        js = results.write_json(f, out / decide.FILE, sealed=True)
        csv = results.write_csv(report.pareto_table(f, units), out / "pareto.csv")
        written = [js, csv]
        if not args.no_chart:
            from .plotting import tradeoffs

            for lang in ("en", "zh"):
                written.append(tradeoffs.save_tradeoffs(f, out / f"tradeoffs_{lang}", lang))
    if args.json:
        print(json.dumps(f, ensure_ascii=False, indent=1, allow_nan=False))
    else:
        print(report.text(f, units))
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_analyze(args) -> int:
    from .inputs import scenario
    from .present import briefing

    goal_set = (scenario.load(args.scenario, args.project).goal_set() if args.scenario
                else None)
    ds = briefing.load_results(args.dir)
    said = None
    if os.path.lexists(Path(args.dir) / "summary.json"):  # the verdict of reach and the brief
        from .present import brief

        said = brief.verdict_text(args.dir, args.lang, args.project)  # checked before work
    _announce(args)
    written = briefing.analyze(args.dir, goal_set, args.project, lang=args.lang,
                               progress=sys.stderr.isatty())
    if said is not None:
        print(said + "\n")
    for name, path in written.items():
        print(f"{name:28s} {path}")
    if not ds["plausible"].values.astype(bool).any():
        print(f"No plausible future among the {ds.sizes['run']} runs: every probability is "
              "n/a; no sensitivity indices or PRIM boxes.")
    return 0


def _cmd_sensitivity(args) -> int:
    from .analyze import sensitivity
    from .decide import reach
    from .inputs import scenario
    from .plotting import style
    from .present import labels

    lang = labels.check_lang(args.lang)
    if args.method not in (*sensitivity.METHODS, "tornado"):
        raise InputError("command line", "--method", f"'{args.method}' is not a method",
                         "use sobol, morris, pawn or tornado")
    validate.integer(CLI, "--seed", args.seed, 0, MAX_SEED)
    n = None
    if args.method != "tornado":
        n = sensitivity.check_size(args.method, sensitivity.DEFAULT_N[args.method]
                                   if args.runs is None else args.runs)
    elif args.runs is not None:
        raise InputError(CLI, "--runs", "tornado runs each input's two ends, no sample",
                         "leave --runs out with --method tornado")
    outputs.check_path_text(args.out, "--out")
    style.use(lang)
    scen = scenario.load(args.scenario, args.project)
    names = sensitivity.parse_outputs(args.outputs, scen)
    problem = sensitivity.from_scenario(scen, uncertainties=args.inputs != "levers",
                                        levers=args.inputs != "uncertainties")
    total = sensitivity.design_runs(args.method, problem, n)
    memory.check(reach.memory_bytes(scen, total, 0), f"{args.method} over {total} runs",
                 args.max_memory)
    out = (Path(args.out) if args.out is not None
           else Path("out") / f"sensitivity-{scen.name}")
    outputs.check_dir(out, sensitivity.files(args.method, names), force=args.force,
                      needed_bytes=reach.result_bytes(scen, 1) * len(names))
    with outputs.locked(out, "plansim sensitivity"):
        _announce(args)
        function = sensitivity.scenario_function(scen, names, seed=args.seed)
        if args.method == "tornado":
            ds = sensitivity.tornado_swings(problem, function)
        else:
            ds = sensitivity.indices(problem, function, args.method, n, seed=args.seed)
        written = sensitivity.write(ds, out, scen)
        written += sensitivity.charts(ds, out, scen.goal_set(), lang)
    print(sensitivity.report(ds, scen.goal_set(), lang))
    print(f"wrote {len(written)} files into {out} ({ds.attrs['runs']} runs)")
    return 0


def _cmd_chart(args) -> int:
    from .present import chart

    for path in chart.draw(args.kind, args.source, lang=args.lang, out=args.out,
                           indicator=args.indicator, goal=args.goal, output=args.output,
                           levers=args.levers, value=args.value, project=args.project):
        print(f"wrote {path}")
    return 0


def _cmd_brief(args) -> int:
    from .decide import reach
    from .present import brief

    if args.runs is not None:  # default: reach's own
        validate.integer(CLI, "--runs", args.runs, 1, reach.MAX_RUNS)
    validate.integer(CLI, "--seed", args.seed, 0, MAX_SEED)
    outputs.check_path_text(args.out, "--out")
    path = brief.brief(args.source, lang=args.lang, out=args.out, runs_=args.runs,
                       seed=args.seed, project=args.project, force=args.force)
    print(f"wrote {path} (the result it reads: {brief.read_from(args.source, args.project)})")
    return 0


def _cmd_sweep(args) -> int:
    from . import sweep

    outputs.check_path_text(args.out, "--out")
    out = Path(args.out) if args.out is not None else Path("out") / f"sweep-{Path(args.spec).stem}"
    outcome = sweep.execute(args.spec, out, workers=args.workers, scheduler=args.scheduler,
                            project=args.project, max_memory=args.max_memory,
                            security=args.security)
    _announce(args)  # after: a cluster that cannot be reached is still a one-line error
    print(outcome.report())
    return 0


def _cmd_params(args) -> int:
    from .inputs import model

    _announce(args)
    if args.markdown:
        print(model.markdown_table(args.project))
        return 0
    from .calibrate import space

    params = model.parameters(args.project, role=args.role)
    classes = space.classify(args.project)
    print(f"{'role':10s} {'class':8s} {'parameter':36s} {'default':>12s}  range  units  "
          "(class: history = matched to 2000-2005 by `plansim calibrate`, future = sampled "
          "with the futures; history effect in sd)")
    for p in sorted(params.values(), key=lambda p: (p.role, classes[p.name].cls, p.name)):
        c = classes[p.name]
        effect = f"  moves the history by {c.effect:.3g} sd" if c.role in model.ROLES else ""
        print(f"{p.role:10s} {c.cls:8s} {p.name:36s} {p.default:>12.6g}  [{p.lower:g}, "
              f"{p.upper:g}]  {p.units}{effect}")
    return 0


def _cmd_goals(args) -> int:
    from .inputs import scenario

    goal_set = scenario.load(args.scenario, args.project).goal_set()
    _announce(args)
    for g in goal_set.goals:
        print(f"{g.id:28s} {g.describe()}  [{g.section}] {g.quote}")
    if goal_set.projections:
        print(f"\nthe plan's projections ({len(goal_set.projections)}; shown beside the "
              "verdict, never part of it):")
        for g in goal_set.projections:
            print(f"  {g.id:26s} {g.describe()}  [{g.section}] {g.quote}")
    print(f"\nout of scope ({len(goal_set.out_of_scope)}):")
    for o in goal_set.out_of_scope:
        print(f"  [{o['section']}] {o['goal']}: {o['reason']}")
    return 0


def _cmd_audit(args) -> int:
    from . import audit
    from .audit import report
    from .inputs import project

    if args.project is not None and not (Path(args.project) / project.MANIFEST).is_file():
        found, files = None, audit.project_files(args.project)  # a folder without a manifest
    else:
        found = project.find(args.project)
        files = found.goals, found.history
    result = audit.audit(args.goals_file or files[0], args.history_file or files[1],
                         args.accounts_file)
    if found is not None:
        args.project = found
        _announce(args)
    print(report.to_json(result) if args.json else report.table(result))
    return 0


def _cmd_check(args) -> int:
    import json

    from .review import units

    report = units.check(args.model or args.project.model)
    _announce(args)
    print(json.dumps(report.as_dict(), indent=1, ensure_ascii=False) if args.json
          else report.text())
    return 0 if report.clean else 1


def _cmd_loops(args) -> int:
    import json

    from .review import loops

    years = None
    if args.years is not None:
        try:
            years = [float(y) for y in args.years.split(",")]
        except ValueError:
            raise InputError("command line", "--years", f"{args.years!r} is not a list of years",
                             "write --years 2010,2015") from None
    measurement = loops.measure_scenario(args.scenario, args.spec, years, args.project)
    _announce(args)
    if args.json:
        print(json.dumps(measurement.as_dict(), indent=1, ensure_ascii=False))
    else:
        print(measurement.markdown() if args.markdown else measurement.text())
    return 1 if measurement.problems else 0


def _cmd_init(args) -> int:
    from . import template

    written = template.write(args.dir)
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {args.dir} && plansim calibrate && plansim run && plansim reach "
          "(then replace the example model, history and goals: see the comments in each file)")
    return 0


def _cmd_engine_check(args) -> int:
    import tempfile

    from .engine import conformance
    from .engine.constructs import MODEL_SUFFIXES

    mdl = Path(args.model)
    if not mdl.is_file() or mdl.suffix.lower() not in MODEL_SUFFIXES:
        raise InputError(mdl, None, "no such model file (Vensim or Stella/XMILE)",
                         f"give the path of a {', '.join(MODEL_SUFFIXES)} file")
    validate.integer(CLI, "--runs", args.runs, 1, MAX_CHECK_RUNS)
    validate.integer(CLI, "--seed", args.seed, 0, MAX_SEED)
    if not 0 <= args.random_seed < 2 ** 32:
        raise InputError("command line", "--random-seed", "must be in [0, 2**32)",
                         "give a non-negative integer below 4294967296")
    with tempfile.TemporaryDirectory(prefix="plansim-engine-check-") as cache:
        verdict = conformance.check_model(mdl, n_runs=args.runs, seed=args.seed,
                                          cache_dir=cache, random_seed=args.random_seed)
    print(f"{mdl}: {verdict.status}")
    if verdict.status == conformance.NOT_RUNNABLE:  # nothing to check the engine against
        print(f"plain PySD raises {verdict.detail}; the engine's values are not checked "
              "(make the model run with plain PySD first)")
        return 1
    if verdict.status == conformance.ACCEPTED:
        print(f"the vectorised engine gives plain PySD's bits in {verdict.runs_compared} runs "
              f"(defaults, then {len(verdict.perturbed)} constants perturbed per run)")
    elif verdict.status == conformance.REFUSED:
        print(f"refused by name: {', '.join(verdict.constructs)}")
        print(verdict.detail)
    else:
        print(f"the engine differs from plain PySD: {verdict.detail}")
        return 1
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported as one InputError line."""

    def error(self, message: str):
        raise InputError(CLI, None, message, f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    from .calibrate import match
    from .calibrate import mixing as calibrate_mixing

    parser = _Parser(
        prog="plansim",
        description="Can a development plan's goals be reached together? (the bundled "
        "example: the Karamay District 11th Five-Year Plan)")
    where = ("plan project folder (with plansim.toml); default: the current directory or a "
             "parent, else the bundled Karamay example")
    parser.add_argument("--project", metavar="DIR", default=None, help=where)
    outside = ("let the model read GET DIRECT/XLS data files outside its own folder (only "
               "for a model you trust: see README, 'Models are programs')")
    parser.add_argument("--allow-outside-data", action="store_true", help=outside)
    sub = parser.add_subparsers(dest="command", required=True)
    project = argparse.ArgumentParser(add_help=False)  # also after the command
    project.add_argument("--project", metavar="DIR", default=argparse.SUPPRESS, help=where)
    project.add_argument("--allow-outside-data", action="store_true",
                         default=argparse.SUPPRESS, help=outside)

    p = sub.add_parser("init", help="write a new plan project (a small working example to "
                       "replace) into DIR")
    p.add_argument("dir", help="folder to create (must not exist or be empty)")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("run", parents=[project],
                       help="run a scenario's central case; print the scorecard")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario name in the project's scenarios or path to a .toml "
                   "(default: the project's default scenario)")
    p.add_argument("--out", help="netCDF file to write (default: out/<scenario>.nc)")
    p.add_argument("--goals", default=None, help="only these goals: a group of goals.toml "
                   "or comma-separated goal ids")
    p.add_argument("--force", action="store_true",
                   help="replace an existing result file of another run")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("frontier", parents=[project],
                       help="what would make the goals reachable: goal frontier, trade-offs "
                       "between goal groups, robust levers")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario name in the project's scenarios or path to a .toml "
                   "(default: the project's default scenario)")
    p.add_argument("--target", type=float, default=0.5,
                   help="probability the goals must reach together (default 0.5)")
    p.add_argument("--json", action="store_true", help="print frontier.json instead of text")
    p.add_argument("--runs", type=int, default=10_000, help="futures to sample")
    p.add_argument("--search-runs", type=int, default=300,
                   help="plausible futures the searches run on (figures: all futures)")
    p.add_argument("--generations", type=int, default=16,
                   help="most generations of the Pareto search (it stops earlier when the "
                   "Pareto set stops improving)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the search")
    p.add_argument("--workers", type=int, default=None,
                   help="processes for the search (default: the machine's cores, at most "
                   "2); results do not depend on it")
    p.add_argument("--goals", default=None,
                   help="only these goals: a group of the goals file or comma-separated ids")
    p.add_argument("--calibration", choices=["ensemble", "point"], default="ensemble",
                   help="as for reach")
    p.add_argument("--out", help="directory for frontier.json, pareto.csv and the trade-off "
                   "charts (default: out/frontier-<scenario>)")
    p.add_argument("--no-chart", action="store_true", help="skip the trade-off charts")
    p.add_argument("--force", action="store_true",
                   help="replace the results of another run in --out")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse a run estimated to need more memory, e.g. 8G")
    p.set_defaults(func=_cmd_frontier)

    p = sub.add_parser("reach", parents=[project],
                       help="joint reachability of the goals over sampled futures")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario name in the project's scenarios or path to a .toml "
                   "(default: the project's default scenario)")
    p.add_argument("--runs", type=int, default=None, help="futures to sample")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the search")
    p.add_argument("--out", help="directory for results.nc and summary.json "
                   "(default: out/reach-<scenario>)")
    p.add_argument("--search-runs", type=int, default=None,
                   help="futures per candidate in the lever search")
    p.add_argument("--generations", type=int, default=None,
                   help="generations of the lever search")
    p.add_argument("--goals", default=None,
                   help="only these goals: a group of the goals file (Karamay: design_card, "
                   "plan_2010, outlook_2015) or comma-separated goal ids")
    p.add_argument("--calibration", choices=["ensemble", "point"], default="ensemble",
                   help="ensemble: draw calibration sets of the project's history-matched "
                   "ensemble with the futures (default); point: every future on the point "
                   "calibration")
    p.add_argument("--force", action="store_true",
                   help="replace the results of another run in --out")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse a run estimated to need more memory (default: half the "
                   "machine's memory, or PLANSIM_MAX_MEMORY), e.g. 8G")
    p.add_argument("--lang", default="en", help="language of the verdict: zh | en (en adds "
                   "the analyst's details)")
    p.set_defaults(func=_cmd_reach)

    p = sub.add_parser("analyze", parents=[project],
                       help="briefing charts and tables from a reach result")
    p.add_argument("dir", help="directory written by `plansim reach --out DIR`")
    p.add_argument("--scenario", help="scenario whose goals to mark on the charts "
                   "(default: the project's goals)")
    p.add_argument("--lang", default="en", help="language of the charts: zh | en")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("sensitivity", parents=[project], help="Sobol, Morris or PAWN indices, or tornado swings, "
                       "of goal margins, joint success and indicator-years")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario name in scenarios/ or path to a .toml (default: plan)")
    p.add_argument("--method", default="sobol", help="sobol | morris | pawn | tornado")
    p.add_argument("--runs", type=int, default=None,
                   help="sobol: base samples, a power of 2 (runs = N x (inputs + 2), default "
                   "256); morris: trajectories (default 20); pawn: runs (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the design and the bootstrap")
    p.add_argument("--outputs", default=None, help="comma-separated: goals, joint, goal ids or "
                   "a group, indicator:year (default: goals,joint)")
    p.add_argument("--inputs", choices=["both", "uncertainties", "levers"], default="both",
                   help="what to vary (default: uncertainties and levers)")
    p.add_argument("--lang", default="en", help="language of the charts: zh | en")
    p.add_argument("--out", help="directory for <method>.nc, <method>.csv and the charts "
                   "(default: out/sensitivity-<scenario>)")
    p.add_argument("--force", action="store_true",
                   help="replace the results of another run in --out")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse a design estimated to need more memory (default: half the "
                   "machine's memory, or PLANSIM_MAX_MEMORY), e.g. 8G")
    p.set_defaults(func=_cmd_sensitivity)

    p = sub.add_parser("chart", parents=[project], help="one chart (PNG 300 dpi and SVG) from a result on disk")
    p.add_argument("kind", help="scorecard | fan | conflicts | prim | tornado | sobol | morris | "
                   "pawn | lever-map")
    p.add_argument("source", nargs="?", default=None, help="reach, sensitivity or sweep "
                   "directory, or a scenario (scorecard and fan of its central run)")
    p.add_argument("--lang", default="en", help="language of the chart: zh | en")
    p.add_argument("--out", default="out/charts", help="directory for the files")
    p.add_argument("--indicator", help="fan: the indicator (default: the first goal's)")
    p.add_argument("--goal", help="prim: the goal (default: all together)")
    p.add_argument("--output", help="tornado/sobol/morris/pawn: one output (default: all)")
    p.add_argument("--levers", help="lever-map: two swept levers, comma-separated")
    p.add_argument("--value", default="joint",
                   help="lever-map: joint, goals_met_mean or a goal id (default: joint)")
    p.set_defaults(func=_cmd_chart)

    p = sub.add_parser("brief", parents=[project], help="one self-contained HTML page for a decision maker")
    p.add_argument("source", nargs="?", default=None, help="a `plansim reach --out DIR` "
                   "directory, or a scenario name or .toml to run first (default: plan)")
    p.add_argument("--lang", default="en", help="language of the page: zh | en")
    p.add_argument("--out", help="HTML file to write (default: out/brief-<scenario>-<lang>.html)")
    p.add_argument("--runs", type=int, default=None,
                   help="futures to sample when SOURCE is a scenario without a result in "
                   "out/reach-<scenario> (default: reach's)")
    p.add_argument("--seed", type=int, default=0, help="seed when SOURCE is a scenario")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_cmd_brief)

    p = sub.add_parser("sweep", parents=[project],
                       help="levers x futures in resumable blocks, into a Zarr store")
    p.add_argument("spec", help="sweep spec .toml (e.g. scenarios/sweeps/migration-greening.toml)")
    p.add_argument("--out", help="directory for sweep.zarr and summary.json "
                   "(default: out/sweep-<spec>); rerun the same command to resume")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="run blocks in K local processes (default: in this process)")
    where.add_argument("--scheduler", default=None,
                       help="run blocks on the Dask cluster at tls://HOST:PORT (with "
                       "--security) or tcp://HOST:PORT (a trusted network only)")
    p.add_argument("--security", default=None, metavar="FILE",
                   help="TOML file naming the TLS certificates of a tls:// cluster: "
                   "ca_file, cert, key (PEM, relative to FILE)")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse a sweep estimated to need more memory (default: half the "
                   "machine's memory, or PLANSIM_MAX_MEMORY), e.g. 8G")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("calibrate", parents=[project],
                       help="identify, fit and history-match the model to the project's "
                       "history; writes the calibration TOML and its ensemble (.nc) beside it")
    p.add_argument("--out", default=None, help="calibration TOML to write (default: the "
                   "project's calibration file; the ensemble goes beside it, .nc)")
    p.add_argument("--report", action="store_true",
                   help="print the identifiability table (singular values, undetermined "
                   "combinations, per parameter) and the ensemble's spread")
    p.add_argument("--json", action="store_true", help="print the report's diagnostics as "
                   "JSON (history space, discrepancy, waves, convergence, residuals, bounds)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    p.add_argument("--particles", type=int, default=match.PARTICLES,
                   help="parameter sets the waves carry")
    p.add_argument("--final-steps", type=int, default=calibrate_mixing.MAX_STEPS,
                   help="steps of every chain at most (the chains stop earlier once "
                   "converged: >= 50 tau, split-R-hat <= 1.01)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes for the three priors' chains (default: one per prior, at "
                   "most the cores; the result is the same to the last bit)")
    p.add_argument("--quick", action="store_true", help=f"{match.QUICK['particles']} sets, "
                   f"{match.QUICK['max_steps']} chain steps, waves keeping "
                   f"{round(100 * match.QUICK['keep'])} in 100 sets: a fast, rough "
                   "calibration for tests")
    p.add_argument("--max-nfev", type=int, default=200, help="point-fit evaluation budget")
    p.add_argument("--dry-run", action="store_true", help="print the fit, write nothing")
    p.add_argument("--force", action="store_true",
                   help="replace an existing file given with --out")
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("params", parents=[project],
                       help="list the model's parameters, roles and ranges")
    p.add_argument("--role", choices=["calibrated", "uncertain", "lever", "fixed"])
    p.add_argument("--markdown", action="store_true",
                   help="print the table of calibrated, uncertain and lever parameters "
                   "that models/README.md holds")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("audit", parents=[project],
                       help="contradictions among the plan's own figures and goals, "
                       "by arithmetic alone (no model run)")
    p.add_argument("--goals-file", default=None, help="goals file (default: the project's)")
    p.add_argument("--history-file", default=None,
                   help="history CSV (default: the project's)")
    p.add_argument("--accounts-file", default=None,
                   help="accounts TOML (default: accounts.toml beside the history, if any)")
    p.add_argument("--json", action="store_true", help="print strict JSON instead of a table")
    p.set_defaults(func=_cmd_audit)


    p = sub.add_parser("check", parents=[project],
                       help="dimensional check of every equation of a model (pint); "
                       "exit 1 on findings")
    p.add_argument("model", nargs="?", default=None,
                   help="Vensim .mdl file (default: the project's model)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("loops", parents=[project],
                       help="activity and polarity of each documented feedback loop, "
                       "measured by knockout at two clean cuts; exit 1 when a loop is not "
                       "as documented (polarity included), 2 when a cut is not clean")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario whose central run is perturbed (default: the spec's "
                   "scenario, plan for models/loops.toml)")
    p.add_argument("--spec", default=None,
                   help="loops spec (default: the project's, manifest key `loops`)")
    p.add_argument("--years", default=None, help="years to measure, e.g. 2010,2015 "
                   "(default: the spec's years)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the measurement as JSON")
    out.add_argument("--markdown", action="store_true",
                     help="print the table that models/README.md holds")
    p.set_defaults(func=_cmd_loops)

    p = sub.add_parser("goals", parents=[project], help="list the goals a scenario evaluates")
    p.add_argument("scenario", nargs="?", default=None)
    p.set_defaults(func=_cmd_goals)

    p = sub.add_parser("engine-check", help="does the vectorised engine run a Vensim or "
                       "Stella (XMILE) model exactly as plain PySD does? (or which construct "
                       "it refuses)")
    p.add_argument("model", help="a Vensim .mdl or Stella/iThink .stmx/.xmile file")
    p.add_argument("--allow-outside-data", action="store_true", default=argparse.SUPPRESS,
                   help=outside)
    p.add_argument("--runs", type=int, default=3, help="runs with perturbed constants")
    p.add_argument("--seed", type=int, default=0, help="seed of the perturbations")
    p.add_argument("--random-seed", type=int, default=0,
                   help="seed of the RANDOM functions' streams: run i is compared with "
                        "plain PySD after np.random.seed([RANDOM_SEED, i])")
    p.set_defaults(func=_cmd_engine_check)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe (``plansim run | head -1``): send further output nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.allow_outside_data:  # read by the translator (engine/trust.py)
            from .engine.trust import ALLOW_OUTSIDE_DATA

            os.environ[ALLOW_OUTSIDE_DATA] = "1"
        if args.command == "reach":
            from .decide import reach

            args.runs = reach.DEFAULT_RUNS if args.runs is None else args.runs
            args.search_runs = reach.SEARCH_RUNS if args.search_runs is None else args.search_runs
            args.generations = (reach.SEARCH_GENERATIONS if args.generations is None
                                else args.generations)
        if args.command not in ("init", "audit"):  # audit also reads a bare plan folder
            from .inputs import project

            args.project = project.find(args.project)
        return args.func(args)
    except PlansimError as exc:
        print(f"plansim: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except Exception as exc:
        from .engine.errors import DomainError as ModelDomain
        from .engine.errors import EngineError

        # the engine's refusals of a model (untrusted, unsupported, unreadable) are input
        if not isinstance(exc, EngineError) or isinstance(exc, ModelDomain):
            raise
        print(f"plansim: error: {shorten(one_line(exc), MAX_LINE)}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
