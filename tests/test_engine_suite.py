"""The engine over the SDXorg test-model suite (vendored in tests/test-models, MIT).

For every model plain PySD runs, Vensim ``.mdl`` and Stella/XMILE ``.xmile``/``.stmx``
alike, the engine equals it bit for bit at the defaults and with every constant perturbed
per run, or refuses by name (issues 11, 21).  CI runs the models of :data:`BOUNDED` (one
per kind of construct and format); the whole suite runs with
``python -m pytest -m "" tests/test_engine_suite.py`` (several minutes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.engine.conformance import ACCEPTED, DIFFERS, REFUSED, check_model
from simulator.engine.constructs import MODEL_SUFFIXES

SUITE = Path(__file__).parent / "test-models"
TABLE = Path(__file__).resolve().parents[1] / "benchmarks" / "engine_suite.md"
MODELS = sorted(str(p.relative_to(SUITE)) for p in SUITE.rglob("*")
                if p.suffix.lower() in MODEL_SUFFIXES)
BOUNDED = {
    "samples/teacup/teacup.mdl",                              # INTEG
    "samples/SIR/SIR.mdl",
    "samples/pendulum/Single_Pendulum.mdl",                   # SAVEPER not a multiple of dt
    "tests/exponentiation/exponentiation.mdl",                # -2^2
    "tests/delays/test_delays.mdl",                           # DELAY1/3/N
    "tests/smooth/test_smooth.mdl",
    "tests/lookups/test_lookups.mdl",
    "tests/if_stmt/if_stmt.mdl",
    "tests/control_vars/test_control_vars.mdl",               # control values over time
    "tests/subscript_2d_arrays/test_subscript_2d_arrays.mdl",
    "tests/except/test_except.mdl",                           # EXCEPT, stocks per element
    "tests/macro_stock/test_macro_stock.mdl",
    "tests/get_data/test_get_data.mdl",
    "tests/dynamic_final_time/test_dynamic_final_time.mdl",   # FINAL TIME through Time
    "tests/vector_select/test_vector_select.mdl",             # VECTOR SELECT over runs
    "samples/Query_file/Query_file.mdl",                      # RANDOM UNIFORM, seeded
    # Stella/XMILE, through PySD's XMILE translator
    "samples/teacup/teacup.xmile",                            # stock and flow
    "samples/teacup/teacup.stmx",                             # non-negative stock (Stella)
    "samples/SIR/SIR_reciprocal-dt.xmile",                    # DT given as 1/x
    "tests/delay_xmile/test_delay_xmile.xmile",               # DELAY
    "tests/smooth_and_stock/test_smooth_and_stock.xmile",     # SMTH1 beside a stock
    "tests/non_negative_flows/test_non_negative_flows.xmile",  # uniflows
    "tests/lookups/test_lookups.xmile",                       # graphical functions
    "tests/if_stmt/if_stmt.stmx",                             # IF THEN ELSE
    "tests/subscripted_trig/test_subscripted_trig.xmile",     # arrays
    "tests/min_max_1arg/test_min_max_1arg.xmile",             # MIN/MAX of an array: refused
    "tests/data_from_other_model/model_to_generate_data.mdl",  # PySD cannot step it: refused
}


def _marks(model: str) -> list[pytest.MarkDecorator]:
    return [] if model in BOUNDED else [pytest.mark.full_suite]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suite-cache")


def test_bounded_models_are_in_the_suite() -> None:
    assert BOUNDED <= set(MODELS)
    assert len(MODELS) > 260
    assert sum(m.endswith((".xmile", ".stmx")) for m in MODELS) == 123


@pytest.mark.parametrize("model", [pytest.param(m, marks=_marks(m)) for m in MODELS])
def test_engine_equals_plain_pysd_or_refuses_by_name(model: str, cache_dir: Path) -> None:
    verdict = check_model(SUITE / model, cache_dir=cache_dir)
    assert verdict.status != DIFFERS, verdict.detail
    assert verdict.ok, verdict.detail
    if verdict.status == REFUSED:
        assert verdict.constructs and all(verdict.constructs), verdict.detail
    if verdict.status == ACCEPTED:
        assert verdict.runs_compared >= 1


def test_acceptance_table_lists_every_model() -> None:
    """benchmarks/engine_suite.md (python benchmarks/engine_suite.py) covers the suite."""
    listed = set(re.findall(r"^\| `([^`]+\.(?:mdl|xmile|stmx))`",
                            TABLE.read_text(encoding="utf-8"), flags=re.MULTILINE | re.IGNORECASE))
    assert listed == set(MODELS)
