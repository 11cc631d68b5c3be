"""Plan projects: discovery, the manifest, scenarios that travel, `plansim init`, and a
second plan (tests/projects/valley: another model, goals and history) through the pipeline."""

import ast
import json
import shutil
from pathlib import Path

import pytest
import xarray as xr

from simulator import cli
from simulator.errors import InputError
from simulator.inputs import project, scenario
from simulator.inputs.model import vector_model
from simulator.running import simulate

ROOT = Path(__file__).resolve().parents[1]
VALLEY = Path(__file__).resolve().parent / "projects" / "valley"


@pytest.fixture
def valley(tmp_path):
    """A copy of the valley project (commands write its calibration)."""
    return Path(shutil.copytree(VALLEY, tmp_path / "valley"))


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_valley_goes_through_calibrate_run_reach_sweep_and_analyze(valley, tmp_path, capsys):
    code, out, err = _cli(capsys, "calibrate", "--project", valley)
    assert code == 0, out + err
    line = f"plansim: project 'Valley irrigation plan (test project)' ({valley}; --project)"
    assert err.strip().splitlines() == [line]
    assert "farmland_growth.2017" in out and "pumping.2017" in out  # derived figure, bound
    assert "not represented: livestock: the valley model has no herds" in out
    assert (valley / "plan" / "calibrated.toml").is_file()

    code, out, err = _cli(capsys, "run", "--project", valley, "--out", tmp_path / "drip.nc")
    assert code == 0, err
    with xr.open_dataset(tmp_path / "drip.nc") as ds:
        assert ds["time"].values.tolist() == list(range(2012, 2031))
        assert set(ds["goal"].values) == {"aquifer_2030", "harvest_2030", "farmland_2025",
                                          "pumping_cap"}
        assert float(ds["output_index"].sel(time=2017)) == 1.0
        assert ds.attrs["project"] == "Valley irrigation plan (test project)"
        assert "calibration_hash" in ds.attrs

    code, out, err = _cli(capsys, "reach", "--project", valley, "--runs", 200,
                          "--search-runs", 20, "--generations", 1, "--out", tmp_path / "r")
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["plausible_runs"] > 100 and set(summary["best_levers"]["values"]) == {
        "drip irrigation", "land retirement"}
    assert 0 <= summary["joint_probability"]["value"] <= 1

    code, out, err = _cli(capsys, "analyze", "--project", valley, tmp_path / "r")
    assert code == 0, err
    assert (tmp_path / "r" / "analysis" / "fan_groundwater_en.png").is_file()
    assert (tmp_path / "r" / "analysis" / "fan_output_index_en.png").is_file()

    code, out, err = _cli(capsys, "sweep", "--project", valley, valley / "plan" / "sweep.toml",
                          "--out", tmp_path / "s")
    assert code == 0, err
    sweep = json.loads((tmp_path / "s" / "summary.json").read_text(encoding="utf-8"))
    assert sweep["runs"] == 6 * 20 and sweep["project"] == summary["project"]


def test_init_writes_a_project_that_calibrates_runs_and_reaches(tmp_path, capsys, monkeypatch):
    target = tmp_path / "my-plan"
    code, out, err = _cli(capsys, "init", target)
    assert code == 0, err
    assert (target / "plansim.toml").is_file() and "REPLACE" in (
        target / "models" / "town.mdl").read_text(encoding="utf-8")
    monkeypatch.chdir(target / "scenarios")  # found from a subfolder
    code, out, err = _cli(capsys, "run", "--out", tmp_path / "before.nc")
    assert code == 0 and "note: no calibration yet" in out, err
    code, out, err = _cli(capsys, "calibrate")
    assert code == 0, out + err
    assert "found from the current directory" in err and str(target) in err
    code, out, err = _cli(capsys, "run")
    assert code == 0 and "Scenario 'plan'" in out and "no calibration" not in out, err
    code, out, err = _cli(capsys, "reach", "--runs", 100, "--search-runs", 10,
                          "--generations", 1)
    assert code == 0 and "Best levers found" in out, err
    assert (target / "scenarios" / "out" / "reach-plan" / "summary.json").is_file()


def test_init_refuses_a_folder_with_files_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, err = _cli(capsys, "init", tmp_path / "taken")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not an empty folder" in err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_calibrate_does_not_overwrite_the_bundled_example(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = project.find().calibration.read_bytes()
    code, _, err = _cli(capsys, "calibrate")
    assert code == 2 and err.count("\n") == 1 and "--out" in err
    assert project.find().calibration.read_bytes() == shipped and not any(tmp_path.iterdir())


def test_project_is_found_from_the_option_the_folder_its_parents_or_the_bundled_example(
        tmp_path):
    assert project.find(VALLEY).found_by == "--project"
    for argv in (["--project", str(VALLEY), "params"], ["params", "--project", str(VALLEY)]):
        assert cli.build_parser().parse_args(argv).project == str(VALLEY)
    assert cli.build_parser().parse_args(["params"]).project is None
    inside = project.find(start=VALLEY / "model")
    assert inside.root == VALLEY and inside.found_by == "found from the current directory"
    bundled = project.find(start=tmp_path)
    assert bundled.found_by == "bundled example" and bundled.root == project.bundled_root()
    with pytest.raises(InputError, match="--project: no plansim.toml"):
        project.find(tmp_path)


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace('name = "Valley', 'nmae = "Valley'), "nmae"),
    (lambda t: t.replace('name = "Valley', 'name_zh = " "\nname = "Valley'), "name_zh"),
    (lambda t: t.replace('model = "model/valley.mdl"', 'model = "model/lake.mdl"'), "model"),
    (lambda t: t.replace("years = [2012, 2017]", "years = [2017]"), "history.years"),
    (lambda t: t.replace('default_scenario = "drip"', 'default_scenario = "flood"'),
     "default_scenario"),
    (lambda t: t.replace('measure = "growth"', 'measure = "speed"'),
     "history.derived.farmland_growth"),
    (lambda t: t.replace('fan_charts = ["groundwater"', 'fan_charts = ["groundwatr"'),
     "analyze.fan_charts"),
    (lambda t: t.replace("\nyear = 2012", '\nyear = "2012"'), "history.soft_target[0].year"),
    (lambda t: t.replace("sd = 20", "sd = -1"), "history.soft_target[0].sd"),
    (lambda t: t.replace("sd = 20", "weight = 0.001"), "history.soft_target[0].weight"),
    (lambda t: t.replace('errors = "model/history_errors.csv"', 'errors = "model/errs.csv"'),
     "history.errors"),
    (lambda t: t.replace('errors = "model/history_errors.csv"', "relative_tolerance = 0.02"),
     "history.relative_tolerance"),
])
def test_a_bad_manifest_is_one_line_naming_the_key(valley, capsys, edit, key):
    manifest = valley / "plansim.toml"
    manifest.write_text(edit(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    code, _, err = _cli(capsys, "run", "--project", valley, "--out", valley / "x.nc")
    assert code == 2 and err.count("\n") == 1, err
    assert f"{manifest}: {key}:" in err and "fix:" in err
    assert not (valley / "x.nc").exists()


def test_texts_name_the_plan_in_the_readers_language(valley):
    from simulator.present import labels

    manifest = valley / "plansim.toml"
    english = labels.project_texts(project.find(valley), "zh")["plan"]
    assert english == project.find(valley).name  # no name_zh: the name in every language
    manifest.write_text('name_zh = "河谷灌溉规划"\n' + manifest.read_text(encoding="utf-8"),
                        encoding="utf-8")
    proj = project.find(valley)
    assert labels.project_texts(proj, "zh")["plan"] == "河谷灌溉规划"
    assert labels.project_texts(proj, "en")["plan"] == proj.name != "河谷灌溉规划"


def test_an_indicator_naming_no_model_variable_is_refused_by_name(valley):
    path = valley / "model" / "indicators.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('variable = "pumping"',
                                                             'variable = "pumpin"'),
                    encoding="utf-8")
    proj = project.find(valley)
    with pytest.raises(InputError, match=r"indicators.toml: indicator.pumping.variable: "
                                         r"'pumpin' is not a variable"):
        simulate.run({}, ["pumping"], project=proj)


def test_a_scenario_copied_anywhere_runs_and_local_files_come_first(valley, tmp_path):
    karamay = project.find(ROOT)
    copy = tmp_path / "elsewhere" / "my-plan.toml"
    copy.parent.mkdir()
    shutil.copyfile(karamay.scenarios / "plan.toml", copy)
    scen = scenario.load(copy, karamay)  # goals, calibration, uncertainties: the project's
    assert scen.goals_path == karamay.goals and scen.calibrated and scen.uncertainties
    assert scen.calibration_path == karamay.calibration

    valley_project = project.find(valley)
    mine = tmp_path / "mine.toml"
    mine.write_text('goals = "my-goals.toml"\n[uncertainties]\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        scenario.load(mine, valley_project)
    message = str(err.value)
    assert "my-goals.toml" in message and str(tmp_path) in message
    assert str(valley / "plan") in message and message.count("\n") == 0
    text = (valley / "plan" / "goals.toml").read_text(encoding="utf-8")
    (tmp_path / "my-goals.toml").write_text(text.split("[[goal]]\nid = \"harvest")[0],
                                            encoding="utf-8")
    local = scenario.load(mine, valley_project)
    assert local.goals_path == tmp_path / "my-goals.toml"
    assert local.goal_set().ids == ["aquifer_2030"] and not local.uncertainties


def test_the_plan_scenario_copied_to_a_folder_without_a_project_runs(tmp_path, capsys,
                                                                       monkeypatch):
    """Issue 10's case: `plansim run my-plan.toml` on a copy of scenarios/plan.toml."""
    shutil.copyfile(project.bundled_root() / "scenarios" / "plan.toml", tmp_path / "my-plan.toml")
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "run", "my-plan.toml", "--out", "mine.nc")
    assert code == 0 and "bundled example" in err, err
    assert "Scenario 'plan'" in out and (tmp_path / "mine.nc").is_file()


def _string_literals(path: Path) -> set[str]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and node.body and isinstance(node.body[0], ast.Expr)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


def test_no_module_of_simulator_names_a_karamay_indicator_or_variable():
    karamay = project.find(ROOT)
    names = set(karamay.indicators) | {i.variable for i in karamay.indicators.values()}
    names |= set(karamay.history_settings.derived)
    for path in (ROOT / "simulator").rglob("*.py"):
        found = sorted(_string_literals(path) & names)
        assert not found, f"{path.relative_to(ROOT)} names {found}: move it into the project"


def test_a_project_model_with_random_functions_runs(valley, tmp_path, capsys):
    """Issue 21: project commands accept RANDOM models (run r draws from stream [seed, r],
    see tests/test_noise_in_projects.py); `plansim run` is run 0 of seed 0, reproducibly."""
    mdl = valley / "model" / "valley.mdl"
    text = mdl.read_text(encoding="utf-8")
    mdl.write_text(text.replace("expansion rate = 0.03", "expansion rate = RANDOM UNIFORM("
                                "0.02, 0.04, 1)"), encoding="utf-8")
    assert vector_model(project.find(valley)).draws_random
    runs = []
    for name in ("a.nc", "b.nc"):
        code, _out, err = _cli(capsys, "run", "--project", valley, "--out", tmp_path / name)
        assert code == 0, err
        with xr.open_dataset(tmp_path / name) as ds:
            runs.append(ds["farmland"].values)
    assert (runs[0] == runs[1]).all()


VALLEY_STELLA = Path(__file__).resolve().parent / "projects" / "valley_stella"


def test_a_stella_model_project_reaches_as_its_vensim_twin(tmp_path, capsys):
    """Issue 21: the valley project with its model as a Stella .stmx (XMILE) file: roles
    and ranges read from <doc> and <range>, `plansim reach` runs, and its futures equal
    those of the same model written in Vensim, bit for bit."""
    from simulator.inputs import model

    stella = model.parameters(VALLEY_STELLA / "model" / "valley.stmx")
    vensim = model.parameters(VALLEY / "model" / "valley.mdl")
    assert stella == vensim
    assert {p.name for p in stella.values() if p.role == "lever"} == {
        "drip irrigation", "land retirement"}
    summaries = []
    for source in (VALLEY_STELLA, VALLEY):
        copy = Path(shutil.copytree(source, tmp_path / source.name))
        out = tmp_path / f"reach-{source.name}"
        code, _, err = _cli(capsys, "reach", "--project", copy, "--runs", 100,
                            "--search-runs", 10, "--generations", 1, "--out", out)
        assert code == 0, err
        summaries.append(json.loads((out / "summary.json").read_text(encoding="utf-8")))
    stella_summary, vensim_summary = summaries
    assert stella_summary["joint_probability"] == vensim_summary["joint_probability"]
    assert stella_summary["best_levers"] == vensim_summary["best_levers"]
