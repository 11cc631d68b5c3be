"""The parameters an ensemble is given: names resolved to the model's constants, values
laid out as ``(runs, *subscripts)`` float64 arrays, one element of a subscripted constant
(``'name[e1, e2]'``) set over its defaults, and the runs' labels."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .control import RUN, _Names
from .errors import EngineError, UnknownNameError


class _GivenParameters:
    """What :class:`~.vector_model.VectorModel` does with the parameters it is given
    (a mixin: it reads the model's names, constants, defaults and subscripted set)."""

    _names: _Names
    _constants: dict[str, str]
    _defaults: dict[str, Any]
    _subscripted: set[str]

    def _given(self, params: xr.Dataset | Mapping[str, Any]) -> tuple[dict[str, np.ndarray],
                                                                       np.ndarray]:
        items = params.data_vars.items() if isinstance(params, xr.Dataset) else params.items()
        raw: dict[str, Any] = {}
        elements: dict[tuple[str, tuple[int, ...]], Any] = {}  # 'name[e1, e2]' values
        for name, value in items:
            element = self._element_of(name)
            if element is None:
                raw[self._parameter(name)] = value
            else:
                elements[element] = value
        arrays = {name: self._as_runs(name, value) for name, value in raw.items()}
        element_arrays = {key: _element_runs(key[0], value) for key, value in elements.items()}
        sizes = {a.shape[0] for a in [*arrays.values(), *element_arrays.values()] if a.ndim}
        if len(sizes) > 1:
            raise EngineError(f"parameter arrays differ in length: {sorted(sizes)}")
        n = sizes.pop() if sizes else 1
        labels = _run_labels(params, [*raw.values(), *elements.values()], n)
        subscripted = self._subscripted
        given = {k: np.array(a, dtype=np.float64) if a.shape == (n,) and k not in subscripted
                 else np.array(np.broadcast_to(a, (n, *self._element_shape(k))), dtype=np.float64)
                 for k, a in arrays.items()}  # (a copy either way; (n,) without broadcast_to)
        for (real, index), values in element_arrays.items():
            if real in raw:
                raise EngineError(f"parameter {real!r} is given whole and by element; give "
                                  f"one or the other")
            if real not in given:  # the other elements keep their defaults
                default = np.asarray(self._defaults[real].values, dtype=np.float64)
                given[real] = np.array(np.broadcast_to(default, (n, *default.shape)))
            given[real][(slice(None), *index)] = values
        return given, labels

    def _element_of(self, name: str) -> tuple[str, tuple[int, ...]] | None:
        """``'name[e1, e2]'``: a subscripted constant and the position of one element.

        None for any other name (resolved as a whole parameter).
        """
        if "[" not in str(name):  # (the pattern needs one)
            return None
        match = re.fullmatch(r"\s*([^\[\]]+?)\s*\[([^\[\]]*)\]\s*", str(name))
        if match is None:
            return None
        real = self._parameter(match[1])
        subscripts = self._constant_subscripts(real)
        named = [element.strip() for element in match[2].split(",")]
        if len(named) != len(subscripts):
            raise UnknownNameError(f"{name!r}: {real!r} has the subscripts "
                                   f"{list(subscripts)}; name one element of each")
        index = []
        for (dim, values), element in zip(subscripts.items(), named):
            if element not in values:
                raise UnknownNameError(f"{name!r}: {dim!r} has no element {element!r} "
                                       f"(elements: {values})")
            index.append(values.index(element))
        return real, tuple(index)

    def _element_shape(self, real: str) -> tuple[int, ...]:
        return tuple(len(v) for v in self._constant_subscripts(real).values())

    def _constant_subscripts(self, real: str) -> dict[str, list]:
        """A constant's subscript ranges as its default value holds them (may be subranges)."""
        default = self._defaults.get(real)
        if real not in self._subscripted or not isinstance(default, xr.DataArray):
            return {}
        return {dim: list(default.coords[dim].values) for dim in default.dims}

    def _as_runs(self, name: str, value: Any) -> np.ndarray:
        """A given value: scalar, ``(n,)``, or ``(n, *subscripts)`` for a subscripted one.

        A DataArray over ``run`` (and the constant's subscripts) is put in that order.
        """
        subscripts = list(self._constant_subscripts(name))
        if isinstance(value, xr.DataArray) and value.ndim:
            if set(value.dims) - {RUN, *subscripts}:
                raise EngineError(f"parameter {name!r}: expected dims {(RUN, *subscripts)}, "
                                  f"got {value.dims}")
            value = value.transpose(*[d for d in (RUN, *subscripts) if d in value.dims])
            if RUN not in value.dims:
                value = value.expand_dims(RUN)
        data = np.asarray(getattr(value, "values", value), dtype=np.float64)
        shape = self._element_shape(name) if subscripts else ()
        if data.ndim > 1 and data.shape[1:] != shape or data.ndim > 1 + len(shape):
            per_element = f" or (runs, {', '.join(map(str, shape))}) values" if shape else ""
            raise EngineError(f"parameter {name!r}: expected a scalar or a 1-D array over "
                              f"runs{per_element}, got shape {data.shape}")
        if data.ndim == 1 and shape:
            data = np.broadcast_to(data.reshape(-1, *(1,) * len(shape)),
                                   (data.shape[0], *shape))
        return data

    def _parameter(self, name: str) -> str:
        real = self._names.real(name, "parameter")
        if real not in self._constants:
            raise UnknownNameError(
                f"{name!r} is not a settable constant of the model (its type is "
                f"{self._names.type_of.get(real)}); parameters: {sorted(self._constants)}")
        return real


def _element_runs(real: str, value: Any) -> np.ndarray:
    """One element's value: a scalar or a 1-D array over runs."""
    data = np.asarray(getattr(value, "values", value), dtype=np.float64)
    if data.ndim > 1:
        raise EngineError(f"parameter {real!r}: one element takes a scalar or a 1-D array "
                          f"over runs, got shape {data.shape}")
    return data


def _run_labels(params: Any, values: Sequence[Any], n: int) -> np.ndarray:
    """The ``run`` coordinate: the one given with the parameters, else 0..n-1."""
    sources = [params] if isinstance(params, xr.Dataset) else list(values)
    for source in sources:
        if isinstance(source, (xr.Dataset, xr.DataArray)) and RUN in source.coords:
            labels = np.asarray(source.coords[RUN].values)
            if labels.shape == (n,):
                return labels
    return np.arange(n)
