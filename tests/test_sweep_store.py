"""Sweep store integrity, memory bounds and worker processes that die with their parent."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_sweep import SPEC, assert_same_sweep

from simulator import cli, sweep
from simulator.errors import InputError
from simulator.inputs import model
from simulator.inputs.project import find

PROJECT_ROOT = find().root

BLOCKS = 8


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "small.toml"
    path.write_text(SPEC, encoding="utf-8")
    outcome = sweep.execute(path, path.parent / "out", progress=False)
    assert outcome.blocks_run == BLOCKS
    return path, outcome.out_dir


def _chunk(out, name, block):
    return out / "sweep.zarr" / name / "c" / "/".join([str(block)] + (
        ["0"] if name in ("margin", "met", "population") else []))


CORRUPTIONS = {
    "deleted": lambda p, other: p.unlink(),
    "copied over": lambda p, other: shutil.copyfile(other, p),
    "byte flipped": lambda p, other: p.write_bytes(
        p.read_bytes()[:-1] + bytes([p.read_bytes()[-1] ^ 1])),
    "truncated": lambda p, other: p.write_bytes(p.read_bytes()[:5]),
}


@pytest.mark.parametrize("how, name", [("deleted", "plausible"), ("copied over", "met"),
                                       ("byte flipped", "margin"), ("truncated", "joint")])
def test_a_corrupted_block_is_recomputed_with_a_notice(how, name, reference, tmp_path):
    spec_path, ref = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    CORRUPTIONS[how](_chunk(out, name, 5), _chunk(out, name, 2))
    with pytest.raises(InputError, match="block 5"):
        sweep.summarize(out)  # the summary is never rebuilt from a corrupted store
    notices = []
    outcome = sweep.execute(spec_path, out, progress=False, notice=notices.append)
    assert (outcome.blocks_run, outcome.blocks_resumed) == (1, BLOCKS - 1)
    assert len(notices) == 1 and "block 5" in notices[0] and name in notices[0]
    assert_same_sweep(ref, out)


def test_chunks_carry_zstd_checksums(reference):
    _, ref = reference
    meta = (ref / "sweep.zarr" / "margin" / "zarr.json").read_text()
    assert '"checksum": true' in meta


def test_a_grid_too_large_is_refused_before_it_is_built(tmp_path, capsys):
    levers = sorted(model.parameters(role="lever").values(), key=lambda p: p.name)[:6]
    text = 'scenario = "plan"\nfutures = 100\n' + "".join(
        f'[levers."{p.name}"]\ngrid = {np.linspace(p.lower, p.upper, 40).tolist()}\n'
        for p in levers)
    path = tmp_path / "big.toml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "runs is more than" in err
    path.write_text('scenario = "plan"\nfutures = 10\n[lever_sample]\nn = 10000000000\n'
                    f'levers = ["{levers[0].name}"]\n', encoding="utf-8")
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "runs is more than" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_memory_over_the_limit_is_refused_before_work(reference, tmp_path, capsys,
                                                      monkeypatch):
    spec_path, _ = reference
    out = tmp_path / "o"
    assert cli.main(["sweep", str(spec_path), "--out", str(out), "--max-memory", "100K"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--max-memory" in err and "100.0 KB" in err
    assert cli.main(["reach", "--runs", "100", "--out", str(out), "--max-memory", "1K"]) == 2
    assert "--max-memory" in capsys.readouterr().err
    monkeypatch.setenv("PLANSIM_MAX_MEMORY", "lots")
    assert cli.main(["sweep", str(spec_path), "--out", str(out)]) == 2
    assert "PLANSIM_MAX_MEMORY" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.setenv("PLANSIM_MAX_MEMORY", "1T")
    spec = sweep.load_spec(spec_path)
    assert 0 < spec.memory_bytes() < spec.memory_bytes(workers=4) < 1 << 30


def _children(pid: int) -> set[int]:
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found |= {int(x) for x in f.read().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_worker_processes_die_with_their_parent(tmp_path):
    spec = tmp_path / "long.toml"
    spec.write_text(SPEC.replace("futures = 20", "futures = 400"), encoding="utf-8")
    out = tmp_path / "out"
    with open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "sweep", str(spec),
                                 "--out", str(out), "--workers", "2"], cwd=PROJECT_ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "blocks").glob("*.done")) if (out / "blocks").is_dir() else True:
            assert proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "err.txt").read_text()[-2000:]
            time.sleep(0.05)
        workers = {c for c in _children(proc.pid) if _alive(c)}
        assert workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
    finally:
        if proc.poll() is None:
            proc.kill()
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their parent"


def test_a_full_disk_stops_the_sweep_in_one_line(reference, tmp_path, capsys, monkeypatch):
    spec_path, _ = reference

    def full(self, result):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweep.store.Writer, "write", full)
    assert cli.main(["sweep", str(spec_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "disk full" in err and "resume" in err, err


def test_a_sweep_over_a_scenario_without_uncertainties_is_refused(tmp_path, capsys):
    (tmp_path / "fixed.toml").write_text('name = "fixed"\n[uncertainties]\n', encoding="utf-8")
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.replace('scenario = "plan"', 'scenario = "fixed.toml"'),
                    encoding="utf-8")
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "no uncertainties" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
