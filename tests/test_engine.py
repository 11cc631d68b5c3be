"""The vectorised ensemble engine against plain PySD, one run at a time."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pysd.py_backend import functions as pysd_functions

from simulator.engine import (
    SUPPORTED_FUNCTIONS,
    EngineError,
    NonFiniteError,
    UnknownNameError,
    UnsupportedConstruct,
    VectorModel,
    model_hash,
    run_single,
    translate,
    used_constructs,
)
from simulator.engine import functions as array_functions

FIXTURES = Path(__file__).parent / "fixtures"
FUNCTIONS_MDL = FIXTURES / "functions.mdl"
KARAMAY_MDL = Path(__file__).resolve().parents[1] / "models" / "karamay.mdl"
N_RUNS = 20
YEARS = np.arange(2000.0, 2016.0)

CONTROL = """
INITIAL TIME = 0
\t~\tYear
\t~\t|

FINAL TIME = 4
\t~\tYear
\t~\t|

TIME STEP = 1
\t~\tYear
\t~\t|

SAVEPER = TIME STEP
\t~\tYear
\t~\t|
"""


@pytest.fixture(autouse=True)
def _quiet_pysd_warnings():
    """PySD warns on lookup extrapolation and small delay times; not under test here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine-cache")


@pytest.fixture(scope="session")
def functions_model(cache_dir: Path) -> VectorModel:
    return VectorModel(FUNCTIONS_MDL, cache_dir)


def sample(model: VectorModel, n: int, seed: int) -> dict[str, np.ndarray]:
    """Parameters with finite limits, uniform within them."""
    rng = np.random.default_rng(seed)
    finite = {k: v for k, v in sorted(model.limits.items()) if np.all(np.isfinite(v))}
    return {name: rng.uniform(low, high, n) for name, (low, high) in finite.items()}


def run_params(params: Mapping[str, np.ndarray], i: int) -> dict[str, float]:
    return {name: float(values[i]) for name, values in params.items()}


def assert_matches_single_runs(mdl: Path, result: xr.Dataset, params: Mapping[str, np.ndarray],
                               outputs: list[str], cache_dir: Path) -> None:
    """Every run of ``result`` equals plain PySD's run to 1e-12 relative."""
    years = result["time"].values
    for i in range(result.sizes["run"]):
        reference = run_single(mdl, run_params(params, i), outputs, years, cache_dir=cache_dir)
        for name in outputs:
            expected = reference[name].values[0]
            scale = np.nanmax(np.abs(expected), initial=0.0) or 1.0
            np.testing.assert_allclose(result[name].values[i], expected, rtol=1e-12,
                                       atol=1e-12 * scale, err_msg=f"run {i}, '{name}'")


def assert_bit_identical_to_single_runs(mdl: Path, result: xr.Dataset,
                                        params: Mapping[str, np.ndarray], outputs: list[str],
                                        cache_dir: Path) -> None:
    """Every run of ``result`` has the bits of plain PySD's run (NaN where PySD has NaN)."""
    years = result["time"].values
    for i in range(result.sizes["run"]):
        reference = run_single(mdl, run_params(params, i), outputs, years, cache_dir=cache_dir)
        for name in outputs:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, '{name}'")


def tiny_model(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tiny.mdl"
    path.write_text("{UTF-8}\n" + body + CONTROL, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the fixture


def test_fixture_uses_every_supported_function() -> None:
    used = set().union(*used_constructs(FUNCTIONS_MDL).values(),
                       *used_constructs(FIXTURES / "subscripts.mdl").values(),
                       *used_constructs(FIXTURES / "vectors.mdl").values(),
                       *used_constructs(FIXTURES / "random.mdl").values())
    assert set(SUPPORTED_FUNCTIONS) <= used, set(SUPPORTED_FUNCTIONS) - used


def test_parameters_and_limits(functions_model: VectorModel) -> None:
    assert functions_model.parameters["growth rate"] == 0.05
    assert functions_model.limits["growth rate"] == (0.01, 0.1)
    assert functions_model.limits["shock"] == (-4.0, 10.0)
    assert not set(functions_model.parameters) & {"INITIAL TIME", "FINAL TIME", "TIME STEP",
                                                  "SAVEPER"}
    assert set(functions_model.limits) == set(functions_model.parameters)
    assert {"Stock", "Backlog", "Memory", "smoothed stock"} <= set(functions_model.variables)
    np.testing.assert_array_equal(functions_model.default_years, YEARS)


# --------------------------------------------------------------------------- equivalence


@pytest.fixture(scope="session")
def functions_ensemble(functions_model: VectorModel, cache_dir: Path):
    """20 random runs of the fixture, vectorised, and the same runs one at a time."""
    params = sample(functions_model, N_RUNS, seed=20)
    outputs = functions_model.variables
    result = functions_model.run(params, outputs)
    singles = [run_single(FUNCTIONS_MDL, run_params(params, i), outputs, cache_dir=cache_dir)
               for i in range(N_RUNS)]
    return outputs, result, singles


def test_vectorised_equals_single_runs(functions_ensemble) -> None:
    outputs, result, singles = functions_ensemble
    assert dict(result.sizes) == {"run": N_RUNS, "time": len(YEARS)}
    for i, reference in enumerate(singles):
        for name in outputs:
            expected = reference[name].values[0]
            scale = np.max(np.abs(expected)) or 1.0
            np.testing.assert_allclose(result[name].values[i], expected, rtol=1e-12,
                                       atol=1e-12 * scale, err_msg=f"run {i}, '{name}'")


def test_vectorised_is_bit_identical_to_single_runs(functions_ensemble) -> None:
    """Same floating-point operations as plain PySD, so the same bits (Vensim ^ included)."""
    outputs, result, singles = functions_ensemble
    for i, reference in enumerate(singles):
        for name in outputs:
            np.testing.assert_array_equal(result[name].values[i], reference[name].values[0],
                                          err_msg=f"run {i}, '{name}'")


@pytest.mark.parametrize("n", [1, 3])
def test_tiny_ensembles_are_bit_identical(functions_model: VectorModel, cache_dir: Path,
                                          n: int) -> None:
    """One run and a few runs are carried as arrays too, and give plain PySD's bits."""
    params = sample(functions_model, n, seed=100 + n)
    outputs = functions_model.variables
    result = functions_model.run(params, outputs)
    assert dict(result.sizes) == {"run": n, "time": len(YEARS)}
    assert_bit_identical_to_single_runs(FUNCTIONS_MDL, result, params, outputs, cache_dir)


def test_previous_parameters_are_released(functions_model: VectorModel) -> None:
    """A run keeps no reference to an earlier run's parameter arrays (no growth per run)."""
    functions_model.run({"growth rate": np.array([0.02, 0.03])}, ["Stock"])
    first = weakref.ref(functions_model._model.components.growth_rate())
    functions_model.run({"growth rate": np.array([0.04, 0.05])}, ["Stock"])
    gc.collect()
    assert first() is None


def _bits(values: object) -> bytes:
    return np.asarray(values, dtype=np.float64).tobytes()


def test_array_functions_match_pysd_run_by_run() -> None:
    """The engine's array versions of PySD's functions give PySD's scalar answer per run."""
    a = np.array([7.5, -7.5, 0.0, 3.0, 1e-7, -2.0, 5.0, -0.0, 1e300, np.nan])
    b = np.array([2.0, 2.0, 0.0, 1e-7, -1e-7, -3.0, 0.5, 4.0, 1e-300, 1.0])
    pairs = list(zip(a.tolist(), b.tolist()))
    with np.errstate(all="ignore"):
        checks = {
            "xidz": (array_functions._xidz(a, b, 9), [pysd_functions.xidz(x, y, 9) for x, y in pairs]),
            "xidz scalar": (array_functions._xidz(a, 0.0, 9), [pysd_functions.xidz(x, 0.0, 9) for x in a]),
            "zidz": (array_functions._zidz(a, b), [pysd_functions.zidz(x, y) for x, y in pairs]),
            "zidz scalar": (array_functions._zidz(a, 0.0), [pysd_functions.zidz(x, 0.0) for x in a]),
            "integer": (array_functions._integer(a[:-2]), [pysd_functions.integer(x) for x in a[:-2]]),
            "quantum": (array_functions._quantum(a[:-2], b[:-2]),
                        [pysd_functions.quantum(x, y) for x, y in pairs[:-2]]),
            "quantum scalar": (array_functions._quantum(a[:-2], 0.75),
                               [pysd_functions.quantum(x, 0.75) for x in a[:-2]]),
            "modulo": (array_functions._modulo(a[:-2], b[:-2]),
                       [pysd_functions.modulo(x, y) for x, y in pairs[:-2]]),
            "if_then_else": (array_functions._if_then_else(a > b, lambda: a, lambda: b),
                             [pysd_functions.if_then_else(x > y, lambda x=x: x, lambda y=y: y)
                              for x, y in pairs]),
        }
    for name, (actual, expected) in checks.items():
        assert _bits(np.broadcast_to(actual, a[:len(expected)].shape)) == _bits(expected), name
    # a condition equal in every run returns that branch alone, as PySD does for DataArrays
    assert array_functions._if_then_else(np.ones(3, bool), lambda: 1, lambda: b) == 1
    assert array_functions._if_then_else(np.zeros(3, bool), lambda: a, lambda: 2) == 2


def test_defaults_and_partial_parameters(functions_model: VectorModel, cache_dir: Path) -> None:
    """Constants not given keep PySD's own values (ints stay ints, as in PySD)."""
    outputs = functions_model.variables
    partial = {"growth rate": np.array([0.02, 0.08]), "smooth time": np.array([1.5, 5.0])}
    assert_matches_single_runs(FUNCTIONS_MDL, functions_model.run(partial, outputs), partial,
                               outputs, cache_dir)
    assert_matches_single_runs(FUNCTIONS_MDL, functions_model.run({}, outputs), {}, outputs,
                               cache_dir)


def test_selected_years(functions_model: VectorModel, cache_dir: Path) -> None:
    params = sample(functions_model, 3, seed=3)
    years = [2015, 2003, 2007.5]
    result = functions_model.run(params, ["Stock", "smoothed inflow"], years=years)
    np.testing.assert_array_equal(result["time"].values, [2003.0, 2007.5, 2015.0])
    assert_matches_single_runs(FUNCTIONS_MDL, result, params, ["Stock", "smoothed inflow"],
                               cache_dir)


@pytest.mark.parametrize("years", [[2000.1], [2016.0], [1999.0], []])
def test_years_off_the_time_grid(functions_model: VectorModel, years: list[float]) -> None:
    with pytest.raises(EngineError, match="years"):
        functions_model.run({}, ["Stock"], years=years)


def test_independent_of_ensemble_size_and_order(functions_model: VectorModel) -> None:
    params = sample(functions_model, N_RUNS, seed=7)
    outputs = functions_model.variables
    ensemble = functions_model.run(params, outputs)
    for i in (0, 11, N_RUNS - 1):
        alone = functions_model.run({k: v[i:i + 1] for k, v in params.items()}, outputs)
        for name in outputs:
            np.testing.assert_array_equal(alone[name].values[0], ensemble[name].values[i],
                                          err_msg=f"run {i}, '{name}'")
    backwards = functions_model.run({k: v[::-1] for k, v in params.items()}, outputs)
    for name in outputs:
        np.testing.assert_array_equal(backwards[name].values[::-1], ensemble[name].values)


def test_state_is_reset_between_calls(functions_model: VectorModel) -> None:
    first = sample(functions_model, 4, seed=1)
    other = sample(functions_model, 6, seed=2)
    before = functions_model.run(first, functions_model.variables)
    functions_model.run(other, ["Stock"], years=[2000, 2004])
    after = functions_model.run(first, functions_model.variables)
    xr.testing.assert_identical(before, after)


def test_result_layout(functions_model: VectorModel) -> None:
    params = xr.Dataset({"growth rate": ("run", [0.02, 0.03, 0.04]),
                         "initial stock": ((), 80.0)},
                        coords={"run": [10, 20, 30]})
    result = functions_model.run(params, ["stock", "effect of ratio", "growth rate", "Time"])
    assert result["run"].values.tolist() == [10, 20, 30]
    np.testing.assert_array_equal(result["Time"].values, np.tile(YEARS, (3, 1)))
    assert result["Stock"].dims == ("run", "time") and result["Stock"].dtype == np.float64
    assert result["growth rate"].dims == ("run", "time")  # an output wins over the input
    np.testing.assert_array_equal(result["initial stock"].values, [80.0] * 3)
    np.testing.assert_array_equal(result["Stock"].values[:, 0], [80.0] * 3)
    assert result.attrs["model_sha256"] == model_hash(FUNCTIONS_MDL)



@pytest.mark.parametrize("mdl", [FUNCTIONS_MDL, FIXTURES / "subscripts.mdl"])
def test_result_built_directly_is_the_merged_dataset(mdl: Path, cache_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """engine/control.py: the Dataset built with ``_construct_direct`` (no merge) is
    identical to the one xarray's merging constructor builds from the same variables."""
    from simulator.engine import control

    vm = VectorModel(mdl, cache_dir)
    constant = next(iter(vm.parameters))
    params = {constant: np.array([0.5, 1.0, 2.0]) * (vm.parameters[constant] or 1.0)}
    direct = vm.run(params, vm.variables, check_finite=False)
    monkeypatch.setattr(control, "_direct_dataset", lambda *args: None)
    merged = vm.run(params, vm.variables, check_finite=False)
    xr.testing.assert_identical(direct, merged)
    assert list(direct.indexes) == list(merged.indexes)
    assert direct.attrs == merged.attrs

# --------------------------------------------------------------------------- errors


def test_nan_names_run_and_variable(functions_model: VectorModel) -> None:
    params = {"initial stock": np.array([100.0, 90.0, 80.0, -50.0, 70.0])}
    with pytest.raises(NonFiniteError, match=r"run 3\b.*'log stock' at time 2000") as info:
        functions_model.run(params, ["Stock", "log stock"])
    assert (info.value.run, info.value.variable, info.value.time) == (3, "log stock", 2000.0)
    assert info.value.n_runs == 1
    unchecked = functions_model.run(params, ["log stock"], check_finite=False)
    assert np.isnan(unchecked["log stock"].values[3, 0])
    assert np.isfinite(unchecked["log stock"].values[[0, 1, 2, 4]]).all()


def test_inf_names_run_and_variable(functions_model: VectorModel) -> None:
    params = {"target stock": np.array([120.0, 0.0])}
    with pytest.raises(NonFiniteError, match=r"run 1\b.*'ratio'"):
        functions_model.run(params, ["Stock", "ratio"])


@pytest.mark.parametrize("params, outputs, name", [
    ({"no such parameter": [1.0, 2.0]}, ["Stock"], "no such parameter"),
    ({}, ["Stock", "no such output"], "no such output"),
    ({"Stock": 3.0}, ["Stock"], "Stock"),
])
def test_unknown_names(functions_model: VectorModel, params: dict, outputs: list[str],
                       name: str) -> None:
    with pytest.raises(UnknownNameError, match=name) as info:
        functions_model.run(params, outputs)
    assert isinstance(info.value, KeyError) and isinstance(info.value, EngineError)


def test_unknown_names_in_reference(cache_dir: Path) -> None:
    with pytest.raises(UnknownNameError, match="no such output"):
        run_single(FUNCTIONS_MDL, {}, ["no such output"], cache_dir=cache_dir)


def test_bad_parameter_shapes(functions_model: VectorModel) -> None:
    with pytest.raises(EngineError, match="differ in length"):
        functions_model.run({"growth rate": [0.02, 0.03], "shock": [1.0, 2.0, 3.0]}, ["Stock"])
    with pytest.raises(EngineError, match="1-D"):
        functions_model.run({"growth rate": np.ones((2, 2))}, ["Stock"])


def test_lookup_is_not_an_output(functions_model: VectorModel) -> None:
    with pytest.raises(EngineError, match="effect table"):
        functions_model.run({}, ["effect table"])


def test_delay_order_cast_differently_per_run(functions_model: VectorModel,
                                              cache_dir: Path) -> None:
    """DELAY3 with delay time < 3 x TIME STEP: PySD lowers the order per run."""
    with pytest.raises(EngineError, match="delayed"):
        functions_model.run({"delay time": [0.5, 2.0]}, ["Backlog"])
    same = {"delay time": np.array([0.5, 0.5])}
    result = functions_model.run(same, ["Backlog", "delayed outflow"])
    assert_matches_single_runs(FUNCTIONS_MDL, result, same, ["Backlog", "delayed outflow"],
                               cache_dir)


def test_smooth_n_order_must_be_one_value(tmp_path: Path) -> None:
    mdl = tiny_model(tmp_path, (
        "smooth order = 2\n\t~\tDmnl [1,3]\n\t~\t|\n\n"
        "input = 3\n\t~\tWidget [1,10,0.5]\n\t~\t|\n\n"
        "smoothed = SMOOTH N(input * Time, 2, 0, smooth order)\n\t~\tWidget\n\t~\t|\n"))
    model = VectorModel(mdl, tmp_path / "cache")
    assert model.limits["input"] == (1.0, 10.0)
    with pytest.raises(EngineError, match="order of 'smoothed' differs across runs"):
        model.run({"smooth order": [2.0, 3.0]}, ["smoothed"])
    # plain PySD needs an int order (it fails on a float one), so the reference keeps
    # the default order 2 and the ensemble gives 2.0 to every run
    inputs = {"input": np.array([2.0, 5.0])}
    result = model.run({**inputs, "smooth order": [2.0, 2.0]}, ["smoothed"])
    assert_matches_single_runs(mdl, result, inputs, ["smoothed"], tmp_path / "cache")


@pytest.mark.parametrize("body, variable, construct", [
    ("noise = RANDOM POISSON(0, 10, 2, 0, 1, 0)\n\t~\tDmnl\n\t~\t|\n", "noise",
     "RANDOM POISSON"),
    ("data points := 5\n\t~\tWidget\n\t~\t|\n", "data points", "a data variable"),
])
def test_unsupported_construct(tmp_path: Path, body: str, variable: str,
                               construct: str) -> None:
    mdl = tiny_model(tmp_path, body)
    with pytest.raises(UnsupportedConstruct, match=f"'{variable}' uses {construct}") as info:
        VectorModel(mdl, tmp_path / "cache")
    assert any(v == variable and c.startswith(construct) for v, c in info.value.issues)
    assert not list((tmp_path / "cache").glob("*.py")), "a refused model is not cached"


# --------------------------------------------------------------------------- translation cache


def test_translation_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mdl = tmp_path / "copy.mdl"
    mdl.write_bytes(FUNCTIONS_MDL.read_bytes())
    assert model_hash(mdl) == hashlib.sha256(mdl.read_bytes()).hexdigest()
    first = translate(mdl, tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    assert translate(mdl, tmp_path / "cache") == first and first.stat().st_mtime_ns == stamp
    assert "float(" not in first.read_text(encoding="utf-8")
    mdl.write_text(mdl.read_text(encoding="utf-8").replace("0.05", "0.06"), encoding="utf-8")
    assert translate(mdl, tmp_path / "cache") != first
    monkeypatch.setenv("PLANSIM_CACHE_DIR", str(tmp_path / "user"))
    assert translate(mdl).parent == tmp_path / "user"  # default: the per-user cache


def _translate_in_child(args: tuple[str, str]) -> str:
    return str(translate(*args))


def test_concurrent_translation_is_atomic(tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        paths = pool.map(_translate_in_child, [(str(FUNCTIONS_MDL), str(cache))] * 4)
    assert len(set(paths)) == 1
    main = Path(paths[0])
    # the model's file and its macro's, beside it; no temporary directory left behind
    assert sorted(p.name for p in cache.iterdir()) == [
        main.name, f"{main.name}.sha256.json", f"{main.stem}__double_stock.py"]
    assert VectorModel(FUNCTIONS_MDL, cache).py_path == Path(paths[0])


# --------------------------------------------------------------------------- the real model


@pytest.mark.skipif(not KARAMAY_MDL.exists(), reason="models/karamay.mdl not written yet")
def test_karamay_vectorised_equals_single_runs(cache_dir: Path) -> None:
    model = VectorModel(KARAMAY_MDL, cache_dir)
    params = sample(model, N_RUNS, seed=2026)
    outputs = model.variables
    # Sampling every range independently can drive the model out of its domain (NaN);
    # those runs are compared too (NaN where plain PySD gives NaN or a complex value).
    result = model.run(params, outputs, check_finite=False)
    assert_bit_identical_to_single_runs(KARAMAY_MDL, result, params, outputs, cache_dir)


@pytest.mark.skipif(not KARAMAY_MDL.exists(), reason="models/karamay.mdl not written yet")
@pytest.mark.parametrize("n", [1, 3])
def test_karamay_tiny_ensembles_are_bit_identical(cache_dir: Path, n: int) -> None:
    model = VectorModel(KARAMAY_MDL, cache_dir)
    params = sample(model, n, seed=300 + n)
    outputs = model.variables
    result = model.run(params, outputs, check_finite=False)
    assert_bit_identical_to_single_runs(KARAMAY_MDL, result, params, outputs, cache_dir)


@pytest.mark.skipif(not KARAMAY_MDL.exists(), reason="models/karamay.mdl not written yet")
def test_karamay_stopped_early_is_bit_identical_up_to_the_stop(cache_dir: Path) -> None:
    """``until`` (what calibration uses: the history ends in 2005) stops the clock early;
    the outputs up to it are the full run's, bit for bit, and a full run afterwards is
    unchanged (the stop does not stick to the model)."""
    model = VectorModel(KARAMAY_MDL, cache_dir)
    params = sample(model, N_RUNS, seed=2027)
    outputs = model.variables
    years = np.arange(2000.0, 2006.0)
    full = model.run(params, outputs, years=YEARS, check_finite=False)
    early = model.run(params, outputs, years=years, check_finite=False, until=2005.0,
                      inputs=False)
    again = model.run(params, outputs, years=YEARS, check_finite=False)
    for name in outputs:
        a = full[name].sel(time=years).values
        assert np.array_equal(a, early[name].values, equal_nan=True), name
        assert np.array_equal(full[name].values, again[name].values, equal_nan=True), name
    assert not set(params) & set(early.data_vars) - set(outputs)
    with pytest.raises(EngineError, match="until"):
        model.run(params, outputs, years=YEARS, check_finite=False, until=2005.0)
    with pytest.raises(EngineError, match="until"):
        model.run(params, outputs, years=years, check_finite=False, until=2005.06)


def test_subscript_range_read_from_a_file_beside_the_model(tmp_path: Path) -> None:
    """GET DIRECT SUBSCRIPT names a file in the model's folder, as plain PySD reads it,
    with the translation cache elsewhere (tests/get_subscript_3d_arrays_xls of the suite)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "regions.csv").write_text("north,south,east\n", encoding="utf-8")
    mdl = folder / "regions.mdl"
    mdl.write_text("{UTF-8}\nREGION: GET DIRECT SUBSCRIPT('regions.csv', ',', 'A1', 'C1', '')"
                   "\n\t~\t\n\t~\t|\n\np = 1\n\t~\tDmnl\n\t~\t|\n\n"
                   "s[REGION] = INTEG(p, 1)\n\t~\tDmnl\n\t~\t|\n\n" + CONTROL, encoding="utf-8")
    cache = tmp_path / "cache"
    model = VectorModel(mdl, cache)
    params = {"p": np.array([0.5, 2.0])}
    result = model.run(params, ["s"])
    assert list(result["REGION"].values) == ["north", "south", "east"]
    assert_bit_identical_to_single_runs(mdl, result, params, ["s"], cache)


def test_stocks_plain_pysd_cannot_step_together_are_refused_by_name(cache_dir: Path) -> None:
    """Issue 21: PySD's Macro.state cannot pack a (dim1, dim2) stock beside a (dim1, dim2,
    dim3) one defined per element of dim3; the engine refuses instead of giving values."""
    mdl = (Path(__file__).parent / "test-models" / "tests" / "data_from_other_model"
           / "model_to_generate_data.mdl")
    with pytest.raises(UnsupportedConstruct) as refusal:
        VectorModel(mdl, cache_dir)
    assert "var 2dim" in str(refusal.value) and "Macro.state" in str(refusal.value)


@pytest.mark.parametrize("mdl", [KARAMAY_MDL, FUNCTIONS_MDL, FIXTURES / "subscripts.mdl"])
def test_per_call_set_up_once_gives_pysds_answers(mdl: Path, cache_dir: Path) -> None:
    """engine/overhead.py: the memoised call counts and name lookups equal PySD's scans."""
    from pysd.py_backend import utils
    from pysd.py_backend.model import Model

    from simulator.engine import overhead

    vm = VectorModel(mdl, cache_dir)
    lookup = utils.get_key_and_value_by_insensitive_key_or_value
    vm.run({}, vm.variables[:2])
    model = vm._model
    model._assign_cache_type()
    for element in model._namespace.values():
        assert model._count_calls(element) == Model._count_calls(model, element), element
    assert lookup is overhead._lookup
    names = [*model._namespace, *model._namespace.values(), "TIME", "no such name"]
    for name in names + [n.upper() for n in names] + [n.title() for n in names]:
        assert lookup(name, model._namespace) == overhead._PYSD_LOOKUP(name, model._namespace)


def test_bench_peer_is_skipped_in_one_line_without_node(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    monkeypatch.setenv("PATH", "")
    bench_peer = importlib.import_module("bench_peer")
    assert bench_peer.main([]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "bench_peer: skipped (node not found; SDEverywhere's C needs node, npm and gcc)"
    assert "bench_peer" in sys.modules
