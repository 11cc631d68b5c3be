"""Probabilities, Wilson intervals, binding goals and conflicts on known flags."""

import numpy as np
import pytest
import xarray as xr

from simulator.analyze import reachability


def test_wilson_matches_the_textbook_value():
    lo, hi = reachability.wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert reachability.wilson(0, 10)[0] == 0.0


def test_binding_and_conflicts():
    rng = np.random.default_rng(1)
    a = rng.random(4000) < 0.6
    b = ~a | (rng.random(4000) < 0.2)  # b mostly holds when a fails: a conflict
    c = np.ones(4000, bool)
    met = np.column_stack([a, b, c])
    ev = xr.Dataset({"met": (("run", "goal"), met), "joint": ("run", met.all(1))},
                    coords={"goal": ["a", "b", "c"]})
    s = reachability.summarize(ev)
    assert s["joint_probability"]["count"] == int((a & b).sum())
    assert s["conflicts"][0]["goals"] == ["a", "b"]
    binding = {x["goal"]: x["runs_only_missed"] for x in s["binding_goals"]}
    assert binding["a"] == int((~a & b).sum()) and "c" not in binding


def test_plausible_mask_excludes_runs():
    met = np.array([[True], [False], [False]])
    ev = xr.Dataset({"met": (("run", "goal"), met), "joint": ("run", met[:, 0])},
                    coords={"goal": ["a"]})
    s = reachability.summarize(ev, xr.DataArray([True, True, False], dims="run"))
    assert s["runs_counted"] == 2 and s["joint_probability"]["probability"] == 0.5
