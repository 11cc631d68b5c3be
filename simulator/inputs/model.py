"""A project's model: translated once per process, and its parameters as the file documents them.

Every constant of a project's model states its role in the first word of its
comment: ``Calibrated:`` (fitted to the history by ``plansim calibrate``),
``Uncertain:`` (sampled by ensembles), ``Lever:`` (decided by the plan, e.g. the
Karamay district from 2006); any other constant is a figure from the plan or a
fixed fact. Its range is
the ``[min,max]`` of its units field. This module reads those facts through PySD,
so the model file stays the one source of them. Functions take a
:class:`~simulator.inputs.project.Project` (or a model file); ``None`` is the project
:func:`simulator.inputs.project.find` finds.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..engine import VectorModel
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


_SLOT = threading.local()


@lru_cache(maxsize=16)
def _slot_model(mdl_path: str, cache_dir: str | None, slot: int) -> VectorModel:
    return VectorModel(mdl_path, cache_dir)


def _vector_model(mdl_path: str, cache_dir: str | None) -> VectorModel:
    """The model of this thread's slot (0: the caller; ensemble worker threads have
    their own, see :func:`use_slot`): a VectorModel runs one ensemble at a time."""
    return _slot_model(mdl_path, cache_dir, getattr(_SLOT, "value", 0))


def use_slot(slot: int) -> None:
    """Give the calling thread its own loaded models (slot ``slot``)."""
    _SLOT.value = slot


def vector_model(source: Project | Path | str) -> VectorModel:
    """The translated model of a project (or a model file), loaded once per process and
    thread slot."""
    if isinstance(source, Project):
        return _vector_model(str(source.model), str(source.cache_dir))
    return _vector_model(str(Path(source).resolve()), None)


def saved_years(project: Project) -> tuple[int, ...]:
    """The model's saved whole years (INITIAL TIME to FINAL TIME every SAVEPER)."""
    saved = vector_model(project).control.default_years()
    return tuple(int(y) for y in saved if float(y).is_integer())


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
