"""Translation: PySD's Vensim parser and Python builder, patched for run arrays, cached."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import platformdirs
import pysd
from pysd.builders.python.python_model_builder import ModelBuilder
from pysd.translators.structures import abstract_model as _am

from . import trust
from .constructs import _abstract_issues, _parse_model, _raise_if_unsupported, _source_issues
from .draws import _RANDOM_DRAW_NAME, _RANDOM_RVS_NAME
from .errors import EngineError
from .runs import (
    _ASSIGN_LOC_NAME,
    _ASSIGN_MASK_NAME,
    _DATA_ARRAY_NAME,
    _POWER_NAME,
    _REAL_NAME,
    _SUBSCRIPTS_ONLY_NAME,
)

ENGINE_TAG = "e6"
"""Version of the translation patches; part of the cache key of translated files.

e1 sent ``WITH LOOKUP`` through ``xr.apply_ufunc`` (runs were DataArrays); e2 keeps
PySD's ``np.interp``, which keeps the shape of a numpy array argument.  e3 rewrites
``**`` on the parsed file (``-2^2`` is ``-(2^2)``) and keeps ``float()`` as ``_as_real``;
e4 does both on the parsed file only (subscripted models: runs as a named dimension);
e5 rewrites EXCEPT assignments (``value.values[mask] = ...``) and their masks, and
keeps the real part of a complex power assigned to a subscript; e6 sends ``np.random.*``
and ``stats.*.rvs`` draws to each run's own stream (:mod:`.draws`)."""


_TRANSLATION_LOCK = trust._PARSE  # one translation at a time, and no ast parse beside it


# --------------------------------------------------------------------------- hashing, cache


def model_hash(mdl_path: str | os.PathLike) -> str:
    """Sha256 hex digest of the model file's bytes."""
    return hashlib.sha256(Path(mdl_path).read_bytes()).hexdigest()


CACHE_ENV = "PLANSIM_CACHE_DIR"


def default_cache_dir() -> Path:
    """The per-user cache of translations: ``$PLANSIM_CACHE_DIR``, else platformdirs'
    user cache folder of plansim (``~/.cache/plansim`` on Linux).  Never beside a model
    nor inside the installed package."""
    given = os.environ.get(CACHE_ENV, "").strip()
    return Path(given) if given else Path(platformdirs.user_cache_dir("plansim", False))


def _cache_file(mdl_path: Path, cache_dir: Path, variant: str) -> Path:
    """Cache path of one translation of ``mdl_path`` (``variant``: vector or reference).

    Keyed by the sha256 of the model's bytes (whatever its format), its folder (data
    files are read from there), the PySD version and :data:`ENGINE_TAG`."""
    stem = re.sub(r"\W", "_", mdl_path.stem, flags=re.ASCII)[:40] or "model"
    version = re.sub(r"\W", "_", pysd.__version__, flags=re.ASCII)
    digest = model_hash(mdl_path)[:20]
    folder = hashlib.sha256(str(mdl_path.parent).encode("utf-8")).hexdigest()[:8]
    return cache_dir / f"{stem}_{digest}_{folder}_pysd{version}_{ENGINE_TAG}_{variant}.py"


def _record(target: Path) -> Path:
    """The digests of a translation's files (``<target>.sha256.json``)."""
    return target.with_name(f"{target.name}.sha256.json")


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(target: Path, mdl_path: Path) -> bool:
    """Whether the cached ``target`` and its macros match their recorded digests and
    hold only what the translator writes (:mod:`.trust`); a stale entry is a notice."""
    if not target.is_file():
        return False
    try:
        record = json.loads(_record(target).read_text(encoding="utf-8"))
        names = record["files"]
        files = {target.parent / n: d for n, d in names.items() if Path(n).name == n}
        ok = (len(files) == len(names) and target in files and all(
            not p.is_symlink() and _file_digest(p) == d for p, d in files.items()))
        if ok:
            for path in files:
                trust.check_file(path, mdl_path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, trust.UntrustedModel):
        ok = False
    if not ok:
        print(f"plansim: note: the cached translation {target.name} does not match its "
              "recorded digest; translating the model again", file=sys.stderr)
    return ok


def translate(mdl_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """Translate ``mdl_path`` for vectorised runs; return the cached Python file.

    The file is built once per (model text, PySD version, :data:`ENGINE_TAG`) and
    published atomically, so several processes may translate at the same time.
    Raises :class:`UnsupportedConstruct` for models using anything outside
    :data:`SUPPORTED_FUNCTIONS`, :class:`~.trust.UntrustedModel` for a translation
    holding code the translator does not write.
    """
    return _translate(Path(mdl_path), cache_dir, vector=True)


def translate_reference(mdl_path: str | os.PathLike,
                        cache_dir: str | os.PathLike | None = None) -> Path:
    """Plain PySD translation of ``mdl_path`` (as ``pysd.read_vensim``), cached apart."""
    return _translate(Path(mdl_path), cache_dir, vector=False)


def _translate(mdl_path: Path, cache_dir: str | os.PathLike | None, vector: bool) -> Path:
    mdl_path = mdl_path.resolve()
    if not mdl_path.is_file():
        raise EngineError(f"model file not found: {mdl_path}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    variant = "vector" if vector else "reference"
    if os.environ.get(trust.ALLOW_OUTSIDE_DATA, "") not in ("", "0"):
        variant += "_outside"  # built without the data check: never used by a run with it
    target = _cache_file(mdl_path, cache, variant)
    if (target.exists() or _record(target).exists()) and _verified(target, mdl_path):
        return target
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _TRANSLATION_LOCK:
        _translate_locked(mdl_path, target, vector)
    return target


def _translate_locked(mdl_path: Path, target: Path, vector: bool) -> None:
    try:
        abstract = _parse_model(mdl_path)  # Vensim or XMILE, by suffix
    except Exception as exc:  # PySD's parser on a file it cannot read
        raise EngineError(f"{mdl_path}: PySD cannot read this model ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:120]}); fix: correct the model (it "
                          "must open in Vensim or Stella)") from exc
    trust.neutralise(abstract)
    trust.confine_data(abstract, mdl_path)
    if vector:
        _raise_if_unsupported(mdl_path, _abstract_issues(abstract))
    _build_atomically(abstract, target, vector, mdl_path)


def _build_atomically(abstract: _am.AbstractModel, target: Path, vector: bool,
                      mdl_path: Path) -> None:
    """Build the Python file(s) in a private directory, check them, then os.replace them.

    Macros are built beside the model file, named after it (``<target>__<macro>.py``).
    External data (GET DIRECT/XLS...) is read from the model's folder, as PySD does
    for a model translated next to it (see :func:`_data_from_model_dir`).  Every file
    passes :func:`.trust.check_source` and is fsync'ed before it is published; the
    digests go last into :func:`_record`.
    """
    model_dir = mdl_path.parent
    _subscript_files_from_model_dir(abstract, model_dir)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".translating-") as tmp:
        built = Path(tmp) / target.name
        abstract.sections[0].path = built
        for section in abstract.sections[1:]:
            section.path = Path(tmp) / f"{target.stem}__{section.path.name}"
        try:  # under _TRANSLATION_LOCK, which _translate holds for the whole translation
            ModelBuilder(abstract).build_model()
        except Exception as exc:  # PySD's builder on a model it parsed but cannot build
            raise EngineError(
                f"{mdl_path}: PySD cannot translate this model ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:120]}); fix: correct the model (every "
                "variable it uses must be defined; it must run in Vensim or Stella)"
            ) from exc
        digests = {}
        for section in abstract.sections:
            source = _data_from_model_dir(section.path.read_text(encoding="utf-8"), model_dir)
            if vector:
                source = _array_safe_source(source)
                _raise_if_unsupported(target, _source_issues(source))
            trust.check_source(source, mdl_path)
            _write_synced(section.path, source.encode("utf-8"))
            digests[section.path.name] = _file_digest(section.path)
        for section in abstract.sections[1:]:
            os.replace(section.path, target.parent / section.path.name)
        os.replace(built, target)
        record = Path(tmp) / _record(target).name
        _write_synced(record, json.dumps({"model": mdl_path.name, "files": digests},
                                         indent=1).encode("utf-8"))
        os.replace(record, _record(target))


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _subscript_files_from_model_dir(abstract: _am.AbstractModel, model_dir: Path) -> None:
    """Subscript ranges read from a file (GET XLS/DIRECT SUBSCRIPT) name it in ``model_dir``.

    PySD's builder reads them while building, from the folder of the Python file
    (``SubscriptManager._root``), which here is a private build folder; a file named
    indirectly (``?name``) is left to PySD.
    """
    for section in abstract.sections:
        for subscript_range in section.subscripts:
            source = subscript_range.subscripts
            if isinstance(source, dict) and not str(source["file"]).startswith("?"):
                source["file"] = str(model_dir / source["file"])


def _data_from_model_dir(source: str, model_dir: Path) -> str:
    """External objects read their files from ``model_dir``, not the cache folder.

    PySD's builder passes ``_root`` (the Python file's folder) to ``ExtData``,
    ``ExtLookup``, ``ExtConstant``... (``python_expressions_builder.py`` ~928,
    ~1005, ~1078); here those arguments name the model's folder instead.  Macros
    keep loading from ``_root``, where they are built.
    """
    argument = re.compile(r"(?<![\w.])_root(?=\s*,)")  # ``_root`` as an argument
    if not argument.search(source):
        return source
    header = "_root = Path(__file__).parent\n"
    source = source.replace(header, f"{header}_model_dir = Path({str(model_dir)!r})\n", 1)
    return argument.sub("_model_dir", source)


# --------------------------------------------------------------------------- builder patches


class _ArraySafeCalls(ast.NodeTransformer):
    """On the built file: ``a ** b`` -> ``_vector_power(a, b)``, ``float(x)`` -> ``_as_real(x)``,
    ``xr.DataArray(value, coords, dims)`` -> ``_run_data_array(...)``,
    ``x.transpose(a, b)`` -> ``x.transpose(a, b, ...)``, ``value.loc[i] = x`` ->
    ``value = _assign_loc(value, i, x)`` (``a ** b`` as ``x``: ``_vector_power(a, b,
    real_part=True)``), ``value.values[m] = x`` ->
    ``value = _assign_mask(value, m, x)`` and ``xr.ones_like(value, dtype=bool)`` (or
    ``zeros_like``, the template of PySD's EXCEPT mask ``m``) ->
    ``xr.ones_like(_subscripts_only(value), dtype=bool)``.

    Done on the parsed file, so ``-2 ** 2`` stays ``-(2 ** 2)`` exactly as Python
    (and Vensim) read PySD's expression.  PySD's builder writes ``float(...)``
    around numpy calls on unsubscripted expressions (``python_expressions_builder.py``
    ~699) and around single elements of subscripted ones (~1945); ``float`` needs
    one value, :func:`~.functions._as_real` converts every run's value the same way.
    PySD spreads an unsubscripted value over subscripts with ``xr.DataArray(value,
    coords, dims)``; :func:`~.functions._run_data_array` does so for a value over runs.
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow):
            return node
        call = ast.Call(func=ast.Name(id=_POWER_NAME, ctx=ast.Load()),
                        args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        """``value.loc[i] = x`` -> ``value = _assign_loc(value, i, x)``; ``value.values[m]
        = x`` -> ``value = _assign_mask(value, m, x)`` (see there)."""
        self.generic_visit(node)
        target = node.targets[0] if len(node.targets) == 1 else None
        if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute)
                and target.value.attr in ("loc", "values")
                and isinstance(target.value.value, ast.Name)):
            return node
        owner = target.value.value.id
        function = _ASSIGN_LOC_NAME if target.value.attr == "loc" else _ASSIGN_MASK_NAME
        if (function == _ASSIGN_LOC_NAME and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == _POWER_NAME):
            # PySD's ``value.loc[i] = a ** b`` keeps the real part of a complex power
            node.value.keywords.append(ast.keyword(arg="real_part", value=ast.Constant(True)))
        call = ast.Call(func=ast.Name(id=function, ctx=ast.Load()),
                        args=[ast.Name(id=owner, ctx=ast.Load()), _index_expression(target.slice),
                              node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[ast.Name(id=owner, ctx=ast.Store())],
                                            value=call), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        random_call = _random_call(node)
        if random_call is not None:
            return random_call
        if isinstance(node.func, ast.Name) and node.func.id == "float":
            node.func = ast.copy_location(ast.Name(id=_REAL_NAME, ctx=ast.Load()), node.func)
        elif (isinstance(node.func, ast.Attribute) and node.func.attr == "DataArray"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "xr"):
            node.func = ast.copy_location(ast.Name(id=_DATA_ARRAY_NAME, ctx=ast.Load()),
                                          node.func)
        elif (isinstance(node.func, ast.Attribute) and node.func.attr == "transpose"
              and node.args and not any(isinstance(a, ast.Constant) and a.value is Ellipsis
                                        for a in node.args)):
            node.args.append(ast.Constant(value=Ellipsis))  # ``run`` (last) stays last
        elif (isinstance(node.func, ast.Attribute) and node.func.attr in _MASK_TEMPLATES
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "xr"
              and node.args and any(k.arg == "dtype" for k in node.keywords)):
            node.args[0] = ast.Call(func=ast.Name(id=_SUBSCRIPTS_ONLY_NAME, ctx=ast.Load()),
                                    args=[node.args[0]], keywords=[])
        return node


_MASK_TEMPLATES = ("ones_like", "zeros_like")
"""PySD's EXCEPT and partial-definition masks: ``xr.ones_like(value, dtype=bool)``..."""
def _random_call(node: ast.Call) -> ast.Call | None:
    """``np.random.m(...)`` -> ``_random_draw("m", ...)``; ``stats.d.rvs(...)`` ->
    ``_random_rvs(stats.d, ...)`` (each run's own stream, see :mod:`.draws`)."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name)):
        return None
    owner, middle = func.value.value.id, func.value.attr
    if owner == "np" and middle == "random":
        name, first = _RANDOM_DRAW_NAME, ast.Constant(value=func.attr)
    elif owner == "stats" and func.attr == "rvs":
        name, first = _RANDOM_RVS_NAME, func.value
    else:
        return None
    call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[first, *node.args],
                    keywords=node.keywords)
    return ast.copy_location(call, node)


def _index_expression(index: ast.expr) -> ast.expr:
    """A subscript's index as an expression (``:`` -> ``slice(None, None, None)``)."""
    if isinstance(index, ast.Slice):
        return ast.Call(func=ast.Name(id="slice", ctx=ast.Load()), args=[
            part if part is not None else ast.Constant(value=None)
            for part in (index.lower, index.upper, index.step)], keywords=[])
    if isinstance(index, ast.Tuple):
        return ast.Tuple(elts=[_index_expression(e) for e in index.elts], ctx=ast.Load())
    return index


def _array_safe_source(source: str) -> str:
    """``source`` with :class:`_ArraySafeCalls` applied."""
    tree = _ArraySafeCalls().visit(trust.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
