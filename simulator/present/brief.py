"""``plansim brief``: one self-contained HTML page for a decision maker, in Chinese or English.

The page holds the verdict in one sentence, the scorecard, the binding goals and the
levers that matter most (tornado swings of every lever and uncertainty on the goals
holding the rest back), the key charts (embedded PNG), the assumptions (levers,
uncertainty ranges, calibration fit), each goal's plan quote and section, the plan's
internal contradictions (:mod:`simulator.audit`, when the package has it) and the
provenance. It opens offline: images are ``data:`` URIs, the Chinese font is a subset
of Noto Sans SC embedded in the page, and a Content-Security-Policy forbids any request.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from .. import calibrate, plotting
from ..analyze import reachability, sensitivity
from ..analyze import verdict as verdict_mod
from ..decide import reach, stored
from ..errors import InputError
from ..inputs import history, model, validate
from ..inputs import scenario as scenario_mod
from ..inputs.project import Project, find
from ..plotting import style
from ..running import outputs, results, runs, seal
from . import briefing, labels

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:")
FOCUS_GOALS = 3
RELAXED_ON_PAGE = 4  # relaxed thresholds on the brief's first pages (all: appendix)
EMBED_DPI = 130


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=EMBED_DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _font_face(page_text: str) -> str:
    """@font-face with Noto Sans SC cut down to the characters of the page (WOFF, data URI)."""
    from fontTools import subset

    style.cjk_font()
    import pylopdf_fonts_zh_cn

    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    font = subset.load_font(str(pylopdf_fonts_zh_cn.sans_path()), options)
    sub = subset.Subsetter(options)
    sub.populate(text="".join(sorted(set(page_text))))
    sub.subset(font)
    buf = io.BytesIO()
    subset.save_font(font, buf, options)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return ("@font-face{font-family:'Brief CJK';src:url(data:font/woff;base64," + data
            + ") format('woff');font-display:block;}")


def _load_dir(directory: Path, project: Project
              ) -> tuple[xr.Dataset, dict, scenario_mod.Scenario]:
    """A reach result directory: its ensemble, its summary.json and its scenario."""
    ds = briefing.load_results(directory)
    summary = (seal.read_json(directory / "summary.json", "plansim reach")  # else: results.nc
               if os.path.lexists(directory / "summary.json") else None)
    name = ds.attrs.get("scenario_file", "")
    if name:  # read back from a result file: a plain name in the project's scenarios
        validate.name(directory / "results.nc", "scenario_file", name)
    path = project.scenarios / name
    if not name or not path.is_file():
        raise InputError(directory / "results.nc", "scenario_file",
                         f"scenario '{name}' is not in scenarios/",
                         "run `plansim brief SCENARIO` instead")
    selected = None if ds.attrs.get("goals_selected", "all") == "all" else ds.attrs[
        "goals_selected"]
    scen = scenario_mod.load(path, project).with_goals(selected)
    briefing.check_against_goals(ds, directory / "results.nc", scen.goal_set(), project)
    if summary is not None:  # agrees with results.nc, and has the shape the page reads
        stored.check_summary(summary, ds, directory / "summary.json")
    if summary is not None and (summary.get("frontier") or {}).get("quick", True):
        # a deeper `plansim frontier` of the same futures beside the result wins over
        # reach's own quick one
        summary = _with_frontier(summary, directory, scen.name, selected)
    return ds, summary, scen


def _with_frontier(summary: dict, directory: Path, name: str, selected: str | None) -> dict:
    """``summary`` with the frontier ``plansim frontier`` wrote beside the reach result
    (``out/frontier-<scenario>[-<goals>]/frontier.json``, same seed), when there is one."""
    from ..inputs.validate import goal_suffix

    path = directory.parent / f"frontier-{name}{goal_suffix(selected)}" / "frontier.json"
    if not os.path.lexists(path):
        return summary
    frontier = stored.check_frontier(seal.read_json(path, "plansim frontier"), path)
    if frontier.get("seed") != summary.get("seed"):
        return summary
    return {**summary, "frontier": frontier}


def _source(source: str | Path | None, project: Project | None, out_root: Path = Path("out")
            ) -> tuple[Path, scenario_mod.Scenario | None]:
    """The reach result directory to read, and (when it must be run first) the scenario.

    A directory is read as it is; a scenario reads ``out/reach-<scenario>`` (what
    ``plansim reach`` writes) when it exists, else is run there first with reach's
    defaults, so the brief and ``plansim reach`` give one answer.
    """
    project = find() if project is None else project
    if source is not None and (Path(source) / "results.nc").is_file():
        return Path(source), None
    if source is not None and Path(source).is_dir():
        raise InputError(source, None, "no results.nc in this directory",
                         "give a `plansim reach --out DIR` directory or a scenario")
    scen = scenario_mod.load(source, project)
    directory = out_root / f"reach-{scen.name}"
    if (directory / "results.nc").is_file() and (directory / "summary.json").is_file():
        return directory, None
    return directory, scen


def verdict_text(directory: str | Path, lang: str = "en", project: Project | None = None
                 ) -> str:
    """The leader's verdict of a reach result directory: what ``plansim reach --lang``
    printed and the brief says."""
    ds, summary_json, scen = _load_dir(Path(directory), find() if project is None else project)
    met = ds["met"].values.astype(bool)[ds["plausible"].values.astype(bool)]
    return verdict_mod.leader(scen, summary_json, labels.check_lang(lang), met).text()


def read_from(source: str | Path | None, project: Project | None = None) -> Path:
    """The reach result directory the brief of ``source`` reads."""
    return _source(source, find() if project is None else project)[0]


def _run_reach(scen: scenario_mod.Scenario, directory: Path, runs_: int, seed: int) -> None:
    """``plansim reach`` of ``scen`` with its defaults into ``directory``."""
    reach.check_scenario(scen)
    outputs.check_dir(directory, reach.FILES, needed_bytes=reach.result_bytes(scen, runs_))
    with outputs.locked(directory, "plansim reach"):
        reach.reach(scen, runs=runs_, seed=seed).write(directory)


def focus_goals(summary: dict, n: int = FOCUS_GOALS) -> list[str]:
    """The goals to explain: those holding the rest back, then the least likely ones."""
    chosen = [s["goal"] for s in summary["held_back_by"]]
    chosen += [b["goal"] for b in summary["binding_goals"]]
    counted = [(g, v["probability"]) for g, v in summary["goals"].items()
               if v["probability"] is not None]  # None: no plausible future to count
    chosen += [g for g, p in sorted(counted, key=lambda kv: kv[1]) if p < 1]
    return list(dict.fromkeys(chosen))[:n]


def audit_findings(scen: scenario_mod.Scenario, lang: str) -> list[str] | None:
    """Hook for :mod:`simulator.audit` (the plan's internal contradictions, issue on branch
    ``audit``): each finding's verdict and sentence in ``lang``, most severe first; None
    while the package has no audit module."""
    try:
        from .. import audit
    except ImportError:
        return None
    report = audit.audit(scen.goals_path, scen.project.history)  # this project's history
    return [f"[{_verdict(f.verdict, lang)}] {getattr(f, lang)}" for f in report.findings]


def _verdict(verdict: str, lang: str) -> str:
    try:
        return labels.text(f"audit_{verdict}", lang)
    except KeyError:
        return verdict


def _figure_label(key: str, lang: str) -> str:
    """``gdp_nominal.2005`` -> ``2005年地区生产总值`` / ``GDP at current prices, 2005``."""
    indicator, year = key.rsplit(".", 1)
    name = labels.indicator(indicator, lang)
    return f"{year}年{name}" if lang == "zh" else f"{name}, {year}"


def _pct(p: float | None, lang: str = "en") -> str:
    """A probability in percent (``<0.1%`` for one future in thousands, not ``0.0%``);
    ``n/a`` (in ``lang``) when no plausible future was counted."""
    return labels.percent(p, lang)


def _table(head: list[str], rows: list[list[str]], code: tuple[int, ...] = ()) -> str:
    """An HTML table; columns in ``code`` are what a reader copies (hashes, versions)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    cell = lambda i, c: (f"<td><code>{html.escape(str(c))}</code></td>" if i in code
                         else f"<td>{html.escape(str(c))}</td>")
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def localise_audit(line: str, goal_set, lang: str) -> str:
    """An audit sentence with goal ids, indicator ids and goal units in the reader's words
    (labels.toml ``[audit_unit]``)."""
    words = {g.id: labels.goal(g, lang) for g in goal_set.goals}
    words.update({g.indicator: labels.indicator(g.indicator, lang) for g in goal_set.goals})
    for name in labels.indicator_names():
        words.setdefault(name, labels.indicator(name, lang))
    words.update(labels.audit_units(lang))
    for key in sorted(words, key=len, reverse=True):
        line = line.replace(key, words[key])
    return line


def _command_as_code(line: str, scenario_name: str) -> str:
    """The command a sentence tells the reader to run, set as code."""
    command = html.escape(f"plansim frontier {scenario_name}")
    return line.replace(command, f"<code>{command}</code>")


def _img(src: str, cls: str = "") -> str:
    return f"<img class='{cls}' alt='chart' src='{src}'>"


def _lever_rows(scen, best_levers: dict, lang: str) -> list[list[str]]:
    units = {k: p.units for k, p in model.parameters(scen.project).items()}
    value = lambda k, v: labels.parameter_value(k, v, units.get(k, ""), lang)
    return [[labels.parameter(k, lang), value(k, lv.value),
             f"{value(k, lv.bounds[0])} – {value(k, lv.bounds[1])}",
             value(k, best_levers[k]) if k in best_levers else ""]
            for k, lv in sorted(scen.levers.items())]


def _uncertainty_rows(scen, lang: str) -> list[list[str]]:
    units = {k: p.units for k, p in model.parameters(scen.project).items()}
    value = lambda k, v: labels.parameter_value(k, v, units.get(k, ""), lang)
    rows = []
    for k, u in sorted(scen.uncertainties.items(), key=lambda kv: labels.parameter(kv[0],
                                                                                   lang)):
        if "year" in k and units.get(k) == "Year":  # a year is a year: 2008, not 2.008e+03
            low, mid, high = (f"{round(v)}" for v in (u.low, u.central, u.high))
        else:
            low, mid, high = (value(k, v) for v in (u.low, u.central, u.high))
        rows.append([labels.parameter(k, lang), labels.distribution(u.distribution, lang),
                     low, mid, high])
    return rows


def build(ds: xr.Dataset, scen: scenario_mod.Scenario, lang: str = "en",
          summary_json: dict | None = None, source: str = "") -> str:
    """The brief's HTML: two A4 pages (verdict, scorecard, what holds it back, what would
    make it reachable, the levers that matter), then ``#appendix`` (a new page)."""
    t = lambda key, **kw: labels.text(key, lang, **{**labels.project_texts(scen.project, lang),
                                                    **kw})
    goal_set = scen.goal_set()
    gl = lambda gid: labels.goal_by_id(gid, goal_set, lang)
    summary = ds.plan.summary()
    if summary_json is None:  # a result without summary.json: the same fields from ds
        summary_json = {"runs": int(ds.sizes["run"]), "plausible_runs": summary["runs_counted"],
                        "outside_domain_runs": int((~ds["in_domain"].values.astype(bool))
                                                   .sum()) if "in_domain" in ds else 0,
                        "joint_probability": {"value": summary["joint_probability"]
                                              ["probability"], "interval": summary
                                              ["joint_probability"]["interval"]},
                        "goals": {g: {"value": v["probability"], "interval": v["interval"]}
                                  for g, v in summary["goals"].items()},
                        "held_back_by": summary["held_back_by"],
                        "projections": {p: {"value": v["probability"], "count": v["count"],
                                            "interval": v["interval"]}
                                        for p, v in summary.get("projections", {}).items()}}
    plausible = ds["plausible"].values.astype(bool)
    met = ds["met"].values.astype(bool)[plausible]
    said = verdict_mod.leader(scen, summary_json, lang, met)
    n = summary["runs_counted"]
    best_summary = None
    if "best_met" in ds:
        best_summary = reachability.summarize(
            xr.Dataset({"met": ds["best_met"].astype(bool), "joint": ds["best_joint"]
                        .astype(bool)}), ds["plausible"].astype(bool))
    best_levers = json.loads(ds.attrs["best_levers"]) if "best_levers" in ds.attrs else {}
    pct = lambda p: _pct(p, lang)

    focus = focus_goals(summary)
    problem = sensitivity.from_scenario(scen)
    swings = sensitivity.tornado_swings(problem, sensitivity.scenario_function(scen, focus)) \
        if focus else None
    scorecard_chart = _png(plotting.probabilities(summary, compare=best_summary,
                                                  goal_set=goal_set, lang=lang))
    tornado_chart = (_png(plotting.tornado(swings, focus[0], goal_set, lang=lang))
                     if swings is not None else None)
    extra = []
    if focus and goal_set[focus[0]].indicator in ds:
        extra.append(plotting.fan(ds, goal_set[focus[0]].indicator, goal_set, scen.project,
                                  lang=lang))
    if focus and n:  # PAWN on the goals the brief explains (all 21 would take seconds more)
        extra.append(plotting.heatmap(ds.plan.sensitivity(focus), goal_set=goal_set,
                                      lang=lang))
    if n:
        extra.append(plotting.conflicts(ds, goal_set, lang=lang))
    box = ds.plan.discover(focus[:1], inputs=discovery_inputs(ds, scen)) if focus and n \
        else {}
    if box.get("restrictions"):
        extra.append(plotting.prim_limits(box, goal_set, lang=lang, units={
            k: p.units for k, p in model.parameters(scen.project).items()}))
    extra_images = [_png(f) for f in extra if f is not None]

    rank = lambda i: f"{i + 1}." if i < said.stable_to else "·"  # only a stable rank
    held = [[f"{rank(i)} {labels.goal_target_by_id(s['goal'], goal_set, lang)}",
             t("count_of", c=labels.count(round(s["probability_alone"] * n)),
               n=labels.count(n), p=pct(s["probability_alone"])),
             t("count_of", c=labels.count(s["joint_without"]["count"]), n=labels.count(n),
               p=pct(s["joint_without"]["probability"]))]
            for i, s in enumerate(summary["held_back_by"])]
    lever_rows = []
    if swings is not None:
        units = {k: p.units for k, p in model.parameters(scen.project).items()}
        row = swings.sel(output=focus[0])
        order = np.argsort(-row["swing"].values, kind="stable")
        for i in order:
            name = str(row["input"].values[i])
            if name not in scen.levers:
                continue
            lv = scen.levers[name]
            value = lambda v, k=name: labels.parameter_value(k, v, units.get(k, ""), lang)
            change = float(row["at_high"].values[i] - row["at_low"].values[i])
            lever_rows.append([labels.parameter(name, lang), value(lv.value),
                               f"{value(lv.bounds[0])} – {value(lv.bounds[1])}",
                               value(best_levers[name]) if name in best_levers else "",
                               t("points", x=f"{100 * change:+.1f}")])
    scorecard = [[labels.goal_target(g, lang),
                  t("count_of", c=labels.count(round(v["probability"] * n)), n=labels.count(n),
                    p=pct(v["probability"])) if v["probability"] is not None else pct(None),
                  f"{pct(v['interval'][0])}–{pct(v['interval'][1])}"
                  if v["probability"] is not None else pct(None)]
                 for g, v in ((goal_set[k], v) for k, v in summary["goals"].items())]
    quotes = [[labels.goal_target(g, lang), g.section, g.quote] for g in goal_set.goals]
    central = runs.run_scenario(scen)
    fit = [[_figure_label(r["figure"], lang), labels.number(r["history"]),
            labels.number(r["model"]), t("yes") if r["within"] else t("no")]
           for r in calibrate.residual_table(central.indicators,
                                             history.figures(scen.project))]
    audit = audit_findings(scen, lang)
    prov_keys = ("model_hash", "scenario", "scenario_hash", "calibration_hash", "seed",
                 "uncertainties_hash", "goals_hash", "version_plansim", "version_pysd",
                 "version_salib")
    prov = [[t(f"prov_{k}"), str(ds.attrs[k])] for k in prov_keys if k in ds.attrs]
    prov.append([t("prov_runs"), str(ds.sizes["run"])])

    esc = html.escape
    title = t("brief_title", scenario=labels.scenario_name(scen.name, lang))
    relaxed_table = lambda rows: _table(
        [t("col_goal"), t("col_relaxed"), t("col_probability"), t("col_interval")],
        [[r["original"], r["relaxed"], pct(r["probability"]),
          f"{pct(r['ci'][0])}–{pct(r['ci'][1])}"] for r in rows])
    # the first page keeps the goals the nearest plan moves first; all of them: appendix
    path_rows = [relaxed_table(said.relaxed[:RELAXED_ON_PAGE])] if said.relaxed else []
    main = [
        f"<h1>{esc(title)}</h1>",
        "<div class='verdict'>" + f"<p class='answer'>{esc(said.answer)}</p>"
        + (f"<p>{esc(said.held_back)}</p>" if said.held_back else "")
        + (f"<p>{esc(said.path[0])}</p>" if said.path else "") + "</div>",
        f"<h2>{esc(t('brief_scorecard'))}</h2>",
        _img(scorecard_chart, "scorecard"),
        f"<h2>{esc(t('brief_binding'))}</h2>",
        _table([t("col_dropped"), t("col_alone"), t("col_rest_together")], held[:5]),
        f"<p class='small'>{esc(t('v_table_stability', k=said.stable_to, b=verdict_mod.BOOTSTRAP))}</p>",
        "<section id='path-to-yes'>",
        f"<h2>{esc(t('brief_path'))}</h2>",
        *[f"<p>{_command_as_code(esc(line), scen.name)}</p>" for line in said.path],
        *path_rows,
        "</section>",
    ]
    if lever_rows:
        main += [f"<h2>{esc(t('brief_levers_matter', goal=gl(focus[0])))}</h2>",
                 _table([t("col_lever"), t("col_value"), t("col_bounds"), t("col_best"),
                         t("col_effect")], lever_rows[:5])]
    main.append(f"<p class='small'>{esc(said.futures)}</p>")
    if source:  # which result this is (the path is what the reader types: <code>)
        said_source = t("v_source", runs=labels.count(ds.sizes["run"]),
                        seed=ds.attrs.get("seed", ""), path="")
        main.append(f"<p class='small'>{esc(said_source)}<code>{esc(source)}</code></p>")
    appendix = [
        "<section id='appendix'>",
        f"<h2>{esc(t('brief_appendix'))}</h2>",
        f"<h3>{esc(t('brief_scorecard'))}</h3>",
        _table([t("col_goal"), t("col_probability"), t("col_interval")], scorecard),
        # beside the scorecard: the plan's projections (e.g. its 2010 population: what it
        # expects, not a goal) and goals read the other way (goals.toml other_reading)
        *[f"<p class='expectation'>{esc(line)}</p>" for line in said.expectations],
        *[f"<p class='small reading'>{esc(line)}</p>" for line in said.readings],
        f"<h3>{esc(t('brief_held_back_list'))}</h3>",
        _table([t("col_dropped"), t("col_alone"), t("col_rest_together")], held),
    ]
    if len(said.relaxed) > RELAXED_ON_PAGE:
        appendix += [f"<h3>{esc(t('brief_path'))}</h3>", relaxed_table(said.relaxed)]
    if tornado_chart:
        appendix.append(_img(tornado_chart, "chart"))
    appendix += [f"<h3>{esc(t('brief_charts'))}</h3>",
                 *[_img(src, "chart") for src in extra_images],
                 f"<h3>{esc(t('brief_levers_table'))}</h3>",
                 _table([t("col_lever"), t("col_value"), t("col_bounds"), t("col_best")],
                        _lever_rows(scen, best_levers, lang)),
                 f"<h3>{esc(t('brief_uncertainties_table'))}</h3>",
                 _table([t("col_uncertainty"), t("col_distribution"), t("col_low"),
                         t("col_central"), t("col_high")], _uncertainty_rows(scen, lang)),
                 f"<h3>{esc(t('brief_calibration'))}</h3>",
                 _table([t("col_figure"), t("col_history"), t("col_model"), t("col_within")],
                        fit),
                 f"<h3>{esc(t('brief_goals_table'))}</h3>",
                 _table([t("col_goal"), t("col_section"), t("col_quote")], quotes),
                 f"<h3>{esc(t('brief_audit'))}</h3>",
                 ("<ul>" + "".join(f"<li>{esc(localise_audit(f, goal_set, lang))}</li>"
                                   for f in audit) + "</ul>"
                  if audit is not None else f"<p>{esc(t('brief_audit_missing'))}</p>"),
                 f"<h3>{esc(t('brief_provenance'))}</h3>",
                 "<div class='provenance'>" + _table(["", ""], prov, code=(1,)) + "</div>",
                 "</section>"]
    body = "\n".join(main + appendix)
    css = (_font_face(body) + "@page{size:A4;margin:14mm 14mm 14mm 14mm}"
           "body{font-family:'Brief CJK','DejaVu Sans',sans-serif;font-size:10.5pt;"
           "max-width:60rem;margin:1rem auto;padding:0 1rem;color:#111;line-height:1.4}"
           "h1{font-size:1.35rem;margin:.2rem 0 .5rem}h2{font-size:1.05rem;"
           "border-bottom:1px solid #999;margin:.8rem 0 .3rem}h3{font-size:.95rem}"
           "p{margin:.3rem 0}.verdict{background:#f3f3f3;padding:.5rem .8rem;"
           "border-left:4px solid #0072B2}.verdict .answer{font-size:1.1rem;font-weight:bold}"
           "img{max-width:100%;display:block;margin:.4rem auto}img.scorecard{max-height:118mm}"
           "img.chart{max-height:120mm;page-break-inside:avoid}"
           "table{border-collapse:collapse;font-size:.78rem;margin:.3rem 0}"
           "td,th{border:1px solid #bbb;padding:.1rem .35rem;text-align:left;"
           "vertical-align:top}.small{font-size:.8rem;color:#333}"
           "#appendix{page-break-before:always;break-before:page}"
           ".provenance td{font-family:monospace;font-size:.7rem}")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f"<!DOCTYPE html>\n<html lang='{html_lang}'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>{esc(title)}</title>"
            f"<style>{css}</style></head><body>\n{body}\n</body></html>\n")


def discovery_inputs(ds: xr.Dataset, scen: scenario_mod.Scenario) -> list[str]:
    """What PRIM may restrict: the scenario's uncertainties and levers present in the
    result (not the calibration constants the district cannot act on)."""
    names = set(scen.uncertainties) | set(scen.levers)
    return [v for v in ds.data_vars if v in names]


def brief(source=None, lang: str = "en", out: Path | str | None = None,
          runs_: int | None = None, seed: int = 0, project: Project | None = None,
          force: bool = False) -> Path:
    """Write the brief of a reach result directory or a scenario; the HTML file's path.

    A scenario reads ``out/reach-<scenario>`` when it exists, else runs ``plansim reach``
    into it first (``runs_`` futures, default reach's). An existing file at ``out`` is
    replaced only with ``force`` (checked before any run).
    """
    labels.check_lang(lang)
    style.use(lang)
    if out is not None and Path(out).suffix.lower() != ".html":
        raise InputError(out, "--out", "not an .html file", "give a path ending in .html")
    project = find() if project is None else project
    directory, to_run = _source(source, project)
    name = to_run.name if to_run is not None else None
    if name is None:
        ds, summary_json, scen = _load_dir(directory, project)
        name = scen.name
    out = Path(out) if out else Path("out") / f"brief-{name}-{lang}.html"
    outputs.check_file(out, force=force)
    runs_ = runs_ or reach.DEFAULT_RUNS
    if to_run is not None:
        from ..running import memory

        memory.check(reach.memory_bytes(to_run, runs_), f"brief over {runs_} futures")
    with outputs.locked(out.parent if str(out.parent) else Path("."), "plansim brief"):
        if to_run is not None:
            _run_reach(to_run, directory, runs_, seed)
            ds, summary_json, scen = _load_dir(directory, project)
        source_line = str(directory)
        text = build(ds, scen, lang, summary_json, source=source_line)
        return results.write_text(text, out)
