"""Every bad input file or option: one line naming file and key, exit code 2, no traceback."""

import io
import json

import pytest

from simulator import calibrate, cli
from simulator.errors import InputError
from simulator.inputs import goals, model, tomlfile
from simulator.inputs.project import find

CALIBRATION_FILE, GOALS_FILE = find().calibration, find().goals


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("plansim: error: "), err
    assert "Traceback" not in err and len(err) < 300, err
    return err


def _calibration(tmp_path, replace) -> str:
    text = CALIBRATION_FILE.read_text(encoding="utf-8")
    name = min(model.parameters(role="calibrated"))
    head = f'[parameters."{name}"]\n' if f'[parameters."{name}"]' in text else \
        f"[parameters.{name}]\n"
    assert head in text
    start = text.index(head) + len(head)
    end = text.index("\n\n", start) if "\n\n" in text[start:] else len(text)
    body = text[start:end]
    path = tmp_path / "cal.toml"
    path.write_text(text[:start] + replace(body, model.parameters()[name]) + text[end:],
                    encoding="utf-8")
    return path, name


@pytest.mark.parametrize("case", ["above its range", "a string", "no value"])
def test_calibration_values_are_range_and_type_checked(case, tmp_path):
    def replace(body, param):
        lines = [ln for ln in body.splitlines() if not ln.startswith("value")]
        value = {"above its range": f"value = {param.upper + 10 * (param.upper - param.lower)}",
                 "a string": 'value = "abc"', "no value": ""}[case]
        return "\n".join([value, *lines])

    path, name = _calibration(tmp_path, replace)
    with pytest.raises(InputError) as info:
        calibrate.load_values(path)
    assert info.value.file == str(path) and name in info.value.key


def _goals(tmp_path, text: str):
    path = tmp_path / "goals.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOAL = ('[[goal]]\nid = "g"\nindicator = "population"\nyears = [2010]\ncomparator = "<"\n'
        'threshold = {t}\nunit = "x"\nsection = "s"\nquote = "q"\n')
BAD_GOALS = {
    "threshold nan": (GOAL.format(t="nan"), "threshold"),
    "groups not a table": ("groups = 5\n" + GOAL.format(t=1), "groups"),
    "out_of_scope a string": ('out_of_scope = "abc"\n' + GOAL.format(t=1), "out_of_scope"),
    "huge number": (GOAL.format(t="1" * 400), "threshold"),
    "id not a string": (GOAL.format(t=1).replace('id = "g"', "id = 3"), "id"),
}


@pytest.mark.parametrize("case", list(BAD_GOALS))
def test_bad_goals_files(case, tmp_path):
    text, key = BAD_GOALS[case]
    with pytest.raises(InputError) as info:
        goals.load(_goals(tmp_path, text))
    assert key in (info.value.key or ""), info.value


def test_toml_limits_are_checked_before_parsing(tmp_path):
    cases = {"deep": "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
             "bom": "\ufeff" + GOAL.format(t=1),
             "big": "# " + "x" * (tomlfile.MAX_BYTES + 10) + "\n"}
    words = {"deep": "nested", "bom": "byte-order mark", "big": "bytes"}
    for name, text in cases.items():
        path = _goals(tmp_path, text)
        with pytest.raises(InputError) as info:
            goals.load(path)
        assert words[name] in str(info.value) and len(str(info.value)) < 300
    assert tomlfile.nesting_depth('a = "[[[["\nb = [[1], {c = 2}]  # [[[[\n') == 2


def test_a_long_key_gives_a_short_line(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(f'[overrides]\n"{"k" * 100_000}" = 1\n', encoding="utf-8")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "x.nc")]) == 2
    assert "not a parameter" in one_error_line(capsys)
    path.write_text('[overrides]\n"a\\nb\\u001b[31m" = 1\n', encoding="utf-8")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "x.nc")]) == 2
    assert "\\n" in one_error_line(capsys)


def test_groups_and_ids_mix_in_a_goal_selection():
    full = goals.load(GOALS_FILE)
    group = min(full.groups)
    extra = next(i for i in full.ids if i not in full.groups[group])
    chosen = full.select(f"{group},{extra}").ids
    assert set(chosen) == {*full.groups[group], extra} and len(chosen) == len(set(chosen))


@pytest.mark.parametrize("argv, key", [
    (["reach", "--runs", "0"], "--runs"), (["reach", "--seed", "-1"], "--seed"),
    (["reach", "--seed", str(2**70)], "--seed"), (["reach", "--runs", "abc"], "--runs"),
    (["reach", "--generations", "0"], "--generations"),
    (["calibrate", "--max-nfev", "0", "--dry-run"], "--max-nfev"),
    (["calibrate", "--seed", "-1", "--dry-run"], "--seed"),
    (["calibrate", "--seed", str(2**32), "--dry-run"], "--seed"),
    (["sweep", "x.toml", "--workers", "1" * 5000], "--workers"), (["nosuch"], "choice")])
def test_command_line_integers_are_bounded_before_work(argv, key, capsys, tmp_path):
    assert cli.main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "reach" else [])]) == 2
    assert key in one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_analyze_on_a_garbage_result(tmp_path, capsys):
    (tmp_path / "results.nc").write_bytes(b"\x89HDF garbage" * 100)
    assert cli.main(["analyze", str(tmp_path)]) == 2
    assert "results.nc" in one_error_line(capsys)


def test_a_broken_pipe_is_quiet(monkeypatch, capsys):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    monkeypatch.setattr("sys.stdout", Closed())
    assert cli.main(["params", "--role", "lever"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" not in err, err


def test_a_zero_byte_scenario_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.toml"
    path.write_bytes(b"")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "x.nc")]) == 2
    assert "empty scenario" in one_error_line(capsys)
    assert json.dumps(sorted(p.name for p in tmp_path.iterdir())) == '["empty.toml"]'


def test_paths_with_control_characters(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text('scenario = "no-such-\\u0000.toml"\nfutures = 4\n', encoding="utf-8")
    scen = tmp_path / "s.toml"
    scen.write_text('goals = "goals\\u0000.toml"\n', encoding="utf-8")
    for argv in (["sweep", str(spec), "--out", str(tmp_path / "o")], ["run", str(scen)],
                 ["run", "pl\x00an"], ["run", "--out", str(tmp_path / "x\x00.nc")],
                 ["goals", str(tmp_path / "a\nb.toml")]):
        assert cli.main(argv) == 2, argv
        assert "control characters" in one_error_line(capsys), argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "spec.toml"]


HISTORY = find().history
BAD_HISTORY = {  # first data row changed: (sed-like old, new, key named)
    "value not a number": (",64.3,", ",abc,", "line 2.value"),
    "value nan": (",64.3,", ",nan,", "line 2.value"),
    "year not whole": ("gdp_nominal,2000,", "gdp_nominal,2000.5,", "line 2.year"),
    "unknown comparator": (",64.3,亿元 (current),=,", ",64.3,亿元 (current),~,",
                           "line 2.comparator"),
    "derived neither yes nor no": (",64.3,亿元 (current),=,no,",
                                   ",64.3,亿元 (current),=,maybe,", "line 2.derived"),
    "same figure twice": ("gdp_nominal,2005,", "gdp_nominal,2000,", "line 3"),
}


@pytest.mark.parametrize("case", list(BAD_HISTORY))
def test_bad_history_files(case, tmp_path):
    """The history CSV goes through the validation layer (simulator.inputs.history and the audit)."""
    from simulator.audit import plan as audit_plan
    from simulator.inputs import validate

    old, new, key = BAD_HISTORY[case]
    text = HISTORY.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "history.csv"
    path.write_text(text.replace(old, new), encoding="utf-8")
    for read in (validate.history_table, audit_plan._read_history):
        with pytest.raises(InputError) as info:
            read(path)
        assert info.value.file == str(path) and info.value.key == key, info.value


def test_the_history_file_passes_validation():
    from simulator.inputs import validate

    table = validate.history_table(HISTORY)
    assert len(table) > 30 and table["year"].dtype.kind == "i"
    assert set(table["comparator"]) <= {"=", "<"} and table["derived"].dtype == bool


def test_a_negative_structural_error_is_refused(tmp_path):
    import dataclasses

    from simulator.calibrate import errors

    project = find()
    text = project.history_errors.read_text(encoding="utf-8")
    path = tmp_path / "history_errors.csv"
    path.write_text(text.replace("*,discrepancy,relative,0.01", "*,discrepancy,relative,-0.01"),
                    encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text
    with pytest.raises(InputError) as info:
        errors.notes(dataclasses.replace(project, history_errors=path))
    assert info.value.file == str(path) and info.value.key.endswith(".value")
