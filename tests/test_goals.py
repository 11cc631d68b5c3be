"""Goal loading, validation and margins on hand-made indicator data."""

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
                   "energy_intensity_index", "green_ratio", "gdp_real", "population"]:
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


def test_a_goal_read_one_way_reports_the_other_reading_beside_it():
    """The income growth goal is read on nominal income; its real reading is evaluated too,
    and the summary carries its probability beside the goal's own."""
    from simulator.analyze import reachability

    plan_goal = goals.load()["urban_income_growth_2010"]
    assert plan_goal.other_reading == "urban_income_real" and "实际" in plan_goal.reading
    g = _goal(id="growth", indicator="urban_income", measure="growth", base_year=2005,
              threshold=5.0, other_reading="urban_income_real", reading="nominal")
    nominal = np.array([100.0 * 1.07 ** max(0, y - 2005) for y in YEARS])
    real = np.array([100.0 * 1.04 ** max(0, y - 2005) for y in YEARS])
    data = _data(urban_income=np.vstack([nominal, real]),
                 urban_income_real=np.vstack([real, real]))
    out = goals.evaluate(data, goals.GoalSet((g,)))
    assert out["met"].values[:, 0].tolist() == [True, False]
    assert out["met_other_reading"].values[:, 0].tolist() == [False, False]
    summary = reachability.summarize(out)
    assert summary["goals"]["growth"]["probability"] == 0.5
    assert summary["goals"]["growth"]["other_reading"]["probability"] == 0.0
    assert summary["goals"]["growth"]["other_reading"]["indicator"] == "urban_income_real"


def test_an_other_reading_without_its_reason_is_refused(tmp_path):
    path = tmp_path / "goals.toml"
    path.write_text('[[goal]]\nid = "g"\nindicator = "urban_income"\nyears = [2010]\n'
                    'comparator = ">="\nthreshold = 1.0\nunit = "u"\nsection = "s"\n'
                    'quote = "q"\nother_reading = "urban_income_real"\n', encoding="utf-8")
    with pytest.raises(InputError, match="reading"):
        goals.load(path)
