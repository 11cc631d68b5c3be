"""The lever explorer's computation, without a browser; its widgets in a headless kernel."""

import pytest

import simulator
from simulator.inputs import scenario
from simulator.present.explorer import Explorer


@pytest.fixture(scope="module")
def explorer():
    return Explorer(scenario.load("plan"), futures=200, seed=4)


def test_moving_a_lever_changes_the_answer_and_the_plan_setting_reproduces(explorer):
    bounds = explorer.levers()
    base, data = explorer.compute({})
    again, _ = explorer.compute({k: v for k, (_, v, _) in bounds.items()})
    assert base == again
    assert data.sizes["run"] == 200 and explorer.indicator in data
    moved = []
    for name, (lo, value, hi) in bounds.items():
        if hi > lo:
            end = hi if value - lo < hi - value else lo
            summary, _ = explorer.compute({name: end})
            moved.append(summary["mean_goals_met"] != base["mean_goals_met"]
                         or summary["goals"] != base["goals"])
    assert any(moved)


def test_out_of_bounds_or_unknown_levers_are_refused(explorer):
    name, (lo, _, hi) = next(iter(explorer.levers().items()))
    with pytest.raises(ValueError, match="outside its bounds"):
        explorer.compute({name: hi + (hi - lo + 1)})
    with pytest.raises(KeyError):
        explorer.compute({"no such lever": 1.0})


def test_figures_are_the_scorecard_and_the_fan(explorer):
    score, fan = explorer.figures({}, lang="zh")
    assert len(score.axes[0].patches) >= len(explorer.goal_set.goals)
    assert fan.axes[0].collections


def test_explore_builds_sliders_that_rerun_the_futures():
    ex = simulator.explore("plan", futures=50)
    assert isinstance(ex, Explorer) and ex.futures == 50
    assert set(ex.sliders) == set(ex.levers())
    for name, slider in ex.sliders.items():
        lo, value, hi = ex.levers()[name]
        assert (slider.min, slider.value, slider.max) == pytest.approx((lo, value, hi))
    first = ex.last_summary
    name = next(k for k, (lo, _, hi) in ex.levers().items() if hi > lo)
    ex.sliders[name].value = ex.sliders[name].max
    assert ex.last_summary is not first
    assert callable(simulator.explore)
