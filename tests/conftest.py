"""Shared fixtures: one small reach result for the chart and brief tests."""

import pytest

from simulator.decide import reach
from simulator.inputs import scenario


@pytest.fixture(scope="session")
def small_reach_dir(tmp_path_factory):
    """``plansim reach`` on 300 futures with a one-generation lever search."""
    out = tmp_path_factory.mktemp("small-reach")
    reach.reach(scenario.load("plan"), runs=300, seed=2, search_runs=10, generations=1).write(out)
    return out
