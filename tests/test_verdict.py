"""The printed verdict shows what the README promises: conflicts, goals with thresholds,
lever units, and progress when stderr is not a terminal."""

import pytest

from simulator import cli
from simulator.decide import reach
from simulator.inputs import model, scenario


@pytest.fixture(scope="module")
def result():
    scen = scenario.load("plan").with_goals("design_card")
    return reach.reach(scen, runs=120, seed=2, search_runs=10, generations=1)


def test_goals_are_named_with_their_thresholds(result):
    text = result.verdict()
    goal_set = result.scenario.goal_set()
    least = text.split("Least likely goals:")[1]
    assert sum(g.describe() in least for g in goal_set.goals) == min(3, len(goal_set.goals))


def test_lever_values_carry_their_units(result):
    text = result.verdict()
    units = {k: p.units for k, p in model.parameters(role="lever").items()}
    for name, value in result.best_levers.items():
        assert f"{name} = {value:.4g} {units[name]}".rstrip() in text


def test_conflicts_are_printed(result):
    a, b = list(result.summary["goals"])[:2]
    result.summary["conflicts"] = [{"goals": [a, b], "p_both": 0.1, "p_independent": 0.25,
                                    "ratio": 0.4, "p_value": 0.001}]
    text = result.verdict()
    assert f"{a} and {b}: together in 10.0% of futures, 25.0% if independent" in text


def test_steps_at_the_same_probability_share_one_line():
    zero = {"probability": 0.0, "interval": [0.0, 0.01], "count": 0}
    half = {"probability": 0.5, "interval": [0.4, 0.6], "count": 5}
    steps = [{"goal": g, "joint_without": p} for g, p in
             [("a", zero), ("b", zero), ("c", zero), ("d", half)]]
    lines = reach._held_back(steps)
    assert len(lines) == 3
    assert lines[1].startswith("  without a, b, c: the rest hold together in 0.0%")
    assert lines[1].endswith("(dropping the last 3 one by one changed nothing)")
    assert lines[2].startswith("  without a, b, c, d: the rest hold together in 50.0%")


def test_progress_is_printed_off_a_terminal(tmp_path, capsys):
    assert cli.main(["reach", "--goals", "design_card", "--runs", "40", "--search-runs", "5",
                     "--generations", "1", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "plansim: runs (scenario, then best levers): 80 of 80" in err
    assert "plansim: lever search generations:" in err


def test_the_verdict_says_what_it_assumed_about_levers_without_a_size():
    """Levers the plan gives no size for are sampled over a range (plan.toml
    [implementation]); the verdict names each range in both languages (issue 16)."""
    from simulator.analyze import verdict
    from simulator.inputs import scenario

    scen = scenario.load("plan")
    summary = {"runs": 100, "plausible_runs": 40, "calibration": {},
               "implementation": {"talent attraction rate": {"distribution": "uniform",
                                                             "low": 0.0, "high": 0.005}}}
    en = verdict._futures(scen, summary, "en")
    zh = verdict._futures(scen, summary, "zh")
    assert "talent attraction rate 0–0.005" in en and "counted. Where the plan" in en
    assert "人才引进率 0–0.005" in zh
    assert "Where the plan" not in verdict._futures(scen, {**summary, "implementation": {}}, "en")
