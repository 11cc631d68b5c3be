"""PySD's per-call set-up, done once per model instead of at every ``Model.run``.

Each ``Model.run`` assigns cache types twice (``_assign_cache_type``), counting for
every element not yet cached its callers with ``_count_calls`` (a scan of the whole
dependency graph per element), and finds each output and parameter name with
``utils.get_key_and_value_by_insensitive_key_or_value`` (a scan of the namespace with
``str.lower`` per entry) and the outputs with ``utils.get_return_elements`` (a scan of
the namespace's values per output, about 1 ms for 200 outputs).  On the district model
that was a third of a small ensemble's time (about 0.1-0.2 s per call, whatever N).  Both answers depend only on the dependency
graph, the namespace and the outputs asked for, which the engine does not change between
calls; here they are computed once (per graph: a new graph is counted again) and give
exactly PySD's answers, so the same elements get the same cache and the same values.
"""

from __future__ import annotations

from typing import Any

from pysd.py_backend import utils as _utils

OUTPUTS = "OUTPUTS"
_PYSD_LOOKUP = _utils.get_key_and_value_by_insensitive_key_or_value
_PYSD_RETURN_ELEMENTS = _utils.get_return_elements


class _CallCounts:
    """``model._count_calls`` over counts of the graph without ``OUTPUTS`` (kept while the
    graph has the same keys, dict objects and lengths, checked at each
    ``_assign_cache_type``), plus ``OUTPUTS`` read live."""

    def __init__(self, model: Any):
        self.model = model
        self.assign = model._assign_cache_type
        self.signature: tuple = ()
        self.counts: dict[str, int] = {}

    def assign_cache_type(self) -> None:
        dependencies = self.model._dependencies
        signature = tuple((key, id(value), len(value)) for key, value in dependencies.items()
                          if key != OUTPUTS)
        if signature != self.signature:
            self.signature, self.counts = signature, _static_counts(dependencies)
        self.assign()

    def __call__(self, element: str) -> int:
        outputs = self.model._dependencies.get(OUTPUTS, {})
        return self.counts.get(element, 0) + outputs.get(element, 0)


def _static_counts(dependencies: dict[str, Any]) -> dict[str, int]:
    """PySD's ``Model._count_calls`` for every element at once, ``OUTPUTS`` left out."""
    counts: dict[str, int] = {}
    for subelement, deps in dependencies.items():
        if subelement == OUTPUTS:
            continue
        if subelement.startswith("_"):
            step, initial = deps["step"], deps["initial"]
            pairs = ((element, 2 * n if element in initial else n)
                     for element, n in step.items())
        else:
            pairs = deps.items()
        for element, n in pairs:
            if isinstance(n, int):  # (PySD's markers, e.g. ``__lookup__``, name no element)
                counts[element] = counts.get(element, 0) + n
    return counts


class _NameIndex:
    """PySD's case-insensitive name lookup over one namespace, answered from an index of
    its first match by key or value (the item PySD's scan returns)."""

    def __init__(self, namespace: dict[str, str]):
        self.namespace = namespace
        self.size = len(namespace)
        self.first: dict[str, tuple[str, str]] = {}
        self.returns: dict[tuple, tuple[list, dict]] = {}  # get_return_elements' answers
        for key, value in namespace.items():
            self.first.setdefault(key.lower(), (key, value))
            self.first.setdefault(value.lower(), (key, value))


_INDEXES: dict[int, _NameIndex] = {}


def _lookup(key: str, dictionary: dict) -> tuple[Any, Any]:
    index = _INDEXES.get(id(dictionary))
    if index is None or index.namespace is not dictionary or index.size != len(dictionary):
        return _PYSD_LOOKUP(key, dictionary)
    return index.first.get(key.lower(), (None, None))


def _return_elements(return_columns: Any, namespace: dict) -> tuple[list, dict]:
    """PySD's ``get_return_elements`` (a scan of the namespace's values per output name),
    its answer kept per namespace and list of names; each call gets its own copies."""
    index = _INDEXES.get(id(namespace))
    if (index is None or index.namespace is not namespace or index.size != len(namespace)
            or not isinstance(return_columns, list)
            or not all(type(column) is str for column in return_columns)):
        return _PYSD_RETURN_ELEMENTS(return_columns, namespace)
    key = tuple(return_columns)
    found = index.returns.get(key)
    if found is None:
        found = index.returns[key] = _PYSD_RETURN_ELEMENTS(return_columns, namespace)
    return list(found[0]), dict(found[1])


def set_up_once(model: Any) -> None:
    """Give a loaded PySD model the memoised call counts and name lookups."""
    counts = _CallCounts(model)
    model._count_calls = counts
    model._assign_cache_type = counts.assign_cache_type
    _INDEXES[id(model._namespace)] = _NameIndex(model._namespace)
    _utils.get_key_and_value_by_insensitive_key_or_value = _lookup
    _utils.get_return_elements = _return_elements
