"""Shared fixtures: one small reach result for the chart and brief tests."""

import subprocess
import sys

import pytest

from simulator.decide import reach
from simulator.inputs import scenario


@pytest.fixture(scope="session")
def small_reach_dir(tmp_path_factory):
    """``plansim reach`` on 300 futures with a one-generation lever search."""
    out = tmp_path_factory.mktemp("small-reach")
    reach.reach(scenario.load("plan"), runs=300, seed=2, search_runs=10, generations=1).write(out)
    return out


HOLD = """
import sys, time
from simulator.running import outputs
with outputs.locked(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def lock_holder():
    """``hold(directory, what)``: another process holding the lock of ``directory`` as
    command ``what`` (a process of its own: a lock is the process's); killed at the end."""
    procs = []

    def hold(directory, what="plansim reach"):
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), what],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()
