"""The mixing chains' kernels (simulator/calibrate/kernels.py) leave the calibration target
invariant: measured on a small target whose exact sample is known (no engine, seconds)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.calibrate import kernels, priors

LOWER = np.array([0.0, 1.0, -2.0, 10.0, 0.0])
UPPER = np.array([1.0, 3.0, 2.0, 20.0, 5.0])
DEFAULT = np.array([0.3, 2.5, 0.0, 12.0, 4.0])


def _z(x):
    """Two figures: the first parameter below 60% of its range (|z| <= 3), and the second
    and third within 0.2 range widths of each other (a correlated, determined direction)."""
    w = UPPER - LOWER
    r = (x - LOWER) / w
    return np.column_stack([10 * r[:, 0] - 3, 15 * (r[:, 1] - r[:, 2])])


def _exact(prior, n, rng):
    """The target's exact sample: prior draws no figure rules out (rejection)."""
    out = []
    while sum(len(o) for o in out) < n:
        x = priors.draw(prior, rng.random((20 * n, LOWER.size)), LOWER, UPPER, DEFAULT)
        out.append(x[np.max(np.abs(_z(x)), axis=1) <= 3])
    return np.concatenate(out)[:n]


@pytest.mark.parametrize("prior", priors.PRIORS)
def test_normal_coordinates_round_trip_and_are_standard_normal(prior):
    rng = np.random.default_rng(0)
    x = priors.draw(prior, rng.random((20000, LOWER.size)), LOWER, UPPER, DEFAULT)
    u = priors.to_normal(prior, x, LOWER, UPPER, DEFAULT)
    np.testing.assert_allclose(priors.from_normal(prior, u, LOWER, UPPER, DEFAULT), x,
                               atol=1e-9 * (UPPER - LOWER).max())
    assert np.abs(u.mean(axis=0)).max() < 0.03 and np.abs(u.std(axis=0) - 1).max() < 0.03


@pytest.mark.parametrize("prior", priors.PRIORS)
def test_kernels_keep_the_target(prior, monkeypatch):
    """Chains started on an exact sample of prior x [no figure beyond 3 sd] still sample
    it after 60 calls of every kernel (means, sds and the constrained tail within 5 Monte
    Carlo standard errors of the exact sample's); a kernel with a wrong acceptance
    drifts away (the refresh move with the walks' prior ratio, or a walk without it)."""
    monkeypatch.setattr(kernels, "WEIGHTS", np.array([0.3, 0.3, 0.4]))  # every kernel
    rng = np.random.default_rng(1)
    n = 600
    start = _exact(prior, n, rng)
    archive = priors.to_normal(prior, _exact(prior, 400, rng), LOWER, UPPER, DEFAULT)
    evaluations = []

    def evaluate(x):
        evaluations.append(len(x))
        return _z(x)

    sampler = SimpleNamespace(t=SimpleNamespace(lower=LOWER, upper=UPPER, default=DEFAULT),
                              evaluate=evaluate)
    chains = kernels.Chains(sampler, start, _z(start), np.array([prior] * n),
                            np.arange(n) % 2, rng)
    chains.geometry({key: archive for key in chains.keys})
    assert all(1 <= r < LOWER.size for r in chains.rank.values())
    for r in range(60):
        chains.round()
        if r == 9:
            chains.tune()
    moved = chains.acceptance(np.ones(n, dtype=bool))
    assert all(0 < a < 1 for a in moved.values()), moved
    end = chains.x
    assert np.max(np.abs(_z(end))) <= 3
    reference = _exact(prior, 20000, rng)
    se = reference.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(end.mean(axis=0) - reference.mean(axis=0)) < 5 * se)
    assert np.all(np.abs(end.std(axis=0) - reference.std(axis=0)) < 5 * se)
    tail = np.mean(end[:, 0] < LOWER[0] + 0.15), np.mean(reference[:, 0] < LOWER[0] + 0.15)
    assert abs(tail[0] - tail[1]) < 5 * np.sqrt(tail[1] * (1 - tail[1]) / n)
