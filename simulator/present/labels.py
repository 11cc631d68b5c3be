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
from ..numbers import positional

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


def project_texts(project, lang: str = "en") -> dict[str, object]:
    """What texts take from the project, never from the bundled example: the plan's name
    in ``lang`` (``{plan}``: the manifest's ``name``, or ``name_zh`` in Chinese) and the
    first and last year of its history (``{first}``, ``{last}``)."""
    years = project.history_settings.years
    name = project.name_zh if check_lang(lang) == "zh" else project.name
    return {"plan": name, "first": years[0], "last": years[-1]}


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


def scale(name: str, lang: str) -> float:
    """The factor an indicator's values are shown with in ``lang`` (persons -> 万人)."""
    return float(_table()["indicator"].get(name, {}).get(f"scale_{check_lang(lang)}", 1.0))


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


# Numbers for people: no scientific notation, counts with separators, units in words.

def number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, positional (``68470``, ``0.0007``, never
    ``6.847e+04``)."""
    return positional(x, digits)


def count(n: int) -> str:
    """A count of futures or runs: ``2,706``."""
    return f"{int(n):,}"


def percent(p: float | None, lang: str, digits: int = 1) -> str:
    """A probability in percent; ``n/a`` (in ``lang``) when nothing was counted."""
    if p is None:
        return text("not_available", lang)
    floor = 10.0 ** -digits
    if 0 < 100 * p < floor:  # one future in 10,000 is not 0.0%
        return f"<{floor:.{digits}f}%"
    if 100 - floor < 100 * p < 100:
        return f">{100 - floor:.{digits}f}%"
    return f"{100 * p:.{digits}f}%"


def scenario_name(name: str, lang: str) -> str:
    """A scenario's reader's name (labels.toml ``[scenario]``), else its file name."""
    return _table().get("scenario", {}).get(name, {}).get(check_lang(lang), name)


def distribution(name: str, lang: str) -> str:
    """``uniform`` -> ``均匀分布``."""
    return _table().get("distribution", {}).get(name, {}).get(check_lang(lang), name)


def is_share(name: str) -> bool:
    """A dimensionless parameter that is a share (shown as %)."""
    return name in _table().get("share", {}).get("names", [])


def parameter_value(name: str, value: float, vensim_unit: str, lang: str) -> str:
    """A lever's or uncertainty's value with its unit, shares and rates in %:
    ``2%``, ``1.5%/年``, ``40%``, ``3 年``."""
    entry = _table().get("vensim_unit", {}).get(vensim_unit)
    if vensim_unit == "Dmnl" and is_share(name):
        return f"{number(100 * value)}%"
    if entry is None:  # a unit labels.toml does not know: the number alone
        return number(value)
    shown = number(value * entry.get("scale", 1))
    word = entry[check_lang(lang)]
    if not word:
        return shown
    return f"{shown}{word}" if word.startswith("%") or lang == "zh" else f"{shown} {word}"


_COMPARATORS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


def goal_threshold(g, lang: str) -> str:
    """A goal's threshold in the reader's words: ``≥15000元``, ``约24万人（±1.2万人）``."""
    entry = _table().get("goal_unit", {}).get(g.unit, {})
    word = entry.get(check_lang(lang), g.unit)
    if g.measure == "ratio":
        word = "倍" if lang == "zh" else "times"
    scale = entry.get(f"scale_{lang}", 1)
    value, tol = number(g.threshold * scale), number(g.tolerance * scale)
    if lang == "en":  # 240,000 persons
        value, tol = (f"{float(v):,.0f}" if abs(float(v)) >= 10_000 else v for v in (value, tol))
        if "," in value and 1_000 <= abs(float(tol)) < 10_000:  # (± 5,000) beside 240,000
            tol = f"{float(tol):,.0f}"
    sep = "" if lang == "zh" or word.startswith(("%", "‰", "(")) else " "
    if word.startswith("("):
        sep = " "
    if g.comparator == "approx":
        if lang == "zh":
            return f"约{value}{word}（±{tol}{word}）"
        return f"about {value}{sep}{word} (± {tol})"
    comp = _COMPARATORS.get(g.comparator, g.comparator)
    return f"{comp}{value}{sep}{word}" if lang == "zh" else f"{comp} {value}{sep}{word}"


def goal_target(g, lang: str) -> str:
    """A goal's label with its threshold: ``2010年城镇居民人均可支配收入≥15000元``."""
    sep = "" if lang == "zh" else " "
    return f"{goal(g, lang)}{sep}{goal_threshold(g, lang)}"


def goal_target_by_id(goal_id: str, goal_set, lang: str) -> str:
    """:func:`goal_target` of a goal id (the id itself if the set lacks it)."""
    try:
        return goal_target(goal_set[goal_id], lang)
    except KeyError:
        return goal_id


def indicator_names() -> list[str]:
    """The indicators labels.toml names."""
    return list(_table()["indicator"])


def audit_units(lang: str) -> dict[str, str]:
    """Units of the audit's sentences in the reader's words (labels.toml ``[audit_unit]``)."""
    return {k: v[check_lang(lang)] for k, v in _table().get("audit_unit", {}).items()}


def group(name: str, lang: str) -> str:
    """A goal group's reader's name (labels.toml ``[group]``), else its name."""
    return _table().get("group", {}).get(name, {}).get(check_lang(lang), name)
