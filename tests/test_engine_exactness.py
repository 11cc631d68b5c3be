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

VECTORS_MDL = Path(__file__).parent / "fixtures" / "vectors.mdl"


def test_vector_functions_invert_matrix_allocation_and_game_give_pysd_bits(
        tmp_path: Path) -> None:
    """VECTOR SELECT/SORT ORDER/RANK/REORDER, INVERT MATRIX, ALLOCATE AVAILABLE/BY
    PRIORITY and GAME over runs: plain PySD's bits run by run (ties in the sorts,
    sums of nine elements, per-run constants and subscripted constants)."""
    cache = tmp_path / "cache"
    model = VectorModel(VECTORS_MDL, cache)
    outputs = model.variables
    rng = np.random.default_rng(7)
    base = model.subscripted_parameters["base demand"].values
    demand = base * rng.uniform(0.8, 1.2, (4, base.size))
    demand[3] = np.round(demand[3])  # ties for the sorts
    params = {"growth rate": np.array([0.05, 0.02, 0.08, 0.05]),
              "supply": np.array([40.0, 25.0, 55.0, 70.0]),
              "threshold": np.array([12.0, 9.0, 15.0, 10.0]),
              "base demand": demand}
    result = model.run(params, outputs)
    for i in range(4):
        single = {k: v[i] if v.ndim > 1 else float(v[i]) for k, v in params.items()}
        reference = run_single(VECTORS_MDL, single, outputs, result["time"].values,
                               cache_dir=cache)
        for name in outputs:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, {name!r}")


def test_allocation_where_plain_pysd_raises_names_the_run(tmp_path: Path) -> None:
    """A negative request: PySD's allocation raises for that run; the engine names it."""
    model = VectorModel(VECTORS_MDL, tmp_path / "cache")
    base = model.subscripted_parameters["base demand"].values
    demand = np.stack([base, -base])
    with pytest.raises(DomainError, match="ALLOCATE AVAILABLE: plain PySD raises in run 1"):
        model.run({"base demand": demand}, ["shared"])


def test_vector_functions_match_pysd_on_random_arrays() -> None:
    """The engine's vector functions against PySD's, run by run, on random values:
    every VECTOR SELECT action over 2-19 elements (pairwise sums from 8), ties in
    the sorts, per-run sort directions, stacked matrices."""
    import xarray as xr
    from pysd.py_backend import functions as pysd_functions

    from simulator.engine import vectors

    rng = np.random.default_rng(3)
    n = 4

    def check(got, expected_per_run):
        for i, expected in enumerate(expected_per_run):
            value = got.isel(run=i)
            np.testing.assert_array_equal(value.values, np.asarray(expected))
            if isinstance(expected, xr.DataArray):
                assert value.dtype == expected.dtype

    for trial in range(40):
        k, m = int(rng.integers(2, 20)), int(rng.integers(1, 4))
        coords = {"m": [f"m{j}" for j in range(m)], "a": [f"a{j}" for j in range(k)]}
        weights = rng.uniform(-1, 1, (k, m, n))
        weights[rng.uniform(size=weights.shape) < 0.3] = 0
        selection = xr.DataArray(weights, dims=["a", "m", "run"])
        expression = xr.DataArray(rng.uniform(-2, 2, (k, n)), dims=["a", "run"])
        for action in range(11):
            for dims in (["a"], ["a", "m"]):
                check(vectors.vector_select(selection, expression, dims, -9, action, 0),
                      [pysd_functions.vector_select(selection.isel(run=i),
                                                    expression.isel(run=i), dims, -9,
                                                    action, 0) for i in range(n)])
        values = rng.uniform(size=(m, k, n))
        vector = xr.DataArray(np.round(values * 3) if trial % 2 else values,
                              dims=["m", "a", "run"], coords=coords)
        directions = xr.DataArray(rng.choice([-1.0, 1.0], n), dims=["run"])
        for direction in (1, 0, directions):
            per_run = [direction if isinstance(direction, int) else float(direction[i])
                       for i in range(n)]
            check(vectors.vector_sort_order(vector, direction),
                  [pysd_functions.vector_sort_order(vector.isel(run=i).copy(), d)
                   for i, d in enumerate(per_run)])
            check(vectors.vector_rank(vector, direction),
                  [pysd_functions.vector_rank(vector.isel(run=i).copy(), d)
                   for i, d in enumerate(per_run)])
        order = vectors.vector_sort_order(vector, 0)
        check(vectors.vector_reorder(vector, order),
              [pysd_functions.vector_reorder(vector.isel(run=i).copy(),
                                             order.isel(run=i).copy()) for i in range(n)])
        matrices = xr.DataArray(rng.uniform(-1, 1, (m, k, k, n)), dims=["m", "r", "c", "run"])
        check(vectors.invert_matrix(matrices),
              [pysd_functions.invert_matrix(matrices.isel(run=i).copy()) for i in range(n)])


RANDOM_MDL = Path(__file__).parent / "fixtures" / "random.mdl"
RANDOM_OUTPUTS = ["uniform noise", "unit noise", "normal noise", "exponential noise",
                  "regional noise", "accumulated noise"]


def test_random_functions_give_seeded_plain_pysd_bits(tmp_path: Path) -> None:
    """RANDOM UNIFORM/0 1/NORMAL/EXPONENTIAL, unsubscripted and subscripted: run i of an
    ensemble seeded s has the bits of plain PySD after np.random.seed([s, i])."""
    cache = tmp_path / "cache"
    model = VectorModel(RANDOM_MDL, cache)
    params = {"low": np.array([1.0, 0.75, 1.25]), "spread": np.array([2.0, 1.5, 2.5])}
    result = model.run(params, RANDOM_OUTPUTS, seed=42)
    assert result.attrs["random_seed"] == 42
    years = result["time"].values
    for i in range(3):
        single = {k: float(v[i]) for k, v in params.items()}
        reference = run_single(RANDOM_MDL, single, RANDOM_OUTPUTS, years, cache_dir=cache,
                               random_seed=[42, i])
        for name in RANDOM_OUTPUTS:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, {name!r}")
    other = run_single(RANDOM_MDL, {k: float(v[0]) for k, v in params.items()},
                       ["uniform noise"], years, cache_dir=cache, random_seed=[42, 1])
    assert not np.array_equal(other["uniform noise"].values[0],
                              result["uniform noise"].values[0])


def test_random_streams_are_reproducible_and_independent_of_the_ensemble(
        tmp_path: Path) -> None:
    model = VectorModel(RANDOM_MDL, tmp_path / "cache")
    five = model.run({"low": np.ones(5)}, RANDOM_OUTPUTS, seed=7)
    again = model.run({"low": np.ones(5)}, RANDOM_OUTPUTS, seed=7)
    two = model.run({"low": np.ones(2)}, RANDOM_OUTPUTS, seed=7)
    reseeded = model.run({"low": np.ones(5)}, RANDOM_OUTPUTS, seed=8)
    for name in RANDOM_OUTPUTS:
        np.testing.assert_array_equal(five[name].values, again[name].values)
        np.testing.assert_array_equal(five[name].values[:2], two[name].values)
        assert not np.array_equal(five[name].values, reseeded[name].values), name
    with pytest.raises(EngineError, match="seed"):
        model.run({}, ["unit noise"], seed=-1)


def test_random_draws_follow_their_distributions(tmp_path: Path) -> None:
    """11,000 draws (1,000 runs x 11 steps): uniform on [1, 3], 0-1 uniform, normal(1, 2)
    truncated at ±3 sd, exponential with scale 2 truncated at 20 (moments within 5
    standard errors)."""
    model = VectorModel(RANDOM_MDL, tmp_path / "cache")
    n = 1000
    draws = model.run({"low": np.ones(n)}, RANDOM_OUTPUTS[:4], seed=3)
    uniform = draws["uniform noise"].values.ravel()
    unit = draws["unit noise"].values.ravel()
    normal = draws["normal noise"].values.ravel()
    exponential = draws["exponential noise"].values.ravel()
    size = uniform.size
    assert uniform.min() >= 1 and uniform.max() <= 3 and unit.min() >= 0 and unit.max() <= 1
    assert abs(uniform.mean() - 2) < 5 * np.sqrt(1 / 3 / size)
    assert abs(unit.var() - 1 / 12) < 0.01
    assert normal.min() >= -5 and normal.max() <= 7
    assert abs(normal.mean() - 1) < 5 * 2 / np.sqrt(size) and abs(normal.std() - 2) < 0.1
    assert exponential.min() >= 0 and abs(exponential.mean() - 2) < 5 * 2 / np.sqrt(size)


def test_random_in_a_branch_taken_by_some_runs_only_is_refused(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"p": "1", "y": "IF THEN ELSE(p > 0, RANDOM UNIFORM(0, 1, 0), 0)"})
    model = VectorModel(mdl, tmp_path / "cache")
    with pytest.raises(EngineError, match="RANDOM function inside IF THEN ELSE"):
        model.run({"p": P_VALUES}, ["y"])
    params = {"p": np.array([1.0, 2.0])}  # every run takes the same branch
    result = model.run(params, ["y"], seed=5)
    for i in range(2):
        reference = run_single(mdl, {"p": float(params["p"][i])}, ["y"],
                               result["time"].values, cache_dir=tmp_path / "cache",
                               random_seed=[5, i])
        np.testing.assert_array_equal(result["y"].values[i], reference["y"].values[0])


def test_control_values_changing_during_the_run(tmp_path: Path) -> None:
    """FINAL TIME, TIME STEP and SAVEPER through Time (as tests/control_vars): PySD's
    clock decides the steps; the default years are the steps plain PySD saves."""
    mdl = write_model(tmp_path, {"p": "1", "s": "INTEG(p * s + 1, 1)"},
                      final_time="IF THEN ELSE(Time < 3, 6, 8)",
                      time_step="IF THEN ELSE(Time < 2, 1, 0.5)",
                      saveper="IF THEN ELSE(Time < 5, TIME STEP, 1)")
    model = VectorModel(mdl, tmp_path / "cache")
    assert model.changing_controls == ["FINAL TIME", "TIME STEP", "SAVEPER"]
    result = model.run({"p": P_VALUES}, ["s"])
    reference = run_single(mdl, {}, ["s"], cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(result["time"].values, reference["time"].values)
    assert result["time"].values[-1] == 8.0 and 2.5 in result["time"].values
    assert_bits_equal_plain_pysd(mdl, model, {"p": P_VALUES}, ["s"], tmp_path / "cache")
    picked = model.run({"p": P_VALUES}, ["s"], years=[2.5, 7.0])
    np.testing.assert_array_equal(picked["s"].values,
                                  result["s"].sel(time=[2.5, 7.0]).values)


def test_final_time_differing_across_runs_is_refused(tmp_path: Path) -> None:
    """FINAL TIME set by a stock: one clock needs one value; per-run values are named."""
    mdl = write_model(tmp_path, {"p": "1", "s": "INTEG(p, 0)"},
                      final_time="IF THEN ELSE(s > 2, Time, 6)")
    model = VectorModel(mdl, tmp_path / "cache")
    with pytest.raises(EngineError, match="FINAL TIME differs across runs"):
        model.run({"p": P_VALUES}, ["s"])
    params = {"p": np.array([0.75, 0.75])}
    result = model.run(params, ["s"])
    assert result["time"].values[-1] == 3.0  # s = 0.75 Time passes 2 at Time 3
    np.testing.assert_array_equal(
        result["time"].values, run_single(mdl, {"p": 0.75}, ["s"],
                                          cache_dir=tmp_path / "cache")["time"].values)
    assert_bits_equal_plain_pysd(mdl, model, params, ["s"], tmp_path / "cache")


def test_stocks_updated_in_place_alias_nothing(tmp_path: Path) -> None:
    """Stock updates written into earlier state arrays (engine.stepping.EulerStep): a stock
    whose flow is another stock itself, INITIAL of a stock, a SMOOTH read by a stock, a
    SAMPLE IF TRUE of a stock (evaluated while the stocks are updated), a stock started
    from a given parameter and a stock whose flow is a constant (a scalar derivative):
    plain PySD's bits run by run, the given arrays untouched, and the same bits as PySD's
    allocating step, over two calls (the second starts from fresh states)."""
    mdl = write_model(tmp_path, {
        "a": "INTEG(b, p)", "b": "INTEG(a * 0.1, 1)", "c": "INTEG(0.5, p)",
        "start of a": "INITIAL(a)", "seen": "SMOOTH(a, 2)", "d": "INTEG(seen - d, start of a)",
        "gap": "a - start of a", "held": "SAMPLE IF TRUE(Time > 2, a + b, 0)",
        "e": "INTEG(held - e + b, 0)", "p": "1"}, final_time="6", time_step="0.25")
    model = VectorModel(mdl, tmp_path / "cache")
    assert model._step.in_place
    params = {"p": np.array([1.0, 2.5, -0.75])}
    given = params["p"].copy()
    outputs = ["a", "b", "c", "start of a", "seen", "d", "gap", "held", "e"]
    assert_bits_equal_plain_pysd(mdl, model, params, outputs, tmp_path / "cache")
    np.testing.assert_array_equal(params["p"], given)
    in_place = model.run(params, outputs, check_finite=False)
    assert model._step.spare  # the stocks were written into earlier state arrays
    model._step.in_place = False
    allocating = model.run(params, outputs, check_finite=False)
    for name in outputs:
        np.testing.assert_array_equal(in_place[name].values, allocating[name].values, name)
