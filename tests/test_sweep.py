"""Sweeps: lever grid x futures in blocks; the same numbers whatever the executor or a kill -9."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from simulator import cli, sweep
from simulator.errors import InputError
from simulator.inputs import scenario
from simulator.inputs.project import find
from simulator.running import ensemble

PROJECT_ROOT = find().root
SCENARIOS_DIR = find().scenarios

SPEC = """\
scenario = "plan"
seed = 3
futures = 20
block_size = 10
indicators = ["population", "green_ratio"]
years = [2010, 2015]

[levers."talent attraction rate"]
grid = [0.0, 0.03]

[levers."greening spending share"]
grid = [0.08, 0.2]
"""
BLOCKS = 8  # 2 x 2 settings x 20 futures / 10 runs per block
SWEEP_CMD = [sys.executable, "-m", "simulator.cli", "sweep"]


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "small.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(spec_path, tmp_path_factory):
    """The sweep run uninterrupted, in this process."""
    ticks = []
    outcome = sweep.execute(spec_path, tmp_path_factory.mktemp("ref") / "out",
                            progress=ticks.append)
    assert outcome.blocks_run == BLOCKS and outcome.blocks_resumed == 0 and len(ticks) == BLOCKS
    return outcome


def assert_same_sweep(a: Path, b: Path) -> None:
    """Two output directories hold bit-identical stores and byte-identical summaries."""
    sa, sb = sweep.open_store(a).load(), sweep.open_store(b).load()
    xr.testing.assert_identical(sa, sb)
    for name in sa.variables:
        assert sa[name].values.tobytes() == sb[name].values.tobytes(), name
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()


def test_store_holds_what_run_block_computes(reference, spec_path):
    spec = sweep.load_spec(spec_path)
    store = sweep.open_store(reference.out_dir)
    assert store.sizes == {"run": 80, "time": 2, "goal": 20}  # population_2010 is a projection
    assert store["population"].dims == ("run", "time") and store["margin"].dims == ("run", "goal")
    assert store["time"].values.tolist() == [2010, 2015]
    runs = np.array([5, 67])  # setting 0 / future 5, setting 3 / future 7
    futures = sweep.futures_sample(spec)
    samples = futures.isel(run=runs % 20).assign_coords(run=runs)
    levers = {k: spec.settings[runs // 20, j] for j, k in enumerate(spec.levers)}
    direct = ensemble.run_block(spec.scenario, samples, spec.scenario.goal_set(), levers=levers,
                                names=spec.computed_indicators())
    stored = store.isel(run=runs).load()
    for name in ["margin", "met", "joint", "plausible"]:
        assert stored[name].values.tobytes() == direct[name].values.tobytes(), name
    for name in ["population", "green_ratio"]:
        expected = direct[name].sel(time=[2010, 2015]).values
        assert stored[name].values.tobytes() == expected.tobytes(), name
    for name in [*spec.levers, *futures.data_vars]:
        assert stored[name].values.tolist() == direct[name].values.tolist(), name
    assert stored["setting"].values.tolist() == [0, 3]
    assert stored["talent attraction rate"].values.tolist() == [0.0, 0.03]
    assert stored["greening spending share"].values.tolist() == [0.08, 0.2]

    summary = json.loads(reference.summary_path.read_text())
    ok = store["plausible"].values.reshape(4, 20)
    joint = store["joint"].values.reshape(4, 20) & ok
    assert [r["plausible_runs"] for r in summary["results"]] == ok.sum(axis=1).tolist()
    assert [r["joint_runs"] for r in summary["results"]] == joint.sum(axis=1).tolist()
    assert summary["runs"] == 80 and summary["model_hash"] == store.attrs["model_hash"]
    assert summary["seed"] == 3 and summary["scenario"] == "plan" and "version_pysd" in summary
    best = summary["best_setting"]
    p = best["joint_probability"]
    assert p["interval"][0] <= (p["value"] or 0.0) <= p["interval"][1]
    met_mean = [r["goals_met_mean"] for r in summary["results"]]
    assert best["goals_met_mean"] == max(met_mean) or p["value"] > 0


def test_local_processes_give_the_same_store(reference, spec_path, tmp_path):
    outcome = sweep.execute(spec_path, tmp_path / "w2", workers=2, progress=False)
    assert outcome.blocks_run == BLOCKS
    assert_same_sweep(reference.out_dir, outcome.out_dir)
    me = f":{os.getpid()}"
    assert reference.workers_seen == {w for w in reference.workers_seen if w.endswith(me)}
    assert outcome.workers_seen and not any(w.endswith(me) for w in outcome.workers_seen)


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.is_file()}


LONG_BLOCKS = 80  # 2 x 2 settings x 200 futures / 10: a block takes ~50 ms, so a kill lands


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory):
    """A sweep with many short blocks, run uninterrupted in this process."""
    path = tmp_path_factory.mktemp("long") / "long.toml"
    path.write_text(SPEC.replace("futures = 20", "futures = 200"), encoding="utf-8")
    outcome = sweep.execute(path, path.parent / "out", progress=False)
    assert outcome.blocks_run == LONG_BLOCKS
    return path, outcome


def test_resume_after_kill_9_redoes_only_unfinished_blocks(long_reference, tmp_path):
    spec_path, reference = long_reference
    out = tmp_path / "killed"
    first_marker = out / "blocks" / "000000.done"
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:  # a file, not a pipe: a full pipe would block the sweep
        proc = subprocess.Popen([*SWEEP_CMD, str(spec_path), "--out", str(out)],
                                cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not first_marker.exists():
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no block finished in 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = sorted((out / "blocks").glob("*.done"))
    assert 1 <= len(done) < LONG_BLOCKS, "the sweep was not interrupted"
    assert not (out / "summary.json").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in done}
    chunks = {int(p.stem): out / "sweep.zarr" / "margin" / "c" / str(int(p.stem)) / "0"
              for p in done}
    chunk_times = {b: c.stat().st_mtime_ns for b, c in chunks.items()}

    rerun = subprocess.run([*SWEEP_CMD, str(spec_path), "--out", str(out)], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    m = re.search(r"blocks: (\d+) run now, (\d+) already done", rerun.stdout)
    assert m and (int(m[1]), int(m[2])) == (LONG_BLOCKS - len(done), len(done)), rerun.stdout
    for p in done:  # completed blocks were neither recomputed nor rewritten
        assert p.stat().st_mtime_ns == kept[p.name]
    assert {b: c.stat().st_mtime_ns for b, c in chunks.items()} == chunk_times
    assert not list(out.rglob("*.partial")) and not list(out.rglob(".*.tmp"))
    assert_same_sweep(reference.out_dir, out)


def test_a_block_written_but_not_marked_is_redone(reference, spec_path, tmp_path):
    """The state a kill between a block's chunks and its marker leaves, made on purpose."""
    out = tmp_path / "torn"
    shutil.copytree(reference.out_dir, out)
    group = zarr.open_group(out / "sweep.zarr", mode="r+")
    group["margin"][10:20] = 123.0  # block 1 half rewritten with other numbers
    group["joint"][10:20] = True
    group["population"][10:15] = -1.0
    (out / "blocks" / "000001.done").unlink()
    (out / "summary.json").unlink()
    (out / "sweep.zarr" / "margin" / "c" / "1" / "0.0123abcd.partial").write_bytes(b"torn")
    (out / ".sweep.zarr.creating").mkdir()
    outcome = sweep.execute(spec_path, out, progress=False)
    assert (outcome.blocks_run, outcome.blocks_resumed) == (1, BLOCKS - 1)
    assert not list(out.rglob("*.partial")) and not (out / ".sweep.zarr.creating").exists()
    assert_same_sweep(reference.out_dir, out)


def test_a_crash_while_a_block_is_written_leaves_it_to_redo(reference, spec_path, tmp_path,
                                                            monkeypatch):
    """The marker comes after the data: a crash half-way through block 3 leaves it unmarked."""
    out = tmp_path / "crashed"

    class Crash(Exception):
        pass

    class Failing:
        def __init__(self, array):
            self.array, self.ndim, self.metadata = array, array.ndim, array.metadata

        def __setitem__(self, key, value):
            if key.start == 30:
                raise Crash
            self.array[key] = value

    real_init = sweep.store.Writer.__init__

    def init(self, *args):
        real_init(self, *args)
        self.arrays["margin"] = Failing(self.arrays["margin"])  # after the indicators

    monkeypatch.setattr(sweep.store.Writer, "__init__", init)
    with pytest.raises(Crash):
        sweep.execute(spec_path, out, progress=False)
    monkeypatch.undo()
    assert sorted(p.name for p in (out / "blocks").glob("*.done")) == [
        f"{b:06d}.done" for b in range(3)]
    outcome = sweep.execute(spec_path, out, progress=False)
    assert (outcome.blocks_run, outcome.blocks_resumed) == (BLOCKS - 3, 3)
    assert_same_sweep(reference.out_dir, out)


def test_bad_command_line(spec_path, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--scheduler", "host:1"]) == 2
    assert "tcp://HOST:PORT" in capsys.readouterr().err
    monkeypatch.setattr(sweep.execution, "CONNECT_TIMEOUT", "1s")
    assert cli.main(["sweep", str(spec_path), "--out", str(out),
                     "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--scheduler" in err, err
    assert not out.exists()


def _dask_command(kind: str) -> list[str]:
    script = Path(sys.executable).with_name("dask")
    if script.exists():
        return [str(script), kind]
    return [sys.executable, "-m", f"distributed.cli.dask_{kind}"]


def test_dask_cluster_gives_the_same_store(reference, spec_path, tmp_path):
    from distributed import Client

    sched_file = tmp_path / "scheduler.json"
    procs = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": PROJECT_ROOT}
    try:
        procs.append(subprocess.Popen(
            [*_dask_command("scheduler"), "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(sched_file)], **quiet))
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert procs[0].poll() is None and time.monotonic() < deadline, "no scheduler"
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(subprocess.Popen(
                [*_dask_command("worker"), address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--memory-limit", "0",
                 "--local-directory", str(tmp_path / f"worker{i}")], **quiet))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        outcome = sweep.execute(spec_path, tmp_path / "dask", scheduler=address,
                                progress=False)
        assert outcome.blocks_run == BLOCKS and outcome.executor.startswith("dask")
        assert not any(w.endswith(f":{os.getpid()}") for w in outcome.workers_seen)
        assert_same_sweep(reference.out_dir, outcome.out_dir)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _bad(tmp_path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


GRID = '[levers."talent attraction rate"]\ngrid = [0.0, 0.01]\n'
HEAD = 'scenario = "plan"\nfutures = 10\n'
BAD = {
    "unknown lever": (HEAD + '[levers."talent atraction rate"]\ngrid = [0.01]\n',
                      "levers.talent atraction rate", "did you mean"),
    "grid value out of range": (HEAD + '[levers."talent attraction rate"]\ngrid = [0.0, 0.5]\n',
                                "levers.talent attraction rate.grid", "outside"),
    "not a lever": (HEAD + '[levers."retirement rate"]\ngrid = [0.02]\n', "levers.retirement rate",
                    "uncertain"),
    "malformed toml": (HEAD + '[levers."talent attraction rate"\ngrid = [0.0]\n', "bad.toml",
                       "malformed TOML"),
    "unknown top-level key": ("futurs = 10\n" + GRID, "futurs", "unknown key"),
    "missing futures": ('scenario = "plan"\n' + GRID, "futures", "missing"),
    "futures not a number": ('scenario = "plan"\nfutures = "many"\n' + GRID, "futures",
                             "integer"),
    "unknown scenario": ('scenario = "nowhere"\nfutures = 10\n' + GRID, "scenario",
                         "not found"),
    "unknown indicator": (HEAD + 'indicators = ["populaton"]\n' + GRID, "indicators",
                          "not an indicator"),
    "year out of range": (HEAD + "years = [2020]\n" + GRID, "years", "model years"),
    "grid and samples mixed": (HEAD + GRID + '[levers."greening spending share"]\nsamples = 4\n',
                               "levers", "mixed"),
    "unknown lever key": (HEAD + '[levers."talent attraction rate"]\nvalues = [0.0]\n',
                          "levers.talent attraction rate.values", "exactly one"),
    "sample of an unknown lever": (HEAD + '[lever_sample]\nn = 4\nlevers = ["talent"]\n',
                                   "lever_sample.levers", "not a parameter"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_spec_gets_one_line_and_exit_2_and_writes_nothing(case, tmp_path, capsys):
    text, key, words = BAD[case]
    path = _bad(tmp_path, text)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(path) in err and key in err and words in err, err
    assert not out.exists()
    with pytest.raises(InputError) as info:
        sweep.load_spec(path)
    assert info.value.file == str(path)


def test_missing_spec_file(tmp_path, capsys):
    path = tmp_path / "nowhere.toml"
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "not found" in err
    assert not (tmp_path / "out").exists()


def test_resuming_into_a_store_of_another_spec_is_refused(reference, spec_path, tmp_path,
                                                          capsys):
    before = _snapshot(reference.out_dir)
    other = tmp_path / "other.toml"
    other.write_text(SPEC.replace("futures = 20", "futures = 21"), encoding="utf-8")
    assert cli.main(["sweep", str(other), "--out", str(reference.out_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(other) in err and ": futures:" in err, err
    # same spec, other scenario content (a lever the sweep does not touch): refused too
    plan = (SCENARIOS_DIR / "plan.toml").read_text(encoding="utf-8")
    for name in ("goals", "calibration", "uncertainties"):
        plan = plan.replace(f'\n{name} = "', f'\n{name} = "{SCENARIOS_DIR}/')
    changed = plan.replace("value = 1.0\nbounds = [0.7, 1.2]", "value = 0.9\nbounds = [0.7, 1.2]")
    assert changed != plan
    plan = changed
    (tmp_path / "plan-copy.toml").write_text(plan, encoding="utf-8")
    other.write_text(SPEC.replace('scenario = "plan"', 'scenario = "plan-copy.toml"'),
                     encoding="utf-8")
    assert cli.main(["sweep", str(other), "--out", str(reference.out_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert ": scenario:" in err and "different scenario" in err, err
    assert _snapshot(reference.out_dir) == before


def test_lever_sample_is_seeded_and_within_bounds(tmp_path):
    base = 'scenario = "plan"\nfutures = 5\nseed = 7\n'
    table = ('[lever_sample]\nn = 6\n'
             'levers = ["talent attraction rate", "greening spending share"]\n')
    per_lever = ('[levers."talent attraction rate"]\nsamples = 6\n'
                 '[levers."greening spending share"]\nsamples = 6\n')
    a = sweep.load_spec(_bad(tmp_path, base + table))
    b = sweep.load_spec(_bad(tmp_path, base + per_lever))
    c = sweep.load_spec(_bad(tmp_path, base.replace("seed = 7", "seed = 8") + table))
    assert a.settings.shape == (6, 2) and a.runs == 30 and a.design == "sample"
    assert np.array_equal(a.settings, b.settings) and not np.array_equal(a.settings, c.settings)
    plan = scenario.load("plan")  # talent attraction: the plan's implementation range
    for j, name in enumerate(a.levers):
        lo, hi = (a.scenario.levers[name].bounds if name in a.scenario.levers
                  else (plan.uncertainties[name].low, plan.uncertainties[name].high))
        assert name not in a.scenario.uncertainties
        assert ((a.settings[:, j] >= lo) & (a.settings[:, j] <= hi)).all()
        # Latin hypercube: one setting in each sixth of the range
        cells = np.floor((a.settings[:, j] - lo) / (hi - lo) * 6).astype(int)
        assert sorted(cells.tolist()) == list(range(6))


def test_shipped_sweep_spec_loads():
    spec = sweep.load_spec(SCENARIOS_DIR / "sweeps" / "migration-greening.toml")
    assert spec.levers == ("talent attraction rate", "greening spending share")
    assert spec.n_settings == 12 and spec.futures == 200 and spec.n_blocks == 2
    assert spec.settings[0].tolist() == [0.0, 0.08] and spec.settings[-1].tolist() == [0.03, 0.2]
