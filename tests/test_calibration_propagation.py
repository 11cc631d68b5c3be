"""Calibration sets travel with the futures: variance shares, priors side by side."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from simulator import calibrate, sample
from simulator.analyze import calibration as cal_analysis
from simulator.calibrate import point, priors
from simulator.decide import reach
from simulator.inputs import goals, model, scenario
from simulator.running import simulate


@pytest.fixture(scope="module")
def plan():
    return scenario.load("plan")


@pytest.fixture(scope="module")
def joint(plan):
    return reach.reach(plan, runs=600, search_runs=20, generations=1)


def test_share_of_variance_follows_the_groups():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(100), 20)
    by_group = (rng.random(100) < 0.5)[groups]  # decided by the group alone
    noise = rng.random(2000) < 0.5  # decided by the run alone
    met = np.column_stack([by_group, noise, np.ones(2000, bool)])
    shares = cal_analysis.variance_shares(met, ["g", "f", "always"], groups)
    assert shares["g"]["calibration"] > 0.95
    assert shares["f"]["calibration"] < 0.05
    assert shares["always"] is None  # no variance to split
    assert shares["f"]["calibration"] + shares["f"]["future"] == pytest.approx(1.0)


def test_robustness_names_goals_that_move_or_flip():
    def summary(a, b):
        return {"goals": {"a": {"probability": a}, "b": {"probability": b}},
                "joint_probability": {"probability": min(a, b)}}

    out = cal_analysis.robustness({"documented": summary(0.30, 0.52),
                                   "uniform": summary(0.45, 0.48),
                                   "mirrored": summary(0.33, 0.50)})
    named = {d["goal"]: d for d in out["prior_dependent"]}
    assert named["a"]["spread"] == pytest.approx(0.15) and not named["a"]["verdict_flips"]
    assert named["b"]["verdict_flips"] and named["b"]["spread"] < 0.10


def test_robustness_leaves_out_a_prior_without_plausible_runs():
    def summary(a):
        return {"goals": {"a": {"probability": a}}, "joint_probability": {"probability": a}}

    out = cal_analysis.robustness({"documented": summary(0.30), "uniform": summary(None),
                                   "mirrored": summary(0.50)})
    assert out["probabilities"]["uniform"]["a"] is None
    assert {d["goal"] for d in out["prior_dependent"]} == {"a", "ALL"}
    none = cal_analysis.robustness({"documented": summary(None), "uniform": summary(None)})
    assert none["prior_dependent"] == []


def test_runs_record_their_calibration_set(plan, joint):
    sets = plan.calibration_sets()
    data = joint.data
    idx = data["calibration_set"].values
    assert idx.min() >= 0 and idx.max() < sets.size
    for j, name in enumerate(sets.names):
        if name in plan.overrides or name in plan.uncertainties:
            continue
        np.testing.assert_array_equal(data[name].values, sets.values[idx, j])
    assert np.unique(idx).size > 1
    doc = joint.summary_json()
    text = json.dumps(doc, allow_nan=False)  # no NaN in JSON
    cal = doc["calibration"]
    assert cal["mode"] == "ensemble" and cal["sets_hash"] == sets.file_hash
    assert set(cal["robustness"]["probabilities"]) == set(priors.PRIORS)
    assert "ALL" in cal["variance_shares"] and "calibration" in text
    assert set(cal["fixed_uncertain"]) <= set(model.parameters(role="uncertain"))
    assert "Robustness to the calibration prior" in joint.verdict()


def test_point_calibration_keeps_every_future_on_the_point(plan):
    samples = sample.futures(plan, 50, seed=1, calibration="point")
    assert "calibration_set" not in samples.coords
    assert not set(samples.data_vars) & set(plan.calibrated)
    r = reach.reach(plan, runs=50, search_runs=10, generations=1, calibration="point")
    assert r.calibration["mode"] == "point" and "variance_shares" not in r.calibration
    assert "Calibration: point values" in r.verdict()


def _central_verdicts(plan, calibrated: dict[str, float]) -> dict[str, bool]:
    scen = dataclasses.replace(plan, calibrated=calibrated)
    data = simulate.run(scen.central_parameters(), project=plan.project)
    indicators = data[[k for k in data.data_vars if "time" in data[k].dims]]
    ev = goals.evaluate(indicators, scen.goal_set())
    return {str(g): bool(m) for g, m in zip(ev["goal"].values, ev["met"].values[0])}


def test_a_different_default_no_longer_changes_the_verdict_silently(plan, joint):
    """Fit the point from other defaults (mirrored in their ranges): an equally good fit.
    Every goal whose central verdict it flips is either named by the robustness check
    or left undecided by the ensemble (probability between 5% and 95%)."""
    target = calibrate.Target.of_model()
    other = dataclasses.replace(target, default=priors.centre(
        "mirrored", target.lower, target.upper, target.default))
    refit = point.fit(other)
    assert refit.all_within, refit.table()
    before = _central_verdicts(plan, plan.calibrated)
    after = _central_verdicts(plan, refit.values)
    flipped = [g for g in before if before[g] != after[g]]
    named = {d["goal"] for d in joint.calibration["robustness"]["prior_dependent"]}
    probability = {g: v["probability"] for g, v in joint.summary["goals"].items()}
    silent = [g for g in flipped if g not in named and not 0.05 <= probability[g] <= 0.95]
    assert not silent, (flipped, named, probability)


def test_sweep_stores_the_calibration_set_of_every_run(plan, tmp_path):
    from simulator import sweep

    spec = tmp_path / "tiny.toml"
    spec.write_text('scenario = "plan"\nseed = 2\nfutures = 40\nblock_size = 80\n'
                    'indicators = ["population"]\nyears = [2010]\n'
                    '[levers."talent attraction rate"]\ngrid = [0.0, 0.02]\n', encoding="utf-8")
    sweep.execute(spec, tmp_path / "out")
    store = sweep.open_store(tmp_path / "out").load()
    sets = plan.calibration_sets()
    idx = store["calibration_set"].values
    assert idx.min() >= 0 and idx.max() < sets.size
    np.testing.assert_array_equal(idx[:40], idx[40:])  # every setting meets the same draws
    name = next(n for n in sets.names if n in store)
    np.testing.assert_array_equal(store[name].values, sets.values[idx, sets.names.index(name)])


def test_accessor_splits_variance_from_results_file(joint, tmp_path):
    import xarray as xr

    import simulator  # noqa: F401  (registers ds.plan)

    nc, _ = joint.write(tmp_path)
    with xr.open_dataset(nc) as ds:
        table = ds.load().plan.calibration_shares()
    expected = joint.calibration["variance_shares"]
    for goal, row in table.iterrows():
        if expected[goal] is None:
            assert np.isnan(row["calibration"])
        else:
            assert row["calibration"] == pytest.approx(expected[goal]["calibration"])
    point_only = xr.Dataset({"met": (("run", "goal"), np.ones((2, 1), bool))},
                            coords={"goal": ["g"]})
    with pytest.raises(ValueError, match="point calibration"):
        point_only.plan.calibration_shares()


def test_futures_take_the_history_space_from_the_sets_and_reproduce_the_history(plan):
    """No screen: the Latin hypercube samples only the future uncertainties; every
    history-space parameter comes from the drawn set, and each run reproduces 2000-2005."""
    from simulator.running import ensemble

    sets = plan.calibration_sets()
    samples = sample.futures(plan, 60, seed=2)
    idx = samples["calibration_set"].values
    for j, name in enumerate(sets.names):
        if name not in plan.overrides and name not in plan.levers:
            np.testing.assert_array_equal(samples[name].values, sets.values[idx, j])
    roles = model.parameters()
    assert all(roles[n].role != "uncertain" or n not in sets.names
               for n in sample.calibration.future_uncertainties(plan, sets))
    data = ensemble.run(plan, samples, names=[])
    assert bool(data["plausible"].all())
    assert sets.effective_size() > 0
