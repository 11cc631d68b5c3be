"""Tornado: one-at-a-time swings of each input from its low to its high setting.

The design (:func:`design`) is the base case, then each input at its low and at its
high setting with every other input at base: ``1 + 2 D`` runs. :func:`analyze`
turns the outputs of those runs into swings, largest first.
"""

from __future__ import annotations

import numpy as np


def design(base: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Rows: base, then input 0 low, input 0 high, input 1 low, ... (``(1 + 2D, D)``)."""
    d = base.size
    x = np.tile(np.asarray(base, dtype=float), (1 + 2 * d, 1))
    for i in range(d):
        x[1 + 2 * i, i] = low[i]
        x[2 + 2 * i, i] = high[i]
    return x


def analyze(y: np.ndarray) -> dict[str, np.ndarray | float]:
    """Base output, output at each input's low and high setting, the swing and the order.

    ``order`` lists input positions by decreasing swing ``|high - low|`` (ties keep
    the inputs' order).
    """
    y = np.asarray(y, dtype=float)
    low, high = y[1::2], y[2::2]
    swing = np.abs(high - low)
    return {"base": float(y[0]), "low": low, "high": high, "swing": swing,
            "order": np.argsort(-swing, kind="stable")}
