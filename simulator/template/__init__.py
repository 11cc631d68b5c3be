"""``plansim init DIR``: a new plan project that runs as is, with comments on what to replace.

The files of this folder are the template: a small example town (population,
economy, green space) with its model, indicators, history, goals, shared
uncertainties and the plan's scenario. :func:`write` lays them out as a project
(see :mod:`simulator.inputs.project`) in one step: everything is written into a
temporary folder beside ``DIR`` and renamed into place, so nothing is
half-written and nothing existing is replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InputError

HERE = Path(__file__).resolve().parent
FILES = {  # template file -> place in the new project
    "plansim.toml": "plansim.toml",
    "town.mdl": "models/town.mdl",
    "indicators.toml": "models/indicators.toml",
    "history.csv": "models/data/history.csv",
    "goals.toml": "scenarios/goals.toml",
    "uncertainties.toml": "scenarios/uncertainties.toml",
    "plan.toml": "scenarios/plan.toml",
}


def write(directory: Path | str) -> list[Path]:
    """Write a new project into ``directory`` (new, or an empty folder); return its files."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(target, None, "exists and is not an empty folder",
                         "give the name of a new folder")
    parent = target.absolute().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(target, None, f"cannot create a folder in {parent}",
                         "give a folder in a writable directory")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        for source, place in FILES.items():
            (staging / place).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / source, staging / place)
        mode = 0o777 & ~_umask()
        staging.chmod(mode)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / place for place in FILES.values()]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
