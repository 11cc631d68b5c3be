"""Sobol, Morris, PAWN and tornado through the project's own code path (known answers)."""

import numpy as np
import pytest
import xarray as xr

from simulator import cli
from simulator.analyze import sensitivity
from simulator.errors import InputError
from simulator.inputs import model, scenario

A, B = 7.0, 0.1
# Ishigami & Homma (1990), a = 7, b = 0.1: the analytical indices SALib's docs publish
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def ishigami(values):
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    y = np.sin(x1) + A * np.sin(x2) ** 2 + B * x3 ** 4 * np.sin(x1)
    return xr.DataArray(y[:, None], dims=("run", "output"), coords={"output": ["y"]})


ISHIGAMI = sensitivity.Problem(tuple(sensitivity.uniform(f"x{i}", -np.pi, np.pi)
                                     for i in (1, 2, 3)))


def test_sobol_matches_the_analytical_ishigami_indices():
    ds = sensitivity.indices(ISHIGAMI, ishigami, "sobol", n=4096, seed=1)
    assert ds.attrs["runs"] == 4096 * 5
    np.testing.assert_allclose(ds["S1"].sel(output="y").values, ISHIGAMI_S1, atol=0.02)
    np.testing.assert_allclose(ds["ST"].sel(output="y").values, ISHIGAMI_ST, atol=0.02)
    assert (ds["S1_conf"] > 0).all() and (ds["S1_conf"] < 0.05).all()


def test_morris_finds_the_exact_effects_of_a_linear_model():
    weights = {"a": 3.0, "b": -2.0, "c": 0.5}
    problem = sensitivity.Problem(tuple(sensitivity.uniform(k, 0, 1) for k in weights))

    def linear(values):
        y = sum(w * values[k] for k, w in weights.items())
        return xr.DataArray(y[:, None], dims=("run", "output"), coords={"output": ["y"]})

    ds = sensitivity.indices(problem, linear, "morris", n=10, seed=0)
    np.testing.assert_allclose(ds["mu_star"].sel(output="y").values, [3.0, 2.0, 0.5])
    np.testing.assert_allclose(ds["mu"].sel(output="y").values, [3.0, -2.0, 0.5])
    np.testing.assert_allclose(ds["sigma"].sel(output="y").values, 0.0, atol=1e-12)


def test_pawn_on_ishigami_puts_the_inert_input_last():
    ds = sensitivity.indices(ISHIGAMI, ishigami, "pawn", n=3000, seed=0)
    med = ds["median"].sel(output="y").values
    assert med[2] < med[0] and med[2] < med[1]


def test_tornado_orders_a_monotone_toy_model_by_swing():
    weights = {"small": 1.0, "large": -5.0, "medium": 2.5, "none": 0.0}
    problem = sensitivity.Problem(tuple(sensitivity.uniform(k, 0, 2, central=1)
                                        for k in weights))

    def toy(values):
        y = 10 + sum(w * values[k] ** 3 for k, w in weights.items())
        return xr.DataArray(y[:, None], dims=("run", "output"), coords={"output": ["y"]})

    ds = sensitivity.tornado_swings(problem, toy)
    order = ds["swing"].sel(output="y").sortby(ds["swing"].sel(output="y"), ascending=False)
    assert list(order["input"].values) == ["large", "medium", "small", "none"]
    assert float(ds["base"].sel(output="y")) == pytest.approx(10 + sum(weights.values()))
    assert float(ds["at_high"].sel(output="y", input="large")) < float(ds["base"].sel(output="y"))
    assert ds.attrs["runs"] == 1 + 2 * len(weights)


def test_a_bad_sobol_size_is_one_input_error():
    with pytest.raises(InputError, match="power of 2"):
        sensitivity.indices(ISHIGAMI, ishigami, "sobol", n=100)
    with pytest.raises(InputError, match="--method"):
        sensitivity.indices(ISHIGAMI, ishigami, "fast", n=64)


def _small_scenario():
    """The plan with two uncertainties and two levers, picked by role at test time."""
    plan = scenario.load("plan")
    unc = sorted(plan.uncertainties)[:2]
    lev = [k for k in sorted(plan.levers) if plan.levers[k].bounds[1] > plan.levers[k].bounds[0]]
    import dataclasses
    return dataclasses.replace(plan, uncertainties={k: plan.uncertainties[k] for k in unc},
                               levers={k: plan.levers[k] for k in lev[:2]})


def test_scenario_outputs_cover_goals_joint_and_indicator_years():
    scen = _small_scenario()
    outs = sensitivity.parse_outputs(f"goals,joint,{scen.goal_set().goals[0].indicator}:2010",
                                     scen)
    assert outs[-2:] == ["joint", f"{scen.goal_set().goals[0].indicator}:2010"]
    problem = sensitivity.from_scenario(scen)
    assert [i.kind for i in problem.inputs] == ["uncertainty"] * 2 + ["lever"] * 2
    ds = sensitivity.indices(problem, sensitivity.scenario_function(scen, outs), "morris",
                             n=4, seed=0)
    assert set(ds["output"].values) == set(outs)
    assert np.isfinite(ds["mu_star"].values).all()
    with pytest.raises(InputError, match="--outputs"):
        sensitivity.parse_outputs("no_such_thing", scen)
    with pytest.raises(InputError, match="--outputs"):
        sensitivity.parse_outputs("population:1990", scen)


def test_cli_sensitivity_writes_netcdf_csv_and_charts(tmp_path, capsys):
    levers = [k for k, p in model.parameters(role="lever").items() if p.upper > p.lower]
    assert levers
    rc = cli.main(["sensitivity", "plan", "--method", "morris", "--runs", "4", "--out",
                   str(tmp_path), "--outputs", "joint", "--lang", "zh"])
    assert rc == 0
    ds = xr.open_dataset(tmp_path / "morris.nc")
    assert "model_hash" in ds.attrs and ds.attrs["method"] == "morris"
    assert (tmp_path / "morris.csv").read_text().startswith("output,input")
    assert (tmp_path / "morris_joint.png").stat().st_size > 0
    assert (tmp_path / "morris_joint.svg").stat().st_size > 0
    assert cli.main(["sensitivity", "plan", "--method", "sobol", "--runs", "24",
                     "--out", str(tmp_path / "bad")]) == 2
    assert "power of 2" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("method,n", [("sobol", 64), ("morris", 8), ("pawn", 300)])
def test_a_seed_gives_bit_identical_indices(method, n):
    a = sensitivity.indices(ISHIGAMI, ishigami, method, n=n, seed=7)
    b = sensitivity.indices(ISHIGAMI, ishigami, method, n=n, seed=7)
    c = sensitivity.indices(ISHIGAMI, ishigami, method, n=n, seed=8)
    assert a.identical(b)
    assert not a.identical(c)
