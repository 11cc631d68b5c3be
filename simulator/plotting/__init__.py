"""Charts for a briefing: goal probabilities, sensitivity, indicator fans (matplotlib).

Every function takes data produced by the pipeline and returns a
``matplotlib.figure.Figure``; :func:`save` writes it as PNG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

from .fan import fan
from .probabilities import probabilities
from .sensitivity import heatmap

__all__ = ["fan", "heatmap", "probabilities", "save"]


def save(fig, path: Path | str, dpi: int = 150) -> Path:
    """Write a figure as PNG (parent directories created) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
