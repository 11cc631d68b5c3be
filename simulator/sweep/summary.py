"""``summary.json`` of a finished sweep: joint probability per lever setting, the best one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..analyze import reachability
from ..errors import InputError
from . import store
from .store import STORE

SUMMARY = "summary.json"


def _probability(k: int, n: int) -> dict:
    lo, hi = reachability.wilson(k, n)
    return {"value": (k / n) if n else None, "interval": [lo, hi]}


def summarize(out: Path | str, check: bool = True) -> dict:
    """``summary.json`` of a finished store.

    Per setting: plausible runs, the joint probability (Wilson 95%) and each goal's
    probability, counting plausible runs only. The best setting has the highest joint
    probability; ties (say, all zero) go to the highest mean number of goals met, then
    the lowest index. Reads the ``(run,)`` flags and ``met`` one block at a time.
    With ``check``, every block must be marked and match its chunk digests
    (:func:`simulator.sweep.store.completed`); otherwise InputError.
    """
    import zarr

    out = Path(out)
    attrs = store.read_attrs(out / STORE)
    if check:
        n_blocks = int(attrs.get("blocks", 0))
        problems: list[str] = []
        done = store.completed(out, attrs.get("fingerprint"), n_blocks, problems.append,
                               forget=False)
        if len(done) < n_blocks:
            first = problems[0] if problems else f"block {min(set(range(n_blocks)) - done)} " \
                "is not finished"
            raise InputError(out / STORE, None, first.replace(" is recomputed", " is not "
                             "usable"), "rerun the `plansim sweep` command to recompute it")
    g = zarr.open_group(out / STORE, mode="r")
    futures, n_settings = int(attrs["futures"]), int(attrs["settings"])
    runs, block_size = int(attrs["runs"]), int(attrs["block_size"])
    lever_names = list(attrs["levers"])
    goal_ids = [str(x) for x in g["goal"][:]]
    plausible = g["plausible"][:]
    joint = g["joint"][:]
    counted = plausible.reshape(n_settings, futures).sum(axis=1)
    met_joint = (joint & plausible).reshape(n_settings, futures).sum(axis=1)
    del joint
    met_counts = np.zeros((n_settings, len(goal_ids)), dtype=np.int64)
    met_array = g["met"]
    for start in range(0, runs, block_size):
        stop = min(start + block_size, runs)
        ok = plausible[start:stop]
        setting = np.arange(start, stop)[ok] // futures
        np.add.at(met_counts, setting, met_array[start:stop][ok].astype(np.int64))
    lever_values = {k: g[k][0::futures] for k in lever_names}  # one value per setting
    rows = []
    for i in range(n_settings):
        n = int(counted[i])
        rows.append({
            "setting": i,
            "levers": {k: float(lever_values[k][i]) for k in lever_names},
            "plausible_runs": n, "joint_runs": int(met_joint[i]),
            "joint_probability": _probability(int(met_joint[i]), n),
            "goals_met_mean": float(met_counts[i].sum() / n) if n else None,
            "goals": {gid: (float(met_counts[i, j] / n) if n else None)
                      for j, gid in enumerate(goal_ids)},
        })

    def rank(row):
        p, m = row["joint_probability"]["value"], row["goals_met_mean"]
        return (-1.0 if p is None else p, -1.0 if m is None else m, -row["setting"])

    best = max(rows, key=rank)
    i = best["setting"]
    met = g["met"][i * futures:(i + 1) * futures]
    evaluation = xr.Dataset({"met": (("run", "goal"), met)}, coords={"goal": goal_ids})
    ok = xr.DataArray(plausible[i * futures:(i + 1) * futures], dims="run")
    s = reachability.summarize(evaluation, ok)
    keep = ("project", "model_file", "model_hash", "seed", "scenario", "scenario_file",
            "scenario_hash", "goals_hash", "calibration_hash", "spec_file", "spec_hash",
            "fingerprint", "fingerprint_parts", "description", "spec")
    total = int(plausible.sum())
    outside = int((~g["in_domain"][:]).sum()) if "in_domain" in g else 0
    return {
        **{k: attrs[k] for k in keep if k in attrs},
        **{k: v for k, v in attrs.items() if k.startswith("version_")},
        "runs": runs, "futures": futures, "settings": n_settings,
        "blocks": int(attrs["blocks"]), "block_size": block_size,
        "levers": lever_names, "fixed_levers": attrs["fixed_levers"],
        "plausible_runs": total, "implausible_runs": runs - total,
        "outside_domain_runs": outside,
        "results": rows,
        "best_setting": {
            **{k: v for k, v in best.items() if k != "goals"},
            "goals": {k: {"value": v["probability"], "interval": v["interval"]}
                      for k, v in s["goals"].items()},
            "binding_goals": s["binding_goals"][:5],
            "held_back_by": s["held_back_by"][:6],
        },
    }
