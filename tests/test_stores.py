"""Results checked whole, written whole, locked by a process that may die (issue 18).

Every result a later command reads records a digest of its content, checked before any
work; a locked command stages its files (a full disk or kill -9 leaves none of them);
a lock names its holder, and one a killed run left is taken over."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator import cli
from simulator.errors import InputError
from simulator.running import outputs, results, seal

ROOT = Path(__file__).resolve().parents[1]


def _cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _one_line(code: int, err: str, *words: str) -> None:
    """Exit 2 and one error line (beside the line naming the project, once it is read)."""
    err = "".join(line for line in err.splitlines(True)
                  if not line.startswith("plansim: project "))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


@pytest.fixture
def reach_copy(small_reach_dir, tmp_path):
    out = tmp_path / "out" / "reach-plan"
    shutil.copytree(small_reach_dir, out)
    return out


def test_results_nc_marked_with_fewer_plausible_futures_is_refused_by_every_reader(
        reach_copy, tmp_path, capsys):
    """The trial's case: half the plausible futures marked implausible in place (the
    flags stay consistent with the margins, so only the digest sees it)."""
    import netCDF4

    with xr.open_dataset(reach_copy / "results.nc") as ds:
        assert ds.attrs[seal.KEY] == seal.dataset_digest(ds.load())
        plausible = ds["plausible"].values.astype(bool)
    assert plausible.sum() > 10
    with netCDF4.Dataset(reach_copy / "results.nc", "a") as nc:
        flags = nc["plausible"][:]
        flags[np.flatnonzero(plausible)[::2]] = 0
        nc["plausible"][:] = flags
    for argv in (["brief", reach_copy, "--out", tmp_path / "b.html"], ["analyze", reach_copy],
                 ["chart", "scorecard", reach_copy, "--out", tmp_path / "c"],
                 ["chart", "prim", reach_copy, "--out", tmp_path / "c"]):
        code, err = _cli(capsys, *argv)
        _one_line(code, err, "results.nc", "was altered", "rerun `plansim reach`")
    assert not (tmp_path / "b.html").exists() and not (reach_copy / "analysis").exists()
    assert not list((tmp_path / "c").glob("*.png"))


@pytest.mark.parametrize("alter, words", [
    (lambda s: {**s, "plausible_runs": s["plausible_runs"] - 1}, "was altered"),
    (lambda s: {k: v for k, v in s.items() if k != seal.KEY}, "records no digest"),
])
def test_an_altered_summary_json_is_refused(reach_copy, tmp_path, capsys, alter, words):
    path = reach_copy / "summary.json"
    path.write_text(json.dumps(alter(json.loads(path.read_text(encoding="utf-8")))),
                    encoding="utf-8")
    code, err = _cli(capsys, "brief", reach_copy, "--out", tmp_path / "b.html")
    _one_line(code, err, "summary.json", words, "plansim reach")


@pytest.mark.parametrize("plant, words", [
    (lambda p, f: p.write_text(json.dumps({**seal.sealed(f), "target": 0.1}),
                               encoding="utf-8"), "was altered"),
    (lambda p, f: p.write_text(json.dumps(seal.sealed(f)).replace('"target": 0.5',
                                                                  '"target": NaN'),
                               encoding="utf-8"), "not a readable result"),
    (lambda p, f: p.write_text(json.dumps(seal.sealed(f)).replace('"target": 0.5',
                                                                  '"target": 1e999'),
                               encoding="utf-8"), "was altered"),  # read as inf
    (lambda p, f: p.symlink_to(p.parent / "elsewhere.json"), "not a regular file"),
    (lambda p, f: os.mkfifo(p), "not a regular file"),
])
def test_a_crafted_frontier_json_is_one_line_for_brief_and_reach(reach_copy, tmp_path, capsys,
                                                                 monkeypatch, plant, words):
    from simulator.decide import reach

    frontier = {"target": 0.5, "seed": 2, "futures": 300, "nearest": None}
    folder = reach_copy.parent / "frontier-plan"
    folder.mkdir()
    (folder / "elsewhere.json").write_text(json.dumps(seal.sealed(frontier)), encoding="utf-8")
    plant(folder / "frontier.json", frontier)
    code, err = _cli(capsys, "brief", reach_copy, "--out", tmp_path / "b.html")
    _one_line(code, err, "frontier.json", words)
    monkeypatch.chdir(reach_copy.parent.parent)  # reach reads out/frontier-plan first
    monkeypatch.setattr(reach, "reach", lambda *a, **k: pytest.fail("computed"))
    code, err = _cli(capsys, "--project", ROOT, "reach", "--runs", "300", "--out",
                     tmp_path / "r")
    _one_line(code, err, "frontier.json", words)


def test_a_sensitivity_result_and_a_sweep_summary_are_checked_whole(tmp_path, capsys):
    import netCDF4

    source = tmp_path / "sens"
    ds = xr.Dataset({"swing": (("output", "input"), np.ones((1, 1))),
                     "base": ("output", [1.0])},
                    coords={"output": ["joint"], "input": ["a"]},
                    attrs={"method": "tornado", "runs": 3})
    results.write_netcdf(ds, source / "tornado.nc", {})
    code, err = _cli(capsys, "chart", "tornado", source, "--out", tmp_path / "c")
    assert "was altered" not in err  # read (then found not to be a full result)
    with netCDF4.Dataset(source / "tornado.nc", "a") as nc:
        nc["swing"][:] = 5.0
    code, err = _cli(capsys, "chart", "tornado", source, "--out", tmp_path / "c")
    _one_line(code, err, "tornado.nc", "was altered", "plansim sensitivity --method tornado")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "summary.json").write_text(json.dumps({"scenario": "plan", "results": []}),
                                        encoding="utf-8")
    code, err = _cli(capsys, "chart", "lever-map", sweep, "--out", tmp_path / "c")
    _one_line(code, err, "summary.json", "records no digest", "plansim sweep")


def test_a_disk_full_in_a_locked_block_leaves_none_of_its_files(tmp_path, monkeypatch):
    out = tmp_path / "o"
    out.mkdir()
    (out / "a.txt").write_text("old a", encoding="utf-8")
    real = outputs.fsync
    calls = []

    def fill(path):
        calls.append(path)
        if len(calls) == 3:  # the third file's flush finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(outputs, "fsync", fill)
    with pytest.raises(outputs.DiskFullError) as caught, outputs.locked(out, "test"):
        for name in ("a.txt", "b.txt", "c.txt"):
            results.write_text(f"new {name}", out / name)
    assert f"nothing was written into {out}" in str(caught.value)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert (out / "a.txt").read_text(encoding="utf-8") == "old a"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounts a tmpfs")
def test_sensitivity_on_a_full_disk_writes_nothing(tmp_path, capsys):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)],
                             check=False, capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        code, err = _cli(capsys, "sensitivity", "--method", "tornado", "--out", disk / "s")
        _one_line(code, err, "disk full", f"nothing was written into {disk}")
        assert not [p for p in disk.rglob("*")]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_lock_names_its_live_holder_and_a_killed_ones_is_taken_over(tmp_path, capsys,
                                                                      lock_holder):
    out = tmp_path / "o"
    holder = lock_holder(out, "plansim sensitivity")
    record = json.loads((out / outputs.LOCK).read_text(encoding="utf-8"))
    assert record["pid"] == holder.pid and record["host"] and record["started"]
    refused = f"another plansim sensitivity \\(pid {holder.pid} on"
    with pytest.raises(InputError, match=refused), outputs.locked(out, "plansim brief"):
        pass
    staging = out / f"{outputs.STAGING}-{holder.pid}-0"
    assert staging.is_dir()
    (staging / "half.nc").write_bytes(b"half")  # what it had staged
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    capsys.readouterr()
    with outputs.locked(out, "plansim sensitivity"):
        taken = capsys.readouterr().err
        assert taken.count("\n") == 1 and f"pid {holder.pid}" in taken
        assert "ended without releasing it" in taken
        results.write_text("whole", out / "x.txt")
    assert sorted(p.name for p in out.iterdir()) == ["x.txt"]  # no lock, nothing staged


def test_a_command_killed_while_writing_leaves_no_partial_set_nor_a_blocking_lock(tmp_path):
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "--project", str(ROOT),
                             "sensitivity", "--method", "tornado", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not any(
            p.is_file() for p in out.glob(f"{outputs.STAGING}*/*")):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert any(out.glob(f"{outputs.STAGING}*/*")), "it wrote nothing before the kill"
    left = [p.name for p in out.iterdir()]
    assert not [n for n in left if not n.startswith(".plansim")], left
    with outputs.locked(out, "plansim sensitivity"):
        pass
    assert not list(out.iterdir())


@pytest.mark.parametrize("argv", [
    ["sensitivity", "--method", "tornado", "--out", "DIR/s"],
    ["reach", "--runs", "10", "--out", "DIR/r"],
    ["frontier", "--runs", "10", "--out", "DIR/f"],
    ["brief", "plan", "--runs", "10", "--out", "DIR/b.html"],
    ["calibrate", "--out", "DIR/cal.toml"],
])
def test_a_folder_the_user_cannot_write_is_one_line_before_any_work(tmp_path, capsys,
                                                                    monkeypatch, argv):
    """Read-only folders cannot be made as root: os.access says what a user would see."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: (
        False if Path(p) == tmp_path and mode & os.W_OK else real(p, mode, **k)))
    from simulator.analyze import sensitivity
    from simulator.decide import reach

    monkeypatch.setattr(sensitivity, "scenario_function", lambda *a, **k: pytest.fail("ran"))
    monkeypatch.setattr(reach, "reach", lambda *a, **k: pytest.fail("ran"))
    code, err = _cli(capsys, "--project", ROOT,
                     *[a.replace("DIR", str(tmp_path)) for a in argv])
    _one_line(code, err, "not writable")
    assert not list(tmp_path.iterdir())


def test_analyze_into_a_folder_the_user_cannot_write_is_one_line(reach_copy, capsys,
                                                                 monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: (
        False if Path(p) == reach_copy and mode & os.W_OK else real(p, mode, **k)))
    code, err = _cli(capsys, "analyze", reach_copy)
    _one_line(code, err, "not writable", "DIR/analysis")
    assert not (reach_copy / "analysis").exists()


def test_the_atomic_writer_refusing_permission_is_one_line(tmp_path, reach_copy, capsys,
                                                          monkeypatch):
    """As the user would see it when the folder turns read-only after the check."""
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(InputError, match="permission denied"):
        results.write_text("x", tmp_path / "x.txt")
    code, err = _cli(capsys, "chart", "scorecard", reach_copy, "--out", tmp_path / "c")
    _one_line(code, err, "permission denied", "scorecard_en.png")
    code, err = _cli(capsys, "analyze", reach_copy)
    _one_line(code, err, "permission denied")
    assert not (reach_copy / "analysis").exists()


# --- a hostile user on the paths added last session ------------------------------------

def _sealed_write(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(seal.sealed(obj)), encoding="utf-8")


@pytest.mark.parametrize("craft, words", [
    (lambda f: {**f, "nearest": "x"}, "nearest"),
    (lambda f: {**f, "relaxed": [1, 2]}, "relaxed[0]"),
    (lambda f: {**f, "target": 1e300}, "target"),
    (lambda f: {**f, "nearest": {"kind": "threshold", "goals": ["g"], "probability": -5,
                                 "ci": [1e308, -1e308]}}, "nearest.probability"),
    (lambda f: {**f, "seed": "2"}, "seed"),
])
def test_a_frontier_crafted_with_a_matching_digest_is_one_line(reach_copy, tmp_path, capsys,
                                                               craft, words):
    summary = json.loads((reach_copy / "summary.json").read_text(encoding="utf-8"))
    frontier = {**summary["frontier"], "quick": False}
    folder = reach_copy.parent / "frontier-plan"
    folder.mkdir()
    _sealed_write(folder / "frontier.json", frontier)  # as written: read
    code, err = _cli(capsys, "brief", reach_copy, "--out", tmp_path / "ok.html")
    assert code == 0, err
    _sealed_write(folder / "frontier.json", craft(frontier))
    code, err = _cli(capsys, "brief", reach_copy, "--out", tmp_path / "b.html")
    _one_line(code, err, "frontier.json", words, "not a result plansim wrote")


@pytest.mark.parametrize("craft, words", [
    (lambda s: {**s, "held_back_by": "x"}, "does not match the results.nc"),
    (lambda s: {**s, "goals": {g: {**v, "value": 1.0} for g, v in s["goals"].items()}},
     "does not match the results.nc"),
    (lambda s: {**s, "joint_probability": {"value": 1.0, "interval": [1.0, 1.0]}},
     "does not match the results.nc"),
    (lambda s: {**s, "calibration": {**s["calibration"], "sets_drawn": "x"}},
     "calibration.sets_drawn"),
    (lambda s: {**s, "outside_domain_runs": -1}, "outside_domain_runs"),
    (lambda s: {**s, "levers": {"x": float("1e300")}}, "levers.x"),
])
def test_a_summary_crafted_with_a_matching_digest_is_one_line(reach_copy, tmp_path, capsys,
                                                              craft, words):
    path = reach_copy / "summary.json"
    _sealed_write(path, craft(json.loads(path.read_text(encoding="utf-8"))))
    for argv in (["brief", reach_copy, "--out", tmp_path / "b.html"], ["analyze", reach_copy]):
        code, err = _cli(capsys, *argv)
        _one_line(code, err, "summary.json", words)
    assert not (tmp_path / "b.html").exists()
    assert not (reach_copy / "analysis").exists()  # refused before any work


@pytest.mark.parametrize("key, value", [
    ("name_zh", "规划\x1b[2J"), ("name_zh", "规划\u202e划规"), ("name", "a\nb"),
    ("name_zh", "长" * 201),
])
def test_a_plan_name_with_control_or_invisible_characters_is_refused(tmp_path, capsys, key,
                                                                     value):
    project = tmp_path / "valley"
    shutil.copytree(ROOT / "tests" / "projects" / "valley", project)
    manifest = project / "plansim.toml"
    lines = [line for line in manifest.read_text(encoding="utf-8").splitlines()
             if not line.startswith(f"{key} =")]
    manifest.write_text(f"{key} = {json.dumps(value)}\n" + "\n".join(lines) + "\n",
                        encoding="utf-8")
    code, err = _cli(capsys, "--project", project, "goals")
    _one_line(code, err, "plansim.toml", key, "plain text")


def test_links_planted_at_the_lock_or_staging_names_write_nothing_elsewhere(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (out / outputs.LOCK).symlink_to(victim / "lock")
    with pytest.raises(InputError, match="symbolic link"), outputs.locked(out, "test"):
        pass
    (out / outputs.LOCK).unlink()
    for n in range(3):  # where this process would stage
        (out / f"{outputs.STAGING}-{os.getpid()}-{n}").symlink_to(victim)
    with outputs.locked(out, "test"):
        results.write_text("x", out / "x.txt")
    assert sorted(p.name for p in out.iterdir()) == ["x.txt"]
    assert not list(victim.iterdir())
