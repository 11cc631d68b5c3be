"""Goal loading, validation and margins on hand-made indicator data."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator.errors import InputError
from simulator.inputs import goals

YEARS = np.arange(2000, 2016)


def _data(**series):
    return xr.Dataset({k: (("run", "time"), np.atleast_2d(v)) for k, v in series.items()},
                      coords={"time": YEARS, "run": np.arange(np.atleast_2d(
                          next(iter(series.values()))).shape[0])})


def _goal(**kw):
    base = {"id": "g", "indicator": "gdp_real", "years": (2010,), "comparator": ">=", "threshold": 1.0,
                "unit": "u", "section": "s", "quote": "q"}
    base.update(kw)
    return goals.Goal(**base)


def test_plan_goals_load_and_cover_the_design_card():
    gs = goals.load()
    inds = {g.indicator for g in gs.goals}
    for needed in ["natural_growth_rate", "unemployment_rate", "urban_income",
                   "energy_intensity_index", "green_ratio", "gdp_real"]:
        assert needed in inds
    assert gs.out_of_scope and all(o["reason"] for o in gs.out_of_scope)
    every_year = gs["natural_growth_2006_2010"]
    assert every_year.years == (2006, 2007, 2008, 2009, 2010)
    assert gs["population_2010"].tolerance > 0 and gs["energy_intensity_2010"].tolerance > 0


def test_margin_sign_and_normalisation():
    real = 100 * 1.08 ** (YEARS - 2000)
    ds = _data(gdp_real=[real, real * np.where(YEARS > 2005, 0.9, 1.0)])
    g = _goal(measure="growth", base_year=2005, comparator=">=", threshold=7.0)
    ev = goals.evaluate(ds, goals.GoalSet((g,)))
    m = ev["margin"].sel(goal="g").values
    assert m[0] == pytest.approx((8.0 - 7.0) / 7.0, rel=1e-9)
    assert ev["met"].values[:, 0].tolist() == [True, False]
    assert ev["joint"].values.tolist() == [True, False]


def test_every_year_goal_takes_the_worst_year():
    rate = np.full(16, 5.0)
    rate[8] = 6.5  # 2008 breaks the bound
    ds = _data(natural_growth_rate=rate)
    g = _goal(indicator="natural_growth_rate", years=(2006, 2007, 2008, 2009, 2010),
              comparator="<", threshold=6.0)
    ev = goals.evaluate(ds, goals.GoalSet((g,)))
    assert not bool(ev["met"].item())
    assert float(ev["value"].item()) == 6.5
    assert float(ev["margin"].item()) == pytest.approx(-0.5 / 6.0)


def test_approx_goal_with_tolerance():
    pop = np.full(16, 245000.0)
    ds = _data(population=[pop, pop - 30000])
    g = _goal(indicator="population", comparator="approx", threshold=240000.0,
              tolerance=12000.0)
    ev = goals.evaluate(ds, goals.GoalSet((g,)))
    assert ev["met"].values[:, 0].tolist() == [True, False]


def test_nan_is_an_error_naming_run_and_goal():
    v = np.ones((3, 16))
    v[2, 10] = np.nan
    ds = _data(gdp_real=v)
    with pytest.raises(FloatingPointError, match="run 2"):
        goals.evaluate(ds, goals.GoalSet((_goal(),)))


@pytest.mark.parametrize("text,key", [
    ("[[goal]]\nid='a'\n", "goal[0].indicator"),
    (("[[goal]]\nid='a'\nindicator='nope'\nyears=[2010]\ncomparator='>='\nthreshold=1\n"
     "unit='u'\nsection='s'\nquote='q'\n"), "indicator"),
    (("[[goal]]\nid='a'\nindicator='gdp_real'\nyears=[2030]\ncomparator='>='\nthreshold=1\n"
     "unit='u'\nsection='s'\nquote='q'\n"), "years"),
    ("[[goal]\n", None),
])
def test_bad_goal_files_name_the_key(tmp_path, text, key):
    p = tmp_path / "g.toml"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        goals.load(p)
    assert str(p) in str(err.value)
    if key:
        assert key in str(err.value)


def test_the_income_growth_goal_is_read_real_with_the_nominal_reading_beside_it():
    """5%/yr urban income growth is a real rate (issue 16): read on real income, the
    nominal reading evaluated too, and the summary carries its probability beside."""
    from simulator.analyze import reachability

    plan_goal = goals.load()["urban_income_growth_2010"]
    assert (plan_goal.indicator, plan_goal.other_reading, plan_goal.kind) == (
        "urban_income_real", "urban_income", "target")
    assert "2005 prices" in plan_goal.unit and "nominal" in plan_goal.reading
    g = dataclasses.replace(plan_goal, id="growth")
    nominal = np.array([100.0 * 1.07 ** max(0, y - 2005) for y in YEARS])
    real = np.array([100.0 * 1.04 ** max(0, y - 2005) for y in YEARS])
    # future 0: 4%/yr real, 7%/yr nominal; future 1: 7%/yr real (no inflation)
    data = _data(urban_income=np.vstack([nominal, nominal]),
                 urban_income_real=np.vstack([real, nominal]))
    out = goals.evaluate(data, goals.GoalSet((g,)))
    assert out["met"].values[:, 0].tolist() == [False, True]
    assert out["met_other_reading"].values[:, 0].tolist() == [True, True]
    summary = reachability.summarize(out)
    assert summary["goals"]["growth"]["probability"] == 0.5
    assert summary["goals"]["growth"]["other_reading"]["probability"] == 1.0
    assert summary["goals"]["growth"]["other_reading"]["indicator"] == "urban_income"


def test_every_plan_goal_says_whether_it_is_a_target_or_a_projection():
    """Issue 16: a figure the plan expects (将达…左右) is a projection; the reason stands
    beside every goal in goals.toml."""
    gs = goals.load()
    assert [p.id for p in gs.projections] == ["population_2010"]
    assert "population_2010" not in gs.ids and len(gs.ids) == 20
    pop = gs["population_2010"]
    assert pop.kind == "projection" and "将达" in pop.quote
    assert goals.band(pop) == (235000.0, 245000.0)  # 24万左右: rounded to the nearest 万
    assert all("population_2010" not in members for members in gs.groups.values())
    with pytest.raises(InputError, match="projection"):  # `--goals population_2010`
        gs.select("population_2010")
    assert gs.select("population").projections == gs.projections  # shown with any goals
    text = Path(gs.source).read_text(encoding="utf-8")
    for block in text.split("\n[[goal]]\n")[1:]:
        assert "# Target:" in block or "# Projection" in block, block[:60]


def test_a_projection_is_shown_but_never_part_of_the_joint_verdict():
    from simulator.analyze import reachability

    target = _goal(id="t", indicator="gdp_real", threshold=1.0)
    projection = _goal(id="p", indicator="population", comparator="approx",
                       threshold=240000.0, tolerance=5000.0, kind="projection")
    pop = np.full(16, 240000.0)
    data = _data(gdp_real=np.ones((3, 16)), population=np.vstack([pop, pop + 6000, pop]))
    out = goals.evaluate(data, goals.GoalSet((target,), projections=(projection,)))
    assert out["met"].dims == ("run", "goal") and out.sizes["goal"] == 1
    assert out["joint"].values.tolist() == [True, True, True]  # run 1 misses p: still joint
    assert out["projection_met"].values[:, 0].tolist() == [True, False, True]
    summary = reachability.summarize(out)
    assert summary["joint_probability"]["probability"] == 1.0
    assert summary["projections"]["p"]["probability"] == pytest.approx(2 / 3)
    assert "p" not in summary["goals"] and not summary["held_back_by"]


@pytest.mark.parametrize("extra,key", [
    ('kind = "guess"\n', "kind"),
    ('kind = "projection"\n[groups]\ng = ["a", "b"]\n', "groups.g"),
])
def test_bad_projection_files_name_the_key(tmp_path, extra, key):
    path = tmp_path / "goals.toml"
    one = ('[[goal]]\nid = "{}"\nindicator = "population"\nyears = [2010]\n'
           'comparator = "<"\nthreshold = 1.0\nunit = "u"\nsection = "s"\nquote = "q"\n')
    path.write_text(one.format("a") + one.format("b") + extra, encoding="utf-8")
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        goals.load(path, years_available=None, vocabulary=None)


def test_an_other_reading_without_its_reason_is_refused(tmp_path):
    path = tmp_path / "goals.toml"
    path.write_text('[[goal]]\nid = "g"\nindicator = "urban_income"\nyears = [2010]\n'
                    'comparator = ">="\nthreshold = 1.0\nunit = "u"\nsection = "s"\n'
                    'quote = "q"\nother_reading = "urban_income_real"\n', encoding="utf-8")
    with pytest.raises(InputError, match="reading"):
        goals.load(path)
