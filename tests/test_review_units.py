"""plansim check: a dimensional check that catches each kind of unit error (mutation test)."""

import json
import re

import pytest

from simulator import cli
from simulator.inputs.project import find

MODEL_FILE = find().model
from simulator.review import parsed, registry, units

CLEAN = "tests/fixtures/units_clean.mdl"

# (what is injected, old text, new text, variable and kind of the finding it must cause)
MUTATIONS = [
    ("rate added to a flow", "+ investment boost", "+ output growth rate",
     "output growth", "sum"),
    ("scale of a sum (tce vs tce10K)", "energy cap = 80\n\t~\ttce10K/Year",
     "energy cap = 80\n\t~\ttce/Year", "energy shortfall", "sum"),
    ("IF THEN ELSE arms", "green share target, service", "boost start, service",
     "green share", "arms"),
    ("MIN arms", "MIN(energy use, energy cap)", "MIN(energy use, energy intensity)",
     "energy delivered", "arms"),
    ("XIDZ fallback", "population, 0)", "population, wage share)", "output per person", "arms"),
    ("comparison", "Time >= policy year", "Time >= green factor", "green share", "comparison"),
    ("EXP of a rate", "EXP(regional growth * (Time - start year))", "EXP(regional growth)",
     "regional income", "argument"),
    ("LN of money", "LN(income / regional income)", "LN(income)",
     "indicated migration", "argument"),
    ("dimensioned exponent", "^ elasticity", "^ birth rate", "growth index", "argument"),
    ("dimensioned base, parameter exponent", "(population / initial population) ^",
     "population ^", "growth index", "argument"),
    ("SMOOTH time", "SMOOTH(income, perception time)", "SMOOTH(income, wage share)",
     "perceived income", "argument"),
    ("DELAY time", "migration delay, 0)", "migration response, 0)", "net migration",
     "argument"),
    ("STEP time", "STEP(boost height, boost start)", "STEP(boost height, boost height)",
     "investment boost", "argument"),
    ("INTEG flow", "INTEG(output growth, initial output)", "INTEG(output, initial output)",
     "output", "integ"),
    ("INTEG initial", "INTEG(output growth, initial output)",
     "INTEG(output growth, initial population)", "output", "initial"),
    ("TREND initial", "perception time, regional growth)", "perception time, wage share)",
     "income trend", "initial"),
    ("declared dimension", "1e+08 / population\n\t~\tCNY/person/Year",
     "1e+08 / population\n\t~\tCNY/Year",
     "income", "declared"),
    ("declared scale", "energy use = output * energy intensity\n\t~\ttce10K/Year",
     "energy use = output * energy intensity\n\t~\ttce/Year", "energy use", "declared"),
    ("bare year", "(Time - start year)", "(Time - 2000)", "regional income", "literal"),
    ("bare literal in a sum", "MAX(0, energy use - energy cap)", "MAX(0, energy use - 80)",
     "energy shortfall", "literal"),
    ("bare literal time argument", "SMOOTH(income, perception time)", "SMOOTH(income, 2)",
     "perceived income", "literal"),
]


def _source() -> str:
    with open(CLEAN, encoding="utf-8") as f:
        return f.read()


def test_clean_fixture_has_no_findings_and_checks_every_equation():
    report = units.check(CLEAN)
    assert report.clean, report.text()
    assert report.checked >= 20 and not report.undeclared
    assert cli.main(["check", CLEAN]) == 0


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_injected_unit_error_is_caught(tmp_path, mutation):
    _, old, new, variable, kind = mutation
    source = _source()
    assert source.count(old) == 1, f"mutation text {old!r} must occur once in the fixture"
    mutant = tmp_path / "mutant.mdl"
    mutant.write_text(source.replace(old, new), encoding="utf-8")
    report = units.check(mutant)
    assert (variable, kind) in {(f.variable, f.kind) for f in report.findings}, report.text()


def test_every_kind_of_finding_is_exercised():
    assert {m[4] for m in MUTATIONS} | {"units"} == set(units.KINDS)


def test_every_construct_the_engine_supports_is_walked():
    from simulator.engine import used_constructs

    fixture = "tests/fixtures/functions.mdl"  # every supported function, units not minded
    report = units.check(fixture)
    variables = {e.name for e in parsed.parse(fixture).elements.values()
                 if e.kind not in ("constant", "lookup")}
    assert report.checked == len(variables)
    assert set().union(*used_constructs(fixture).values()) >= {"SMOOTH", "DELAY N", "TREND"}
    kinds = {(f.variable, f.kind) for f in report.findings}
    assert ("math terms", "argument") in kinds and ("trig terms", "argument") in kinds


def test_malformed_units_string_is_a_finding(tmp_path):
    mutant = tmp_path / "mutant.mdl"
    mutant.write_text(_source().replace("~\tDmnl [0.2,0.6]", "~\tCNY/(person [0.2,0.6]"),
                      encoding="utf-8")
    assert ("wage share", "units") in {(f.variable, f.kind) for f in units.check(mutant).findings}


def test_cli_prints_one_line_per_finding_and_exits_1(tmp_path, capsys):
    mutant = tmp_path / "mutant.mdl"
    mutant.write_text(_source().replace("LN(income / regional income)", "LN(income)"),
                      encoding="utf-8")
    assert cli.main(["check", str(mutant)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"indicated migration: argument: income \[CNY/Year/person\] vs .*\[Dmnl\]",
                    lines[0]), lines
    assert cli.main(["check", str(mutant), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["findings"][0]["variable"] == "indicated migration"
    assert len(data["model_sha256"]) == 64


def test_bad_model_path_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "missing.mdl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model file not found; fix:" in err[0]


def test_unit_strings_map_to_the_registry():
    u = registry.Units()
    assert u.parse("CNY100M/Year").to_base_units().magnitude == pytest.approx(1e8)
    assert (u.parse("CNY100M") / u.parse("CNY10K")).to_base_units().magnitude == pytest.approx(1e4)
    assert u.parse("%").to_base_units().magnitude == pytest.approx(0.01)
    assert u.parse("Dmnl").dimensionless and u.parse("1").dimensionless
    assert (u.parse("1/(1000*Year)") * u.parse("Year")).to_base_units().magnitude == \
        pytest.approx(1e-3)
    assert u.parse("ha").to_base_units() == u.parse("10000 * m2").to_base_units()
    assert (u.parse("people") / u.parse("person")).dimensionless
    widget = u.parse("Widget/(Year*Year)")  # an unknown name becomes a new base unit
    assert not (widget * u.parse("Year^2")).dimensionless
    with pytest.raises(ValueError):
        u.parse("CNY/(person")


def test_district_model_is_dimensionally_consistent():
    report = units.check(MODEL_FILE)
    assert report.clean, report.text()
