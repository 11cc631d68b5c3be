"""The one-page brief: self-contained, rendered by headless Chromium in both languages."""

import html
import re
import shutil
import subprocess

import matplotlib.image
import pytest

from simulator import cli
from simulator.inputs import scenario
from simulator.present import brief, labels


@pytest.fixture
def result_dir(small_reach_dir):
    return small_reach_dir


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is missing: apt-get install chromium (see README, Tests)"
    return path


def _screenshot(page, png):
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1200,1600", "--virtual-time-budget=5000",
                    f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return matplotlib.image.imread(png)[..., :3]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_brief_is_self_contained_and_renders(result_dir, tmp_path, lang, capsys):
    page = tmp_path / f"brief-{lang}.html"
    assert cli.main(["brief", str(result_dir), "--lang", lang, "--out", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    # nothing to fetch: every src/href/url() is inline, and the page forbids requests anyway
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)['"]|url\(([^)]*)\)""", text)
    assert refs and all((a or b).startswith("data:") for a, b in refs)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "http://" not in text and "https://" not in text
    plan = scenario.load("plan")
    for g in plan.goal_set().goals:
        assert g.quote in text
    for name in plan.levers:  # every lever, by its name in the page's language
        assert labels.parameter(name, lang) in text
    findings = brief.audit_findings(plan, lang)  # the plan audit's findings, when it exists
    for line in findings or []:
        assert html.escape(brief.localise_audit(line, plan.goal_set(), lang)) in text
    shot = _screenshot(page, tmp_path / f"shot-{lang}.png")
    ink = (shot.mean(axis=2) < 0.9).mean()
    assert shot.std() > 0.05 and ink > 0.03, "the screenshot is blank"


def test_brief_input_errors(tmp_path, capsys):
    assert cli.main(["brief", str(tmp_path), "--lang", "en"]) == 2
    assert "results.nc" in capsys.readouterr().err
    assert cli.main(["brief", "plan", "--out", str(tmp_path / "x.pdf")]) == 2
    assert cli.main(["brief", "plan", "--lang", "de"]) == 2
    assert not list(tmp_path.iterdir())


def test_focus_goals_start_with_what_holds_the_rest_back():
    summary = {"held_back_by": [{"goal": "b"}], "binding_goals": [{"goal": "c"}],
               "goals": {"a": {"probability": 0.2}, "b": {"probability": 0.5},
                         "c": {"probability": 0.9}, "d": {"probability": 1.0}}}
    assert brief.focus_goals(summary) == ["b", "c", "a"]


def test_the_audit_hook_puts_findings_in_the_brief(monkeypatch):
    """Until simulator.audit lands the hook returns None; with it, its findings are listed."""
    import sys
    import types

    import simulator

    finding = types.SimpleNamespace(verdict="impossible", en="A and B cannot both hold.",
                                    zh="甲与乙不能同时实现。")
    fake = types.ModuleType("simulator.audit")
    fake.audit = lambda goals_file, history_file=None: types.SimpleNamespace(findings=(finding,))
    monkeypatch.setitem(sys.modules, "simulator.audit", fake)
    monkeypatch.setattr(simulator, "audit", fake, raising=False)
    plan = scenario.load("plan")
    assert brief.audit_findings(plan, "zh") == ["[不可能同时成立] 甲与乙不能同时实现。"]
    assert brief.audit_findings(plan, "en") == ["[impossible] A and B cannot both hold."]


@pytest.fixture(scope="module")
def no_plausible_dir(tmp_path_factory):
    """A genuine reach result in which no sampled future reproduces the history: the
    project's copy reports 2005 GDP at three times the plan's 120.88 亿元, which no
    future of the model comes near (results are checked whole, so a result edited to
    say so would be refused): every probability is None. Returns (project, result)."""
    from pathlib import Path

    from simulator.decide import reach
    from simulator.inputs import project as project_mod

    root = Path(__file__).resolve().parents[1]
    copy = tmp_path_factory.mktemp("no-history-match")
    shutil.copy(root / "plansim.toml", copy)
    for folder in ("models", "scenarios"):
        shutil.copytree(root / folder, copy / folder, ignore=shutil.ignore_patterns(".cache"))
    history = copy / "models" / "data" / "history.csv"
    text = history.read_text(encoding="utf-8")
    assert "gdp_nominal,2005,120.88," in text
    history.write_text(text.replace("gdp_nominal,2005,120.88,", "gdp_nominal,2005,362.64,"),
                       encoding="utf-8")
    proj = project_mod.find(copy)
    out = tmp_path_factory.mktemp("none-plausible")
    result = reach.reach(scenario.load("plan", proj), runs=300, seed=2, search_runs=10,
                         generations=1)
    result.write(out)
    assert result.summary_json()["joint_probability"]["value"] is None
    return copy, out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_brief_with_no_plausible_future_says_so(no_plausible_dir, tmp_path, lang):
    page = tmp_path / f"none-{lang}.html"
    proj, result = no_plausible_dir
    assert cli.main(["brief", str(result), "--lang", lang, "--out", str(page),
                     "--project", str(proj)]) == 0
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert labels.text("v_no_plausible", lang, runs=300) in text
    assert labels.text("not_available", lang) in text
    assert "nan%" not in text and "None" not in text


def test_analyze_and_charts_with_no_plausible_future(no_plausible_dir, tmp_path, capsys):
    proj, result = no_plausible_dir
    assert cli.main(["analyze", str(result), "--project", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "No plausible future" in out and "probabilities" in out
    assert "sensitivity_chart" not in out
    for kind in ("scorecard", "fan", "conflicts"):
        assert cli.main(["chart", kind, str(result), "--out", str(tmp_path),
                         "--project", str(proj)]) == 0
    assert cli.main(["chart", "prim", str(result), "--out", str(tmp_path),
                     "--project", str(proj)]) == 2
    err = capsys.readouterr().err
    assert "no plausible future" in err and err.count("\n") == 1


def test_brief_does_not_replace_an_existing_file_without_force(result_dir, tmp_path, capsys):
    page = tmp_path / "brief.html"
    page.write_text("keep", encoding="utf-8")
    assert cli.main(["brief", str(result_dir), "--out", str(page)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err and str(page) in err
    assert page.read_text(encoding="utf-8") == "keep"
    # a scenario source is refused before its futures are run
    assert cli.main(["brief", "plan", "--runs", "50000000", "--out", str(page)]) == 2
    assert page.read_text(encoding="utf-8") == "keep"
    assert cli.main(["brief", str(result_dir), "--out", str(page), "--force"]) == 0
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
