"""Constant parts of step equations evaluated once per run (simulator/engine/hoist.py).

The hoisted engine must give plain PySD's bits, from one ensemble to the next with other
constants (a kept value of the previous ensemble would show), and the number-against-array
form of MAX/MIN must give numpy's bits for NaN, infinities and signed zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_engine_exactness import _quiet, assert_bits_equal_plain_pysd, write_model  # noqa: F401

from simulator.engine import EngineError, VectorModel
from simulator.engine import hoist as _hoist

EQUATIONS = {
    "a": "2", "b": "0.5", "c": "3",
    "s": "INTEG(MAX(0, s * b - (a - 1)) + (1 - b) * s + MIN(1, EXP(a * b) - c), 1)",
    "y": "s * (1 - b) / (a + c) + MAX(-1, s - c ^ b) + IF THEN ELSE(Time > 2, MIN(c, s), a - b)",
    "z": "INITIAL(s) * (a - b) + s",
}


def test_hoisted_model_gives_plain_pysd_bits_from_one_ensemble_to_the_next(
        tmp_path: Path) -> None:
    mdl = write_model(tmp_path, EQUATIONS)
    model = VectorModel(mdl, tmp_path / "cache")
    hoisted = model._model._plansim_hoisted
    assert len(hoisted.elements) >= 4  # (1 - b), (a - 1), EXP(a * b) - c, (a + c), c ^ b...
    module = model._model.components._components
    assert any(name.startswith(_hoist.FILLED_PREFIX) for name in vars(module))
    for params in ({"a": np.array([2.0, 0.5, 4.0]), "b": np.array([0.5, 0.25, 0.9])},
                   {"a": np.array([1.0, 3.0]), "c": np.array([0.5, 7.5])},
                   {}):  # the defaults after two ensembles of other values
        assert_bits_equal_plain_pysd(mdl, model, params, ["s", "y", "z"], tmp_path / "cache")


def test_hoisting_changes_no_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mdl = write_model(tmp_path, EQUATIONS)
    hoisted = VectorModel(mdl, tmp_path / "cache")
    monkeypatch.setattr("simulator.engine.vector_model.hoist", lambda *args: 0)
    plain = VectorModel(mdl, tmp_path / "cache")
    assert not hasattr(plain._model, "_plansim_hoisted")
    rng = np.random.default_rng(1)
    params = {name: rng.uniform(-2, 4, 50) for name in ("a", "b", "c")}
    for _ in range(2):
        one, two = (m.run(params, ["s", "y", "z"], check_finite=False) for m in (hoisted, plain))
        for name in ("s", "y", "z"):
            assert one[name].values.tobytes() == two[name].values.tobytes(), name
        params = {name: values[::-1].copy() for name, values in params.items()}


@pytest.mark.parametrize("function", [np.maximum, np.minimum])
@pytest.mark.parametrize("number", [0, 0.0, -0.0, 1, -1, 1e-06, 2 ** 52])
def test_number_against_a_filled_array_gives_numpy_bits(function, number) -> None:
    x = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1.0, 1.0, 5e-07, 2.0 ** 53] * 40)
    bounded = _hoist.HoistedValues.bound(function, number)
    for values in (x, x[:7], x[::-1].copy()):  # N changes: the filled array follows
        expected = function(number, values)
        assert bounded(values).tobytes() == expected.tobytes()
    for scalar in (0.5, -0.0, 3, np.float64(-2.0)):  # numbers go as they came
        assert repr(bounded(scalar)) == repr(function(number, scalar))


def test_the_step_cache_filled_first_gives_plain_pysd_bits(tmp_path: Path) -> None:
    # p / q is taken only after time 2 and only where q is not 0: a branch PySD evaluates
    # only when taken must not be evaluated first (q = 0 as a number raises in Python)
    mdl = write_model(tmp_path, {**EQUATIONS, "q": "0",
                                 "w": "INTEG(IF THEN ELSE(q = 0, s, a / q) + SMOOTH(y, b + 1), 0)"})
    model = VectorModel(mdl, tmp_path / "cache")
    prefill = model._model._plansim_prefill
    assert {"y", "s"} <= set(prefill.strict)
    for params in ({"a": np.array([2.0, 0.5, 4.0])}, {"b": np.array([0.5, 0.25])}, {}):
        assert_bits_equal_plain_pysd(mdl, model, params, ["s", "y", "z", "w"],
                                     tmp_path / "cache")
    assert None not in prefill.current


def test_an_equation_raising_in_the_filled_step_is_named(tmp_path: Path) -> None:
    mdl = write_model(tmp_path, {"p": "1", "y": "p / (Time - 2)", "s": "INTEG(y, 0)"})
    model = VectorModel(mdl, tmp_path / "cache")
    assert "y" in model._model._plansim_prefill.strict
    with pytest.raises(EngineError, match="'y'"):
        model.run({}, ["s"])
