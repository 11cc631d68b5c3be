"""The wheel ships the Karamay project and runs it from anywhere, outside the checkout.

Builds the wheel from this checkout, installs it into a fresh virtual environment
in a temporary folder (the dependencies come from the environment running the
tests, through a .pth file, so nothing is downloaded but the build backend), then
runs ``plansim run`` and a small ``plansim reach`` from a folder with no project:
the bundled example must be found, named on stderr, and produce results; and
``plansim init`` writes a new project from the shipped template.
"""

import fnmatch
import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_lists_every_package_and_the_project_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(config["setuptools"]["packages"])
    source = {".".join(p.parent.relative_to(ROOT).parts)
              for p in (ROOT / "simulator").rglob("__init__.py")}
    assert source <= listed, f"add {sorted(source - listed)} to pyproject.toml"
    data = config["setuptools"]["package-data"]
    assert config["setuptools"]["package-dir"]["simulator._karamay"] == "."
    for pattern in data["simulator.template"]:
        assert list((ROOT / "simulator" / "template").glob(pattern))
    shipped = [ROOT / "plansim.toml"] + [
        p for folder in ("models", "scenarios") for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix != ".py" and not any(
            part.startswith(".") for part in p.relative_to(ROOT).parts)]
    for path in shipped:  # the project's every file is package data of the bundled example
        name = path.relative_to(ROOT)
        package = "simulator._karamay" + "".join(f".{part}" for part in name.parts[:-1])
        assert any(fnmatch.fnmatch(name.name, pattern) for pattern in data.get(package, [])), (
            f"{name} is not in the wheel: add it to [tool.setuptools.package-data]")


def _pip(*args, cwd):
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, cwd=cwd,
                   capture_output=True, text=True)


@pytest.mark.install
def test_wheel_installed_outside_the_checkout_runs_the_bundled_project(tmp_path):
    source = tmp_path / "source"  # a clean copy: no stale build/ in or from the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".v", "build", "out", ".cache", "*.egg-info", "__pycache__",
        ".pytest_cache", ".ruff_cache", "dask-worker-space"))
    wheels = tmp_path / "wheels"
    _pip("wheel", "-q", "--no-deps", "-w", str(wheels), str(source), cwd=tmp_path)
    (wheel,) = wheels.glob("plansim-*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([python, "-c", purelib], check=True, capture_output=True, text=True)
    (Path(site.stdout.strip()) / "plansim_test_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _pip("--python", str(python), "install", "-q", "--no-index", "--no-deps",
         "--force-reinstall", str(wheel), cwd=tmp_path)
    _pip("--python", str(python), "check", cwd=tmp_path)  # every dependency is there

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([python, "-c", "import simulator; print(simulator.__file__)"],
                           cwd=work, check=True, capture_output=True, text=True).stdout
    assert Path(where).resolve().is_relative_to(env.resolve())  # not the checkout
    plansim = env / "bin" / "plansim"
    run = subprocess.run([plansim, "run", "--out", "plan.nc"], check=False, cwd=work,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "bundled example" in run.stderr and run.stderr.count("\n") == 1
    assert "wrote plan.nc" in run.stdout
    with xr.open_dataset(work / "plan.nc") as ds:
        attrs = dict(ds.attrs)
    assert attrs["project"] and attrs["scenario"] == "plan" and attrs["model_hash"]
    reach = subprocess.run([plansim, "reach", "--runs", "100", "--search-runs", "10",
                            "--generations", "1", "--out", "r"], check=False, cwd=work,
                           capture_output=True, text=True)
    assert reach.returncode == 0, reach.stderr
    summary = json.loads((work / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["runs"] == 100 and summary["project"] == attrs["project"]
    installed = Path(where).resolve().parent  # translations go to the per-user cache
    assert not [p for p in installed.rglob("*") if p.name == ".cache" or
                p.name.endswith("_vector.py")], "nothing is written inside site-packages"
    init = subprocess.run([plansim, "init", "my-plan"], check=False, cwd=work,
                          capture_output=True, text=True)  # the template ships too
    assert init.returncode == 0, init.stderr
    assert (work / "my-plan" / "models" / "town.mdl").is_file()
