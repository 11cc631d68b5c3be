"""The sweep store: a Zarr v3 group pre-allocated whole, written block by block.

A block is done when its marker ``blocks/NNNNNN.done`` exists; the marker records
the sha256 of every chunk file of the block as written. Finished blocks are verified
against those digests on resume and before ``summary.json`` is rebuilt: a missing,
truncated, swapped or altered chunk makes its block pending again (recomputed, with
a one-line notice), never used. Chunks are also zstd frames with a checksum. The
files the store has when made (metadata, attributes, dimension names, coordinates) are
digested in ``sweep.sha256.json`` beside it; a store that differs is refused
(:func:`verify_whole`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..running import results
from ..running.outputs import fsync as _fsync
from .spec import FORMAT, Spec, calibrated_inputs, sha

STORE = "sweep.zarr"
MARKERS = "blocks"


def layout(spec: Spec, goal_ids: list[str]) -> list[tuple[str, tuple, str, object]]:
    """(name, dims, dtype, fill) of every per-run array."""
    out = [(name, ("run", "time"), "float64", np.nan) for name in spec.indicators]
    out += [(name, ("run",), "float64", np.nan) for name in spec.levers]
    out += [(name, ("run",), "float64", np.nan) for name in sorted(spec.scenario.uncertainties)]
    calibrated = calibrated_inputs(spec)
    out += [(name, ("run",), "float64", np.nan) for name in calibrated]
    if calibrated:
        out += [("calibration_set", ("run",), "int64", -1)]
    out += [("setting", ("run",), "int64", -1), ("future", ("run",), "int64", -1),
            ("margin", ("run", "goal"), "float64", np.nan),
            ("met", ("run", "goal"), "bool", False), ("joint", ("run",), "bool", False),
            ("plausible", ("run",), "bool", False), ("in_domain", ("run",), "bool", False)]
    return out


def _array_attrs(spec: Spec, name: str) -> dict:
    catalogue = spec.scenario.project.indicators
    if name in catalogue:
        ind = catalogue[name]
        return {"units": ind.unit, "description": ind.description}
    if name in spec.levers:
        return {"description": "lever value (swept)"}
    if name in spec.scenario.uncertainties:
        return {"description": "uncertain input (sampled future)"}
    if name in calibrated_inputs(spec):
        return {"description": "calibrated parameter (drawn from the history-matched ensemble)"}
    return {"calibration_set": {"description": "index of the calibration set (the ensemble "
                                               "beside the calibration file) the run used"},
            "setting": {"description": "index of the lever setting (summary.json settings)"},
            "future": {"description": "index of the sampled future"},
            "margin": {"description": "signed margin / |threshold|; >= 0 means met"},
            "met": {"description": "goal met in every one of its years"},
            "joint": {"description": "every goal met"},
            "plausible": {"description": "run reproduces the history within 3 sd of its "
                                         "error model (and is inside the domain)"},
            "in_domain": {"description": "model output finite (inside the model's domain)"},
            }[name]


def _store_attrs(spec: Spec, parts: dict[str, str]) -> dict:
    return {**results.provenance(spec.scenario, spec.seed),
            "sweep_format": FORMAT, "spec": spec.canonical, "spec_file": spec.path.name,
            "spec_hash": parts["spec"], "fingerprint": sha(parts), "fingerprint_parts": parts,
            "description": spec.description, "runs": spec.runs, "futures": spec.futures,
            "settings": spec.n_settings, "block_size": spec.block_size,
            "blocks": spec.n_blocks, "levers": list(spec.levers),
            "uncertainties": sorted(spec.scenario.uncertainties),
            "fixed_levers": {k: lv.value for k, lv in spec.scenario.levers.items()
                             if k not in spec.levers},
            "run_index": "run = setting * futures + future"}


def create(final: Path, spec: Spec, parts: dict[str, str], goal_ids: list[str]) -> None:
    """Pre-allocate the store in a temporary directory, then rename it into place."""
    import zarr
    from zarr.codecs import ZstdCodec

    tmp = final.with_name(f".{final.name}.creating")
    shutil.rmtree(tmp, ignore_errors=True)
    g = zarr.open_group(tmp, mode="w-", zarr_format=3, attributes=_store_attrs(spec, parts))
    n, b = spec.runs, spec.block_size
    sizes = {"run": n, "time": len(spec.years), "goal": len(goal_ids)}
    zstd = [ZstdCodec(level=0, checksum=True)]
    run = g.create_array("run", shape=(n,), chunks=(b,), dtype="int64", fill_value=-1,
                         dimension_names=("run",), compressors=zstd)
    for block in range(spec.n_blocks):
        start, stop = spec.block_runs(block)
        run[start:stop] = np.arange(start, stop)
    g.create_array("time", shape=(sizes["time"],), dtype="int64", fill_value=0,
                   dimension_names=("time",), attributes={"units": "year"})[:] = spec.years
    g.create_array("goal", shape=(sizes["goal"],), dtype=str,
                   dimension_names=("goal",))[:] = np.array(goal_ids, dtype=object)
    for name, dims, dtype, fill in layout(spec, goal_ids):
        g.create_array(name, shape=tuple(sizes[d] for d in dims),
                       chunks=(b, *(sizes[d] for d in dims[1:])), dtype=dtype, fill_value=fill,
                       dimension_names=dims, attributes=_array_attrs(spec, name),
                       compressors=zstd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not yet in the v3 spec
        zarr.consolidate_metadata(tmp)
    _fsync_tree(tmp)
    results.write_json({"store": STORE, "files": _static_digests(tmp)}, final.parent / DIGEST)
    os.rename(tmp, final)
    _fsync(final.parent)


DIGEST = "sweep.sha256.json"
"""Beside the store: the sha256 of every file the store had when made (metadata,
attributes, dimension names, the ``run``, ``time`` and ``goal`` coordinates); the
blocks' chunks are digested in their markers."""


def _static_digests(root: Path) -> dict[str, str | None]:
    return {p.relative_to(root).as_posix(): _digest(p)
            for p in sorted(root.rglob("*")) if p.is_file()}


def verify_whole(out: Path) -> None:
    """Refuse a store whose metadata or coordinates differ from what was recorded when it
    was made (:data:`DIGEST`): one line naming the store and the first file that differs."""
    root = out / STORE
    fix = f"delete {root} and rerun the same command (it is made again)"
    try:
        recorded = json.loads((out / DIGEST).read_text(encoding="utf-8"))["files"]
        if not isinstance(recorded, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(root, None, f"no readable record of its digest ({DIGEST})",
                         fix) from None
    metadata = {p.relative_to(root).as_posix() for p in root.rglob("zarr.json")}
    for name in sorted(metadata - set(recorded)):
        raise InputError(root, name, "metadata not in the store's digest record", fix)
    for name, digest in recorded.items():
        if not isinstance(name, str) or ".." in name or _digest(root / name) != digest:
            raise InputError(root, str(name), "does not match the digest recorded when the "
                             "store was made (metadata or coordinates changed)", fix)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            _fsync(Path(dirpath) / f)
        _fsync(Path(dirpath))


def read_attrs(store: Path) -> dict:
    try:
        return json.loads((store / "zarr.json").read_text(encoding="utf-8"))["attributes"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(store, None, "not a sweep store (no readable zarr.json)",
                         "give another --out directory, or delete this one") from exc


def check(store: Path, spec: Spec, parts: dict[str, str]) -> None:
    """Refuse a store made by another spec, scenario, model or package versions."""
    attrs = read_attrs(store)
    if attrs.get("fingerprint") == sha(parts):
        return
    old = attrs.get("fingerprint_parts")
    if not isinstance(old, dict):
        raise InputError(store, None, "not a sweep store (no fingerprint)",
                         "give another --out directory, or delete this one")
    differ = [k for k in parts if old.get(k) != parts[k]]
    key = differ[0]
    if "spec" in differ:
        before = attrs.get("spec", {})
        key = next((k for k in spec.canonical if before.get(k) != spec.canonical[k]), "spec")
        if key == "levers":
            key = "levers" if spec.design == "grid" else "lever_sample"
    raise InputError(spec.path, key, f"the store in --out was made by a different "
                     f"{', '.join(differ)} (fingerprint {attrs.get('fingerprint', '?')[:8]}, "
                     f"this spec {sha(parts)[:8]})",
                     "rerun with what made it, or give another --out directory")


def marker(out: Path, block: int) -> Path:
    return out / MARKERS / f"{block:06d}.done"


def _digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def chunk_files(out: Path, names: list[str], block: int, ndims: dict[str, int]) -> dict[str, Path]:
    """The chunk file of each array holding ``block`` (Zarr v3 default chunk keys)."""
    return {name: out / STORE / name / "c" / "/".join([str(block)] + ["0"] * (ndims[name] - 1))
            for name in names}


def _ndims(out: Path) -> dict[str, int]:
    """Dimensions of every array chunked along ``run`` (from the store's metadata)."""
    meta = json.loads((out / STORE / "zarr.json").read_text(encoding="utf-8"))
    arrays = meta.get("consolidated_metadata", {}).get("metadata", {})
    return {name: len(m["shape"]) for name, m in arrays.items()
            if m.get("node_type") == "array" and (m.get("dimension_names") or [None])[0] == "run"}


def _write_marker(out: Path, block: int, fingerprint: str, runs: tuple[int, int],
                  digests: dict[str, str]) -> None:
    path = marker(out, block)
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps({"block": block, "runs": list(runs), "fingerprint": fingerprint,
                       "chunks": digests}, sort_keys=True) + "\n"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def completed(out: Path, fingerprint: str, n_blocks: int, notice=None,
              forget: bool = True) -> set[int]:
    """Blocks whose marker matches the store and whose chunks match the marker's digests.

    A marked block whose chunk is missing, truncated, swapped or altered is not done:
    ``notice`` is called with a one-line reason and, with ``forget``, its marker is
    removed (so a resumed sweep recomputes it).
    """
    verify_whole(out)
    done: set[int] = set()
    ndims = _ndims(out)
    for b in range(n_blocks):
        path = marker(out, b)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint \
                or record.get("block") != b or not isinstance(record.get("chunks"), dict):
            continue
        files = chunk_files(out, sorted(ndims), b, ndims)
        bad = next((name for name in sorted(ndims)
                    if record["chunks"].get(name) != _digest(files[name])), None)
        if bad is None:
            done.add(b)
            continue
        reason = "is missing" if not files[bad].is_file() else "does not match its digest"
        if forget:
            path.unlink(missing_ok=True)
        if notice is not None:
            notice(f"{files[bad]} {reason}: block {b} is recomputed")
    return done


class Writer:
    """Writes blocks into the pre-allocated store, then their markers (with chunk digests)."""

    def __init__(self, out: Path, spec: Spec, fingerprint: str):
        import zarr

        self.out, self.spec, self.fingerprint = out, spec, fingerprint
        self.store = out / STORE
        group = zarr.open_group(self.store, mode="r+")
        names = [name for name, *_ in layout(spec, [])]
        self.arrays = {name: group[name].with_config({"write_empty_chunks": True})
                       for name in names}
        self.ndims = _ndims(out)

    def write(self, result: dict) -> None:
        spec, b = self.spec, result["block"]
        start, stop = spec.block_runs(b)
        runs = np.arange(start, stop)
        values = dict(result["arrays"], setting=runs // spec.futures, future=runs % spec.futures)
        for name, arr in self.arrays.items():
            v = values[name]
            if v.shape[0] != stop - start:
                raise RuntimeError(f"block {b}: '{name}' has {v.shape[0]} runs, not "
                                   f"{stop - start}")
            arr[start:stop] = v
        files = chunk_files(self.out, sorted(self.ndims), b, self.ndims)
        for chunk in files.values():  # flushed before the marker says done
            if chunk.is_file():
                _fsync(chunk)
        digests = {name: _digest(path) for name, path in files.items()}
        _write_marker(self.out, b, self.fingerprint, (start, stop), digests)


def clean_partials(out: Path) -> None:
    """Remove temporary files a killed writer may have left (Zarr's and the markers')."""
    shutil.rmtree(out / f".{STORE}.creating", ignore_errors=True)
    store = out / STORE
    if store.is_dir():
        for p in store.rglob("*.partial"):
            p.unlink(missing_ok=True)
    markers = out / MARKERS
    if markers.is_dir():
        for p in markers.glob(".*.tmp"):
            p.unlink(missing_ok=True)
