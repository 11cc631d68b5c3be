"""The brief as a district leader reads it: one answer everywhere, two A4 pages before the
appendix, Chinese without code ids, English words or scientific notation."""

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
import xarray as xr

from simulator import cli, plotting
from simulator.analyze import sensitivity, verdict
from simulator.inputs import model, scenario
from simulator.present import brief, briefing, labels
from simulator.running import seal

# Latin words a Chinese page may show: method names, the program's name, statistics.
ALLOWED = {"PRIM", "PAWN", "Sobol", "Morris", "KS", "S1", "ST", "plansim", "PySD", "SALib",
           "Wilson"}
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+")


class _Visible(HTMLParser):
    """Text a reader sees: no <style>, <script>, <title>; <code> (what the reader types or
    copies: a command, a path, a hash) kept apart."""

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.code = [], [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if {"style", "script", "title"} & set(self.stack):
            return
        (self.code if "code" in self.stack else self.text).append(data)


def visible(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.text)


def svg_text(path) -> str:
    """The text of a matplotlib SVG (glyphs are paths; each text keeps a comment)."""
    return html.unescape(" ".join(re.findall(r"<!-- (.*?) -->", path.read_text(encoding="utf-8"),
                                             re.DOTALL)))


def problems_zh(text: str, plan) -> list[str]:
    """Code ids, English words (units and parameter names included) and scientific notation
    in Chinese text."""
    found = [g for g in plan.goal_set().ids if g in text]
    found += [p for p in model.parameters(plan.project) if len(p) > 3 and
              re.search(rf"(?<![A-Za-z]){re.escape(p)}(?![A-Za-z])", text)]
    found += [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text) if w not in ALLOWED]
    found += SCIENTIFIC.findall(text)
    return found


def problems_en(text: str, plan) -> list[str]:
    return [g for g in plan.goal_set().ids if g in text] + SCIENTIFIC.findall(text)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is missing: apt-get install chromium (see README, Tests)"
    return path


def pdf_pages(page, pdf) -> int:
    """Pages of ``page`` printed to A4 by headless Chromium."""
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, capture_output=True, timeout=180)
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


@pytest.fixture(scope="module")
def pages(small_reach_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("briefs")
    written = {}
    for lang in ("zh", "en"):
        path = out / f"brief-{lang}.html"
        assert cli.main(["brief", str(small_reach_dir), "--lang", lang, "--out", str(path)]) == 0
        written[lang] = path
    return written


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_two_a4_pages_before_the_appendix(pages, lang, tmp_path):
    text = pages[lang].read_text(encoding="utf-8")
    cut = text.index("<section id='appendix'>")
    main = tmp_path / "main.html"
    main.write_text(text[:cut] + "</body></html>", encoding="utf-8")
    before = pdf_pages(main, tmp_path / "main.pdf")
    whole = pdf_pages(pages[lang], tmp_path / "whole.pdf")
    assert 1 <= before <= 2
    assert whole > before  # the appendix starts on a page of its own
    assert "page-break-before:always" in text
    # the provenance comes last, inside the appendix
    assert text.index(labels.text("brief_provenance", lang)) > cut


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_screen_says_the_answer_why_and_what_would_reach_it(pages, small_reach_dir,
                                                                 lang):
    text = pages[lang].read_text(encoding="utf-8")
    said = brief.verdict_text(small_reach_dir, lang).splitlines()
    box = text[text.index("class='verdict'"):text.index("</div>", text.index("class='verdict'"))]
    assert html.escape(said[0]) in box and html.escape(said[1]) in box  # answer, why
    path = text[text.index("id='path-to-yes'"):text.index("</section>",
                                                        text.index("id='path-to-yes'"))]
    assert re.search(r"\d+\.\d%", path)
    assert text.index("class='verdict'") < text.index("id='path-to-yes'") < text.index(
        "id='appendix'")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_plans_population_projection_is_shown_outside_the_verdict(pages, small_reach_dir,
                                                                      lang):
    """Issue 16: 2010年辖区人口将达24万左右 is what the plan expects, not a goal: summary.json
    gives its probability and band apart from the goals; the verdict and the brief say it
    under the answer, and the answer counts the 20 goals without it."""
    summary = json.loads((small_reach_dir / "summary.json").read_text(encoding="utf-8"))
    assert "population_2010" not in summary["goals"] and len(summary["goals"]) == 20
    assert all(s["goal"] != "population_2010" for s in summary["held_back_by"])
    projected = summary["projections"]["population_2010"]
    assert projected["band"] == [235000.0, 245000.0] and 0 <= projected["value"] <= 1
    said = brief.verdict_text(small_reach_dir, lang)
    n = summary["plausible_runs"]
    line = labels.text("v_expectation", lang, target=labels.goal_target_by_id(
        "population_2010", scenario.load("plan").goal_set(), lang), share=labels.text(
        "v_share", lang, k=labels.count(projected["count"]), n=labels.count(n),
        p=labels.percent(projected["value"], lang)))
    assert line in said.splitlines() and ("20" in said.splitlines()[0])
    assert html.escape(line) in pages[lang].read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_income_goals_other_reading_is_shown_beside_it(pages, small_reach_dir, lang):
    """The income growth goal is read at current prices; how often it holds read real is said
    in the verdict (`plansim reach --lang`) and the brief, from summary.json; the fiscal
    growth goal's other reading is the literal 15%/yr (issue 16 review, findings 2-4)."""
    summary = json.loads((small_reach_dir / "summary.json").read_text(encoding="utf-8"))
    other = summary["goals"]["urban_income_growth_2010"]["other_reading"]
    assert other["indicator"] == "urban_income_real"
    n = summary["plausible_runs"]
    met = labels.text("v_met", lang, k=labels.count(round(other["value"] * n)),
                      n=labels.count(n), p=labels.percent(other["value"], lang))
    lines = brief.verdict_text(small_reach_dir, lang).splitlines()
    line = next(x for x in lines if met in x and labels.indicator("urban_income_real", lang) in x)
    assert html.escape(line) in pages[lang].read_text(encoding="utf-8")
    fiscal = summary["goals"]["fiscal_revenue_growth_2010"]["other_reading"]
    assert fiscal["threshold"] == 15.0
    goal = scenario.load("plan").goal_set()["fiscal_revenue_growth_2010"]
    said = labels.goal_target(goal.other(), lang)
    assert "15" in said and any(said in x for x in lines)


def test_zh_brief_and_charts_have_no_code_ids_english_or_scientific_notation(
        pages, small_reach_dir, tmp_path):
    plan = scenario.load("plan")
    page_text = visible(pages["zh"].read_text(encoding="utf-8"))
    assert problems_zh(page_text, plan) == []
    assert problems_en(visible(pages["en"].read_text(encoding="utf-8")), plan) == []
    result = tmp_path / "r"
    shutil.copytree(small_reach_dir, result)
    briefing.analyze(result, lang="zh", progress=False)
    svgs = list((result / "analysis").glob("*_zh.svg"))
    assert len(svgs) >= 3
    for svg in svgs:
        assert problems_zh(svg_text(svg), plan) == [], svg.name


def test_the_check_catches_what_it_is_for():
    plan = scenario.load("plan")
    assert problems_zh("urban_income_2010要求", plan)
    assert problems_zh("相差20 元/person/yr", plan)
    assert problems_zh("油价冲击年份 2.01e+03", plan)
    assert problems_zh("maximum wage tightness", plan)
    assert problems_zh("2010年城镇居民人均可支配收入≥15000元（PRIM）", plan) == []


def test_reach_brief_and_analyze_print_one_verdict(tmp_path, capsys):
    out = tmp_path / "out" / "reach-plan"
    assert cli.main(["reach", "plan", "--runs", "120", "--search-runs", "5",
                     "--generations", "1", "--lang", "zh", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    said = brief.verdict_text(out, "zh")
    assert said in printed and "情景" in said and "Details" not in printed
    assert re.search(r"[\d,]+个与\d{4}–\d{4}年历史相符的情景中", said)
    # the brief of the directory and of the scenario (which reads out/reach-plan) agree
    page = tmp_path / "b.html"
    assert cli.main(["brief", str(out), "--lang", "zh", "--out", str(page)]) == 0
    first = said.splitlines()[0]
    assert html.escape(first) in page.read_text(encoding="utf-8")
    assert brief.read_from("plan") == brief._source("plan", None)[0]
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert brief.read_from("plan", scenario.load("plan").project) == out.relative_to(
            tmp_path)
    finally:
        os.chdir(here)
    capsys.readouterr()
    assert cli.main(["analyze", str(out), "--lang", "zh"]) == 0
    assert said in capsys.readouterr().out


def test_analyze_keeps_both_languages_and_draws_prim(small_reach_dir, tmp_path):
    result = tmp_path / "r"
    shutil.copytree(small_reach_dir, result)
    for lang in ("zh", "en"):
        written = briefing.analyze(result, lang=lang, progress=False)
        assert "prim" in written
    names = {p.name for p in (result / "analysis").iterdir()}
    for stem in ("probabilities", "prim", "sensitivity"):
        assert {f"{stem}_zh.png", f"{stem}_en.png", f"{stem}_zh.svg"} <= names


def test_prim_target_exists_when_the_joint_never_holds():
    summary = {"joint_probability": {"count": 0}, "runs_counted": 10,
               "held_back_by": [{"goal": "a"}, {"goal": "b"}],
               "goals": {"a": {"probability": 0.0}, "b": {"probability": 0.3}}}
    assert briefing.prim_target(summary) == ["b"]
    summary["joint_probability"]["count"] = 3
    assert briefing.prim_target(summary) is None


def test_ranking_is_claimed_only_as_far_as_it_is_stable():
    rng = np.random.default_rng(1)
    clear = np.ones((400, 3), bool)
    clear[:, 0] = rng.random(400) < 0.1  # goal a fails almost always: it holds the rest back
    clear[:, 1] = rng.random(400) < 0.6
    assert verdict.ranking_stability(clear, ["a", "b", "c"], depth=1) == 1
    noise = rng.random((60, 3)) < 0.5  # three goals alike: no order survives resampling
    assert verdict.ranking_stability(noise, ["a", "b", "c"]) < 3


def test_numbers_for_people():
    for x in (68470.3, 10788.0, 2.01e3, 0.0007064, 1e-9, 123456789.0):
        assert not SCIENTIFIC.search(labels.number(x))
    plan = scenario.load("plan").goal_set()
    assert labels.goal_target(plan["population_2010"], "zh") == "2010年常住人口约24万人（±0.5万人）"
    assert labels.goal_target(plan["population_2010"], "en") == (
        "Resident population, 2010 about 240,000 persons (± 5,000)")
    assert labels.goal_target(plan["urban_income_2010"], "zh") == \
        "2010年城镇居民人均可支配收入≥15000元"
    units = {k: p.units for k, p in model.parameters().items()}
    assert labels.parameter_value("science spending share", 0.02,
                                  units["science spending share"], "zh") == "2%"
    assert labels.parameter_value("talent attraction rate", 0.015,
                                  units["talent attraction rate"], "zh") == "1.5%/年"


def _sobol(s1, st, conf):
    n = len(s1)
    coords = {"output": ["joint"], "input": [f"x{i}" for i in range(n)]}
    arr = lambda v: xr.DataArray([v], dims=("output", "input"), coords=coords)
    ds = xr.Dataset({"S1": arr(s1), "ST": arr(st), "S1_conf": arr(conf), "ST_conf": arr(conf),
                     "kind": xr.DataArray(["lever"] + ["uncertainty"] * (n - 1), dims="input",
                                          coords={"input": coords["input"]})})
    ds.attrs.update(method="sobol", runs=64)
    return ds


def _texts(fig):
    import matplotlib.text

    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_sobol_caveat_and_lever_marker():
    bad = plotting.indices(_sobol([0.5, -0.1], [0.3, 0.2], [0.6, 0.6]), "joint", lang="zh")
    assert any(labels.text("sobol_caveat", "zh", n=64) in t for t in _texts(bad))
    assert any(labels.text("lever_marker", "zh") in t for t in _texts(bad))
    good = plotting.indices(_sobol([0.3, 0.1], [0.4, 0.2], [0.01, 0.01]), "joint", lang="en")
    assert not any("Caution" in t for t in _texts(good))


def test_no_chart_for_a_constant_output(tmp_path):
    ds = _sobol([0.0, 0.0], [0.0, 0.0], [0.0, 0.0])
    assert sensitivity.charts(ds, tmp_path, lang="en") == []
    assert labels.text("constant_output", "en") in sensitivity.report(ds, lang="en")


FRONTIER = {  # the shape of CONTRACT-frontier.md
    "target": 0.5, "futures": 100, "seed": 0,
    "maximal_sets": [{"goals": ["gdp_nominal_2010"], "size": 1, "levers": "scenario",
                      "probability": 0.9, "ci": [0.85, 0.95], "lever_values": {}}],
    "relaxed": [{"goal": "urban_income_2010", "label_en": "x", "label_zh": "x",
                 "comparator": ">=", "threshold": 13900.0, "original": 15000.0,
                 "unit": "元/人", "probability": 0.5, "ci": [0.47, 0.53], "reachable": True,
                 "lever_values": {}}],
    "ranking_stability": {"blocking_goals": ["urban_income_2010"], "stable_to": 1,
                          "bootstrap": 200},
    "nearest": {"kind": "threshold", "goals": ["urban_income_2010"], "probability": 0.5,
                "ci": [0.47, 0.53]}}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_path_to_yes_renders_the_frontier(small_reach_dir, tmp_path, lang):
    import json

    result = tmp_path / "r"
    shutil.copytree(small_reach_dir, result)
    summary = json.loads((result / "summary.json").read_text(encoding="utf-8"))
    summary["frontier"] = FRONTIER
    plan = scenario.load("plan")
    said = verdict.leader(plan, summary, lang)
    threshold = "≥13900元" if lang == "zh" else "≥ 13,900 yuan"
    assert threshold in said.path[0] and "50.0%" in said.path[0]
    assert said.relaxed and threshold in said.relaxed[0]["relaxed"]
    ds, _, scen = brief._load_dir(result, plan.project)
    page = brief.build(ds, scen, lang, summary)
    section = page[page.index("id='path-to-yes'"):page.index("</section>",
                                                           page.index("id='path-to-yes'"))]
    assert html.escape(threshold) in section and "50.0%" in section
    assert "plansim frontier" not in section  # the frontier is there: no need to run it


def test_the_brief_finds_the_frontier_beside_the_result(small_reach_dir, tmp_path):
    import json

    result = tmp_path / "out" / "reach-plan"
    shutil.copytree(small_reach_dir, result)
    plan = scenario.load("plan")
    quick = brief._load_dir(result, plan.project)[1].get("frontier")  # reach's own
    assert quick is None or quick["quick"]
    seed = json.loads((result / "summary.json").read_text(encoding="utf-8"))["seed"]
    (tmp_path / "out" / "frontier-plan").mkdir()
    (tmp_path / "out" / "frontier-plan" / "frontier.json").write_text(
        json.dumps(seal.sealed({**FRONTIER, "seed": seed})), encoding="utf-8")
    assert brief._load_dir(result, plan.project)[1]["frontier"]["nearest"]["kind"] == \
        "threshold"
