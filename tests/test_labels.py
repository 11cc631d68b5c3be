"""Names in Chinese and English, and Chinese charts that render every glyph."""

import warnings

import matplotlib.pyplot as plt
import pytest

from simulator import cli, plotting
from simulator.inputs import goals
from simulator.inputs.project import find
from simulator.plotting import style
from simulator.present import labels


def test_every_indicator_and_goal_has_both_labels():
    for name in find().indicators:
        zh, en = labels.indicator(name, "zh"), labels.indicator(name, "en")
        assert zh != name and en != name, f"{name} has no label in labels.toml"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), name
        assert labels.unit(name, "zh") and labels.unit(name, "en")
    for g in goals.load(find().goals).goals:
        zh, en = labels.goal(g, "zh"), labels.goal(g, "en")
        assert labels.indicator(g.indicator, "zh") in zh
        assert labels.indicator(g.indicator, "en") in en
        assert str(g.years[-1]) in zh and str(g.years[-1]) in en


def test_goals_toml_labels_override_the_derived_ones(tmp_path):
    from pathlib import Path

    text = Path(find().goals).read_text(encoding="utf-8")
    first = text.index("\n[[goal]]\n") + 1
    custom = text[:first] + '[[goal]]\nlabel_zh = "自定义"\nlabel_en = "Custom"\n' + \
        text[first + len("[[goal]]\n"):]
    path = tmp_path / "goals.toml"
    path.write_text(custom, encoding="utf-8")
    g = goals.load(path).goals[0]
    assert (labels.goal(g, "zh"), labels.goal(g, "en")) == ("自定义", "Custom")


def test_unknown_language_is_one_input_error(capsys):
    with pytest.raises(Exception, match="--lang"):
        labels.check_lang("fr")
    assert cli.main(["sensitivity", "--lang", "fr"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_cjk_font_comes_with_the_package():
    assert style.cjk_font() == "Noto Sans SC"


def _render_without_missing_glyphs(fig, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph N missing from font(s)" is a UserWarning
        plotting.save(fig, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000
    assert (tmp_path / "chart.svg").stat().st_size > 10_000


def test_a_chinese_chart_renders_every_glyph(tmp_path):
    summary = {"goals": {g.id: {"probability": 0.5, "interval": [0.4, 0.6]}
                         for g in goals.load().goals},
               "joint_probability": {"probability": 0.1, "interval": [0.05, 0.15]}}
    fig = plotting.probabilities(summary, goal_set=goals.load(), lang="zh")
    texts = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels.text("all_goals", "zh") in texts
    _render_without_missing_glyphs(fig, tmp_path)


def test_the_missing_glyph_check_can_fail(tmp_path):
    """Without the CJK font in the family list, the same check catches empty boxes."""
    style.use("zh")
    fig, ax = plt.subplots()
    ax.set_title("地区生产总值", family="DejaVu Sans")
    with pytest.raises(UserWarning, match="missing from font"):
        _render_without_missing_glyphs(fig, tmp_path)
    plt.close(fig)


def test_without_the_font_chinese_stops_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    with pytest.raises(style.FontUnavailable, match="pip install pylopdf-fonts-zh-cn"):
        style.use("zh")
    style.use("en")  # English still draws
    assert cli.main(["sensitivity", "plan", "--lang", "zh", "--method", "tornado"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plansim: error: font:") and err.count("\n") == 1
