"""The main jobs from the command line: run (scorecard + netCDF) and reach (verdict + files)."""

import json

import numpy as np
import pytest
import xarray as xr

from simulator import cli
from simulator.inputs import goals, project
from simulator.running.provenance import file_hash

KARAMAY = project.find()


def test_run_writes_every_indicator_and_prints_the_scorecard(tmp_path, capsys):
    out = tmp_path / "plan.nc"
    assert cli.main(["run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for goal in goals.load().goals:
        assert goal.id in text
    assert "together" in text
    ds = xr.open_dataset(out)
    assert ds["time"].values.tolist() == list(range(2000, 2016))
    for name, ind in KARAMAY.indicators.items():
        assert name in ds and ds[name].dims == ("time",), name
        assert ds[name].attrs["units"] == ind.unit and ds[name].attrs["description"]
        assert np.isfinite(ds[name].values).all()
    assert ds.attrs["model_hash"] == file_hash(KARAMAY.model)
    assert ds.attrs["project"] == KARAMAY.name
    assert ds.attrs["scenario"] == "plan" and "version_pysd" in ds.attrs
    assert float(ds["energy_intensity_index"].sel(time=2005)) == 1.0
    # the history the calibrated run claims
    assert float(ds["gdp_nominal"].sel(time=2005)) == pytest.approx(120.88, rel=0.03)


@pytest.fixture(scope="module")
def reach_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("reach")
    args = ["--runs", "300", "--search-runs", "20", "--generations", "2", "--seed", "5"]
    for name in ("a", "b"):
        assert cli.main(["reach", *args, "--out", str(base / name)]) == 0
    return base


def test_reach_writes_summary_and_results(reach_runs):
    summary = json.loads((reach_runs / "a" / "summary.json").read_text())
    for key in ["runs", "seed", "model_hash", "scenario", "joint_probability", "goals",
                "binding_goals", "conflicts", "best_levers"]:
        assert key in summary, key
    assert summary["runs"] == 300 and summary["seed"] == 5
    jp = summary["joint_probability"]
    assert jp["interval"][0] <= jp["value"] <= jp["interval"][1]
    assert set(summary["goals"]) == set(goals.load().ids)
    assert set(summary["best_levers"]["values"]) >= {"greening spending share"}
    # levers the plan gives no size for are assumptions drawn with the futures, not searched
    assert "talent attraction rate" in summary["implementation"]
    assert "talent attraction rate" not in summary["best_levers"]["values"]
    ds = xr.open_dataset(reach_runs / "a" / "results.nc")
    assert ds["margin"].dims == ("run", "goal") and ds.sizes["run"] == 300
    assert ds["gdp_real"].dims == ("run", "time")
    assert ds["oil expansion shift"].dims == ("run",)
    counted = int(ds["plausible"].sum())
    assert summary["plausible_runs"] == counted
    joint = (ds["joint"].values.astype(bool) & ds["plausible"].values.astype(bool)).sum()
    assert jp["value"] == pytest.approx(joint / counted)


def test_reach_is_bit_identical_for_the_same_seed(reach_runs):
    a, b = reach_runs / "a", reach_runs / "b"
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    da, db = xr.open_dataset(a / "results.nc"), xr.open_dataset(b / "results.nc")
    xr.testing.assert_identical(da, db)


def test_reach_on_a_group_of_goals(tmp_path):
    out = tmp_path / "core"
    assert cli.main(["reach", "--goals", "design_card", "--runs", "300", "--search-runs", "20",
                     "--generations", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["goals"]) == set(goals.load().groups["design_card"])
    assert summary["goals_selected"] == "design_card"
    ds = xr.open_dataset(out / "results.nc")
    assert ds.sizes["goal"] == 5


def test_unknown_goal_selection_is_an_input_error(tmp_path, capsys):
    assert cli.main(["reach", "--goals", "gdp_nominal_2010,nope", "--runs", "10",
                     "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "--goals" in err and not (tmp_path / "x").exists()


def test_engine_check_of_a_subscripted_model(capsys):
    fixtures = __import__("pathlib").Path(__file__).parent / "fixtures"
    assert cli.main(["engine-check", str(fixtures / "subscripts.mdl"), "--runs", "2"]) == 0
    text = capsys.readouterr().out
    assert "subscripts.mdl: equal" in text and "3 runs" in text


def _control_lines() -> str:
    return "".join(f"{k} = {v}\n\t~\tYear\n\t~\t|\n\n" for k, v in (
        ("INITIAL TIME", 0), ("FINAL TIME", 2), ("TIME STEP", 1), ("SAVEPER", 1)))


def test_engine_check_names_a_refused_construct(tmp_path, capsys):
    mdl = tmp_path / "clock.mdl"
    mdl.write_text("{UTF-8}\nclock = GET TIME VALUE(2, 0, 1)\n\t~\tYear\n\t~\t|\n\n"
                   + _control_lines(), encoding="utf-8")
    assert cli.main(["engine-check", str(mdl)]) == 0
    assert "refused by name: refused at run: GET TIME VALUE of the computer clock" \
        in capsys.readouterr().out


def test_engine_check_of_random_functions_with_a_seed(tmp_path, capsys):
    """RANDOM draws: run i compared with plain PySD seeded [RANDOM_SEED, i]; GAME too."""
    mdl = tmp_path / "noise.mdl"
    mdl.write_text("{UTF-8}\nnoise = RANDOM UNIFORM(0, 1, 0) + GAME(2)\n\t~\tWidget\n"
                   "\t~\t|\n\n" + _control_lines(), encoding="utf-8")
    assert cli.main(["engine-check", str(mdl), "--random-seed", "12"]) == 0
    assert "noise.mdl: equal" in capsys.readouterr().out
    assert cli.main(["engine-check", str(mdl), "--random-seed", "-1"]) == 2
    assert "--random-seed" in capsys.readouterr().err


def test_engine_check_of_a_missing_file(tmp_path, capsys):
    assert cli.main(["engine-check", str(tmp_path / "absent.mdl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "absent.mdl" in err and "fix:" in err


def test_engine_check_when_plain_pysd_cannot_run_the_model(capsys):
    """Issue 21: plain PySD raises at its first step; no value of the engine is shown as checked."""
    suite = __import__("pathlib").Path(__file__).parent / "test-models"
    mdl = suite / "tests" / "data_from_other_model" / "model_to_generate_data.mdl"
    assert cli.main(["engine-check", str(mdl), "--runs", "1"]) == 1
    out = capsys.readouterr().out
    assert "model_to_generate_data.mdl: PySD cannot run this model" in out
    assert "not checked" in out and "equal" not in out


def test_engine_check_of_a_stella_model(capsys):
    """Issue 21: XMILE (.stmx) through PySD's XMILE translator, compared bit for bit."""
    stmx = (__import__("pathlib").Path(__file__).parent / "projects" / "valley_stella"
            / "model" / "valley.stmx")
    assert cli.main(["engine-check", str(stmx), "--runs", "2"]) == 0
    assert "valley.stmx: equal" in capsys.readouterr().out
