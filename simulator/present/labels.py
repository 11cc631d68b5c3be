"""What a reader calls things, in Chinese (``zh``) or English (``en``).

Indicator names and units and the words of the charts live in
``simulator/data/labels.toml``; a goal's label is derived from its indicator,
measure and years (``2010年地区生产总值`` / ``GDP at current prices, 2010``) unless
``goals.toml`` gives ``label_zh`` / ``label_en``. Parameters (levers and
uncertainties) keep the model's own names; ``labels.toml`` may give them a
Chinese name under ``[parameter."NAME"]``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import InputError
from ..inputs import tomlfile

LANGUAGES = ("zh", "en")
LABELS_FILE = Path(__file__).resolve().parents[1] / "data" / "labels.toml"


def check_lang(lang: str) -> str:
    """``lang`` if it is a language the labels know, else one InputError line."""
    if lang not in LANGUAGES:
        raise InputError("command line", "--lang", f"'{lang}' is not a language of the labels",
                         f"use one of {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=2)
def _table(path: str = str(LABELS_FILE)) -> dict:
    return tomlfile.read(path, "labels file not found", "reinstall plansim")


def project_texts(project) -> dict[str, object]:
    """What texts take from the project, never from the bundled example: the plan's name
    (``{plan}``) and the first and last year of its history (``{first}``, ``{last}``)."""
    years = project.history_settings.years
    return {"plan": project.name, "first": years[0], "last": years[-1]}


def text(key: str, lang: str, **fields) -> str:
    """A phrase of the charts and the brief, with ``{fields}`` filled in."""
    return _table()["text"][key][check_lang(lang)].format(**fields)


def _definition(name: str, project):
    from ..inputs.project import find

    project = find() if project is None else project
    return project.indicators.get(name)


def indicator(name: str, lang: str, project=None) -> str:
    """The reader's name of an indicator: labels.toml's, else the project's description
    of it, else its code name."""
    entry = _table()["indicator"].get(name)
    if entry:
        return entry[check_lang(lang)]
    found = _definition(name, project)
    return found.description if found and found.description else name


def unit(name: str, lang: str, project=None) -> str:
    """An indicator's unit in the reader's language (the project's unit when labels.toml
    lacks it)."""
    entry = _table()["indicator"].get(name)
    if entry:
        return entry[f"unit_{check_lang(lang)}"]
    found = _definition(name, project)
    return found.unit if found else ""


def parameter(name: str, lang: str) -> str:
    """A lever's or uncertainty's name: the model's, or its Chinese name if labels.toml has one."""
    entry = _table().get("parameter", {}).get(name, {})
    return entry.get(check_lang(lang), name)


def goal(g, lang: str, project=None) -> str:
    """A goal's short label: ``label_<lang>`` from goals.toml, or derived from its indicator."""
    given = getattr(g, f"label_{check_lang(lang)}", "")
    if given:
        return given
    name = indicator(g.indicator, lang, project)
    first, last = g.years[0], g.years[-1]
    zh = lang == "zh"
    if g.measure == "level":
        if len(g.years) == 1:
            return f"{last}年{name}" if zh else f"{name}, {last}"
        return f"{first}–{last}年每年{name}" if zh else f"{name}, every year {first}–{last}"
    if g.measure == "ratio":
        return (f"{last}年{name}为{g.base_year}年的倍数" if zh
                else f"{name} {last} relative to {g.base_year}")
    if g.measure == "growth":
        return (f"{g.base_year}–{last}年{name}年均增长率" if zh
                else f"{name}: yearly growth {g.base_year}–{last}")
    return (f"{g.base_year}–{last}年{name}年均增加" if zh
            else f"{name}: yearly increase {g.base_year}–{last}")


def goal_by_id(goal_id: str, goal_set, lang: str) -> str:
    """The label of a goal id of ``goal_set``; the id itself if the set lacks it."""
    try:
        return goal(goal_set[goal_id], lang)
    except KeyError:
        return goal_id


def output(name: str, goal_set, lang: str) -> str:
    """The label of a sensitivity output: a goal id, ``joint`` or ``indicator:year``."""
    if name == "joint":
        return text("joint_success", lang)
    if ":" in name:
        ind, year = name.split(":", 1)
        return f"{year}年{indicator(ind, lang)}" if lang == "zh" else \
            f"{indicator(ind, lang)}, {year}"
    return goal_by_id(name, goal_set, lang)
