"""Issue 18: hostile models, manifests, names, links and stores.

Each test replays one finding of the hostile-input trial; on 621f94b it fails (the
payload ran, a file outside the output was replaced, a link was followed...).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest

from simulator import cli
from simulator.engine.translate import translate, translate_reference
from simulator.engine.vector_model import VectorModel
from simulator.inputs import project
from simulator.running import seal

ROOT = Path(__file__).resolve().parents[1]
VALLEY = Path(__file__).parent / "projects" / "valley"
EVIL_TEXT = """{{UTF-8}}
stock a= INTEG (
\trate,
\t\t1)
\t~\tWidget
\t~\t{comment}
\t|

rate=
\t0.1 * stock a
\t~\tWidget/Year
\t~\t
\t|

FINAL TIME  = 10
\t~\tYear
\t~\t
\t|

INITIAL TIME  = 0
\t~\tYear
\t~\t
\t|

SAVEPER  = TIME STEP
\t~\tYear
\t~\t
\t|

TIME STEP  = 1
\t~\tYear
\t~\t
\t|
"""


def _payload(marker: Path) -> str:
    return f'__import__("pathlib").Path({str(marker)!r}).touch()'


def evil_model(folder: Path, marker: Path, comment: str | None = None) -> Path:
    """A model whose comment leaves PySD's docstring and touches ``marker``."""
    comment = comment or f'a stock"""; {_payload(marker)}; """'
    path = folder / "evil.mdl"
    path.write_text(EVIL_TEXT.format(comment=comment), encoding="utf-8")
    return path


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """The per-user cache, in a temporary folder."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("PLANSIM_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def valley(tmp_path, cache) -> Path:
    return Path(shutil.copytree(VALLEY, tmp_path / "valley"))


# --------------------------------------------------------------------------- 1: model is code


@pytest.mark.parametrize("comment", [
    'a stock"""; {payload}; """',
    'a stock""" + str({payload}) + """',
    'trailing quote"',
    'back\\\\slash """ {payload} #',
])
def test_a_comment_never_runs_as_python(tmp_path, cache, capsys, comment):
    marker = tmp_path / "PWNED"
    mdl = evil_model(tmp_path, marker, comment.replace("{payload}", _payload(marker)))
    code, out, err = _cli(capsys, "engine-check", mdl)
    assert not marker.exists(), "the model's comment ran as Python"
    assert code == 0 and "equal" in out, err
    model = VectorModel(mdl)
    model.run({}, ["stock a"])
    assert not marker.exists()
    assert not (tmp_path / ".cache").exists(), "nothing is written beside a model"


def test_the_translation_is_checked_before_import():
    from simulator.engine import trust

    base = (translate(ROOT / "models" / "karamay.mdl")).read_text(encoding="utf-8")
    trust.check_source(base, "karamay.mdl")  # what the translator writes passes
    hostile = [
        '__import__("os").system("true")',
        "import os",
        "from pysd.py_backend.utils import load_modules",
        "x = eval('1')",
        "x = open('/etc/passwd')",
        "x = Path('/tmp/x').unlink()",
        "x = ().__class__.__bases__",
        "class A:\n    pass",
        "def f():\n    import os",
        "def f():\n    print(1)",
        "x = __builtins__",
        "def f(): (lambda: None)()",
    ]
    for line in hostile:
        with pytest.raises(trust.UntrustedModel, match="plansim runs no code"):
            trust.check_source(base + "\n" + line + "\n", "karamay.mdl")


# ---------------------------------------------------------------- 2 and 6: caches, verified


def test_the_cache_is_per_user_and_never_beside_the_model(tmp_path, cache, monkeypatch):
    from simulator.engine.translate import default_cache_dir

    monkeypatch.delenv("PLANSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "plansim"
    monkeypatch.setenv("PLANSIM_CACHE_DIR", str(cache))
    assert default_cache_dir() == cache
    mdl = tmp_path / "model" / "m.mdl"
    mdl.parent.mkdir()
    shutil.copyfile(ROOT / "tests" / "fixtures" / "functions.mdl", mdl)
    assert translate(mdl).parent == cache
    assert sorted(p.name for p in mdl.parent.iterdir()) == ["m.mdl"]
    assert project.find(ROOT).cache_dir == cache


def test_a_tampered_cache_entry_is_translated_again_never_imported(tmp_path, cache, capsys):
    marker = tmp_path / "PWNED"
    mdl = ROOT / "tests" / "fixtures" / "functions.mdl"
    for build in (translate, translate_reference):
        cached = build(mdl)
        clean = cached.read_bytes()
        # a line a translator would write, but not this one: only the digest sees it
        cached.write_bytes(clean + b"\n_extra = 1\n")
        assert build(mdl) == cached and cached.read_bytes() == clean
        assert "does not match its recorded digest" in capsys.readouterr().err
        cached.write_bytes(clean + f"\n{_payload(marker)}\n".encode())
        VectorModel(mdl) if build is translate else build(mdl)
        assert not marker.exists() and cached.read_bytes() == clean
    record = cached.with_name(cached.name + ".sha256.json")
    record.unlink()  # no record: translated again
    stamp = cached.stat().st_mtime_ns
    translate_reference(mdl)
    assert record.is_file() and cached.stat().st_mtime_ns != stamp


def _edit_manifest(valley: Path, **keys) -> None:
    manifest = valley / "plansim.toml"
    text = manifest.read_text(encoding="utf-8")
    for key, value in keys.items():
        text = "\n".join(f'{key} = "{value}"' if line.startswith(f"{key} =") else line
                         for line in text.splitlines())
    manifest.write_text(text + "\n", encoding="utf-8")


def test_a_manifest_model_that_is_not_a_model_file_creates_nothing(valley, tmp_path, capsys):
    system = tmp_path / "system"
    system.mkdir()
    (system / "hostname").write_text("box\n", encoding="utf-8")
    shutil.copyfile(valley / "model" / "valley.mdl", system / "valley.mdl")
    cases = {"../system/hostname": "outside the project",
             "../system/valley.mdl": "outside the project",
             "plan/goals.toml": "not a model file"}
    for value, problem in cases.items():
        _edit_manifest(valley, model=value)
        code, _, err = _cli(capsys, "--project", valley, "params")
        assert code == 2 and problem in err and err.count("\n") == 1, err
        assert "model" in err and sorted(p.name for p in system.iterdir()) == [
            "hostname", "valley.mdl"]


# --------------------------------------------------------------------- 3: paths confined


def test_manifest_paths_stay_inside_the_project(valley, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.toml").write_text("keep = 1\n", encoding="utf-8")
    (victim / "important.nc").write_bytes(b"keep")
    _edit_manifest(valley, calibration="../victim/important.toml")
    code, _, err = _cli(capsys, "--project", valley, "calibrate", "--quick",
                        "--max-nfev", "5")
    assert code == 2 and "outside the project" in err and err.count("\n") == 1, err
    assert (victim / "important.toml").read_text(encoding="utf-8") == "keep = 1\n"
    assert (victim / "important.nc").read_bytes() == b"keep"
    os.symlink(victim, valley / "plan" / "link")  # a link inside, resolving outside
    _edit_manifest(valley, calibration="plan/link/important.toml")
    code, _, err = _cli(capsys, "--project", valley, "params")
    assert code == 2 and "outside the project" in err, err


def test_calibrate_replaces_only_its_own_files_without_force(valley, capsys):
    own = valley / "plan" / "calibrated.toml"
    own.write_text("keep = 1\n", encoding="utf-8")  # a file calibrate did not write
    code, _, err = _cli(capsys, "--project", valley, "calibrate", "--quick",
                        "--max-nfev", "5")
    assert code == 2 and "--force" in err, err
    assert own.read_text(encoding="utf-8") == "keep = 1\n"
    own.unlink()
    (valley / "plan" / "calibrated.nc").write_bytes(b"keep")  # an unrelated .nc beside it
    code, _, err = _cli(capsys, "--project", valley, "calibrate", "--quick",
                        "--max-nfev", "5")
    assert code == 2 and "calibrated.nc" in err, err
    assert (valley / "plan" / "calibrated.nc").read_bytes() == b"keep"


def test_scenario_files_stay_inside_the_project_or_beside_the_scenario(valley, tmp_path,
                                                                       capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copyfile(valley / "plan" / "goals.toml", outside / "goals.toml")
    scen = valley / "plan" / "drip.toml"
    data = tomllib.loads(scen.read_text(encoding="utf-8"))
    assert "goals" not in data
    scen.write_text('goals = "../../outside/goals.toml"\n' + scen.read_text(encoding="utf-8"),
                    encoding="utf-8")
    code, _, err = _cli(capsys, "--project", valley, "goals", "drip")
    assert code == 2 and "outside the project" in err and err.count("\n") == 1, err


# ------------------------------------------------------- 4 and 5: names, the one writer


HOSTILE_ID = "x/../../../../victim/pwn"


def test_a_goal_id_that_is_a_path_is_refused_before_any_work(valley, tmp_path, capsys):
    goals = valley / "plan" / "goals.toml"
    first = tomllib.loads(goals.read_text(encoding="utf-8"))["goal"][0]["id"]
    goals.write_text(goals.read_text(encoding="utf-8").replace(f'"{first}"', f'"{HOSTILE_ID}"'),
                     encoding="utf-8")
    (tmp_path / "victim").mkdir()
    for argv in (["sensitivity", "--method", "tornado", "--out", tmp_path / "s"],
                 ["run", "--out", tmp_path / "r.nc"],
                 ["goals"]):
        code, _, err = _cli(capsys, "--project", valley, *argv)
        assert code == 2 and "cannot be part of a file name" in err, err
        assert err.count("\n") == 1
    assert not any((tmp_path / "victim").iterdir())


def test_an_output_name_from_a_result_file_never_leaves_the_folder(tmp_path):
    import numpy as np
    import xarray as xr

    from simulator.analyze import sensitivity
    from simulator.errors import InputError

    ds = xr.Dataset({"swing": (("output", "input"), np.ones((1, 1)))},
                    coords={"output": [HOSTILE_ID], "input": ["a"]},
                    attrs={"method": "tornado", "runs": 2})
    with pytest.raises(InputError, match="cannot be part of a file name"):
        sensitivity.charts(ds, tmp_path / "out")
    assert not (tmp_path / "victim").exists()


def test_charts_never_follow_a_planted_link(tmp_path, cache, valley, capsys):
    import matplotlib.pyplot as plt

    from simulator.errors import InputError
    from simulator.plotting import style

    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    out = tmp_path / "charts"
    out.mkdir()
    os.symlink(victim, out / "t.svg")
    with pytest.raises(InputError, match="symbolic link"):
        style.save(plt.figure(), out / "t.png")
    assert victim.read_text(encoding="utf-8") == "keep"
    os.symlink(victim, out / "scorecard_en.svg")
    code, _, err = _cli(capsys, "--project", valley, "chart", "scorecard", "drip",
                        "--out", out)
    assert code == 2 and "symbolic link" in err and err.count("\n") == 1, err
    assert victim.read_text(encoding="utf-8") == "keep"
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def test_the_writer_leaves_no_partial_file_on_a_full_disk_or_a_kill(tmp_path):
    import errno
    import time

    from simulator.running import outputs

    target = tmp_path / "r.json"

    def fill(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(outputs.DiskFullError):
        outputs.atomic_write(target, fill)
    assert list(tmp_path.iterdir()) == []
    left = tmp_path / ".r.json.abcd.partial"  # what a writer killed by SIGKILL leaves
    left.write_bytes(b"half")
    old = time.time() - 2 * outputs.STALE_SECONDS
    os.utime(left, (old, old))
    outputs.atomic_write(target, lambda p: p.write_bytes(b"{}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    from simulator.errors import InputError

    with pytest.raises(InputError, match="--force"):
        outputs.atomic_write(target, lambda p: p.write_bytes(b"[]"), replace=False)
    assert target.read_bytes() == b"{}"


# ------------------------------------------------------------ 7: sweep stores checked whole


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    from test_sweep import SPEC

    from simulator import sweep

    path = tmp_path_factory.mktemp("spec") / "small.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path, sweep.execute(path, path.parent / "out", progress=False).out_dir


def _flip_goal_coordinate(store: Path) -> None:
    chunk = next((store / "goal" / "c").rglob("*"))
    while chunk.is_dir():
        chunk = next(chunk.iterdir())
    data = bytearray(chunk.read_bytes())
    data[-3] ^= 1
    chunk.write_bytes(bytes(data))


def _edit_metadata(store: Path, edit) -> None:
    import json

    path = store / "zarr.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    edit(meta)
    path.write_text(json.dumps(meta), encoding="utf-8")


def _swap_futures_and_settings(meta: dict) -> None:
    a = meta["attributes"]
    a["futures"], a["settings"] = a["settings"], a["futures"]


def _rename_met_dimensions(meta: dict) -> None:
    meta["consolidated_metadata"]["metadata"]["met"]["dimension_names"] = ["x", "goal"]


@pytest.mark.parametrize("tamper", [
    _flip_goal_coordinate,
    lambda store: _edit_metadata(store, _swap_futures_and_settings),
    lambda store: _edit_metadata(store, _rename_met_dimensions),
    lambda store: (store / "met" / "zarr.json").write_text(
        (store / "met" / "zarr.json").read_text(encoding="utf-8").replace('"run"', '"x"'),
        encoding="utf-8"),
], ids=["goal bit", "futures/settings", "consolidated dimension names", "array metadata"])
def test_a_store_with_altered_metadata_or_coordinates_is_refused(small_sweep, tmp_path,
                                                                 capsys, tamper):
    from simulator import sweep
    from simulator.errors import InputError

    spec, ref = small_sweep
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    tamper(out / "sweep.zarr")
    with pytest.raises(InputError, match="sweep.zarr"):
        sweep.summarize(out)
    (out / "summary.json").unlink()
    code, _, err = _cli(capsys, "sweep", spec, "--out", out)
    assert code == 2 and "sweep.zarr" in err and err.count("\n") == 1, err
    assert not (out / "summary.json").exists()


# ----------------------------------------------------------- 8: texts from the project


def test_verdict_and_brief_name_the_projects_history_years_and_plan(valley, tmp_path, capsys):
    out = tmp_path / "reach"
    code, text, err = _cli(capsys, "--project", valley, "reach", "--runs", "30",
                           "--search-runs", "5", "--generations", "1", "--out", out)
    assert code == 0, err
    assert "consistent with 2012–2017" in text and "2000" not in text
    for lang, phrase in (("en", "2012–2017"), ("zh", "2012–2017年")):
        page = tmp_path / f"brief-{lang}.html"
        code, _, err = _cli(capsys, "--project", valley, "brief", out, "--lang", lang,
                            "--out", page)
        assert code == 0, err
        html = page.read_text(encoding="utf-8")
        assert phrase in html and "2000–2005" not in html
        assert "Valley irrigation plan" in html


# --------------------------------- 9 and 10: sensitivity, brief, engine-check checks first


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if a command starts computing."""
    from simulator.analyze import sensitivity
    from simulator.decide import reach
    from simulator.engine import conformance
    from simulator.present import brief
    from simulator.running import ensemble

    def refuse(*args, **kwargs):
        raise AssertionError("the command started computing")

    for owner, name in ((sensitivity, "scenario_function"), (sensitivity, "indices"),
                        (sensitivity, "tornado_swings"), (ensemble, "run"),
                        (reach, "reach"), (brief, "_run_reach"), (conformance, "check_model")):
        monkeypatch.setattr(owner, name, refuse)


def _one_line(code: int, err: str, *words: str) -> None:
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


@pytest.mark.parametrize("argv, words", [
    (["--out", "/dev/full"], ["/dev/full"]),
    (["--out", ""], ["empty path"]),
    (["--method", "pawn", "--runs", "2"], ["--runs", "100"]),
    (["--method", "sobol", "--runs", "8"], ["--runs", "16"]),
    (["--method", "sobol", "--runs", "100"], ["power of 2", "64"]),
    (["--method", "morris", "--runs", "1"], ["--runs", "4"]),
    (["--runs", str(2**60)], ["--runs"]),
    (["--seed", "-1"], ["--seed"]),
    (["--seed", str(2**40)], ["--seed"]),
    (["--method", "tornado", "--runs", "5"], ["--runs"]),
    (["--method", "pawn", "--runs", "9000000"], ["--max-memory"]),
])
def test_sensitivity_refuses_bad_options_and_outputs_before_work(no_compute, capsys, argv,
                                                                 words):
    code, _, err = _cli(capsys, "sensitivity", *argv)
    _one_line(code, err, *words)


def test_sensitivity_keeps_existing_results_and_unwritable_folders(no_compute, tmp_path,
                                                                  capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "sobol.nc").write_bytes(b"another run")
    code, _, err = _cli(capsys, "sensitivity", "--out", out)
    _one_line(code, err, "--force")
    assert (out / "sobol.nc").read_bytes() == b"another run"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, _, err = _cli(capsys, "sensitivity", "--out", tmp_path / "file")
    _one_line(code, err, "not a directory")
    locked_out = tmp_path / "ro"
    locked_out.mkdir()
    locked_out.chmod(0o500)
    try:
        if not os.access(locked_out, os.W_OK):  # root writes anywhere
            code, _, err = _cli(capsys, "sensitivity", "--out", locked_out / "x")
            _one_line(code, err, "not writable")
    finally:
        locked_out.chmod(0o700)


def test_sensitivity_holds_a_lock_while_it_writes(tmp_path, capsys, no_compute, lock_holder):
    out = tmp_path / "s"
    holder = lock_holder(out, "plansim sensitivity")
    code, _, err = _cli(capsys, "sensitivity", "--method", "tornado", "--out", out)
    _one_line(code, err, f"another plansim sensitivity (pid {holder.pid}")


@pytest.mark.parametrize("argv, words", [
    (["brief", "--runs", str(2**50)], ["--runs"]),
    (["brief", "--runs", "0"], ["--runs"]),
    (["brief", "--seed", "-1"], ["--seed"]),
    (["brief", "--out", ""], ["empty path"]),
    (["brief", "--runs", "40000000"], ["--max-memory"]),
    (["engine-check", str(ROOT / "models" / "karamay.mdl"), "--runs", str(2**40)], ["--runs"]),
    (["engine-check", str(ROOT / "models" / "karamay.mdl"), "--seed", "-1"], ["--seed"]),
])
def test_brief_and_engine_check_bound_their_options(no_compute, capsys, argv, words):
    code, _, err = _cli(capsys, *argv)
    _one_line(code, err, *words)


# --------------------------------------------------------------- 11: Dask over TLS only


def _certificates(folder: Path) -> Path:
    """A self-signed certificate (its own CA) and the security file naming it."""
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=localhost", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    path = folder / "security.toml"
    path.write_text('ca_file = "cert.pem"\ncert = "cert.pem"\nkey = "key.pem"\n',
                    encoding="utf-8")
    return path


def test_a_sweep_runs_on_a_tls_cluster_and_warns_over_plain_tcp(small_sweep, tmp_path,
                                                                 capsys):
    from distributed import LocalCluster
    from distributed.security import Security
    from test_sweep import assert_same_sweep

    spec, ref = small_sweep
    secure_file = _certificates(tmp_path)
    code, _, err = _cli(capsys, "sweep", spec, "--out", tmp_path / "a", "--scheduler",
                        "tls://127.0.0.1:9")
    _one_line(code, err, "--security")
    code, _, err = _cli(capsys, "sweep", spec, "--out", tmp_path / "a", "--scheduler",
                        "tcp://127.0.0.1:9", "--security", secure_file)
    _one_line(code, err, "tls://")
    pem = {k: str(tmp_path / f) for k, f in (("ca", "cert.pem"), ("cert", "cert.pem"),
                                            ("key", "key.pem"))}
    security = Security(tls_ca_file=pem["ca"], tls_scheduler_cert=pem["cert"],
                        tls_scheduler_key=pem["key"], tls_worker_cert=pem["cert"],
                        tls_worker_key=pem["key"], tls_client_cert=pem["cert"],
                        tls_client_key=pem["key"], require_encryption=True)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls://",
                      host="127.0.0.1", security=security, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        code, out, err = _cli(capsys, "sweep", spec, "--out", tmp_path / "tls", "--scheduler",
                              cluster.scheduler_address, "--security", secure_file)
        assert code == 0 and "dask tls://" in out and "warning" not in err, err
    assert_same_sweep(ref, tmp_path / "tls")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        code, out, err = _cli(capsys, "sweep", spec, "--out", tmp_path / "tcp", "--scheduler",
                              cluster.scheduler_address)
        assert code == 0, err
        warning = [line for line in err.splitlines() if "warning" in line]
        assert len(warning) == 1 and "trust" in warning[0]


def test_a_model_reads_data_only_from_its_folder_unless_allowed(tmp_path, cache, capsys,
                                                               monkeypatch):
    fixtures = ROOT / "tests" / "fixtures"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    text = (fixtures / "functions.mdl").read_text(encoding="utf-8")
    for name in ("functions_demand.csv", "functions_lookup.csv"):
        shutil.copyfile(fixtures / name, model_dir / name)
    shutil.copyfile(fixtures / "functions_constants.csv", tmp_path / "secret.csv")
    mdl = model_dir / "m.mdl"
    mdl.write_text(text.replace("functions_constants.csv", "../secret.csv"), encoding="utf-8")
    code, _, err = _cli(capsys, "engine-check", mdl)
    _one_line(code, err, "outside the model's folder", "--allow-outside-data")
    monkeypatch.delenv("PLANSIM_ALLOW_OUTSIDE_DATA", raising=False)
    code, out, err = _cli(capsys, "--allow-outside-data", "engine-check", mdl)
    assert code == 0 and "equal" in out, err
    monkeypatch.delenv("PLANSIM_ALLOW_OUTSIDE_DATA")
    with pytest.raises(Exception, match="outside the model's folder"):
        translate(mdl)  # the allowed translation is cached apart, never used without it


def test_chart_of_a_crafted_sensitivity_result_is_one_line(tmp_path, capsys):
    import numpy as np
    import xarray as xr

    source = tmp_path / "sens"
    source.mkdir()
    for output, words in ((HOSTILE_ID, "cannot be part of a file name"),
                          ("joint", "not a result of")):
        ds = xr.Dataset({"swing": (("output", "input"), np.ones((1, 1))),
                         "base": ("output", [1.0])},
                        coords={"output": [output], "input": ["a"]},
                        attrs={"method": "tornado", "runs": 3})
        (source / "tornado.nc").unlink(missing_ok=True)
        ds.to_netcdf(source / "tornado.nc")
        code, _, err = _cli(capsys, "chart", "tornado", source, "--out", tmp_path / "c")
        _one_line(code, err, "records no digest of its content")  # a file plansim never wrote
        seal.seal_netcdf(source / "tornado.nc")  # crafted with a matching digest
        code, _, err = _cli(capsys, "chart", "tornado", source, "--out", tmp_path / "c")
        _one_line(code, err, words)
    assert not (tmp_path / "victim").exists()


@pytest.mark.parametrize("text, words", [
    ("garbage = = (\n", "PySD cannot read this model"),
    ("undefined", "PySD cannot translate this model"),
    (None, "RANDOM POISSON"),
])
def test_a_crafted_project_model_is_one_line_not_a_traceback(valley, capsys, text, words):
    mdl = valley / "model" / "valley.mdl"
    if text == "undefined":  # a quoted name used but never defined: PySD's builder fails
        source = mdl.read_text(encoding="utf-8")
        text = source.replace("initial farmland", '"init\\"\\" farm"', 1)
    if text is None:
        source = mdl.read_text(encoding="utf-8")
        head = source.index("\n", source.index("{UTF-8}")) + 1
        text = (source[:head] + "odd thing=\n\tRANDOM POISSON(0, 10, 1, 0, 1, 1)\n\t~\tDmnl\n"
                "\t~\t\n\t|\n\n" + source[head:])
    mdl.write_text(text, encoding="utf-8")
    code, _, err = _cli(capsys, "--project", valley, "params")
    lines = [line for line in err.splitlines() if line.startswith("plansim: error")]
    assert code == 2 and len(lines) == 1 and words in lines[0], err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- trial replays


def test_history_years_far_outside_the_calendar_are_one_line(valley, capsys):
    manifest = valley / "plansim.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "years = [2012, 2017]", "years = [2012, 99999999999999999]"), encoding="utf-8")
    code, _, err = _cli(capsys, "--project", valley, "calibrate", "--dry-run")
    assert code == 2 and "history.years" in err and "Traceback" not in err, err


def test_init_into_a_dangling_link_is_one_line_and_writes_nothing(tmp_path, capsys):
    link = tmp_path / "plan"
    link.symlink_to(tmp_path / "elsewhere")
    code, _, err = _cli(capsys, "init", link)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "symbolic link" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"] and link.is_symlink()


def test_a_lever_map_is_drawn_from_the_checked_store_not_a_crafted_summary(small_sweep,
                                                                          tmp_path, capsys):
    import json

    from simulator.present import chart

    _, ref = small_sweep
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    crafted = json.loads(json.dumps(summary))
    for row in crafted["results"]:  # every probability moved onto another setting
        row["joint_probability"]["value"] = 1.0 - (row["joint_probability"]["value"] or 0)
    (out / "summary.json").write_text(json.dumps(crafted), encoding="utf-8")
    assert chart._sweep_summary(out)[0]["results"] == summary["results"]
    lone = tmp_path / "lone"
    lone.mkdir()
    for text in ("[1, 2", "[1, 2]", '{"scenario": 3}'):
        (lone / "summary.json").write_text(text, encoding="utf-8")
        code, _, err = _cli(capsys, "chart", "lever-map", lone, "--out", tmp_path / "c")
        assert code == 2 and "Traceback" not in err and "summary.json" in err, err


def _altered_reach(source: Path, target: Path, edit, reseal: bool = True) -> Path:
    import xarray as xr

    shutil.copytree(source, target)
    with xr.open_dataset(target / "results.nc") as opened:
        ds = edit(opened.load())
    (target / "results.nc").unlink()
    ds.to_netcdf(target / "results.nc")
    if reseal:  # crafted with a matching digest: the reader's own checks still refuse it
        seal.seal_netcdf(target / "results.nc")
    return target


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.assign_coords(goal=list(d.goal.values[::-1])), "own trajectories"),
    (lambda d: d.assign_coords(goal=[*d.goal.values[:-1], "renamed"]), "'renamed'"),
    (lambda d: d.assign(joint=d.joint * 0 + 7), "joint"),
    (lambda d: d.assign(met=1 - d.met, joint=(1 - d.met).min("goal")), "met"),
    (lambda d: d.assign(met=(("goal", "run"), d.met.values.T)), "dimensions"),
    (lambda d: d.assign_attrs(scenario_file="../../victim/plan.toml"), "scenario_file"),
    (lambda d: d.assign(plausible=1 - d.plausible), "plausible"),
    (lambda d: d.assign(projection_met=1 - d.projection_met), "projection population_2010"),
    (lambda d: d.assign_coords(projection=["renamed"]), "'renamed'"),
], ids=["goals reversed", "goal renamed", "joint 7", "met flipped", "met transposed",
        "scenario file outside", "plausible flipped", "projection flipped",
        "projection renamed"])
def test_an_altered_reach_result_is_one_line_never_a_brief(small_reach_dir, tmp_path, capsys,
                                                         edit, words):
    plain = _altered_reach(small_reach_dir, tmp_path / "p", edit, reseal=False)
    reach_dir = _altered_reach(small_reach_dir, tmp_path / "r", edit)
    for argv in (["brief", "DIR", "--out", tmp_path / "b.html"], ["analyze", "DIR"],
                 ["chart", "scorecard", "DIR", "--out", tmp_path / "c"]):
        # as edited: its content no longer matches the digest reach recorded
        code, _, err = _cli(capsys, *[plain if a == "DIR" else a for a in argv])
        _one_line(code, err, "was altered since it was written")
        assert "results.nc" in err and "plansim reach" in err
        if words == "scenario_file" and argv[0] == "analyze":
            continue  # analyze reads no scenario back from the result
        code, _, err = _cli(capsys, *[reach_dir if a == "DIR" else a for a in argv])
        assert code == 2 and words in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "b.html").exists()


def test_a_disk_full_while_making_a_sweep_store_is_one_line_and_leaves_nothing(
        small_sweep, tmp_path, capsys, monkeypatch):
    import errno

    from simulator.sweep import store

    def full(_root):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_fsync_tree", full)
    spec, _ = small_sweep
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "sweep", spec, "--out", out)
    assert code == 2 and "disk full" in err and "Traceback" not in err, err
    assert not out.exists() or not list(out.glob("*zarr*"))


def test_a_partial_file_of_a_writer_killed_by_sigkill_goes_with_the_next_write(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from simulator.running import outputs

    target = tmp_path / "r.nc"
    code = ("import sys, time; from pathlib import Path; from simulator.running import outputs\n"
            "def w(p):\n    p.write_bytes(b'half'); print('writing', flush=True); time.sleep(60)\n"
            "outputs.atomic_write(Path(sys.argv[1]), w)\n")
    writer = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE)
    assert writer.stdout.readline().strip() == b"writing"
    live = list(tmp_path.glob(".r.nc.*.partial"))
    assert len(live) == 1 and outputs._held(live[0])  # a live writer's file is kept
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    time.sleep(0.05)
    outputs.atomic_write(target, lambda p: p.write_bytes(b"whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]
    assert target.read_bytes() == b"whole"


def test_every_parse_of_a_translation_holds_the_one_parse_lock(valley, monkeypatch):
    """CPython 3.11's AST constructor shares its recursion depth between threads
    (python/cpython#106905: 'SystemError: AST constructor recursion depth mismatch' when the
    engine's thread slots translated at once): every parse of a translation holds one lock."""
    import ast
    import threading

    from simulator.engine import trust

    real = ast.parse
    held = []

    def locked_elsewhere() -> bool:  # whether this thread holds the lock another cannot take
        free = []

        def probe():
            free.append(trust._PARSE.acquire(blocking=False))
            if free[0]:
                trust._PARSE.release()
        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return not free[0]

    def parse(source, *args, **kwargs):
        held.append(locked_elsewhere())
        return real(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse)
    VectorModel(valley / "model" / "valley.mdl")
    assert held and all(held), held
