"""The dependency graph PySD builds for a model, as ``plansim loops`` reads it.

PySD records, for every component of a translated model, the components it uses
(``Model.dependencies``); a stateful object (INTEG, SMOOTH, DELAY, INITIAL, SAMPLE
IF TRUE...) lists what it uses at the start (``initial``) apart from what it uses
at each step (``step``). Two questions about a loop's cut are answered here
without running the model:

* :meth:`DependencyGraph.direct_path`: does the perturbation enter the cut
  variable *directly*, within one time step, by a way on which no stock, smooth
  or delay stands (an INITIAL passes its argument on: it is that argument's value
  at the start)? Freezing such a cut freezes that way too, so the knockout ratio
  measures it, not the loop.
* :meth:`DependencyGraph.reaches`: does the perturbation still reach an output
  when the cut is frozen (any way, through stocks too)? If not, the cut blocks
  the perturbation and the ratio has no denominator.
"""

from __future__ import annotations

from pathlib import Path


class DependencyGraph:
    """Who uses whom in a PySD model, by the model's (Vensim) variable names."""

    def __init__(self, model):
        self._py = {name: py for name, py in model.namespace.items()}
        self._name = {py: name for name, py in self._py.items()}
        self._users: dict[str, set[str]] = {}   # py name -> components that use it
        self._instant: dict[str, set[str]] = {}  # the same, within one time step
        for component, uses in model.dependencies.items():
            if not isinstance(uses, dict):
                continue
            if "initial" in uses or "step" in uses:
                initial, step = uses.get("initial") or {}, uses.get("step") or {}
                self._link(component, [*initial, *step], instant=list(initial) if not step
                           else [])
            else:
                self._link(component, list(uses), instant=list(uses))

    @classmethod
    def of_model(cls, mdl_path: Path) -> DependencyGraph:
        import pysd

        from ..engine import translate_reference

        return cls(pysd.load(str(translate_reference(mdl_path))))

    def _link(self, component: str, used: list[str], instant: list[str]) -> None:
        for name in used:
            self._users.setdefault(name, set()).add(component)
        for name in instant:
            self._instant.setdefault(name, set()).add(component)

    def _search(self, source: str, edges: dict[str, set[str]], removed=frozenset()):
        """Breadth-first search from ``source``: {reached py name: the one before it}."""
        start = self._py[source]
        removed = {self._py[n] for n in removed}
        before, todo = {start: None}, [start]
        while todo:
            following = []
            for current in todo:
                for user in sorted(edges.get(current, ())):
                    if user not in before and user not in removed:
                        before[user] = current
                        following.append(user)
            todo = following
        return before

    def direct_path(self, source: str, target: str) -> list[str] | None:
        """The shortest way by which ``source`` moves ``target`` within one time step
        (variable names, source first; PySD's internal objects left out), or None."""
        before = self._search(source, self._instant)
        at = self._py[target]
        if at not in before:
            return None
        path = []
        while at is not None:
            if at in self._name:
                path.append(self._name[at])
            at = before[at]
        return path[::-1]

    def reaches(self, source: str, target: str, removed=frozenset()) -> bool:
        """Whether ``source`` moves ``target`` in any way avoiding the ``removed`` variables."""
        return self._py[target] in self._search(source, self._users, frozenset(removed))
