"""A Vensim model as PySD parses it: elements, their declared units and what they use.

Both reviews read the model through PySD's translator (``VensimFile`` ->
``AbstractModel``): :mod:`.units` walks the expression trees, :mod:`.loops`
checks that a documented loop's links exist. Nothing here runs the model.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from ..engine.constructs import walk
from ..errors import InputError

TIME = "time"
"""PySD's reference to Vensim's ``Time``."""


def python_name(name: str) -> str:
    """A Vensim name as PySD's translator writes references to it."""
    return name.lower().replace(" ", "_")


@dataclass(frozen=True)
class Element:
    """One model variable: Vensim name, declared units, kind and parsed equations."""

    name: str
    units: str
    kind: str  # stock | constant | auxiliary | lookup | control
    equations: tuple  # PySD abstract syntax of each component

    @property
    def py(self) -> str:
        return python_name(self.name)


@dataclass(frozen=True)
class ParsedModel:
    path: Path
    elements: dict[str, Element]  # by Vensim name, in file order

    def by_python_name(self) -> dict[str, Element]:
        return {e.py: e for e in self.elements.values()}

    def find(self, name: str) -> Element | None:
        """The element of a Vensim name (case and spacing as Vensim compares them)."""
        return self.by_python_name().get(python_name(" ".join(name.split())))

    def time_units(self) -> str:
        """The model's time unit: the declared units of TIME STEP."""
        step = self.elements.get("TIME STEP")
        return step.units if step is not None and step.units else "Year"

    def uses(self, name: str) -> set[str]:
        """Vensim names of the variables the equations of ``name`` refer to."""
        by_py = self.by_python_name()
        refs = {node.reference for eq in self.elements[name].equations for node in walk(eq)
                if isinstance(node, ae.ReferenceStructure)}
        return {by_py[r].name for r in refs if r in by_py}


def _kind(element: am.AbstractElement) -> str:
    if isinstance(element, am.AbstractControlElement):
        return "control"
    component = element.components[0]
    if isinstance(component, am.AbstractLookup):
        return "lookup"
    if isinstance(component.ast, ae.IntegStructure):
        return "stock"
    if isinstance(component.ast, numbers.Real):
        return "constant"
    return "auxiliary"


def parse(mdl_path: Path | str) -> ParsedModel:
    """The parsed model; a missing or unreadable file raises InputError."""
    path = Path(mdl_path)
    if not path.is_file():
        raise InputError(path, None, "model file not found", "give the path of a Vensim .mdl file")
    if path.suffix.lower() != ".mdl":
        raise InputError(path, None, "not a Vensim .mdl file", "give a Vensim text model (.mdl)")
    return _parse(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _parse(path: str, _mtime: int) -> ParsedModel:
    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ven = VensimFile(path)
            ven.parse()
            abstract = ven.get_abstract_model()
    except Exception as exc:  # PySD raises many kinds on a file it cannot parse
        raise InputError(path, None, f"PySD cannot parse the model ({exc})".replace("\n", " "),
                         "correct the model so that Vensim and PySD read it") from exc
    elements = {}
    for element in abstract.sections[0].elements:
        elements[element.name] = Element(
            name=element.name, units=(element.units or "").strip(), kind=_kind(element),
            equations=tuple(c.ast for c in element.components))
    return ParsedModel(Path(path), elements)
