"""plansim audit: each kind of contradiction is found in a synthetic plan, none in a clean one,
and the Karamay plan's own contradictions are listed with their arithmetic."""

import json
import math
import shutil
from pathlib import Path

import pytest

from simulator import cli
from simulator.audit import audit, project_files
from simulator.audit.report import table, to_json

FIXTURES = Path(__file__).parent / "fixtures" / "audit"
KINDS = {("implied_rate", "impossible"), ("implied_rate", "redundant"),
         ("history_pace", "departs"), ("nominal_real", "mismatch"), ("identity", "mismatch"),
         ("stated_rate", "mismatch"), ("sector_growth", "mismatch"), ("joint", "impossible")}


def _audit(project: Path):
    return audit(*project_files(project))


def _only(report, check, verdict, goal=None):
    found = [f for f in report.findings if f.check == check and f.verdict == verdict
             and (goal is None or goal in f.goals)]
    assert len(found) == 1, (check, verdict, goal, [f.en for f in report.findings])
    return found[0]


def test_every_planted_contradiction_is_found_with_its_arithmetic():
    report = _audit(FIXTURES / "planted")
    assert {(f.check, f.verdict) for f in report.findings} == KINDS
    wage = _only(report, "implied_rate", "impossible")
    assert set(wage.goals) == {"wage_2010", "wage_growth_cap_2010"}
    assert wage.numbers["first"] == pytest.approx(100 * (1.5 ** 0.2 - 1))
    assert wage.gap == pytest.approx(100 * (1.5 ** 0.2 - 1) - 5.0)
    tax = _only(report, "implied_rate", "redundant")
    assert tax.redundant == ("tax_growth_2010",) and tax.goals[0] == "tax_2010"
    prices = _only(report, "nominal_real", "mismatch")
    inflation = 100 * ((161 / (100 * 1.1 ** 5)) ** 0.2 - 1)
    assert prices.numbers["inflation"] == pytest.approx(inflation)
    assert prices.gap == pytest.approx(1.0 - inflation)
    sectors = _only(report, "sector_growth", "mismatch")
    assert sectors.numbers["computed"] == pytest.approx(5.0) and sectors.gap == pytest.approx(3.0)
    identities = [f for f in report.findings if f.check == "identity"]
    assert len(identities) == 3  # shares sum to 97; 27 is not 24/80; 600 x 200000 is not 100
    for f in report.findings:
        assert f.items and f.arithmetic and f.en and f.zh and f.gap > 0
        assert all(i.section and i.quote for i in f.items)


def test_the_clean_plan_gives_no_finding_though_every_check_runs():
    report = _audit(FIXTURES / "clean")
    assert report.findings == ()
    assert {f.check for f in report.consistent} == {k for k, _ in KINDS}
    assert "jobless_2006_2010" in report.unchecked_goals
    assert set(report.consistent_goals) == set(report.goals) - {"jobless_2006_2010"}


# one change to the clean plan, and the one kind of finding it should raise
PLANTS = [
    ("scenarios/goals.toml", "threshold = 26000.0", "threshold = 28000.0",
     {("implied_rate", "impossible"), ("history_pace", "departs")}),
    ("scenarios/goals.toml", 'comparator = "<="\nthreshold = 6.5', 'comparator = ">="\nthreshold = 5.0',
     {("implied_rate", "redundant")}),
    ("scenarios/goals.toml", "threshold = 135.0", "threshold = 127.6",
     {("nominal_real", "mismatch")}),
    ("scenarios/goals.toml", 'comparator = "<="\nthreshold = 51.0',
     'comparator = ">="\nthreshold = 61.0', {("joint", "impossible"), ("history_pace", "departs")}),
    ("models/data/history.csv", "output_per_head,2005,500", "output_per_head,2005,520",
     {("identity", "mismatch")}),
    ("models/data/accounts.toml", "value = 7.4", "value = 8.4", {("stated_rate", "mismatch")}),
    ("models/data/accounts.toml", "value = 6.0", "value = 7.0", {("sector_growth", "mismatch")}),
]


@pytest.mark.parametrize("file, old, new, expected", PLANTS, ids=[p[2] for p in PLANTS])
def test_one_planted_change_raises_its_kind_of_finding(tmp_path, file, old, new, expected):
    project = tmp_path / "plan"
    shutil.copytree(FIXTURES / "clean", project)
    path = project / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert {(f.check, f.verdict) for f in _audit(project).findings} == expected


@pytest.fixture(scope="module")
def karamay():
    return audit()


def test_karamay_current_price_gdp_goal_assumes_no_inflation(karamay):
    f = _only(karamay, "nominal_real", "mismatch")
    # 170亿 against 120.88 x 1.07^5: the two agree only with ~zero inflation
    assert f.numbers["real_level"] == pytest.approx(120.88 * 1.07 ** 5)
    assert f.numbers["inflation"] == pytest.approx(100 * ((170 / (120.88 * 1.07 ** 5)) ** 0.2 - 1))
    assert abs(f.numbers["inflation"]) < 0.1
    assert f.numbers["history_deflator"] == pytest.approx(
        100 * ((120.88 / 64.3) ** 0.2 / 1.074 - 1))


def test_karamay_income_growth_read_nominal_is_a_floor_below_the_level(karamay):
    """Issue 16 review findings 2-4: 5%/yr urban income growth is read at current prices (the
    plan's money rates are nominal), so the audit lists it as weaker than 15,000元 in 2010
    (10,788 x 1.05^5 = 13,769元 < 15,000元); the rural 450元 a year (5,850 + 5 x 450 = 8,100元)
    and the fiscal rate the 8亿元 level implies (13.06%/yr) state their levels again."""
    def redundant(*ids):
        return [f for f in karamay.findings
                if f.check == "implied_rate" and f.verdict == "redundant" and set(f.goals) == set(ids)]
    urban = redundant("urban_income_2010", "urban_income_growth_2010")
    assert len(urban) == 1
    assert urban[0].numbers["second_level"] == pytest.approx(10788 * 1.05 ** 5)
    assert urban[0].numbers["first"] == pytest.approx(100 * ((15000 / 10788) ** 0.2 - 1))
    rural = redundant("rural_income_2010", "rural_income_increase_2010")
    assert len(rural) == 1 and rural[0].numbers["first_level"] == 5850 + 5 * 450
    fiscal = redundant("fiscal_revenue_2010", "fiscal_revenue_growth_2010")
    assert len(fiscal) == 1
    assert fiscal[0].numbers["second_level"] == pytest.approx(8.0, abs=0.005)

def test_karamay_population_is_shown_as_the_plans_projection(karamay):
    assert "population_2010" not in karamay.goals
    said = karamay.projections["population_2010"]
    assert "235,000-245,000" in said and "not a goal" in said and "6.4 %/yr" in said
    assert "the plan's projections" in table(karamay)
    assert "population_2010" in karamay.to_dict()["projections"]


def test_karamay_level_goals_need_more_than_the_rate_goals(karamay):
    double = [f for f in karamay.findings if f.check == "implied_rate"
              and f.numbers["first"] == pytest.approx(100 * (2 ** 0.1 - 1))]
    assert len(double) == 1 and double[0].numbers["second"] == pytest.approx(7.0)
    assert round(double[0].gap, 2) == 0.18


def test_karamay_sector_rates_do_not_add_up_to_the_total(karamay):
    f = _only(karamay, "sector_growth", "mismatch")
    assert f.numbers["share_weighted_mean"] == pytest.approx(8.53, abs=0.01)  # ≈ 8.5
    assert 8.4 < f.numbers["computed"] < 8.8 and f.numbers["stated"] == 7.4


def test_karamay_audit_says_which_goals_are_consistent(karamay):
    assert karamay.consistent_goals and karamay.consistent
    broken = {g for f in karamay.findings if f.verdict in ("impossible", "mismatch")
              for g in f.goals}
    assert not broken & set(karamay.consistent_goals)
    text = table(karamay)
    assert "goals consistent with every goal and figure" in text
    assert "170" in text and "1.07" not in text.split("consistent checks:")[1]


def test_cli_prints_a_table_and_strict_json(capsys):
    assert cli.main(["audit", "--project", str(FIXTURES / "planted")]) == 0
    text = capsys.readouterr().out
    assert "impossible" in text and "wage_2010" in text and "没有任何数值" in text
    assert cli.main(["audit", "--project", str(FIXTURES / "planted"), "--json"]) == 0
    out = capsys.readouterr().out

    def no_constant(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    data = json.loads(out, parse_constant=no_constant)
    assert len(data["findings"]) == len(_audit(FIXTURES / "planted").findings)
    assert all(k in data["sources"] for k in map(str, project_files(FIXTURES / "planted")))
    assert "version_plansim" in data
    assert to_json(_audit(FIXTURES / "planted")) == to_json(_audit(FIXTURES / "planted"))
    for f in data["findings"]:
        assert all(v is None or math.isfinite(v) for v in f["numbers"].values())


@pytest.mark.parametrize("file, old, new, key", [
    ("models/data/accounts.toml", 'prices = "current"', 'prices = "nominal"', "rate[4].prices"),
    ("models/data/accounts.toml", "factor = 1.5", "factor = 0.5", "history_pace.factor"),
    ("models/data/history.csv", "indicator,year,value", "indicator,year,amount", "value"),
    ("models/data/history.csv", "tax,2005,5.0,", "tax,2005,five,", "line 21.value"),
    ("scenarios/goals.toml", 'base_year = 2005\nyears = [2010]\ncomparator = "<="',
     'years = [2010]\ncomparator = "<="', "goal 'wage_growth_cap_2010'.base_year"),
    # values go through simulator/inputs/validate.py: overflow, NaN, inf, wrong types, unknown keys
    ("models/data/accounts.toml", "factor = 1.5", "factor = 1" + "0" * 400,
     "history_pace.factor"),
    ("models/data/accounts.toml", "factor = 1.5", "factor = inf", "history_pace.factor"),
    ("models/data/accounts.toml", "factor = 1.5", "factr = 1.5", "history_pace.factr"),
    ("models/data/accounts.toml", "scale = 1e6", "scale = true",
     "product[0].scale"),
    ("models/data/accounts.toml", 'of = "va_farm"', 'of = "va_frm"', "rate[1].of"),
    ("models/data/history.csv", "tax,2005,5.0,", "tax,99999999999999999999999,5.0,", "line 21.year"),
    ("models/data/history.csv", "tax,2005,5.0,", "tax,2005,nan,", "line 21.value"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, capsys, file, old, new, key):
    project = tmp_path / "plan"
    shutil.copytree(FIXTURES / "clean", project)
    path = project / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert cli.main(["audit", "--project", str(project)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = captured.err.strip()
    assert "\n" not in line and line.startswith(f"plansim: error: {path}: {key}: ")
    assert "; fix: " in line


def test_an_empty_history_file_is_one_line(tmp_path, capsys):
    project = tmp_path / "plan"
    shutil.copytree(FIXTURES / "clean", project)
    (project / "models/data/history.csv").write_text("", encoding="utf-8")
    assert cli.main(["audit", "--project", str(project)]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "history.csv: empty; fix: " in line
