"""benchmarks/lever_assumptions.py: each move carries its bootstrap interval and the number of
futures, and a range the budget does not pay is said to be unpaid, not robust (third review of
v3.2, REVIEW-v3.2c.md: the energy ranges printed "no goal moves" while they ran at zero)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr


@pytest.fixture
def lever_assumptions(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import lever_assumptions

    return lever_assumptions


def _result(tmp_path: Path) -> Path:
    """A reach-like result: 3,000 futures; 'talent attraction rate' moves nothing, 'energy
    saving programme' raises the energy goal from 50% (low third) to 80% (high third)."""
    rng = np.random.default_rng(1)
    n = 3000
    talent = rng.uniform(0, 0.005, n)
    energy = rng.uniform(0, 0.044, n)
    p_energy = 0.5 + 0.3 * (energy >= 0.044 * 2 / 3) * 1.0
    met = np.column_stack([rng.random(n) < 0.6, rng.random(n) < p_energy])
    data = xr.Dataset({"plausible": ("run", np.ones(n, bool)),
                       "met": (("run", "goal"), met),
                       "joint": ("run", met.all(axis=1)),
                       "talent attraction rate": ("run", talent),
                       "energy saving programme": ("run", energy)},
                      coords={"goal": ["urban_income_2010", "energy_intensity_2010"]})
    data.to_netcdf(tmp_path / "results.nc")
    summary = {"implementation": {"talent attraction rate": {"low": 0.0, "high": 0.005},
                                  "energy saving programme": {"low": 0.0, "high": 0.044}}}
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return tmp_path


def test_moves_carry_an_interval_and_unpaid_ranges_are_named(lever_assumptions, tmp_path):
    result = _result(tmp_path)
    paid = {"talent attraction rate": np.zeros(3000),        # the budget pays none of it
            "energy saving programme": np.ones(3000)}         # paid in full
    lines = lever_assumptions.thirds(result, 8.0, 0.1, paid=paid)
    talent = next(x for x in lines if x.startswith("talent attraction rate"))
    assert "NOT PAID" in talent and "no goal moves" not in talent
    assert re.search(r"lowest / highest third [\d,]+ / [\d,]+ futures", talent)
    energy = next(x for x in lines if x.startswith("energy saving programme"))
    low, high, delta, half = re.search(
        r"energy_intensity_2010 (\d+)% -> (\d+)% \(([+-][\d.]+) ± ([\d.]+)\)", energy).groups()
    assert abs(int(low) - 50) <= 4 and abs(int(high) - 80) <= 4
    assert abs(float(delta) - 30) < 6
    assert 2.0 < float(half) < 8.0  # about 2 x sqrt(0.25/1000 + 0.16/1000) = 4 points
    assert any(x.startswith("  conditional on energy saving programme") for x in lines)
    # the same energy range, unpaid, is not reported as a move
    lines = lever_assumptions.thirds(result, 8.0, 0.1,
                                     paid={**paid, "energy saving programme": np.zeros(3000)})
    energy = next(x for x in lines if x.startswith("energy saving programme"))
    assert "NOT PAID" in energy
