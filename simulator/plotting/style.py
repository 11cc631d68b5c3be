"""Fonts, palette and file formats shared by every chart.

Chinese text is set in Noto Sans SC, shipped by the PyPI package
``pylopdf-fonts-zh-cn`` (SIL Open Font License 1.1), a dependency of plansim, so
a fresh ``pip install`` brings it. The font is found through that package's
code, never through a system path, and is placed after DejaVu Sans in
matplotlib's font family list: Latin text keeps matplotlib's font and every
Chinese glyph falls back to Noto Sans SC.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from ..errors import PlansimError

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
           "yellow": "#F0E442", "vermillion": "#D55E00", "purple": "#CC79A7",
           "black": "#000000", "grey": "#999999"}
SEQUENTIAL = "cividis"  # colour-blind-safe, perceptually uniform
DIVERGING = "PuOr"
FORMATS = ("png", "svg")
DPI = 300
FONT_PACKAGE = "pylopdf-fonts-zh-cn"


class FontUnavailable(PlansimError):
    """No CJK font could be found: Chinese charts would print empty boxes."""


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Register the packaged CJK font with matplotlib; its family name, or None."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():
        return None
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def use(lang: str = "en") -> None:
    """Set matplotlib's fonts for ``lang``; Chinese without a CJK font raises one line."""
    family = cjk_font()
    if family is None:
        if lang == "zh":
            raise FontUnavailable(
                f"font: no CJK font found (the {FONT_PACKAGE} package is missing); fix: "
                f"pip install {FONT_PACKAGE}==0.1.1, or draw in English with --lang en")
        return
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]
    matplotlib.rcParams["svg.fonttype"] = "path"  # an SVG that needs no font to open
    matplotlib.rcParams["axes.unicode_minus"] = False


def save(fig, path: Path | str, formats=FORMATS, dpi: int = DPI) -> Path:
    """Write a figure as PNG (``dpi``) and SVG beside it through the one atomic writer
    (:func:`simulator.running.outputs.atomic_write`: no symbolic link or device is followed, no
    partial file is left), close it; the PNG's path."""
    import matplotlib.pyplot as plt

    from ..running import outputs

    path = Path(path)
    written = []
    try:
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            outputs.atomic_write(target, lambda p, fmt=fmt: fig.savefig(
                p, dpi=dpi, bbox_inches="tight", format=fmt))
            written.append(target)
    finally:
        plt.close(fig)
    return written[0]
