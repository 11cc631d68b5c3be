"""Calibration: the observation-error model, identifiability, the history-matched ensemble."""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulator import calibrate
from simulator.calibrate import errors, identify, match, priors
from simulator.cli import main
from simulator.errors import InputError
from simulator.inputs import history, model, project
from simulator.running import simulate

KARAMAY = project.find()


def _table(rows):
    return pd.DataFrame(rows, columns=["indicator", "year", "value"]).astype({"value": str})


def _errors_file(tmp_path, rows):
    path = tmp_path / "errors.csv"
    lines = ["figure,component,kind,value,applies_to,note",
             "*,discrepancy,relative,0.01,,model error"] + rows
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return SimpleNamespace(history_errors=path, manifest=path)  # what budgets reads of a project


def test_rounding_follows_the_printed_digits():
    assert errors.rounding_sd("64.3") == pytest.approx(0.05 / math.sqrt(3))
    assert errors.rounding_sd("120.88") == pytest.approx(0.005 / math.sqrt(3))
    assert errors.rounding_sd("68682") == pytest.approx(0.5 / math.sqrt(3))


def test_derived_figure_carries_the_rounding_of_its_inputs(tmp_path):
    table = _table([("a", 2005, "10.0"), ("b", 2000, "5")])
    path = _errors_file(tmp_path, ["b.2000,derived,expression,'10.0' / (1 + '100' / 100),,"])
    b = errors.budgets(table, path)["b.2000"]
    assert "rounding" not in b.components  # a derived row is not itself printed
    # d/dx 10/(1+x/100) at x = 100 is -10/400 per point; the 100 is rounded to +-0.5
    expected = math.hypot(0.05 / math.sqrt(3) / 2, 10 / 400 * 0.5 / math.sqrt(3))
    assert b.components["derived"] == pytest.approx(expected, rel=1e-3)
    assert b.components["discrepancy"] == pytest.approx(0.05)
    assert b.sd == pytest.approx(math.hypot(expected, 0.05), rel=1e-3)


def test_inconsistency_is_computed_from_the_table_and_shared(tmp_path):
    table = _table([("total", 2005, "7.4"), ("x", 2005, "9.0"), ("w", 2000, "50")])
    row = ("total.2005,inconsistency,expression,{w.2000} * {x.2005} / 50,"
           "total.2005 x.2005,identity")
    b = errors.budgets(table, _errors_file(tmp_path, [row]))
    assert b["total.2005"].components["inconsistency"] == pytest.approx(0.8)
    assert b["x.2005"].components["inconsistency"] == pytest.approx(0.8)
    assert "inconsistency" not in b["w.2000"].components


@pytest.mark.parametrize("row, key", [
    ("a.2005,guess,expression,1,,", "row 3"),
    ("a.2005,derived,expression,__import__('os'),,", "row 3 (a.2005).value"),
    ("nope.2005,derived,expression,'1',,", "row 3"),
])
def test_bad_error_rows_name_the_row(tmp_path, row, key):
    with pytest.raises(InputError) as exc:
        errors.budgets(_table([("a", 2005, "1.0")]), _errors_file(tmp_path, [row]))
    assert exc.value.key.startswith(key)


def test_every_represented_figure_has_a_positive_error():
    figs = history.figures(KARAMAY)
    assert figs and all(f.sd > 0 and math.isfinite(f.sd) for f in figs)
    # sector real growth rates are used, each level indicator they name exists
    growth = [f for f in figs if f.measure is not None]
    assert len(growth) >= 2


@pytest.fixture(scope="module")
def target():
    return calibrate.Target.of_model()


@pytest.fixture(scope="module")
def point_values(target):
    values = calibrate.load_values()
    return np.array([values[n] for n in target.names])


def test_history_evaluation_equals_full_runs_bit_for_bit(target):
    """What the waves and chains evaluate (runs stopped at the last history year, errors
    computed on arrays, no dataset) is the full runs' errors to the last bit, for sets of
    the ensemble and sets drawn anywhere in the documented ranges."""
    sets = calibrate.load_sets()
    rng = np.random.default_rng(7)
    x = np.concatenate([sets.values[:40],
                        target.lower + rng.random((40, len(target.names))) * target.width])
    np.testing.assert_array_equal(target.standardized(x), target.signed(target.simulate(x)))


def test_undetermined_directions_do_not_move_the_fit(target, point_values):
    """A singular value s: a move along its direction by 1% of the ranges changes the
    figures by about 0.01 s standard deviations (below 0.05 for s < 1, above 1 for the
    strongest direction)."""
    ident = identify.identify(target, point_values)
    assert len(ident.free) == int((ident.singular_values >= identify.UNDETERMINED).sum())
    base = target.standardized(point_values)[0]

    def change(v):
        for sign in (1.0, -1.0):  # the point may sit on a bound: move inwards
            moved = point_values + sign * 0.01 * v * target.width
            if np.all((moved >= target.lower) & (moved <= target.upper)):
                return np.abs(target.standardized(moved)[0] - base).max()
        return None

    checked = {"determined": 0, "undetermined": 0}
    for s, v in zip(ident.singular_values, ident.directions):
        c = change(v)
        if c is None:
            continue
        if s < identify.UNDETERMINED:
            assert c < 0.05, (s, c)
            checked["undetermined"] += 1
        else:  # the largest of m components of a vector of norm 0.01 s is >= 0.01 s / sqrt(m)
            assert c > 0.01 * s / np.sqrt(base.size) * 0.5, (s, c)
            checked["determined"] += 1
    assert min(checked.values()) >= 1, checked


def _mixing(target, seed, workers=1):
    """The mixing phase at tiny settings from the committed ensemble's non-implausible sets
    (at most 80): seconds, and still a real run of every prior's chains."""
    from simulator.calibrate import mixing, waves

    sets = calibrate.load_sets()
    assert sets.names == target.names  # the committed sets are of the current history space
    pop = sets.values[np.linspace(0, sets.size - 1, 80).astype(int)]
    z = target.standardized(pop)
    keep = waves.implausibility(z) <= history.CUTOFF
    pop, z = pop[keep], z[keep]
    sampler = waves._Sampler(target, "documented", None)
    return mixing.run(sampler, pop, z, np.arange(len(pop)) % 4, chains=8, seed=[seed],
                      max_steps=60, warmup=4, min_steps=20, workers=workers), sampler


def test_mixing_chains_are_seeded_and_keep_only_non_implausible_sets(target):
    """Bounded form of the test below: every prior's own chains, bit-identical with a seed,
    every stored set within the cut-off, diagnostics per prior (not converged at these
    settings, and saying so)."""
    a, sampler = _mixing(target, 3)
    b, _ = _mixing(target, 3)
    assert sampler.evaluations > 0
    assert set(a) == set(priors.PRIORS)
    for p in priors.PRIORS:
        np.testing.assert_array_equal(a[p]["values"], b[p]["values"])
        assert a[p]["values"].shape[0] > 0 and np.abs(a[p]["z"]).max() <= history.CUTOFF
        inside = (a[p]["values"] >= target.lower) & (a[p]["values"] <= target.upper)
        assert inside.all()
        d = a[p]["diagnostics"]
        assert d["chains"] == 8 and d["steps"] >= 20 and d["rhat_max"] >= 1.0
        assert 0 < d["effective_sets"] and d["converged"] is False
        assert 0 < d["acceptance"] < 1
    # the chains moved: the stored sets are not just the starting population
    assert len(np.unique(a["documented"]["values"], axis=0)) > 8


def test_mixing_is_bit_identical_in_worker_processes(target):
    """Each prior's chains are independent (own stream, archive, stopping rule): run in three
    processes they give what one process gives, to the last bit, and count the same runs."""
    one, s1 = _mixing(target, 5)
    three, s3 = _mixing(target, 5, workers=3)
    assert s1.evaluations == s3.evaluations > 0
    for p in priors.PRIORS:
        np.testing.assert_array_equal(one[p]["values"], three[p]["values"])
        np.testing.assert_array_equal(one[p]["z"], three[p]["z"])
        assert one[p]["diagnostics"]["calls"] == three[p]["diagnostics"]["calls"]


def test_worker_processes_do_not_run_the_callers_script_again(tmp_path):
    """A script without an ``if __name__ == "__main__"`` guard may call the calibration with
    workers: the workers must not execute the script again (spawn does, and each worker
    would start a calibration of its own)."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from simulator import calibrate\n"
        "from simulator.calibrate import mixing, waves\n"
        "from simulator.inputs import history\n"
        "print('script started', flush=True)\n"
        "t = calibrate.Target.of_model()\n"
        "sets = calibrate.load_sets()\n"
        "pop = sets.values[np.linspace(0, sets.size - 1, 40).astype(int)]\n"
        "z = t.standardized(pop)\n"
        "keep = waves.implausibility(z) <= history.CUTOFF\n"
        "s = waves._Sampler(t, 'documented', None)\n"
        "r = mixing.run(s, pop[keep], z[keep], np.arange(keep.sum()) % 4, chains=8, seed=[1],\n"
        "               max_steps=40, warmup=2, min_steps=20, workers=2)\n"
        "print('done', sorted(r), flush=True)\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                         text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("script started") == 1
    assert "done ['documented', 'mirrored', 'uniform']" in out.stdout


def test_mixing_archive_pools_the_islands_of_a_prior():
    """The DE-MCz archive of each island holds the recent states of every island of the
    prior: an island's own archive keeps its proposals as narrow as the island (between-island
    R-hat 1.83 on model v3.2; pooled 1.03). (Another prior's states cannot enter: each prior's
    chains are their own `_Chains`, run by `_run_prior`.)"""
    from simulator.calibrate import mixing

    states = [np.arange(8.0)[:, None] + 10 * r for r in range(3)]  # 3 calls, 8 chains
    arch = mixing._pooled(states, [0, 1])
    expected = sorted(10 * r + i for r in range(3) for i in range(8))
    for g in (0, 1):
        assert sorted(arch[g][:, 0]) == expected


@pytest.mark.long_calibration
def test_history_matching_is_seeded_and_keeps_only_non_implausible_sets(target, point_values):
    a = match.history_match(target, point_values, seed=3, **match.QUICK)
    b = match.history_match(target, point_values, seed=3, **match.QUICK)
    np.testing.assert_array_equal(a.values, b.values)
    assert np.abs(a.z).max() <= history.CUTOFF  # every set, no screen afterwards
    d = a.diagnostics
    assert d["waves"][-1]["cutoff_sd"] == history.CUTOFF
    assert all(w1["cutoff_sd"] >= w2["cutoff_sd"] for w1, w2 in zip(d["waves"], d["waves"][1:]))
    assert d["stored_sets"] == a.size and 0 < d["effective_sets"] <= a.size
    for w in a.weights.values():
        assert w.sum() == pytest.approx(1.0) and (w >= 0).all()


def test_history_space_holds_every_uncertain_parameter_that_moves_a_figure():
    """Measured apart from the classification (which moves each parameter from the model's
    defaults and the point): from three sets of the committed ensemble and the point (the
    future parameters at random points of their ranges), every Uncertain parameter that moves a 2000-2005 figure by more
    than its error (1 sd) must be in the history space."""
    from simulator.calibrate import space

    hist = set(space.history_space(KARAMAY))
    sets = calibrate.load_sets(project=KARAMAY)
    uncertain = model.parameters(KARAMAY, role="uncertain")
    rng = np.random.default_rng(5)
    movers = set()
    bases = [dict(zip(sets.names, sets.values[i]))
             for i in rng.choice(sets.size, 3, replace=False)]
    for base in [*bases, calibrate.load_values(project=KARAMAY)]:  # and the point
        base.update({n: p.lower + rng.random() * (p.upper - p.lower)
                     for n, p in uncertain.items() if n not in base})
        moved = space.effects(KARAMAY, sorted(uncertain), base=base)
        movers |= {n for n, e in zip(sorted(uncertain), moved) if e > 1.0}
    assert movers, "no Uncertain parameter moves the history: the measurement is broken"
    assert movers <= hist, sorted(movers - hist)
    assert set(model.parameters(KARAMAY, role="calibrated")) <= hist


def test_ensemble_bands_cover_the_history_at_the_stated_error():
    """Bands (5-95%) of the committed ensemble over 2000-2005, re-simulated now, reach every
    figure within two standard deviations of its error model (each accepted set is within
    three; this asks that no figure is missed by most of the ensemble: for a bound, that
    the median set keeps within two)."""
    sets = calibrate.load_sets()
    idx = sets.draw(400, seed=0)
    params = {n: sets.values[idx, j] for j, n in enumerate(sets.names)}
    figs = history.figures(KARAMAY)
    data = simulate.run(params, history.indicators_needed(figs), project=KARAMAY,
                        years=KARAMAY.history_settings.years)
    for fig in figs:
        sim = np.asarray(history.simulated(fig, data).values, dtype=float)
        lo, hi = np.quantile(sim, [0.05, 0.95])
        if fig.comparator == "<":  # a bound: the sets spread over [bound, bound + 3 sd]
            assert np.median(sim) <= fig.value + 2 * fig.sd, fig.key
        else:
            assert lo - 2 * fig.sd <= fig.value <= hi + 2 * fig.sd, (fig.key, lo, hi, fig.value)


def test_priors_reweight_and_mirror(target):
    rng = np.random.default_rng(0)
    x = target.lower + rng.random((500, len(target.names))) * target.width
    for name in priors.PRIORS:
        w = priors.weights(name, x, target.lower, target.upper, target.default)
        assert w.sum() == pytest.approx(1.0)
    uniform = priors.weights("uniform", x, target.lower, target.upper, target.default)
    np.testing.assert_allclose(uniform, 1 / 500)
    mirrored = priors.centre("mirrored", target.lower, target.upper, target.default)
    np.testing.assert_allclose(mirrored - target.lower, target.upper - target.default)


@pytest.mark.parametrize("where", [
    pytest.param("valley", id="valley"),  # the bounded form: a small project's calibration
    pytest.param("karamay", id="karamay", marks=pytest.mark.long_calibration),
])
def test_cli_calibrate_report_dry_run(capsys, tmp_path, where):
    out = tmp_path / "cal.toml"
    proj = ([] if where == "karamay"
            else ["--project", str(Path(__file__).parent / "projects" / "valley")])
    code = main(["calibrate", "--report", "--dry-run", "--quick", "--out", str(out), *proj])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "history space:" in text and "model discrepancy per figure family" in text
    assert "singular values:" in text and "history matching in waves" in text
    assert "split-R-hat" in text and "residuals over the sets" in text and "90% width" in text
    assert not out.exists() and not out.with_suffix(".nc").exists()


def test_cli_calibrate_refuses_bad_sampler_settings(capsys):
    assert main(["calibrate", "--particles", "3"]) == 2
    assert capsys.readouterr().err.startswith("plansim: error: command line: --particles")
    assert main(["calibrate", "--final-steps", "2"]) == 2
    assert "--final-steps" in capsys.readouterr().err
    assert main(["calibrate", "--dry-run", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value, bounds, said", [
    # the fit cannot leave a range where the model overflows (emcee refused NaN walkers)
    ("30", "[20,40]", "outside the model's domain"),
    # finite errors of astronomical size (scipy's SVD refused the Jacobian)
    ("3000", "[2000,4000]", "no sampled parameter set reproduces the history"),
])
def test_cli_calibrate_outside_the_domain_is_one_line(tmp_path, capsys, value, bounds, said):
    """A documented range that puts the model outside its domain: one line, exit 2, nothing
    written, no numpy warnings, never a scipy or emcee traceback."""
    valley = Path(shutil.copytree(Path(__file__).parent / "projects" / "valley",
                                  tmp_path / "valley"))
    mdl = valley / "model" / "valley.mdl"
    text = mdl.read_text(encoding="utf-8")
    old = "expansion rate = 0.03\n\t~\t1/Year [0,0.08]"
    assert old in text
    mdl.write_text(text.replace(old, f"expansion rate = {value}\n\t~\t1/Year {bounds}"),
                   encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["calibrate", "--project", str(valley), "--quick"])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 2 and err[1].startswith("plansim: error: ") and said in err[1], err
    assert not (valley / "plan" / "calibrated.toml").exists()


def test_family_discrepancy_makes_the_mean_squared_error_one():
    from simulator.calibrate import discrepancy

    sd = np.full(4, 0.5)
    errors = np.array([1.0, -1.0, 1.0, -1.0])  # mean (e / sd)^2 = 4
    delta = discrepancy.estimate(errors, sd, np.ones(4))
    assert delta == pytest.approx(np.sqrt(3) * 0.5)
    assert np.mean(errors ** 2 / (sd ** 2 + delta ** 2)) == pytest.approx(1.0)
    assert discrepancy.estimate(0.1 * errors, sd, np.ones(4)) == 0.0  # within the error
    assert [discrepancy.family(u) for u in ("%/yr", "%", "亿元 (current)", "person")] == [
        "growth rates", "shares", "levels", "levels"]
