"""The frontier on a synthetic model with a known answer, and branched runs on the real one.

Synthetic: lever x in [0, 1] and three nuisance levers y1..y3 in [0, 1]; one uncertainty
u, uniform on [0, 1]; goal A: x + u - p >= 1.2, goal B: 1 - x + u - p >= 1.2, with
p = (y1 + y2 + y3) / 2.  So P(A) = x - 0.2 - p and P(B) = 0.8 - x - p (clipped): the two
goals conflict linearly in x, every nuisance lever costs both.  Known answers:
- the Pareto set is p = 0, x in [0.2, 0.8], on the line P(A) + P(B) = 0.6;
- the robust setting (best worst goal) is x = 0.5, p = 0, both goals at 0.3;
- under the scenario's levers (x = 0.9, y = 0.05 each) only {A} reaches 50% (62.5%), and
  B's threshold that lets A and B reach 50% together is 0.525; under searched levers it
  is 0.8, at x = 0.7, p = 0.
A random pick of settings (same budget) misses these (test_random_pick_fails).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import sample
from simulator.decide import evaluate, goal_frontier, pareto, search
from simulator.decide.evaluate import Evaluator, Settings
from simulator.engine import branch
from simulator.inputs import goals, scenario
from simulator.running import ensemble, simulate

N = 2000


class Synthetic(Settings):
    def __init__(self, workers: int = 1):
        bounds = np.array([[0.0, 1.0]] * 4)
        super().__init__(["x", "y1", "y2", "y3"], bounds, np.array([0.9, 0.05, 0.05, 0.05]),
                         N, workers)
        rng = np.random.default_rng(7)
        self.u = rng.permutation((np.arange(N) + 0.5) / N)

    def _run(self, chunk, runs):
        x, p = chunk[:, :1], 0.5 * chunk[:, 1:].sum(axis=1, keepdims=True)
        a = x + self.u[None, runs] - p
        b = 1.0 - x + self.u[None, runs] - p
        margin = np.stack([(a - 1.2) / 1.2, (b - 1.2) / 1.2], axis=2)
        return margin, margin >= 0, np.ones((len(chunk), len(runs)), dtype=bool)


def _goal(gid: str, label: str) -> goals.Goal:
    return goals.Goal(id=gid, indicator=gid, years=(2010,), comparator=">=", threshold=1.2,
                      unit="1", section="", quote="", label_en=f"goal {label}",
                      label_zh=f"目标{label}")


GOALS = goals.GoalSet((_goal("a", "A"), _goal("b", "B")), (), "synthetic",
                      {"A": ("a",), "B": ("b",)})


def _frontier(generations: int = 40) -> dict:
    ev = Synthetic()
    return search.build(ev, ev, GOALS, GOALS.groups, 0.5, seed=3, inputs={"u": ev.u},
                        units={"u": "1"}, generations=generations)


@pytest.fixture(scope="module")
def synthetic() -> dict:
    return _frontier()


def _checks(f: dict) -> dict[str, bool]:
    relaxed = {r["goal"]: r for r in f["relaxed"]}["b"]
    front = [(s["group_probability"]["A"], s["group_probability"]["B"]) for s in f["pareto"]]
    box = {b["name"]: b for b in f["robust"]["failure_box"]}
    lv = relaxed["lever_values"]
    return {
        "relaxed threshold": abs(relaxed["threshold"] - 0.8) < 0.02,
        "relaxed levers": abs(lv["x"] - 0.7) < 0.03 and lv["y1"] + lv["y2"] + lv["y3"] < 0.04,
        "pareto on the line": len(front) >= 10 and all(a + b >= 0.57 for a, b in front),
        "pareto spread": min(a for a, _ in front) <= 0.1 and max(a for a, _ in front) >= 0.5,
        "robust": f["robust"]["satisficing_worst"] >= 0.27
        and abs(f["robust"]["lever_values"]["x"] - 0.5) < 0.05,
        "failure box": "u" in box and 0.6 <= box["u"]["high"] <= 0.8,
    }


def test_synthetic_frontier_has_the_known_answer(synthetic) -> None:
    checks = _checks(synthetic)
    assert all(checks.values()), checks
    scen = [s for s in synthetic["maximal_sets"] if s["levers"] == "scenario"]
    assert [s["goals"] for s in scen] == [["a"]]
    assert scen[0]["probability"] == pytest.approx(0.625, abs=0.001)
    assert scen[0]["ci"][0] < 0.625 < scen[0]["ci"][1]
    relaxed = synthetic["relaxed"][0]
    assert relaxed["probability"] == pytest.approx(0.5, abs=0.001) and relaxed["reachable"]
    nearest = synthetic["nearest"]
    assert nearest["kind"] == "threshold"
    assert nearest["relaxed"][0]["threshold"] == pytest.approx(0.8, abs=0.02)
    assert synthetic["ranking_stability"]["blocking_goals"] == ["b"]


def test_search_stops_when_the_pareto_set_stops_improving(synthetic) -> None:
    """With room for 60 generations the search stops on its own, once the Pareto set's
    hypervolume has stopped growing (here after 40), with the answer of the 40-generation
    search; with 16 the set is still improving, and the search says so."""
    assert synthetic["search"]["generations_run"] == 40
    longer = _frontier(generations=60)
    assert longer["search"]["front_stable"] and longer["search"]["generations_run"] == 40
    assert {k: v for k, v in longer.items() if k != "search"} == \
        {k: v for k, v in synthetic.items() if k != "search"}
    short = _frontier(generations=16)["search"]
    assert not short["front_stable"] and short["generations_run"] == 16


def test_random_pick_fails(monkeypatch) -> None:
    """The same budget of random settings misses the known answer: the checks detect it."""
    def random_pick(evaluator, masks, seed, generations, population):
        rng = np.random.default_rng(seed)
        evaluator.evaluate(rng.random((generations * population, 4)))
        return {"generations_run": generations, "front_stable": False}

    monkeypatch.setattr(pareto, "search", random_pick)
    checks = _checks(_frontier())
    assert not all(checks.values()), checks


def test_relaxation_closed_form() -> None:
    """Rest holds for u >= 0.3 and the goal's margin is u - 0.6: P = 0.5 needs the goal
    to count from u >= 0.5, a move of 0.1."""
    u = (np.arange(1000) + 0.5) / 1000
    met = np.column_stack([u >= 0.3, u >= 0.6])
    margin = np.column_stack([u - 0.3, u - 0.6])
    ok = np.ones(1000, dtype=bool)
    rest = np.array([True, False])
    assert goal_frontier.relaxation(met, margin, ok, rest, 1, 0.5) == pytest.approx(0.1,
                                                                                    abs=1e-3)
    # the rest hold in 70% of futures only: no move reaches 80%
    assert goal_frontier.relaxation(met, margin, ok, rest, 1, 0.8) == float("inf")
    sets = goal_frontier.maximal_sets(met, ok, 0.5)
    assert [s[0].tolist() for s in sets] == [[True, False]]
    # bootstrap replicates at once: the moves of one replicate at a time
    rng = np.random.default_rng(0)
    weights = np.stack([rng.multinomial(1000, np.full(1000, 1e-3)).astype(float)
                        for _ in range(20)])
    for target in (0.5, 0.69, 0.8):
        assert goal_frontier.moves_for(met[:, 0], margin[:, 1], ok, target, weights).tolist() \
            == [goal_frontier.move_for(met[:, 0], margin[:, 1], ok, target, w) for w in weights]


def test_workers_give_the_same_numbers() -> None:
    settings = np.random.default_rng(1).random((40, 4))
    one, two, shared = Synthetic(workers=1), Synthetic(workers=2), Synthetic(workers=2)
    a, b = one.evaluate(settings), two.evaluate(settings)
    assert np.array_equal(a.margin, b.margin) and np.array_equal(a.ok, b.ok)
    with evaluate.shared_workers([shared], 2):  # one set of processes for every call
        c = np.concatenate([shared.evaluate(settings[:20]).margin,
                            shared.evaluate(settings[20:]).margin])
    assert np.array_equal(a.margin, c)


def test_branched_runs_equal_full_runs_bit_for_bit(monkeypatch) -> None:
    """Karamay: the 2005 state held and continued under other levers equals full runs, with
    one and with two workers, in one block of futures and in three."""
    scen = scenario.load("plan")
    futures = sample.futures(scen, 60, 0)
    one, two = Evaluator(scen, futures, workers=1), Evaluator(scen, futures, workers=2)
    assert one._prefix is not None and two._prefix is not None  # branched, not full runs
    some = np.array([41, 3, 17])  # a subset continues the held state of all 60 futures
    assert np.array_equal(one.subset(some).evaluate(one.plan).margin[0],
                          Evaluator(scen, futures.isel(run=some)).evaluate(one.plan).margin[0],
                          equal_nan=True)
    rng = np.random.default_rng(0)
    settings = one.bounds[:, 0] + rng.random((4, len(one.names))) * np.ptp(one.bounds, axis=1)
    settings[0] = one.plan
    a = one.evaluate(settings)
    monkeypatch.setattr(evaluate, "FUTURES_BLOCK", 25)
    b = two.evaluate(settings[::-1])
    assert np.array_equal(a.margin, b.margin[::-1], equal_nan=True)
    unbranched = Evaluator(scen, futures, workers=1, branched=False)
    assert np.array_equal(unbranched.evaluate(settings[2]).margin[0], a.margin[2],
                          equal_nan=True)
    for j in (0, 2):
        full = ensemble.run(scen, futures, levers=one.as_dict(settings[j]), names=[])
        assert np.array_equal(full["margin"].transpose("run", "goal").values, a.margin[j],
                              equal_nan=True)
        assert np.array_equal(full["met"].transpose("run", "goal").values, a.met[j])
        assert np.array_equal(full["plausible"].values, a.ok[j])


def test_continued_runs_are_read_as_ensemble_assess_reads_them(monkeypatch) -> None:
    """Karamay: the branched path's own reading (goals on their own indicators, the history
    screen taken from the held years) equals ensemble.assess on the same continued runs,
    also for runs that leave the model's domain in a goal's variable or in another (the
    design card's goals: levels, which ensemble.assess can read on such runs' zeros)."""
    scen = scenario.load("plan").with_goals("design_card")
    futures = sample.futures(scen, 40, 0)
    ev = Evaluator(scen, futures, workers=1)
    other = next(v for v in ev._variables if v not in ev._goal_variables)
    real = branch.run_from

    def some_outside(*args, **kwargs):
        out = real(*args, **kwargs)
        for var, first in ((other, 0), (ev._goal_variables[0], 1)):
            values = out[var].values.copy()
            values[first::4, -1] = np.nan
            out[var] = (out[var].dims, values)
        return out

    monkeypatch.setattr(branch, "run_from", some_outside)
    rng = np.random.default_rng(2)
    chunk = ev.bounds[:, 0] + rng.random((3, len(ev.names))) * np.ptp(ev.bounds, axis=1)
    runs = np.arange(40)
    margin, met, ok = ev._run(chunk, runs)
    samples = futures.isel(run=np.tile(runs, 3)).assign_coords(run=np.arange(120))
    params = ensemble.parameters(scen, samples, {name: np.repeat(chunk[:, i], 40)
                                                 for i, name in enumerate(ev.names)})
    data = simulate.from_raw(ev._branched(params, 3, runs), ev._indicators, project=scen.project)
    out = ensemble.assess(scen, samples, ev.goal_set, params, data)
    assert not ok.reshape(-1)[::4].any() and not ok.reshape(-1)[1::4].any() and ok.any()
    assert np.array_equal(out["margin"].transpose("run", "goal").values.reshape(3, 40, -1),
                          margin, equal_nan=True)
    assert np.array_equal(out["met"].transpose("run", "goal").values.reshape(3, 40, -1), met)
    assert np.array_equal(out["plausible"].values.reshape(3, 40), ok)


def test_same_seed_same_frontier_whatever_the_workers() -> None:
    one, two = Synthetic(workers=1), Synthetic(workers=2)
    a, b = (search.build(ev, ev, GOALS, GOALS.groups, 0.5, seed=5, inputs={"u": ev.u},
                         units={}, generations=6) for ev in (one, two))
    assert a == b


def test_cli_frontier_json_follows_the_contract(tmp_path, capsys) -> None:
    """`plansim frontier --json` on a small sample: strict JSON with the contract's keys."""
    import json

    from simulator import cli

    out = tmp_path / "f"
    code = cli.main(["frontier", "plan", "--runs", "300", "--search-runs", "60",
                     "--generations", "2", "--out", str(out), "--json", "--no-chart"])
    assert code == 0
    f = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    from simulator.running import seal

    written = json.loads((out / "frontier.json").read_text(encoding="utf-8"))
    assert f == seal.unsealed(seal.check_json(written, out / "frontier.json", "frontier"))
    assert {"target", "futures", "seed", "maximal_sets", "relaxed", "ranking_stability",
            "pareto", "robust", "nearest"} <= set(f)
    assert f["target"] == 0.5 and f["nearest"]["kind"] in ("threshold", "drop_goals", "levers")
    for r in f["relaxed"]:
        assert {"goal", "label_en", "label_zh", "comparator", "threshold", "original", "unit",
                "probability", "ci", "reachable", "lever_values"} <= set(r)
    assert {"lever_values", "worst_group", "satisficing_worst", "failure_box", "box_coverage",
            "box_density"} <= set(f["robust"])
    assert (out / "pareto.csv").is_file()


def test_cli_frontier_refuses_a_target_outside_0_1(capsys) -> None:
    from simulator import cli

    assert cli.main(["frontier", "--target", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--target" in err and len(err.strip().splitlines()) == 1
