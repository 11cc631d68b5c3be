"""RANDOM functions in a plan project (issue 21): a run draws its noise from the stream
``[seed, f]`` (``f`` its future's index in the command's futures sample, the command's
seed), so results do not depend on the block size, the number of workers or the lever
setting the future is run under (common random numbers), and seeds differ."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator import cli, sample
from simulator.inputs import project, scenario
from simulator.running import ensemble

VALLEY = Path(__file__).resolve().parent / "projects" / "valley"


@pytest.fixture(scope="module")
def noisy_valley(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valley project with a yearly random shock on the aquifer's recharge."""
    root = Path(shutil.copytree(VALLEY, tmp_path_factory.mktemp("noise") / "valley"))
    mdl = root / "model" / "valley.mdl"
    text = mdl.read_text(encoding="utf-8")
    old = "recharge = base recharge * (1 + IF THEN ELSE(Time >= policy start year, " \
          "recharge change, 0))"
    assert old in text
    mdl.write_text(text.replace(old, old + " * (1 + RANDOM NORMAL(-0.5, 0.5, 0, "
                                "recharge noise, 0))").replace(
        "base recharge = 100", "recharge noise = 0.2\n\t~\tDmnl [0,0.4]\n\t~\tShock "
        "of a year's recharge.\n\t|\n\nbase recharge = 100"), encoding="utf-8")
    return root


def _scenario(root: Path) -> scenario.Scenario:
    return scenario.load("drip", project.load(root))


def _indicators(data: xr.Dataset) -> dict[str, np.ndarray]:
    return {k: data[k].values for k in ("groundwater", "pumping", "margin")}


def test_noise_is_the_same_for_any_block_size(noisy_valley: Path) -> None:
    scen = _scenario(noisy_valley)
    futures = sample.futures(scen, 20, seed=5)
    runs = {size: _indicators(ensemble.run(scen, futures, block_size=size))
            for size in (1, 7, 10_000)}
    for size in (1, 7):
        for name, values in runs[10_000].items():
            np.testing.assert_array_equal(runs[size][name], values, err_msg=f"{size} {name}")
    assert np.unique(runs[1]["groundwater"][:, -1]).size == 20


def test_another_seed_gives_other_futures(noisy_valley: Path) -> None:
    """The same sampled constants, another --seed: the noise, and so the futures, differ;
    the same seed again: the same bits."""
    scen = _scenario(noisy_valley)
    futures = sample.futures(scen, 10, seed=5)
    again = ensemble.run(scen, futures)["groundwater"].values
    other = ensemble.run(scen, futures.assign_attrs(seed=6))["groundwater"].values
    np.testing.assert_array_equal(ensemble.run(scen, futures)["groundwater"].values, again)
    assert (other[:, -1] != again[:, -1]).all()


def test_sweep_of_a_noisy_model_is_the_same_with_one_or_two_workers(noisy_valley: Path,
                                                                   tmp_path: Path) -> None:
    spec = noisy_valley / "plan" / "sweep.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("block_size = 50",
                                                              "block_size = 7"),
                    encoding="utf-8")
    stores = []
    for workers in ([], ["--workers", "2"]):
        out = tmp_path / f"sweep{len(workers)}"
        assert cli.main(["sweep", "--project", str(noisy_valley), str(spec), "--out", str(out),
                         *workers]) == 0
        stores.append(xr.open_zarr(out / "sweep.zarr").load())
    one, two = stores
    assert set(one.data_vars) == set(two.data_vars)
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, two[name].values, err_msg=name)
    assert one["groundwater"].values.std() > 0


def test_a_future_meets_the_same_noise_under_every_lever_setting(noisy_valley: Path) -> None:
    """Common random numbers: the levers act from the policy start year (2018), so before
    it a future's groundwater is the same under any lever setting only if its noise is;
    the futures differ from each other, and the levers still change the later years."""
    scen = _scenario(noisy_valley)
    futures = sample.futures(scen, 12, seed=5)
    off, on = (ensemble.run(scen, futures, levers={"drip irrigation": v, "land retirement": v / 50},
                            block_size=5)["groundwater"] for v in (0.0, 1.0))
    before = off["time"].values <= 2018
    np.testing.assert_array_equal(on.values[:, before], off.values[:, before])
    assert np.unique(off.values[:, before][:, -1]).size == 12  # each future its own noise
    assert (on.values[:, -1] != off.values[:, -1]).all()  # the levers act after 2018


def test_a_sweep_runs_each_future_with_its_own_noise_under_every_setting(
        noisy_valley: Path, tmp_path: Path) -> None:
    """Run ``setting * futures + future`` of a sweep equals ``future`` of the ensemble run
    under that setting (reach's ensemble: the stream of the future, not of the run)."""
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--project", str(noisy_valley),
                     str(noisy_valley / "plan" / "sweep.toml"), "--out", str(out)]) == 0
    store = xr.open_zarr(out / "sweep.zarr").load()
    scen = _scenario(noisy_valley)
    futures = sample.futures(scen, 20, seed=2)  # sweep.toml: seed 2, 20 futures
    for setting in (0, int(store["setting"].max())):
        runs = store["setting"].values == setting
        levers = {k: float(store[k].values[runs][0]) for k in ("drip irrigation",
                                                               "land retirement")}
        alone = ensemble.run(scen, futures, levers=levers)["groundwater"]
        swept = store["groundwater"].values[runs]
        np.testing.assert_array_equal(swept, alone.sel(time=[2020, 2030]).values,
                                      err_msg=f"setting {setting}")


def test_a_sensitivity_design_keys_noise_by_its_uncertainties() -> None:
    from simulator.analyze.sensitivity import design_futures

    values = {"a": np.array([1.0, 2.0, 1.0, 3.0, 2.0]), "lever": np.array([0, 0, 1, 1, 1.0])}
    np.testing.assert_array_equal(design_futures(values, {"a"}), [0, 1, 0, 3, 1])
    np.testing.assert_array_equal(design_futures(values, set()), [0, 0, 0, 0, 0])


def test_ensemble_threads_give_the_bits_of_one_thread(noisy_valley: Path) -> None:
    """Blocks on 1 or 2 threads (each with its own model): the same bits, noise included."""
    scen = _scenario(noisy_valley)
    futures = sample.futures(scen, 30, seed=5)
    one = _indicators(ensemble.run(scen, futures, block_size=7, workers=1))
    two = _indicators(ensemble.run(scen, futures, block_size=7, workers=2))
    for name, values in one.items():
        np.testing.assert_array_equal(two[name], values, err_msg=name)


def test_block_size_comes_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.running import memory

    monkeypatch.setattr(memory, "available", lambda: 1 << 40)
    monkeypatch.setenv(memory.ENV, "400M")  # an eighth: 50 MiB, 2,621 runs of 20 KB
    assert memory.block_size(1_000_000) == 400 * 2**20 // (8 * memory.BLOCK_BYTES_PER_RUN)
    assert memory.block_size(700) == 700
    monkeypatch.setenv(memory.ENV, "100G")
    assert memory.block_size(1_000_000) == memory.MAX_BLOCK
    # a shared machine with less memory available now than the limit: blocks fit in it
    monkeypatch.setattr(memory, "available", lambda: 400 * 2**20)
    assert memory.block_size(1_000_000) == 400 * 2**20 // (8 * memory.BLOCK_BYTES_PER_RUN)
    monkeypatch.setenv(memory.THREADS_ENV, "3")
    assert memory.threads() == 3
