"""Probes where the vectorised engine once gave a number plain PySD does not (issue 11).

Each probe is a tiny model: the engine must give plain PySD's bits run by run, or
refuse by name.  None of them depends on the district model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from simulator.engine import DomainError, EngineError, UnknownNameError, VectorModel, run_single

P_VALUES = np.array([1.0, -0.5, 3.25])


def control(final_time: str = "4", time_step: str = "1", saveper: str = "TIME STEP") -> str:
    return "".join(f"{name} = {value}\n\t~\tYear\n\t~\t|\n\n" for name, value in (
        ("INITIAL TIME", "0"), ("FINAL TIME", final_time), ("TIME STEP", time_step),
        ("SAVEPER", saveper)))


def write_model(tmp_path: Path, equations: dict[str, str], ranges: dict[str, str] | None = None,
                **control_values: str) -> Path:
    """A model of ``equations`` (name -> expression), subscript ``ranges`` (name -> elements)."""
    body = "".join(f"{name}: {elements}\n\t~\t\n\t~\t|\n\n"
                   for name, elements in (ranges or {}).items())
    body += "".join(f"{name} = {value}\n\t~\tDmnl\n\t~\t|\n\n" for name, value in equations.items())
    path = tmp_path / "probe.mdl"
    path.write_text("{UTF-8}\n" + body + control(**control_values), encoding="utf-8")
    return path


def assert_bits_equal_plain_pysd(mdl: Path, model: VectorModel, params: dict[str, np.ndarray],
                                 outputs: list[str], cache: Path, years=None) -> None:
    result = model.run(params, outputs, years, check_finite=False)
    n = result.sizes["run"]
    for i in range(n):
        single = {k: v[i] if v.ndim > 1 else float(v[i]) for k, v in params.items()}
        reference = run_single(mdl, single, outputs, result["time"].values, cache_dir=cache)
        for name in outputs:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, {name!r}")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("expression", [
    "-2^2 * p",                                  # -(2^2): Vensim and Python precedence
    "p * -3^2",
    "ABS(-2^2) * p + MAX(-3^2, -100) * p",
    "-2^0.5 + p",                                # real: -(2^0.5)
    "ABS(-3)^(-1) * p",                          # numpy integer to a negative power
    "MAX(10, 5)^20 * p",                         # numpy integer overflow in int64
    "big a * big b * p",                         # Python ints beyond int64 when multiplied
    "(big a * big b)^0.5 * p",
    "-p^2",
    "2^-p",
])
def test_power_and_integer_constants_give_pysd_bits(tmp_path: Path, expression: str) -> None:
    mdl = write_model(tmp_path, {"p": "1", "big a": "3000000000", "big b": "4000000000",
                                 "y": expression})
    model = VectorModel(mdl, tmp_path / "cache")
    assert_bits_equal_plain_pysd(mdl, model, {"p": P_VALUES}, ["y"], tmp_path / "cache")
    at_defaults = model.run({}, ["y"])
    reference = run_single(mdl, {}, ["y"], cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(at_defaults["y"].values, reference["y"].values)


def test_integer_of_an_infinite_value_is_outside_the_domain(tmp_path: Path) -> None:
    """PySD raises on INTEGER(x/0); the engine names INTEGER instead of a huge number."""
    mdl = write_model(tmp_path, {"p": "1", "y": "INTEGER(p / 0) + p"})
    with pytest.raises(ZeroDivisionError):
        run_single(mdl, {}, ["y"], cache_dir=tmp_path / "cache")
    model = VectorModel(mdl, tmp_path / "cache")
    with pytest.raises(DomainError, match="INTEGER"):
        model.run({"p": P_VALUES}, ["y"], check_finite=False)


def test_integer_of_a_finite_value_keeps_pysd_bits(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"p": "1", "y": "INTEGER(p * 7.5) * 2^62 + INTEGER(-p)"})
    model = VectorModel(mdl, tmp_path / "cache")
    assert_bits_equal_plain_pysd(mdl, model, {"p": P_VALUES}, ["y"], tmp_path / "cache")


def test_time_step_bound_to_a_constant(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"dt": "0.5", "p": "1", "s": "INTEG(p, 0)"}, time_step="dt")
    model = VectorModel(mdl, tmp_path / "cache")
    with pytest.raises(EngineError, match="'dt'.*TIME STEP.*one value"):
        model.run({"dt": [0.25, 0.5]}, ["s"])
    params = {"dt": np.array([0.25, 0.25]), "p": np.array([1.0, 2.0])}
    result = model.run(params, ["s"])
    assert result["time"].values[1] == 0.25
    assert_bits_equal_plain_pysd(mdl, model, params, ["s"], tmp_path / "cache")


def test_final_time_bound_to_a_constant(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"horizon": "4", "p": "1", "s": "INTEG(p * s + 1, 1)"},
                      final_time="horizon")
    model = VectorModel(mdl, tmp_path / "cache")
    with pytest.raises(EngineError, match="'horizon'.*FINAL TIME.*one value"):
        model.run({"horizon": [3.0, 6.0]}, ["s"])
    params = {"horizon": np.array([6.0, 6.0]), "p": np.array([0.1, 0.2])}
    result = model.run(params, ["s"])
    assert result["time"].values[-1] == 6.0
    assert_bits_equal_plain_pysd(mdl, model, params, ["s"], tmp_path / "cache")
    assert model.run({}, ["s"])["time"].values[-1] == 4.0  # the next call: the default again


def test_saveper_not_a_multiple_of_time_step(tmp_path: Path) -> None:
    """SAVEPER 0.1 with TIME STEP 1/128 (as samples/pendulum): PySD saves the steps
    that fall on a SAVEPER multiple; the default years are those."""
    mdl = write_model(tmp_path, {"p": "1", "s": "INTEG(p, 0)"}, final_time="2",
                      time_step="1/128", saveper="0.1")
    model = VectorModel(mdl, tmp_path / "cache")
    np.testing.assert_array_equal(model.default_years, [0.0, 0.5, 1.0, 1.5, 2.0])
    assert_bits_equal_plain_pysd(mdl, model, {"p": P_VALUES}, ["s"], tmp_path / "cache")
    reference = run_single(mdl, {}, ["s"], cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(reference["time"].values, model.default_years)


def test_delay_fixed_with_one_delay_time_per_ensemble(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"p": "1", "lag": "2", "inflow": "p * Time + p",
                                 "late": "DELAY FIXED(inflow, lag, p / 2)"},
                      final_time="8", time_step="0.5")
    model = VectorModel(mdl, tmp_path / "cache")
    params = {"p": P_VALUES, "lag": np.full(3, 1.5)}
    assert_bits_equal_plain_pysd(mdl, model, params, ["late"], tmp_path / "cache")
    with pytest.raises(EngineError, match="delay time of 'late' differs across runs"):
        model.run({"lag": [1.0, 2.0]}, ["late"])


SUBSCRIPTS_MDL = Path(__file__).parent / "fixtures" / "subscripts.mdl"


def test_subscripted_model_with_per_run_values(tmp_path: Path) -> None:
    """Subscripted constants, stocks, SUM/PROD/VMIN/VMAX/ELMCOUNT, a lookup over
    regions and runs: plain PySD's bits run by run; a subscripted constant takes
    ``(runs, *subscripts)`` values, or ``(runs,)`` for every element."""
    cache = tmp_path / "cache"
    model = VectorModel(SUBSCRIPTS_MDL, cache)
    assert set(model.subscripted_parameters) == {"initial output", "sector weight"}
    outputs = model.variables
    rng = np.random.default_rng(11)
    initial = model.subscripted_parameters["initial output"].values
    params = {"growth rate": rng.uniform(0.01, 0.08, 3),
              "initial output": initial * rng.uniform(0.5, 1.5, (3, *initial.shape)),
              "sector weight": np.array([0.5, 0.7, 0.9])}
    result = model.run(params, outputs)
    assert result["output"].dims == ("run", "time", "region", "sector")
    assert result["initial output"].dims == ("run", "region", "sector")
    for i in range(3):
        single = {"growth rate": float(params["growth rate"][i]),
                  "initial output": params["initial output"][i],
                  "sector weight": np.full(2, params["sector weight"][i])}
        reference = run_single(SUBSCRIPTS_MDL, single, outputs, result["time"].values,
                               cache_dir=cache)
        for name in outputs:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, {name!r}")


AGES = {"AGE": "young, mid, old", "UPPER": "mid, old"}


@pytest.mark.parametrize("p_values", [P_VALUES, P_VALUES[:2]])  # 2 runs: as many as elements
def test_except_and_element_by_element_definitions(tmp_path: Path, p_values) -> None:
    """EXCEPT equations (PySD: ``value.values[mask] = ...``) and stocks defined per
    element or subrange (``value.loc[...] = ...``), in either order, with per-run
    values: plain PySD's bits (tests/except, tests/subscript_mapping_simple,
    tests/subscript_individually_defined_stocks of the suite)."""
    mdl = write_model(tmp_path, {
        "p": "1",
        "s[AGE] :EXCEPT: [young]": "INTEG(p * 2, 1)", "s[young]": "INTEG(p, 3)",
        "x[AGE] :EXCEPT: [old]": "p * 3", "x[old]": "7",                  # one value over runs
        "y[young]": "p", "y[AGE] :EXCEPT: [young]": "s[AGE] * 2",        # mask after an element
        "z[young]": "INTEG(p, 1)", "z[UPPER]": "INTEG(p * 2, 2)",
        "w[AGE] :EXCEPT: [old]": "Time", "w[old]": "z[old] + p"}, AGES)
    model = VectorModel(mdl, tmp_path / "cache")
    assert_bits_equal_plain_pysd(mdl, model, {"p": p_values}, ["s", "x", "y", "z", "w"],
                                 tmp_path / "cache")


def test_complex_power_stored_in_a_subscript_keeps_its_real_part(tmp_path: Path) -> None:
    """``(-Time)^c`` is complex in Python for a fractional ``c``; PySD's ``value.loc[...] =``
    stores its real part in a subscripted variable (tests/arithmetics of the suite),
    so the engine does too rather than NaN."""
    mdl = write_model(tmp_path, {"c": "1.3", "p": "1",
                                 "e[AGE] :EXCEPT: [young]": "-Time^c * p",
                                 "e[young]": "(-Time - p)^c"}, AGES)
    model = VectorModel(mdl, tmp_path / "cache")
    params = {"c": np.array([1.3, 2.0, 0.5]), "p": P_VALUES}
    assert_bits_equal_plain_pysd(mdl, model, params, ["e"], tmp_path / "cache")
    assert np.isfinite(model.run(params, ["e"], check_finite=False)["e"].values).all()


SUBSCRIPTED_TABLE = ("tab[young]((0,0),(1,1),(2,4)) ~~|\ntab[mid]((0,1),(1.5,2),(2,4)) ~~|\n"
                     "tab[old]((-1,0),(1,3),(2,5))\n\t~\t\n\t~\t|\n\n")


@pytest.mark.parametrize("params", [
    {"p": np.array([1.0, 0.5, 1.5, 2.5, -1.5, 1.25])},                 # exact, between, outside
    {"c": np.array([[0.0, 1.5, -1.0], [1.2, 2.5, 0.3], [2.0, 0.7, 3.0]])},
])
def test_subscripted_lookup_called_with_values_over_runs(tmp_path: Path, params) -> None:
    """A subscripted table called with a value over runs, unsubscripted (PySD: the
    whole table at one x) or subscripted (PySD: element by element): plain PySD's
    bits (tests/subscripted_lookups of the suite holds no constants to vary)."""
    mdl = write_model(tmp_path, {"p": "1", "c[AGE]": "0.5, 1, 1.5",
                                 "whole[AGE]": "tab[AGE](p + Time / 4)", "one": "tab[mid](p)",
                                 "each[AGE]": "tab[AGE](c[AGE] * p + Time / 8)"}, AGES)
    mdl.write_text(mdl.read_text(encoding="utf-8").replace("{UTF-8}\n", "{UTF-8}\n"
                                                           + SUBSCRIPTED_TABLE), encoding="utf-8")
    model = VectorModel(mdl, tmp_path / "cache")
    assert_bits_equal_plain_pysd(mdl, model, params, ["whole", "one", "each"], tmp_path / "cache")


def test_a_failing_comparison_is_no_verdict(tmp_path: Path, monkeypatch) -> None:
    """check_model raises when the reference run cannot be made (the model file gone
    mid-check, as once seen for tests/chained_initialization while its worktree
    changed), instead of calling the engine's numbers different from plain PySD's."""
    from simulator.engine import conformance

    mdl = write_model(tmp_path, {"p": "1", "s": "INTEG(p, 1)"})
    assert conformance.check_model(mdl, cache_dir=tmp_path / "cache").status == "equal"

    def vanished(*args, **kwargs):
        raise EngineError(f"model file not found: {mdl}")

    monkeypatch.setattr(conformance, "run_single", vanished)
    with pytest.raises(EngineError, match="model file not found"):
        conformance.check_model(mdl, cache_dir=tmp_path / "cache")


def test_one_element_of_a_subscripted_constant_per_run(tmp_path: Path) -> None:
    """``'initial output[south, industry]'`` over runs: that element per run, the others
    at their defaults; the same bits as the whole array given, and plain PySD's."""
    cache = tmp_path / "cache"
    model = VectorModel(SUBSCRIPTS_MDL, cache)
    outputs = model.variables
    values = np.array([3.0, 7.5, 11.0])
    by_element = model.run({"initial output[south, industry]": values,
                            "sector weight[ farming ]": 0.9}, outputs)
    initial = np.array(np.broadcast_to(
        model.subscripted_parameters["initial output"].values, (3, 3, 2)), dtype=np.float64)
    initial[:, 1, 1] = values
    weight = np.array([[0.9, 0.4]] * 3)
    whole = {"initial output": initial, "sector weight": weight}
    np.testing.assert_array_equal(by_element["initial output"].values, initial)
    with_whole = model.run(whole, outputs)
    for name in outputs:
        np.testing.assert_array_equal(by_element[name].values, with_whole[name].values,
                                      err_msg=name)
    assert_bits_equal_plain_pysd(SUBSCRIPTS_MDL, model, whole, outputs, cache)
    with pytest.raises(UnknownNameError, match="'region' has no element 'west'"):
        model.run({"initial output[west, industry]": values}, outputs)
    with pytest.raises(UnknownNameError, match="name one element of each"):
        model.run({"initial output[south]": values}, outputs)
    with pytest.raises(EngineError, match="given whole and by element"):
        model.run({"initial output[south, industry]": values, "initial output": initial},
                  outputs)
