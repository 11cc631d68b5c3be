"""What every result file records: model hash, scenario, seed and package versions."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

PACKAGES = ("plansim", "pysd", "numpy", "scipy", "xarray", "pandas", "SALib")


def file_hash(path: Path | str) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on, keyed ``version_<name>``."""
    out = {}
    for name in PACKAGES:
        try:
            out[f"version_{name.lower()}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[f"version_{name.lower()}"] = "not installed"
    return out
