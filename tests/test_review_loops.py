"""plansim loops: documented feedback loops measured by knockout, kept true to the model."""

import json
import math
import shutil
from pathlib import Path

import pytest

from simulator import cli
from simulator.errors import InputError
from simulator.inputs.project import find
from simulator.review import loops

FIXTURE_SPEC = "tests/fixtures/loops.toml"


@pytest.fixture(scope="module")
def fixture_measurement():
    return loops.measure(loops.load_spec(FIXTURE_SPEC))


def _spec_variant(tmp_path, old: str, new: str):
    source = Path(FIXTURE_SPEC).read_text(encoding="utf-8")
    assert source.count(old) == 1, old
    path = tmp_path / "loops.toml"
    path.write_text(source.replace(old, new), encoding="utf-8")
    shutil.copy("tests/fixtures/loops.mdl", tmp_path / "loops.mdl")
    return path


def test_fixture_loops_measure_as_documented(fixture_measurement):
    by_id = {r.loop.id: r for r in fixture_measurement.results}
    balance, crowding = by_id["migration-balance"], by_id["crowding"]
    assert balance.status == "active" and crowding.status == "dormant"
    # the balancing loop damps the perturbation, more so as it acts longer
    pop = balance.ratios["population"]
    assert 0 < pop[2015.0] < pop[2010.0] < 1 - loops.DORMANT_TOLERANCE
    assert all(abs(r - 1) <= loops.DORMANT_TOLERANCE for r in crowding.ratios["population"].values())
    assert not fixture_measurement.problems


def test_a_dormant_loop_not_marked_dormant_fails(tmp_path):
    path = _spec_variant(tmp_path, 'dormant = "capacity', 'name_of_reason = "capacity')
    with pytest.raises(InputError):  # an unknown key is refused first
        loops.load_spec(path)
    path = _spec_variant(tmp_path, 'dormant = "capacity', '# dormant = "capacity')
    measured = loops.measure(loops.load_spec(path))
    assert [r.loop.id for r in measured.problems] == ["crowding"]
    assert measured.problems[0].status == "DORMANT but not documented dormant"
    assert cli.main(["loops", "--spec", str(path)]) == 1


def test_an_active_loop_marked_dormant_fails(tmp_path):
    path = _spec_variant(tmp_path, 'cut = "labour force"',
                         'cut = "labour force"\ndormant = "wrongly said to sleep"')
    measured = loops.measure(loops.load_spec(path))
    assert [r.status for r in measured.problems] == ["ACTIVE but documented dormant"]


def test_a_perturbation_that_moves_no_output_fails(tmp_path):
    path = _spec_variant(tmp_path, 'outputs = ["population", "net migration"]',
                         'outputs = ["jobs"]')
    measured = loops.measure(loops.load_spec(path))
    assert measured.problems[0].status.startswith("no effect")
    assert measured.problems[0].ratios["jobs"] == {2010.0: None, 2015.0: None}


def test_a_cut_on_the_perturbations_way_fails(tmp_path):
    path = _spec_variant(tmp_path, 'cut = "labour force"', 'cut = "net migration rate"')
    measured = loops.measure(loops.load_spec(path))
    assert measured.problems[0].status.startswith("the cut blocks the perturbation")
    assert "inf" in measured.text()


def test_cutting_without_perturbing_reproduces_the_run_exactly():
    spec = loops.load_spec(FIXTURE_SPEC)
    runner = loops._Runner(spec.model, {})
    base = runner.run({}, ["labour force", "population"])
    frozen = {"labour force": loops.pd.Series(base["labour force"].to_numpy(), index=base.index)}
    cut = runner.run(frozen, ["population"])
    assert (cut["population"].to_numpy() == base["population"].to_numpy()).all()


@pytest.mark.parametrize("old,new,key", [
    ("-> net migration rate ->", "-> net migration ->", "chain"),        # a missing link
    ("net migration -> population\"", "net migration\"", "chain"),       # does not close
    ('cut = "labour force"', 'cut = "population"', "cut"),                 # a stock
    ('cut = "labour force"', 'cut = "jobs"', "cut"),                       # not on the chain
    ('outputs = ["population", "net migration"]', 'outputs = ["populace"]', "outputs"),
    ('parameter = "migration response"', 'parameter = "jobs"', "parameter"),
    ('input = "jobs"', 'input = "labour force"', "input"),                 # not exogenous
    ("relative = 0.2", "relative = 0", "relative"),
    ('polarity = "-"\nchain = "population ->', 'polarity = "R"\nchain = "population ->',
     "polarity"),
    ("years = [2010, 2015]", "years = [2030]", "years"),
    ("years = [2010, 2015]", "years = [2010.1]", "years"),
])
def test_spec_errors_name_the_key(tmp_path, old, new, key):
    path = _spec_variant(tmp_path, old, new)
    with pytest.raises(InputError) as err:
        loops.load_spec(path)
    assert err.value.key.endswith(key), err.value


def test_cli_json_has_no_nan_and_records_provenance(capsys):
    assert cli.main(["loops", "--spec", FIXTURE_SPEC, "--json"]) == 0

    def refuse(constant):
        raise AssertionError(f"{constant} in JSON")

    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data["provenance"]["model_hash"] and data["provenance"]["loops_spec_hash"]
    ratios = [v for lp in data["loops"] for by in lp["ratios"].values() for v in by.values()]
    assert all(v is None or math.isfinite(v) for v in ratios)


@pytest.fixture(scope="module")
def district_measurement():
    return loops.measure_scenario()


def test_documented_district_loops_are_active_or_marked_dormant(district_measurement):
    bad = {r.loop.id: r.status for r in district_measurement.problems}
    assert not bad, f"models/loops.toml is not true to the model: {bad}"
    for result in district_measurement.results:
        assert all(v is None or math.isfinite(v)
                   for by in result.ratios.values() for v in by.values())


def test_models_readme_loop_table_is_in_step(district_measurement):
    text = (find().loops.parent / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- loops:start -->\n", "\n<!-- loops:end -->"
    table = text[text.index(start) + len(start):text.index(end)]
    assert table == district_measurement.markdown(), \
        "run `plansim loops --markdown` into models/README.md"


@pytest.mark.parametrize("old,new,key", [
    ('model = "loops.mdl"', 'model = "a\\u0000b.mdl"', "model"),          # a NUL in the path
    ('polarity = "-"\nchain = "population ->', 'polarity = ["-"]\nchain = "population ->',
     "polarity"),                                                          # not a string
    ('outputs = ["population", "net migration"]', "outputs = [3]", "outputs"),
    ("relative = 0.2", "relative = 1" + "0" * 400, "relative"),           # overflows a float
    ("from = 2005", "from = nan", "from"),
    ("from = 2005", "from = 1" + "0" * 400, "from"),
    ("years = [2010, 2015]", "years = [inf]", "years"),
    ("years = [2010, 2015]", 'years = [2010, 2015]\nscenario = "../plan"', "scenario"),
])
def test_malformed_spec_is_one_line_exit_2(tmp_path, capsys, old, new, key):
    """Every value of the spec goes through simulator/inputs/validate.py: one line naming the file,
    the key and the fix, exit 2 (never an OverflowError, TypeError or a NaN year)."""
    path = _spec_variant(tmp_path, old, new)
    assert cli.main(["loops", "--spec", str(path)]) == 2
    captured = capsys.readouterr()
    line = captured.err.strip()
    assert captured.out == "" and "\n" not in line
    assert line.startswith(f"plansim: error: {path}: ") and "; fix: " in line
    assert f"{key}: " in line or f"{key}:" in line.split("; fix:")[0], line
