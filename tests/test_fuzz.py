"""Fuzz: generated bad scenario, goals, calibration and sweep-spec files and bad options,
fed through the CLI entry point in this process. Every one must give exit code 2, one
line under 300 characters, no traceback, and write nothing.

Each generated case is bad by construction (one mutation of a valid input that the
documented rules forbid); a command that starts computing fails the test at once.
Names of parameters are picked by role from the model at test time.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import calibrate, cli, sweep
from simulator.decide import reach
from simulator.inputs import goals, model, scenario, tomlfile
from simulator.inputs.project import find
from simulator.running import memory, runs

CALIBRATION_FILE, GOALS_FILE, SCENARIOS_DIR = find().calibration, find().goals, find().scenarios

EXAMPLES = 1000
PARAMS = model.parameters()
LEVER = min(model.parameters(role="lever"))
UNCERTAIN = min(model.parameters(role="uncertain"))
GOALS = tomllib.loads(GOALS_FILE.read_text(encoding="utf-8"))
CALIBRATION = tomllib.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
GOAL_SET = goals.load(GOALS_FILE)


def _base_scenario() -> dict:
    lever, unc = PARAMS[LEVER], PARAMS[UNCERTAIN]
    return {"name": "fuzz", "goals": str(GOALS_FILE), "calibration": str(CALIBRATION_FILE),
            "levers": {LEVER: {"value": lever.default, "bounds": [lever.lower, lever.upper]}},
            "uncertainties": {UNCERTAIN: {"distribution": "uniform", "low": unc.lower,
                                          "high": unc.upper}}}


def _base_spec() -> dict:
    lever = PARAMS[LEVER]
    return {"scenario": "plan", "futures": 4, "seed": 1,
            "levers": {LEVER: {"grid": [lever.lower, lever.upper]}}}


# ----------------------------------------------------------------------------- values

not_a_number = st.one_of(
    st.text(max_size=20), st.booleans(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), min_size=1, max_size=2),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(min_value=10**309, max_value=10**400))
beyond = st.floats(min_value=0.01, max_value=1e6)  # relative distance outside a range
unknown_name = st.text(min_size=1, max_size=60).filter(lambda s: s not in PARAMS)
unsafe_name = st.one_of(st.just(""), st.text(min_size=1, max_size=30).map(lambda s: "../" + s),
                        st.text(min_size=1, max_size=30).map(lambda s: "." + s),
                        st.text(min_size=1, max_size=20).map(lambda s: s + "/x"),
                        st.text(min_size=65, max_size=90, alphabet="ab"))


def _outside(param, k: float, above: bool) -> float:
    span = max(param.upper - param.lower, abs(param.upper), 1.0)
    return param.upper + k * span if above else param.lower - k * span


# ----------------------------------------------------------------------------- mutations


@st.composite
def bad_scenario(draw) -> dict:
    data = _base_scenario()
    kind = draw(st.sampled_from(["top key", "lever value", "lever range", "lever name",
                                 "lever key", "distribution", "low above high", "override",
                                 "name", "section", "bounds"]))
    lever = data["levers"][LEVER]
    if kind == "top key":
        data[draw(st.text(min_size=1, max_size=20).filter(
            lambda s: s not in scenario.TOP_KEYS))] = draw(st.integers())
    elif kind == "lever value":
        lever["value"] = draw(not_a_number)
    elif kind == "lever range":
        lever["value"] = _outside(PARAMS[LEVER], draw(beyond), draw(st.booleans()))
    elif kind == "lever name":
        data["levers"] = {draw(unknown_name): lever}
    elif kind == "lever key":
        lever[draw(st.text(min_size=1, max_size=10).filter(
            lambda s: s not in ("value", "bounds")))] = 1
    elif kind == "distribution":
        data["uncertainties"][UNCERTAIN]["distribution"] = draw(
            st.text(max_size=15).filter(lambda s: s not in scenario.DISTRIBUTIONS))
    elif kind == "low above high":
        u = data["uncertainties"][UNCERTAIN]
        u["low"], u["high"] = u["high"], u["low"]
    elif kind == "override":
        p = PARAMS[UNCERTAIN]
        data["uncertainties"] = {}
        data["overrides"] = {UNCERTAIN: draw(st.one_of(
            not_a_number, beyond.map(lambda k: _outside(p, k, True))))}
    elif kind == "name":
        data["name"] = draw(unsafe_name)
    elif kind == "section":
        data[draw(st.sampled_from(["levers", "uncertainties", "overrides"]))] = draw(
            st.one_of(st.integers(), st.text(max_size=5).filter(lambda s: not s.endswith(
                ".toml")), st.lists(st.integers(), max_size=2)))
    else:
        lever["bounds"] = draw(st.one_of(not_a_number, st.lists(st.floats(), max_size=1)))
    return data


@st.composite
def bad_goals(draw) -> dict:
    data = copy.deepcopy(GOALS)
    goal = data["goal"][0]
    kind = draw(st.sampled_from(["threshold", "comparator", "indicator", "years", "missing",
                                 "duplicate", "groups", "out_of_scope", "top key", "id"]))
    if kind == "threshold":
        goal["threshold"] = draw(st.one_of(not_a_number, st.just(0)))
    elif kind == "comparator":
        goal["comparator"] = draw(st.text(max_size=5).filter(lambda s: s not in goals.COMPARATORS))
    elif kind == "indicator":
        goal["indicator"] = draw(st.text(max_size=20).filter(lambda s: s not in
                                                              cli_indicators()))
    elif kind == "years":
        goal["years"] = draw(st.one_of(st.just([]), st.lists(st.integers(
            min_value=2016, max_value=10**6), min_size=1, max_size=3), not_a_number))
    elif kind == "missing":
        del goal[draw(st.sampled_from(sorted(goals._REQUIRED)))]
    elif kind == "duplicate":
        data["goal"][1]["id"] = goal["id"]
    elif kind == "groups":
        data["groups"] = draw(st.one_of(st.integers(), st.just({"g": ["no such goal"]}),
                                        st.just({"g": 3})))
    elif kind == "out_of_scope":
        data["out_of_scope"] = draw(st.one_of(st.text(max_size=5), st.integers(),
                                              st.just([{"goal": 1}]), st.just([3])))
    elif kind == "top key":
        data[draw(st.text(min_size=1, max_size=10).filter(
            lambda s: s not in ("goal", "groups", "out_of_scope")))] = 1
    else:
        goal["id"] = draw(st.one_of(st.integers(), st.just(""), st.booleans()))
    return data


def cli_indicators():
    return find().indicators


@st.composite
def bad_calibration(draw) -> dict:
    data = copy.deepcopy(CALIBRATION)
    name = min(data["parameters"])
    entry = data["parameters"][name]
    kind = draw(st.sampled_from(["value", "range", "missing", "unknown", "not a table"]))
    if kind == "value":
        entry["value"] = draw(not_a_number)
    elif kind == "range":
        entry["value"] = _outside(PARAMS[name], draw(beyond), draw(st.booleans()))
    elif kind == "missing":
        del entry["value"]
    elif kind == "unknown":
        data["parameters"][draw(unknown_name)] = {"value": 1.0}
    else:
        data["parameters"] = draw(st.one_of(st.integers(), st.text(max_size=5)))
    return data


@st.composite
def bad_spec(draw) -> dict:
    data = _base_spec()
    kind = draw(st.sampled_from(["futures", "seed", "block_size", "top key", "indicators",
                                 "years", "grid range", "grid empty", "lever", "sample n",
                                 "scenario"]))
    if kind == "futures":
        data["futures"] = draw(st.one_of(st.integers(max_value=0), not_a_number,
                                         st.floats(allow_nan=False)))
    elif kind == "seed":
        data["seed"] = draw(st.one_of(st.integers(max_value=-1), st.integers(
            min_value=2**63), not_a_number))
    elif kind == "block_size":
        data["block_size"] = draw(st.one_of(st.integers(max_value=0), st.integers(
            min_value=sweep.spec.MAX_BLOCK_SIZE + 1)))
    elif kind == "top key":
        data[draw(st.text(min_size=1, max_size=10).filter(
            lambda s: s not in sweep.spec.TOP_KEYS))] = 1
    elif kind == "indicators":
        data["indicators"] = draw(st.one_of(not_a_number.filter(lambda v: v != []),
                                            st.lists(st.text(max_size=8), min_size=1,
                                                     max_size=2)))
    elif kind == "years":
        data["years"] = draw(st.one_of(st.just([]), st.lists(st.integers(max_value=1999),
                                                             min_size=1, max_size=2)))
    elif kind == "grid range":
        data["levers"][LEVER]["grid"] = [_outside(PARAMS[LEVER], draw(beyond), True)]
    elif kind == "grid empty":
        data["levers"][LEVER]["grid"] = draw(st.one_of(st.just([]), not_a_number))
    elif kind == "lever":
        data["levers"] = {draw(unknown_name): {"grid": [0.0]}}
    elif kind == "sample n":
        del data["levers"]
        data["lever_sample"] = {"n": draw(st.one_of(st.integers(max_value=0),
                                                    st.integers(min_value=10**8))),
                                "levers": [LEVER]}
    else:
        data["scenario"] = draw(st.one_of(st.just(""), st.integers(),
                                          st.text(min_size=1, max_size=10).map(
                                              lambda s: f"no-such-{s}.toml")))
    return data


def _dump(data: dict) -> bytes:
    try:
        return tomli_w.dumps(data).encode("utf-8")
    except (TypeError, ValueError):  # e.g. a huge int tomli_w refuses: write it by hand
        return b"x = " + str(10**400).encode() + b"\n" + tomli_w.dumps(
            {k: v for k, v in data.items() if k != "x"}, ).encode("utf-8")


@st.composite
def broken_bytes(draw, base: bytes) -> bytes:
    kind = draw(st.sampled_from(["bom", "not utf-8", "deep", "unclosed", "empty", "huge"]))
    if kind == "bom":
        return "\ufeff".encode() + base
    if kind == "not utf-8":
        cut = draw(st.integers(min_value=0, max_value=len(base)))
        return base[:cut] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"])) + \
            base[cut:]
    if kind == "deep":
        depth = draw(st.integers(min_value=tomlfile.MAX_DEPTH + 1, max_value=5000))
        return base + b"\nzz = " + b"[" * depth + b"]" * depth + b"\n"
    if kind == "unclosed":
        return base + b'\n[levers."' + draw(st.text(max_size=5)).encode() + b"\n"
    if kind == "empty":
        return draw(st.sampled_from([b"", b"# nothing\n", b"\n\n"]))
    return base + b"#" + b"x" * (tomlfile.MAX_BYTES + 1) + b"\n"


# ----------------------------------------------------------------------------- cases


@st.composite
def case(draw) -> tuple[list[str], dict[str, bytes]]:
    """(argv with {dir} for the case's directory, files to write there)."""
    kind = draw(st.sampled_from(["scenario", "scenario bytes", "goals", "calibration",
                                 "spec", "spec bytes", "options"]))
    command = draw(st.sampled_from(["run", "reach", "goals"]))
    if kind == "scenario":
        return [command, "{dir}/s.toml"], {"s.toml": _dump(draw(bad_scenario()))}
    if kind == "scenario bytes":
        return [command, "{dir}/s.toml"], {"s.toml": draw(broken_bytes(
            _dump(_base_scenario())))}
    if kind == "goals":
        scen = _base_scenario() | {"goals": "g.toml"}
        return [command, "{dir}/s.toml"], {"s.toml": _dump(scen),
                                           "g.toml": _dump(draw(bad_goals()))}
    if kind == "calibration":
        scen = _base_scenario() | {"calibration": "c.toml"}
        cal = draw(st.one_of(bad_calibration().map(_dump),
                             broken_bytes(_dump(CALIBRATION))))
        return [command, "{dir}/s.toml"], {"s.toml": _dump(scen), "c.toml": cal}
    if kind == "spec":
        return ["sweep", "{dir}/spec.toml", "--out", "{dir}/o"], {
            "spec.toml": _dump(draw(bad_spec()))}
    if kind == "spec bytes":
        return ["sweep", "{dir}/spec.toml", "--out", "{dir}/o"], {
            "spec.toml": draw(broken_bytes(_dump(_base_spec())))}
    return draw(bad_options()), {"file": b"x"}


def _bad_size(text: str) -> bool:
    try:
        memory.parse_size(text)
    except Exception:  # noqa: BLE001  (any refusal will do)
        return True
    return False


def _bad_goal_selection(text: str) -> bool:
    try:
        GOAL_SET.select(text)
    except Exception:  # noqa: BLE001  (any refusal will do)
        return True
    return False


@st.composite
def bad_options(draw) -> list[str]:
    integer_text = st.one_of(st.integers(max_value=0).map(str), st.text(max_size=8).filter(
        lambda s: not s.strip().lstrip("+").isdigit()))
    option = draw(st.sampled_from(["runs", "seed", "generations", "search-runs", "goals",
                                   "max-memory", "out", "max-nfev", "workers", "scheduler",
                                   "unknown"]))
    if option in ("runs", "generations", "search-runs"):
        value = draw(st.one_of(integer_text, st.integers(
            min_value=reach.MAX_RUNS + 1).map(str)))
        return ["reach", f"--{option}", value, "--out", "{dir}/o"]
    if option == "seed":
        value = draw(st.one_of(st.integers(max_value=-1), st.integers(
            min_value=cli.MAX_SEED + 1)).map(str))
        return ["reach", f"--seed={value}", "--out", "{dir}/o"]
    if option == "goals":
        value = draw(st.text(min_size=1, max_size=30).filter(
            lambda s: not s.startswith("-") and _bad_goal_selection(s)))
        return [draw(st.sampled_from(["run", "reach"])), "--goals", value, "--out", "{dir}/o"]
    if option == "max-memory":
        value = draw(st.one_of(st.text(max_size=8).filter(lambda s: not s.startswith("-")),
                               st.sampled_from(["1K", "10B", "0", "-5G"])))
        if value not in ("1K", "10B") and not _bad_size(value):
            value = "1K"
        return ["reach", f"--max-memory={value}", "--runs", "10", "--out", "{dir}/o"]
    if option == "out":
        where = draw(st.sampled_from(["", "{dir}", "{dir}/file/x", "{dir}/file"]))
        command = draw(st.sampled_from(["run", "reach", "calibrate"]))
        if command == "reach" and where == "{dir}":
            where = "{dir}/file"
        return [command, f"--out={where}"]
    if option == "max-nfev":
        value = draw(st.one_of(integer_text, st.integers(min_value=cli.MAX_NFEV + 1).map(str)))
        return ["calibrate", f"--max-nfev={value}", "--dry-run"]
    if option == "workers":
        value = draw(st.one_of(integer_text, st.integers(min_value=1025).map(str)))
        return ["sweep", str(SCENARIOS_DIR / "sweeps" / "migration-greening.toml"),
                f"--workers={value}", "--out", "{dir}/o"]
    if option == "scheduler":
        value = draw(st.text(max_size=20).filter(lambda s: "://" not in s and
                                                 not s.startswith("-")))
        return ["sweep", str(SCENARIOS_DIR / "sweeps" / "migration-greening.toml"),
                f"--scheduler={value}", "--out", "{dir}/o"]
    return [draw(st.sampled_from(["run", "reach", "sweep", "goals", "calibrate", "nosuch"])),
            "--" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3,
                                max_size=10).filter(lambda s: s not in (
                                    "out", "goals", "runs", "seed", "force", "help"))), "1"]


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def nothing_computes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a bad input reached the computation")

    for module, name in [(runs, "run_scenario"), (reach, "reach"), (calibrate, "calibrate"),
                         (sweep, "futures_sample")]:
        monkeypatch.setattr(module, name, refuse)


def test_fuzzed_bad_inputs_get_one_line_and_exit_2(nothing_computes, capsys, monkeypatch):
    seen = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case())
    def check(generated):
        argv, files = generated
        with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
            root = Path(tmp)
            for name, content in files.items():
                (root / name).write_bytes(content)
            monkeypatch.chdir(root)
            before = _tree(root)
            capsys.readouterr()
            code = cli.main([a.replace("{dir}", tmp) for a in argv])
            out, err = capsys.readouterr()
            assert code == 2, (argv, err, out)
            assert len(err.splitlines()) == 1 and err.startswith("plansim: error: "), err
            assert len(err.rstrip("\n")) < 300 and "Traceback" not in err, err
            assert _tree(root) == before, (argv, err)
            seen.append(argv[0])
        os.chdir(Path(__file__).parent)

    check()
    assert len(seen) >= EXAMPLES


# ------------------------------------------------- hostile models, manifests, goal ids (#18)

HOSTILE_EXAMPLES = 1000
FREE_TEXT = st.text(alphabet=st.one_of(st.sampled_from(['"', "'", "\\", "\n", "\r", "\t", "#",
                                                        ";", "(", ")", "\x00", "\u2028",
                                                        "\u201d", "é", "克"]),
                                       st.characters(codec="utf-8")), max_size=60)


def _pysd_docstring(comment: str) -> str:
    """The function PySD 3.14.3 writes for a documented constant (``_build_element_out``:
    the comment between triple quotes, ``\\`` as a line break), after :func:`neutralise`."""
    import textwrap

    from pysd.translators.structures.abstract_model import AbstractElement, AbstractModel

    from simulator.engine import trust

    element = AbstractElement(name="x", components=[], documentation=comment)
    section = type("Section", (), {"elements": [element], "subscripts": []})()
    trust.neutralise(AbstractModel(original_path=Path("m.mdl"), sections=(section,)))
    doc = element.documentation.replace("\\", "\n")
    contents = f'"""\n{doc}\n"""\nreturn 1'.replace("\n", "\n" + " " * 4)
    return textwrap.dedent("@component.add(name='x')\ndef x():\n    " + contents + "\n")


@st.composite
def hostile_case(draw) -> tuple[str, object]:
    kind = draw(st.sampled_from(["comment", "manifest", "goal id"]))
    if kind == "comment":
        text = draw(st.one_of(FREE_TEXT, FREE_TEXT.map(lambda s: f'{s}"""; x = 1; """{s}')))
        return kind, text
    if kind == "manifest":
        key = draw(st.sampled_from(["model", "indicators", "goals", "calibration",
                                    "scenarios", "history.file"]))
        value = draw(st.one_of(
            st.sampled_from(["../outside.mdl", "/etc/passwd", "link/valley.mdl", "..",
                             "model/../../outside.mdl", "model/indicators.toml",
                             "model/valley.mdl\x00", "~/x.mdl"]),
            st.text(min_size=1, max_size=12).map(lambda s: "../" + s),
            st.text(min_size=1, max_size=12).map(lambda s: "/" + s)))
        return kind, (key, value)
    return kind, draw(st.one_of(st.text(max_size=20), st.text(max_size=10).map(
        lambda s: f"{s}/../{s}"), st.sampled_from(["..", ".x", "a/b", "a\\b", "a\x00b",
                                                     "x" * 65, ""])))


def _manifest(valley: Path, key: str, value: str) -> bytes:
    data = tomllib.loads((valley / "plansim.toml").read_text(encoding="utf-8"))
    if key == "history.file":
        data["history"]["file"] = value
    else:
        data[key] = value
    return tomli_w.dumps(data).encode("utf-8")


def test_fuzzed_hostile_models_manifests_and_goal_ids(tmp_path, capsys):
    """Free text never leaves its docstring; a manifest path outside the project (links
    resolved) or a model that is not a model file is one line naming the key; a goal id
    is a safe file name or refused."""
    import ast
    import shutil

    from simulator.errors import InputError
    from simulator.inputs import project, validate

    valley = Path(shutil.copytree(Path(__file__).parent / "projects" / "valley",
                                  tmp_path / "valley"))
    (tmp_path / "outside.mdl").write_bytes((valley / "model" / "valley.mdl").read_bytes())
    os.symlink(tmp_path, valley / "link")
    original = (valley / "plansim.toml").read_bytes()
    files = set(_tree(tmp_path))
    kinds = []

    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(hostile_case())
    def check(generated):
        kind, value = generated
        kinds.append(kind)
        if kind == "comment":
            tree = ast.parse(_pysd_docstring(value))
            body = tree.body[0].body
            assert len(tree.body) == 1 and len(body) == 2, value
            assert isinstance(body[0].value, ast.Constant) and isinstance(body[1], ast.Return)
        elif kind == "manifest":
            key, path = value
            (valley / "plansim.toml").write_bytes(_manifest(valley, key, path))
            try:
                loaded = project.load(valley)
            except InputError as exc:
                assert key.split(".")[-1] in str(exc) and "\n" not in str(exc), str(exc)
            else:  # accepted: then it is inside the project and of the right kind
                target = {"model": loaded.model, "indicators": loaded.indicators_file,
                          "goals": loaded.goals, "calibration": loaded.calibration,
                          "scenarios": loaded.scenarios, "history.file": loaded.history}[key]
                assert target.resolve().is_relative_to(valley.resolve()), (key, path)
                assert key != "model" or target.suffix == ".mdl"
            finally:
                (valley / "plansim.toml").write_bytes(original)
            assert set(_tree(tmp_path)) == files, "nothing is created"
        else:
            try:
                name = validate.name("goals.toml", "goal[0].id", value)
            except InputError as exc:
                assert "\n" not in str(exc)
            else:
                assert "/" not in name and "\\" not in name and ".." not in name
                assert not name.startswith(".") and len(name) <= validate.MAX_NAME
        capsys.readouterr()

    check()
    assert len(kinds) >= HOSTILE_EXAMPLES and set(kinds) == {"comment", "manifest", "goal id"}


def test_fuzzed_comments_through_the_real_translator(tmp_path, monkeypatch):
    """A few generated comments through PySD's parser and builder, translated and loaded:
    the payload after a docstring break never runs (the bulk runs above, on the builder's
    template)."""
    from test_security import evil_model

    from simulator.engine.vector_model import VectorModel

    monkeypatch.setenv("PLANSIM_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "PWNED"
    payload = f'__import__("pathlib").Path({str(marker)!r}).touch()'
    vensim_safe = st.text(alphabet=st.sampled_from(['"', "'", "\\", "#", ";", "é", "克", " ",
                                                    "a", "(", ")"]), max_size=12)

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(vensim_safe, vensim_safe)
    def check(before, after):
        comment = f'{before}"""; {payload}; """{after}'.replace("|", "").replace("~", "")
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        try:
            VectorModel(evil_model(folder, marker, comment)).run({}, ["stock a"])
        except Exception as exc:  # noqa: BLE001  (a model PySD cannot parse may be refused)
            assert "PWNED" not in str(type(exc)), exc
        assert not marker.exists(), comment

    check()
