"""What one audit check reports: the figures involved, the arithmetic, the gap, two sentences."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

# Most severe first. Only "consistent" is not a finding.
VERDICTS = {
    "impossible": "the goals cannot all hold, by arithmetic alone",
    "mismatch": "figures that should agree do not, beyond their rounding",
    "redundant": "one goal implies another: the weaker one adds nothing (and, monitored "
                 "alone, misleads)",
    "departs": "a goal needs a pace far from its indicator's 2000-2005 pace",
    "consistent": "checked: the figures agree",
}


@dataclass(frozen=True)
class Item:
    """A goal, a history figure or a stated rate that a check involves."""

    kind: str  # "goal", "figure" or "rate"
    id: str
    statement: str
    section: str
    quote: str


@dataclass(frozen=True)
class Finding:
    """The result of one check over a few goals or figures."""

    check: str
    verdict: str
    items: tuple[Item, ...]
    arithmetic: str
    gap: float  # how far apart, in gap_unit; 0 when consistent
    gap_unit: str
    en: str
    zh: str
    redundant: tuple[str, ...] = ()  # goal ids another goal of the finding implies
    numbers: dict = field(default_factory=dict)  # the arithmetic's key numbers, by name

    def __post_init__(self):
        clean = {k: (float(v) if math.isfinite(v) else None) for k, v in self.numbers.items()}
        object.__setattr__(self, "numbers", clean)
        unique = tuple(dict.fromkeys(self.items))
        if unique != self.items:
            object.__setattr__(self, "items", unique)
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if not math.isfinite(self.gap):
            raise ValueError(f"{self.check}: non-finite gap")

    @property
    def flagged(self) -> bool:
        return self.verdict != "consistent"

    @property
    def goals(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items if i.kind == "goal")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["items"] = [asdict(i) for i in self.items]
        out["redundant"] = list(self.redundant)
        return out


def num(x: float, digits: int = 5) -> str:
    """A number for the reader: ``13768``, ``169.54``, ``6.8236`` -> ``6.8236`` (5 digits)."""
    if x == math.inf or x == -math.inf:
        return "∞" if x > 0 else "−∞"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def pct(x: float) -> str:
    """A rate in %/yr to two decimals."""
    return f"{x:.2f}"


def spread(f, values: list[float], roundings: list[float]) -> tuple[float, float]:
    """Smallest and largest ``f`` over every corner of ``values ± roundings`` (monotone f)."""
    if len(values) > 12:
        raise ValueError("too many inputs for corner evaluation")
    outs = [f([v + s * r for v, r, s in zip(values, roundings, signs)])
            for signs in itertools.product((-1.0, 1.0), repeat=len(values))]
    return min(outs), max(outs)


def growth(start: float, end: float, years: int) -> float:
    """Compound growth in %/yr; NaN when the ratio is not positive."""
    if start <= 0 or end <= 0 or years <= 0:
        return math.nan
    return 100.0 * ((end / start) ** (1.0 / years) - 1.0)
