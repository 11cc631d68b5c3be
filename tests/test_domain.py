"""Runs outside the model's domain: one line naming variable, time and parameters; counted
apart in ensembles, never NaN in a summary."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator import cli
from simulator.decide import reach
from simulator.engine import VectorModel
from simulator.inputs import scenario
from simulator.running import domain, simulate

FUNCTIONS_MDL = Path(__file__).parent / "fixtures" / "functions.mdl"


@pytest.fixture(scope="module")
def fixture_model(tmp_path_factory):
    return VectorModel(FUNCTIONS_MDL, tmp_path_factory.mktemp("cache"))


@pytest.mark.filterwarnings("ignore:_hardcodedlookup:UserWarning")
def test_diagnosis_names_variable_time_and_the_parameter_responsible(fixture_model):
    defaults = fixture_model.parameters
    params = {"initial stock": -50.0, "growth rate": 0.09, "adjustment time":
              defaults["adjustment time"] * 1.5}
    years = fixture_model.default_years
    found = domain.diagnose(fixture_model, params, dict(defaults), ["Stock", "log stock"],
                            years)
    assert found is not None and found.variable == "log stock"
    assert found.time == years[0]
    assert found.responsible[0][:2] == ("initial stock", -50.0)
    assert "log stock" in found.describe() and "initial stock" in found.describe()
    fine = {"initial stock": 80.0}
    assert domain.diagnose(fixture_model, fine, dict(defaults), ["log stock"], years) is None


def _strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def outside_every(monkeypatch):
    """simulate.run with every ``k``-th run pushed outside the domain (NaN indicators)."""
    real = simulate.run
    state = {"k": 3}

    def run(params, names=None, **kwargs):
        data = real(params, names, **kwargs)
        bad = np.zeros(data.sizes["run"], dtype=bool)
        bad[::state["k"]] = True
        flag = xr.DataArray(bad, dims="run", coords={"run": data["run"]})
        timed = [k for k in data.data_vars if "time" in data[k].dims]
        data = data.assign({k: data[k].where(~flag) for k in timed})
        return data.assign(in_domain=data["in_domain"] & ~flag)

    monkeypatch.setattr(simulate, "run", run)
    return state


def test_ensembles_count_runs_outside_the_domain_apart(outside_every, tmp_path):
    scen = scenario.load("plan").with_goals("design_card")
    result = reach.reach(scen, runs=30, seed=1, search_runs=6, generations=1)
    assert result.outside_domain == 10
    assert not result.data["plausible"].values[::3].any()
    _, js = result.write(tmp_path / "r")
    summary = _strict(js.read_text())
    assert summary["outside_domain_runs"] == 10
    assert summary["plausible_runs"] <= 20
    verdict = result.verdict()
    assert "10 outside the model's domain" in verdict and "nan" not in verdict.lower()


def test_no_plausible_future_gives_no_probability_and_strict_json(outside_every, tmp_path):
    outside_every["k"] = 1
    scen = scenario.load("plan").with_goals("design_card")
    result = reach.reach(scen, runs=8, seed=1, search_runs=4, generations=1)
    verdict = result.verdict()
    assert "no probability can be given" in verdict and "nan" not in verdict.lower()
    assert "--runs" not in verdict
    _, js = result.write(tmp_path / "r")
    summary = _strict(js.read_text())
    assert summary["joint_probability"]["value"] is None and summary["plausible_runs"] == 0


def test_a_central_run_outside_the_domain_is_one_line(outside_every, tmp_path, capsys):
    outside_every["k"] = 1
    out = tmp_path / "x.nc"
    assert cli.main(["run", "--out", str(out)]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines()
             if not ln.startswith("plansim: project")]  # the project line of a checked run
    assert len(lines) == 1 and len(lines[0]) < 300 and "domain" in lines[0], lines
    assert not out.exists()
    inputs = _strict((tmp_path / "x.outside-domain.json").read_text())["inputs"]
    assert inputs == {k: float(v) for k, v in scenario.load("plan").central_parameters().items()}


def test_runs_outside_the_domain_with_growth_and_ratio_goals(outside_every):
    """Every goal of the plan, growth rates and ratios included: runs outside the domain are
    counted apart, never read (their indicators were once replaced by zeros, and 0 / 0 in a
    growth goal stopped the ensemble with a FloatingPointError)."""
    scen = scenario.load("plan")
    assert any(g.indicator for g in scen.goal_set().goals)
    result = reach.reach(scen, runs=30, seed=1, search_runs=6, generations=1)
    assert result.outside_domain == 10
    assert not result.data["met"].isel(run=slice(None, None, 3)).any()
    assert "nan" not in result.verdict().lower()
