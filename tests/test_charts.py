"""Every chart, in Chinese and English, as PNG and SVG, with no missing glyph."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

import simulator  # noqa: F401  (registers ds.plan)
from simulator import cli, plotting
from simulator.inputs import goals
from simulator.plotting import style
from simulator.plotting.conflicts import conflict_ratios
from simulator.present import chart
from simulator.running import seal


def _sweep_summary():
    rows = []
    for i, (a, b) in enumerate([(a, b) for a in (0.0, 0.5, 1.0) for b in (1.0, 2.0)]):
        p = 0.2 * a + 0.1 * b
        rows.append({"setting": i, "levers": {"lever a": a, "lever b": b},
                     "joint_probability": {"value": p, "interval": [p, p]},
                     "goals_met_mean": 3 + p, "goals": {"g": p}})
    return {"levers": ["lever a", "lever b"], "results": rows}


def _render(fig, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        png = plotting.save(fig, path, dpi=72)  # glyphs are checked at any resolution
    assert png.stat().st_size > 2_000 and png.with_suffix(".svg").stat().st_size > 5_000


@pytest.fixture(scope="module")
def analysed(small_reach_dir):
    """The small ensemble with what every chart needs, computed once."""
    ds = xr.open_dataset(small_reach_dir / "results.nc").load()
    summary = ds.plan.summary()
    some = [g for g, v in summary["goals"].items() if 0.1 < v["probability"] < 0.9]
    return {"ds": ds, "summary": summary, "pawn": ds.plan.sensitivity(list(summary["goals"])[:4]),
            "box": ds.plan.discover(some[:1]), "goal_set": goals.load()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_renders_in_both_languages(analysed, tmp_path, lang):
    ds, goal_set, box = analysed["ds"], analysed["goal_set"], analysed["box"]
    _render(plotting.probabilities(analysed["summary"], goal_set=goal_set, lang=lang),
            tmp_path / "p.png")
    _render(plotting.fan(ds, goal_set.goals[0].indicator, goal_set, lang=lang),
            tmp_path / "f.png")
    _render(plotting.conflicts(ds, goal_set, lang=lang), tmp_path / "c.png")
    _render(plotting.heatmap(analysed["pawn"], goal_set=goal_set, lang=lang),
            tmp_path / "h.png")
    ev = ds[["margin", "met"]].isel(run=[0])
    _render(plotting.scorecard(ev, goal_set, lang=lang), tmp_path / "s.png")
    _render(plotting.lever_map(_sweep_summary(), {"lever a": 0.5, "lever b": 1.5}, lang=lang),
            tmp_path / "m.png")
    _render(plotting.prim_limits(box, goal_set, lang=lang), tmp_path / "pl.png")
    _render(plotting.prim_tradeoff(box, goal_set, lang=lang), tmp_path / "pt.png")


def test_lever_map_marks_the_plan_and_fills_the_grid():
    fig = plotting.lever_map(_sweep_summary(), {"lever a": 0.5, "lever b": 2.0})
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2, 3)
    np.testing.assert_allclose(image[1, 2], 100 * (0.2 + 0.2))
    star = [line for line in fig.axes[0].lines if line.get_marker() == "*"]
    assert star and tuple(star[0].get_xydata()[0]) == (1.0, 1.0)


def test_conflict_ratios_find_a_built_in_conflict():
    rng = np.random.default_rng(0)
    a = rng.random(4000) < 0.5
    met = np.column_stack([a, ~a | (rng.random(4000) < 0.1), rng.random(4000) < 0.5])
    ds = xr.Dataset({"met": (("run", "goal"), met)}, coords={"goal": ["a", "not_a", "c"]})
    ratio = conflict_ratios(ds)
    assert float(ratio.sel(goal="a", other="not_a")) < 0.2
    assert abs(float(ratio.sel(goal="a", other="c")) - 1) < 0.1
    assert np.isnan(float(ratio.sel(goal="a", other="a")))


def test_plansim_chart_writes_png_and_svg(small_reach_dir, tmp_path, capsys):
    assert cli.main(["chart", "scorecard", str(small_reach_dir), "--lang", "zh",
                     "--out", str(tmp_path)]) == 0
    assert (tmp_path / "scorecard_zh.png").is_file() and (tmp_path / "scorecard_zh.svg").is_file()
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "summary.json").write_text(json.dumps(seal.sealed({**_sweep_summary(),
                                                                "scenario": "plan"})))
    assert cli.main(["chart", "lever-map", str(sweep), "--out", str(tmp_path)]) == 0
    assert cli.main(["chart", "nothing", str(small_reach_dir)]) == 2
    assert cli.main(["chart", "conflicts", str(tmp_path / "none")]) == 2
    assert cli.main(["chart", "fan", str(small_reach_dir), "--indicator", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("plansim: error:") == 3 and "--indicator" in err
    assert set(chart.KINDS) >= {"tornado", "sobol", "morris", "pawn", "lever-map"}
    assert style.PALETTE["blue"] == "#0072B2"


@pytest.mark.parametrize("target", ["/dev/null", "a file"])
def test_plansim_chart_refuses_an_out_that_is_no_directory(small_reach_dir, tmp_path, capsys,
                                                           target):
    if target == "a file":
        target = tmp_path / "charts"
        target.write_text("keep", encoding="utf-8")
    assert cli.main(["chart", "scorecard", str(small_reach_dir), "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not a directory" in err
    if target != "/dev/null":
        assert target.read_text(encoding="utf-8") == "keep"
