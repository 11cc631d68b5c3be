"""Scenario files: the shipped ones load; every bad one gets one clear line and exit code 2."""

import subprocess
import sys

import numpy as np
import pytest

from simulator import cli, sample
from simulator.errors import InputError
from simulator.inputs import model, scenario
from simulator.inputs.project import find

SCENARIOS_DIR = find().scenarios

SHIPPED = ["plan", "business-as-usual", "green-first", "growth-first"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_and_are_in_range(name):
    scen = scenario.load(name)
    params = model.parameters()
    assert scen.levers and scen.uncertainties and scen.calibrated
    for lever in scen.levers.values():
        assert params[lever.name].role == "lever"
        assert params[lever.name].contains(lever.value)
    for unc in scen.uncertainties.values():
        assert params[unc.name].contains(unc.low) and params[unc.name].contains(unc.high)


def test_scenarios_differ_in_their_levers():
    values = {n: {k: lv.value for k, lv in scenario.load(n).levers.items()} for n in SHIPPED}
    assert len({tuple(sorted(v.items())) for v in values.values()}) == len(SHIPPED)


def _write(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(f'goals = "{SCENARIOS_DIR / "goals.toml"}"\n'
                    f'calibration = "{SCENARIOS_DIR / "calibrated.toml"}"\n' + text,
                    encoding="utf-8")
    return path


BAD = {
    "unknown variable": ('[levers."talent atraction rate"]\nvalue = 0.01\n',
                         "talent atraction rate", "did you mean"),
    "value out of range": ('[levers."talent attraction rate"]\nvalue = 0.5\n',
                           "levers.talent attraction rate.value", "[0, 0.04]"),
    "bounds out of range": (('[levers."talent attraction rate"]\nvalue = 0.01\n'
                            'bounds = [0.0, 0.9]\n'), "bounds", "within"),
    "wrong role": ('[levers."retirement rate"]\nvalue = 0.02\n', "levers.retirement rate", "uncertain"),
    "unknown distribution": ('[uncertainties."retirement rate"]\ndistribution = "gamma"\n',
                             "distribution", "uniform"),
    "missing distribution key": (('[uncertainties."retirement rate"]\ndistribution = "uniform"\n'
                                 'low = 0.015\n'), "high", "needs"),
    "uncertainty out of range": (('[uncertainties."retirement rate"]\ndistribution = "uniform"\n'
                                 'low = 0.005\nhigh = 0.02\n'), "low", "outside"),
    "malformed toml": ('[levers."talent attraction rate"\nvalue = 1\n', "s.toml", "TOML"),
    "override out of range": ('[overrides]\n"land per capita" = 500\n',
                              "overrides.land per capita", "[80, 200]"),
    "unknown top-level key": ('leverz = 1\n', "leverz", "unknown key"),
    "set twice": (('[levers."talent attraction rate"]\nvalue = 0.01\n[overrides]\n'
                  '"talent attraction rate" = 0.02\n'), "talent attraction rate",
                  "more than one section"),
    "not a number": ('[levers."talent attraction rate"]\nvalue = "high"\n', "value", "number"),
    "implementation of a non-lever": (('[implementation."retirement rate"]\n'
                                       'distribution = "uniform"\nlow = 0.015\nhigh = 0.02\n'),
                                      "implementation.retirement rate", "uncertain"),
    "implementation out of range": (('[implementation."talent attraction rate"]\n'
                                     'distribution = "uniform"\nlow = 0.0\nhigh = 0.5\n'),
                                    "implementation.talent attraction rate.high", "outside"),
    "lever and implementation": (('[levers."talent attraction rate"]\nvalue = 0.01\n'
                                  '[implementation."talent attraction rate"]\n'
                                  'distribution = "uniform"\nlow = 0.0\nhigh = 0.01\n'),
                                 "talent attraction rate", "more than one section"),
}


def test_implementation_levers_are_sampled_with_the_futures(tmp_path):
    """A lever the plan gives no size for is drawn over its range in every ensemble and named
    as the verdict's assumption (issue 16)."""
    scen = scenario.load("plan")
    assert "talent attraction rate" in scen.implementation
    assert "talent attraction rate" not in scen.levers
    unc = scen.uncertainties["talent attraction rate"]
    draws = sample.latin_hypercube(scen.uncertainties, 200, 1)["talent attraction rate"].values
    assert unc.low <= draws.min() < draws.max() <= unc.high
    assert draws.max() - draws.min() > 0.8 * (unc.high - unc.low)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_is_one_clear_line(tmp_path, case):
    text, key, hint = BAD[case]
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        scenario.load(path)
    message = str(err.value)
    assert str(path) in message and key in message and hint in message
    assert "fix:" in message and "\n" not in message


def test_missing_scenario_file_names_it(tmp_path):
    with pytest.raises(InputError, match="not found"):
        scenario.load(tmp_path / "nope.toml")


def test_cli_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    path = _write(tmp_path, BAD["value out of range"][0])
    out = tmp_path / "out.nc"
    code = cli.main(["run", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "talent attraction rate" in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [path]
    code = cli.main(["reach", str(path), "--runs", "10", "--out", str(tmp_path / "r")])
    assert code == 2 and not (tmp_path / "r").exists()


def test_console_script_exit_code_is_2_for_a_missing_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run",
                           str(tmp_path / "missing.toml")], check=False, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "missing.toml" in proc.stderr


def test_latin_hypercube_is_seeded_and_respects_the_distributions():
    scen = scenario.load("plan")
    a = sample.latin_hypercube(scen.uncertainties, 500, seed=7)
    b = sample.latin_hypercube(scen.uncertainties, 500, seed=7)
    c = sample.latin_hypercube(scen.uncertainties, 500, seed=8)
    for name, unc in scen.uncertainties.items():
        np.testing.assert_array_equal(a[name].values, b[name].values)
        assert not np.array_equal(a[name].values, c[name].values)
        assert a[name].min() >= unc.low and a[name].max() <= unc.high
        # one sample per stratum: the sorted CDF positions fill [0, 1) evenly
    tri = scen.uncertainties["oil expansion shift"]
    assert abs(float(np.median(a["oil expansion shift"])) - tri.central) < 0.01


def test_discrete_and_truncnormal_distributions():
    d = scenario.Uncertainty("x", "discrete", {"values": [1.0, 2.0, 3.0],
                                               "weights": [1.0, 0.0, 1.0]})
    u = np.linspace(0, 0.999, 1000)
    assert set(np.unique(d.ppf(u))) == {1.0, 3.0}
    t = scenario.Uncertainty("y", "truncnormal", {"mean": 0.0, "sd": 1.0, "low": -1.0,
                                                  "high": 2.0})
    v = t.ppf(u)
    assert v.min() >= -1.0 and v.max() <= 2.0 and t.central == 0.0


def test_a_swept_implementation_lever_is_no_longer_drawn():
    """A sweep sets the levers it sweeps: the plan's implementation range of such a lever is
    not sampled on top (it would silently overwrite the swept value)."""
    scen = scenario.load("plan")
    decided = scen.deciding(["talent attraction rate", "greening spending share"])
    assert "talent attraction rate" not in decided.uncertainties
    assert "talent attraction rate" not in decided.implementation
    assert "investment attraction" in decided.uncertainties
    assert scen.deciding(["greening spending share"]) is scen
