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
from pathlib import Path

import numpy as np
import xarray as xr

from .. import calibrate, plotting
from ..analyze import reachability, sensitivity
from ..decide import reach
from ..errors import InputError
from ..inputs import history
from ..inputs import scenario as scenario_mod
from ..inputs.project import Project, find
from ..plotting import style
from ..running import outputs, results, runs
from . import briefing, labels

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:")
FOCUS_GOALS = 3
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


def _source(source: str | Path | None, project: Project | None
            ) -> tuple[xr.Dataset | None, scenario_mod.Scenario]:
    """A reach result with its scenario, or (None, the scenario to run): no runs yet."""
    project = find() if project is None else project
    if source is not None and (Path(source) / "results.nc").is_file():
        ds = briefing.load_results(source)
        name = ds.attrs.get("scenario_file", "")
        path = project.scenarios / name
        if not name or not path.is_file():
            raise InputError(Path(source) / "results.nc", "scenario_file",
                             f"scenario '{name}' is not in scenarios/",
                             "run `plansim brief SCENARIO` instead")
        scen = scenario_mod.load(path, project).with_goals(
            None if ds.attrs.get("goals_selected", "all") == "all" else ds.attrs["goals_selected"])
        return ds, scen
    if source is not None and Path(source).is_dir():
        raise InputError(source, None, "no results.nc in this directory",
                         "give a `plansim reach --out DIR` directory or a scenario")
    return None, scenario_mod.load(source, project)


def _reach(scen: scenario_mod.Scenario, runs_: int, seed: int, search_runs: int,
           generations: int) -> xr.Dataset:
    res = reach.reach(scen, runs=runs_, seed=seed, search_runs=search_runs,
                      generations=generations)
    best = res.best_evaluation.drop_vars("plausible", errors="ignore")
    ds = xr.merge([res.data, best.rename({k: f"best_{k}" for k in best.data_vars})])
    ds.attrs.update({**res.summary_json(), "best_levers": json.dumps(res.best_levers)})
    return ds


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
    """A probability in percent; ``n/a`` (in ``lang``) when no plausible future was counted."""
    return labels.text("not_available", lang) if p is None else f"{100 * p:.1f}%"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def build(ds: xr.Dataset, scen: scenario_mod.Scenario, lang: str = "en") -> str:
    """The brief's HTML."""
    t = lambda key, **kw: labels.text(key, lang, **{**labels.project_texts(scen.project), **kw})
    goal_set = scen.goal_set()
    gl = lambda gid: labels.goal_by_id(gid, goal_set, lang)
    summary = ds.plan.summary()
    best_summary = None
    if "best_met" in ds:
        best_summary = reachability.summarize(
            xr.Dataset({"met": ds["best_met"].astype(bool), "joint": ds["best_joint"]
                        .astype(bool)}), ds["plausible"].astype(bool))
    best_levers = json.loads(ds.attrs["best_levers"]) if "best_levers" in ds.attrs else {}
    pct = lambda p: _pct(p, lang)
    jp = summary["joint_probability"]
    lo, hi = jp["interval"]
    if summary["runs_counted"] == 0:  # nothing to count: say so, give no number
        verdict = [t("brief_no_plausible", n=ds.sizes["run"])]
    else:
        verdict = [t("brief_verdict", n=summary["runs_counted"], k=len(summary["goals"]),
                     p=pct(jp["probability"]), lo=pct(lo), hi=pct(hi))]
    if summary["held_back_by"]:
        step = summary["held_back_by"][0]
        verdict.append(t("brief_held_back", goal=gl(step["goal"]),
                         p=pct(step["joint_without"]["probability"])))
    if best_summary and best_summary["runs_counted"]:
        verdict.append(t("brief_best", p=pct(best_summary["joint_probability"]["probability"])))

    focus = focus_goals(summary)
    problem = sensitivity.from_scenario(scen)
    swings = sensitivity.tornado_swings(problem, sensitivity.scenario_function(scen, focus)) \
        if focus else None
    charts = [plotting.probabilities(summary, compare=best_summary, goal_set=goal_set,
                                     lang=lang)]
    if swings is not None:
        charts.append(plotting.tornado(swings, focus[0], goal_set, lang=lang))
        charts.append(plotting.fan(ds, goal_set[focus[0]].indicator, goal_set, scen.project,
                                   lang=lang)
                      if goal_set[focus[0]].indicator in ds else None)
    if focus:  # PAWN on the goals the brief explains (all 21 would take seconds more)
        charts.append(plotting.heatmap(ds.plan.sensitivity(focus), goal_set=goal_set,
                                       lang=lang))
    if summary["runs_counted"]:
        charts.append(plotting.conflicts(ds, goal_set, lang=lang))
    box = ds.plan.discover(focus[:1]) if focus else {}
    if box.get("restrictions"):
        charts.append(plotting.prim_limits(box, goal_set, lang=lang))
    images = [_png(f) for f in charts if f is not None]

    binding = ("、" if lang == "zh" else "; ").join(
        f"{gl(b['goal'])} ({pct(b['share'])})" for b in summary["binding_goals"][:3])
    held = [[f"{i + 1}. {gl(s['goal'])}", pct(s["probability_alone"]),
             pct(s["joint_without"]["probability"])]
            for i, s in enumerate(summary["held_back_by"])]
    lever_rows = []
    if swings is not None:
        row = swings.sel(output=focus[0])
        order = np.argsort(-row["swing"].values, kind="stable")
        for i in order:
            name = str(row["input"].values[i])
            if name not in scen.levers:
                continue
            lv = scen.levers[name]
            change = float(row["at_high"].values[i] - row["at_low"].values[i])
            lever_rows.append([labels.parameter(name, lang), f"{lv.value:g}",
                               f"[{lv.bounds[0]:g}, {lv.bounds[1]:g}]",
                               f"{best_levers[name]:.4g}" if name in best_levers else "",
                               f"{100 * change:+.1f}%"])
    scorecard = [[gl(g), pct(v["probability"]),
                  f"{pct(v['interval'][0])}–{pct(v['interval'][1])}"
                  if v["probability"] is not None else pct(None)]
                 for g, v in summary["goals"].items()]
    quotes = [[gl(g.id), g.describe(), g.section, g.quote] for g in goal_set.goals]
    levers = [[labels.parameter(k, lang), f"{lv.value:g}", f"[{lv.bounds[0]:g}, {lv.bounds[1]:g}]",
               f"{best_levers[k]:.4g}" if k in best_levers else ""]
              for k, lv in sorted(scen.levers.items())]
    uncs = [[labels.parameter(k, lang), u.distribution, f"{u.low:g}", f"{u.central:g}",
             f"{u.high:g}"] for k, u in sorted(scen.uncertainties.items())]
    central = runs.run_scenario(scen)
    fit = [[_figure_label(r["figure"], lang), f"{r['history']:g}", f"{r['model']:.4g}",
            t("yes") if r["within"] else t("no")]
           for r in calibrate.residual_table(central.indicators,
                                                    history.figures(scen.project))]
    audit = audit_findings(scen, lang)
    prov_keys = ("model_hash", "scenario", "scenario_hash", "calibration_hash", "seed",
                 "uncertainties_hash", "goals_hash", "version_plansim", "version_pysd",
                 "version_salib")
    prov = [[k, str(ds.attrs[k])] for k in prov_keys if k in ds.attrs]
    prov.append(["runs", str(ds.sizes["run"])])

    sections = [
        f"<h1>{html.escape(t('brief_title', scenario=scen.name))}</h1>",
        f"<p class='verdict'>{html.escape(' '.join(verdict))}</p>",
        f"<h2>{html.escape(t('brief_scorecard'))}</h2>",
        f"<img alt='scorecard' src='{images[0]}'>",
        _table([t("col_goal"), t("col_probability"), t("col_interval")], scorecard),
        f"<h2>{html.escape(t('brief_binding'))}</h2>",
        *([f"<p>{html.escape(t('brief_binding_goals', goals=binding))}</p>"]
          if binding else []),
        f"<p>{html.escape(t('brief_held_back_list'))}</p>",
        _table([t("col_dropped"), t("col_probability"), t("col_rest_together")], held),
    ]
    if lever_rows:
        sections += [f"<p>{html.escape(t('brief_levers_matter', goal=gl(focus[0])))}</p>",
                     _table([t("col_lever"), t("col_value"), t("col_bounds"), t("col_best"),
                             t("col_effect")], lever_rows)]
    sections.append(f"<h2>{html.escape(t('brief_charts'))}</h2>")
    sections += [f"<img alt='chart' src='{src}'>" for src in images[1:]]
    sections += [
        f"<h2>{html.escape(t('brief_assumptions'))}</h2>",
        f"<h3>{html.escape(t('brief_levers_table'))}</h3>",
        _table([t("col_lever"), t("col_value"), t("col_bounds"), t("col_best")], levers),
        f"<h3>{html.escape(t('brief_uncertainties_table'))}</h3>",
        _table([t("col_uncertainty"), t("col_distribution"), t("col_low"), t("col_central"),
                t("col_high")], uncs),
        f"<h3>{html.escape(t('brief_calibration'))}</h3>",
        _table([t("col_figure"), t("col_history"), t("col_model"), t("col_within")], fit),
        f"<h2>{html.escape(t('brief_goals_table'))}</h2>",
        _table([t("col_goal"), t("col_target"), t("col_section"), t("col_quote")], quotes),
        f"<h2>{html.escape(t('brief_audit'))}</h2>",
        ("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in audit) + "</ul>"
         if audit is not None else f"<p>{html.escape(t('brief_audit_missing'))}</p>"),
        f"<h2>{html.escape(t('brief_provenance'))}</h2>",
        _table(["", ""], prov),
    ]
    body = "\n".join(sections)
    css = (_font_face(body) + "body{font-family:'Brief CJK','DejaVu Sans',sans-serif;"
           "max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}"
           "h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #999;"
           "margin-top:2rem}h3{font-size:1rem}.verdict{font-size:1.1rem;background:#f3f3f3;"
           "padding:.8rem;border-left:4px solid #0072B2}img{max-width:100%;display:block;"
           "margin:1rem 0}table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}"
           "td,th{border:1px solid #bbb;padding:.2rem .4rem;text-align:left;"
           "vertical-align:top}")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f"<!DOCTYPE html>\n<html lang='{html_lang}'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>{html.escape(t('brief_title', scenario=scen.name))}</title>"
            f"<style>{css}</style></head><body>\n{body}\n</body></html>\n")


def brief(source=None, lang: str = "en", out: Path | str | None = None, runs_: int = 1000,
          seed: int = 0, search_runs: int = 100, generations: int = 3,
          project: Project | None = None, force: bool = False) -> Path:
    """Write the brief of a reach result directory or a scenario; the HTML file's path.

    An existing file at ``out`` is replaced only with ``force`` (checked before any run).
    """
    labels.check_lang(lang)
    style.use(lang)
    if out is not None and Path(out).suffix.lower() != ".html":
        raise InputError(out, "--out", "not an .html file", "give a path ending in .html")
    ds, scen = _source(source, project)
    out = Path(out) if out is not None else Path("out") / f"brief-{scen.name}-{lang}.html"
    outputs.check_file(out, force=force)
    if ds is None:
        from ..running import memory

        memory.check(reach.memory_bytes(scen, runs_, search_runs), f"brief over {runs_} "
                     "futures")
    with outputs.locked(out.parent if str(out.parent) else Path("."), "plansim brief"):
        if ds is None:
            ds = _reach(scen, runs_, seed, search_runs, generations)
        return results.write_text(build(ds, scen, lang), out)
