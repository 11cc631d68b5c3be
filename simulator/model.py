"""The model's parameters as the .mdl file documents them.

Every constant of a project's model states its role in the first word of its
comment: ``Calibrated:`` (fitted to the history by ``plansim calibrate``),
``Uncertain:`` (sampled by ensembles), ``Lever:`` (decided by the plan, e.g. the
Karamay district from 2006); any other constant is a figure from the plan or a
fixed fact. Its range is
the ``[min,max]`` of its units field. This module reads those facts through PySD,
so the model file stays the one source of them. Functions take a
:class:`~simulator.project.Project` (or a model file); ``None`` is the project
:func:`simulator.project.find` finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .project import Project, find

ROLES = ("calibrated", "uncertain", "lever")
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


@dataclass(frozen=True)
class Parameter:
    """A constant of the model: its default, documented range, units, role and comment."""

    name: str
    default: float
    lower: float
    upper: float
    units: str
    role: str  # calibrated | uncertain | lever | fixed
    doc: str

    def contains(self, value: float) -> bool:
        """Whether a value lies inside the documented range."""
        return self.lower <= value <= self.upper


def _role(comment: str) -> str:
    head = comment.split(":", 1)[0].strip().lower()
    return head if head in ROLES else "fixed"


def _source(source: Project | Path | str | None) -> Project | Path:
    return find() if source is None else source if isinstance(source, Project) else Path(source)


@lru_cache(maxsize=8)
def _parameters(mdl_path: str, cache_dir: str | None) -> dict[str, Parameter]:
    from .simulate import _vector_model

    vm = _vector_model(mdl_path, cache_dir)
    doc = vm.doc
    out = {}
    for _, row in doc.iterrows():
        name = row["Real Name"]
        if row["Type"] != "Constant" or name in CONTROL or name not in vm.parameters:
            continue
        lower, upper = row["Limits"] if isinstance(row["Limits"], tuple) else (math.nan, math.nan)
        default = float(vm.parameters[name])
        lower = default if lower is None or math.isnan(lower) else float(lower)
        upper = default if upper is None or math.isnan(upper) else float(upper)
        comment = "" if not isinstance(row["Comment"], str) else " ".join(row["Comment"].split())
        out[name] = Parameter(name, default, lower, upper, str(row["Units"]), _role(comment),
                              comment)
    return out


def markdown_table(source: Project | Path | str | None = None) -> str:
    """Every calibrated, uncertain and lever parameter: range, units, default and comment."""
    params = parameters(source)
    lines = ["| role | parameter | range | units | default | what it is |",
             "|---|---|---|---|---|---|"]
    for p in sorted(params.values(), key=lambda p: (ROLES.index(p.role)
                                                    if p.role in ROLES else 9, p.name)):
        if p.role == "fixed":
            continue
        doc = p.doc.split(":", 1)[1].strip() if ":" in p.doc else p.doc
        lines.append(f"| {p.role} | {p.name} | [{p.lower:g}, {p.upper:g}] | {p.units} | "
                     f"{p.default:g} | {doc.replace('|', '/')} |")
    return "\n".join(lines)


def parameters(source: Project | Path | str | None = None,
               role: str | None = None) -> dict[str, Parameter]:
    """The model's constants (optionally only those of one role), by Vensim name."""
    source = _source(source)
    if isinstance(source, Project):
        params = _parameters(str(source.model), str(source.cache_dir))
    else:
        params = _parameters(str(source.resolve()), None)
    if role is None:
        return dict(params)
    return {k: p for k, p in params.items() if p.role == role}
