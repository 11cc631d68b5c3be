"""Output locations are checked before any work; nothing is written where it should not be."""

import json
import os
import stat

import pytest

from simulator import cli
from simulator.decide import reach
from simulator.inputs import scenario, validate
from simulator.inputs.project import find
from simulator.running import outputs, results, runs

SCENARIOS_DIR = find().scenarios


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command starts computing."""
    def refuse(*args, **kwargs):
        raise AssertionError("the command started computing")

    monkeypatch.setattr(runs, "run_scenario", refuse)
    monkeypatch.setattr(reach, "reach", refuse)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("plansim: error: "), err
    assert "Traceback" not in err and len(err) < 300, err
    return err


def test_a_device_or_pipe_is_never_replaced(tmp_path, capsys, no_work):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for argv in (["run", "--out", str(fifo)], ["calibrate", "--out", str(fifo)]):
        assert cli.main(argv) == 2
        assert "not a regular file" in one_error_line(capsys)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("option", ["run", "reach"])
def test_bad_locations_are_refused_before_work(option, tmp_path, capsys, no_work):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    bad = {"": "empty path", str(a_file / "x"): "not a directory"}
    bad[str(tmp_path)] = "is a directory" if option == "run" else "already holds"
    if option == "reach":
        (tmp_path / "summary.json").write_text("{}")
    readonly = tmp_path / "ro"
    readonly.mkdir(mode=0o500)
    if not os.access(readonly, os.W_OK):  # root may write anywhere
        bad[str(readonly / "x")] = "not writable"
    for out, words in bad.items():
        assert cli.main([option, "--out", out]) == 2, out
        assert words in one_error_line(capsys), out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["file", "ro", *(["summary.json"] if option == "reach" else [])])


def test_existing_result_of_another_run_is_kept_unless_forced(tmp_path, capsys, no_work,
                                                              monkeypatch):
    out = tmp_path / "r.nc"
    out.write_bytes(b"an earlier result")
    assert cli.main(["run", "--out", str(out)]) == 2
    assert "--force" in one_error_line(capsys)
    assert out.read_bytes() == b"an earlier result"
    monkeypatch.undo()
    assert cli.main(["run", "--out", str(out), "--force"]) == 0
    assert results.netcdf_attrs(out)["scenario"] == "plan"
    # the identical run may rewrite its own result; the same path with other goals may not
    assert cli.main(["run", "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["run", "--out", str(out), "--goals", "design_card"]) == 2
    one_error_line(capsys)


def test_result_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = results.write_json({"a": 1}, tmp_path / "x.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_summary_json_is_strict(tmp_path):
    with pytest.raises(ValueError):
        results.write_json({"p": float("nan")}, tmp_path / "s.json")
    assert not list(tmp_path.iterdir())


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    def full(path):
        raise OSError(28, "No space left on device")

    with pytest.raises(outputs.DiskFullError) as info:
        outputs.atomic_write(tmp_path / "x.nc", full, size_hint=5 << 20)
    text = str(info.value)
    assert "x.nc" in text and "5.0 MB" in text and "\n" not in text
    assert not list(tmp_path.iterdir())

    class Usage:
        free = 1000

    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: Usage)
    with pytest.raises(Exception) as info:
        outputs.check_file(tmp_path / "y.nc", needed_bytes=10 << 20)
    assert "MB are free" in str(info.value)


def test_scenario_names_must_be_file_name_safe(tmp_path, capsys, no_work):
    base = (SCENARIOS_DIR / "business-as-usual.toml").read_text(encoding="utf-8")
    for name in ["../../../../tmp/x", "", ".hidden", "a/b", "x" * 100]:
        path = tmp_path / "s.toml"
        text = base.replace('name = "business-as-usual"', f"name = {json.dumps(name)}")
        for key in ("goals", "calibration", "uncertainties"):
            text = text.replace(f'\n{key} = "', f'\n{key} = "{SCENARIOS_DIR}/')
        assert text != base
        path.write_text(text, encoding="utf-8")
        assert cli.main(["run", str(path)]) == 2
        assert ": name: " in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_default_output_names_distinguish_goal_selections():
    assert validate.goal_suffix(None) == ""
    assert validate.goal_suffix("design_card") == "-design_card"
    a, b = validate.goal_suffix("design_card,x"), validate.goal_suffix("design_card,y")
    assert a != b and "/" not in a and "," not in a


def test_a_bundled_name_is_not_found_under_a_wrong_directory(capsys, no_work):
    assert cli.main(["run", "no/such/dir/green-first"]) == 2
    assert "not found" in one_error_line(capsys)
    assert scenario.resolve("green-first") == SCENARIOS_DIR / "green-first.toml"


def test_reach_refuses_a_directory_another_reach_holds(tmp_path, capsys, no_work,
                                                       lock_holder):
    holder = lock_holder(tmp_path / "r", "plansim reach")
    assert cli.main(["reach", "--runs", "10", "--out", str(tmp_path / "r")]) == 2
    assert f"another plansim reach (pid {holder.pid} on" in one_error_line(capsys)


@pytest.mark.parametrize("value, shown", [
    (15170.4, "15,170"), (21530.0, "21,530"), (2_500_000.0, "2,500,000"), (7.2451, "7.245"),
    (0.82049, "0.8205"), (0.0, "0"), (-1234.5, "-1,234"), (0.00001234, "0.00001234")])
def test_the_central_scorecard_shows_numbers_a_person_reads(value, shown):
    assert runs.plain(value) == shown and "e" not in runs.plain(value)


def test_plansim_run_prints_no_scientific_notation(tmp_path, capsys):
    assert cli.main(["run", "--out", str(tmp_path / "x.nc")]) == 0
    out = capsys.readouterr().out
    assert "15,000" in out and not __import__("re").search(r"\de[+-]\d", out), out
