"""History matching in waves on the simulator itself, ending in a sample of the
non-implausible space.

The target is a prior on the history space restricted to the parameter sets no figure
rules out: ``prior(x) * [max_i |z_i(x)| <= CUTOFF]`` (``z``: each figure's error in sd of
the error model with its discrepancy). The data enter once, as this cut-off; nothing is
screened afterwards. Sampling is a sequential Monte Carlo sampler over a decreasing
sequence of cut-offs (the waves; Del Moral, Doucet & Jasra 2012's adaptive ABC-SMC):

1. wave 0: ``n`` sets drawn from the prior, each run on the vectorised engine;
2. each wave's cut-off is the median implausibility of the current sets (never below
   ``CUTOFF``): the sets above it are ruled out, the survivors resampled to ``n``
   (within each of ``ISLANDS`` independent sub-populations) and refocused by
   Metropolis moves that keep ``prior x [implausibility <= cut-off]`` invariant: a
   Gaussian random walk shaped by the island's covariance, scaled toward an
   acceptance of ``ACCEPT``, repeated until a particle has moved with probability
   ``MOVED``;
3. the last wave has cut-off ``CUTOFF``: its population is the start and the proposal
   archive of :mod:`.mixing`'s chains, which sample the target and prove it (the
   waves' moves alone do not: their sets stay correlated with their ancestors).

Every move of every particle is one run of one engine call, so a wave costs a few
engine calls of ``n`` runs. The simulator is cheap enough (thousands of 2000-2005
runs a second) that no emulator stands between the history and the sets.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..errors import PlansimError
from ..inputs import history
from . import priors


class CalibrationFailed(PlansimError):
    """The history rules out every parameter set the sampler reached."""


ISLANDS = 4
KEEP = 0.5  # share of sets a wave keeps while the cut-off is above CUTOFF
ACCEPT = 0.25
MOVED = 0.95
MIN_MOVES, MAX_MOVES = 2, 25
MAX_WAVES = 200
STALL = 5  # waves without a 0.1% lower cut-off: the history rules out the whole prior


def implausibility(z: np.ndarray) -> np.ndarray:
    """Each set's largest |z| (inf outside the model's domain)."""
    m = np.max(np.abs(z), axis=1)
    return np.where(np.isfinite(m), m, np.inf)


class _Sampler:
    def __init__(self, target, prior: str, rng: np.random.Generator, progress=None):
        self.t, self.prior, self.rng, self.progress = target, prior, rng, progress
        self.evaluations = 0

    def logprior(self, x):
        return priors.logpdf(self.prior, x, self.t.lower, self.t.upper, self.t.default)

    def evaluate(self, x):
        z = self.t.standardized(x) if x.shape[0] else np.zeros((0, len(self.t.figures)))
        self.evaluations += x.shape[0]
        if self.progress is not None:
            self.progress(x.shape[0])
        return z

    def step(self, x, z, m, cutoff, island, lam):
        """One sweep of differential-evolution moves (ter Braak 2006) over every particle;
        returns the new state and the acceptance.

        Each island is split at random in two halves; each particle of one half proposes
        ``x + gamma (x_a - x_b)`` with ``a``, ``b`` two particles of the other half (and a
        jitter of ``1e-4`` range widths), which follows the shape of the non-implausible
        space as the population sees it; then the halves swap. ``gamma`` is
        ``sqrt(lam / 2)``, and ``1`` in a tenth of the proposals (jumps between modes)."""
        n = x.shape[0]
        half = self.rng.random(n) < 0.5
        accepted = 0
        for moving in (half, ~half):
            prop = x.copy()
            for g in np.unique(island):
                mine = np.flatnonzero(moving & (island == g))
                others = np.flatnonzero(~moving & (island == g))
                if mine.size == 0 or others.size < 2:
                    continue
                a = others[self.rng.integers(0, others.size, mine.size)]
                b = others[(np.searchsorted(others, a)
                            + self.rng.integers(1, others.size, mine.size)) % others.size]
                gamma = np.where(self.rng.random(mine.size) < 0.1, 1.0, math.sqrt(lam / 2))
                prop[mine] = (x[mine] + gamma[:, None] * (x[a] - x[b])
                              + 1e-4 * self.t.width * self.rng.standard_normal((mine.size,
                                                                                x.shape[1])))
            log_u = np.log(self.rng.random(n))
            cand = np.flatnonzero(moving & (log_u < self.logprior(prop) - self.logprior(x)))
            zc = self.evaluate(prop[cand])
            ok = implausibility(zc) <= cutoff
            moved = cand[ok]
            x, z, m = x.copy(), z.copy(), m.copy()
            x[moved], z[moved], m[moved] = prop[moved], zc[ok], implausibility(zc[ok])
            accepted += moved.size
        return x, z, m, accepted / n


def sample(target, prior: str, n: int, seed, progress=None, islands: int = ISLANDS,
           keep: float = KEEP, max_moves: int = MAX_MOVES) -> dict:
    """Run the waves down to the cut-off ``CUTOFF``; the population (``values``, ``z``,
    ``island``) and the waves' log. :mod:`.mixing` samples the target from it."""
    rng = np.random.default_rng(seed)
    s = _Sampler(target, prior, rng, progress)
    k = len(target.names)
    x = priors.draw(prior, rng.random((n, k)), target.lower, target.upper, target.default)
    z = s.evaluate(x)
    m = implausibility(z)
    island = np.arange(n) % islands
    lam = 2.38 ** 2 / k
    log = []
    for _ in range(MAX_WAVES):
        finite = m[np.isfinite(m)]
        if finite.size == 0:
            raise CalibrationFailed("every set of the prior leaves the model's domain")
        cutoff = max(history.CUTOFF, min(float(np.quantile(m, keep)), float(finite.max())))
        alive = m <= cutoff
        idx = np.empty(n, dtype=int)
        for g in range(islands):
            members = np.flatnonzero(island == g)
            ok = members[alive[members]]
            idx[members] = rng.choice(ok if ok.size else np.flatnonzero(alive), members.size)
        x, z, m = x[idx], z[idx], m[idx]
        moves, accepted, i = MIN_MOVES, [], 0
        while i < moves:
            x, z, m, acc = s.step(x, z, m, cutoff, island, lam)
            accepted.append(acc)
            lam *= math.exp(acc - ACCEPT)
            if i == 0:
                moves = max_moves if acc <= 0 else int(np.clip(
                    math.ceil(math.log(1 - MOVED) / math.log(max(1 - acc, 1e-12))),
                    min(MIN_MOVES, max_moves), max_moves))
            i += 1
        log.append({"wave": len(log) + 1, "cutoff_sd": cutoff,
                    "non_implausible_fraction": float(alive.mean()), "moves": moves,
                    "acceptance": float(np.mean(accepted)), "evaluations": s.evaluations})
        if cutoff <= history.CUTOFF:
            break
        if len(log) > STALL and log[-1 - STALL]["cutoff_sd"] - cutoff < 1e-3 * cutoff:
            raise CalibrationFailed(
                f"no sampled parameter set reproduces the history within {history.CUTOFF:g} "
                f"sd: the waves' cut-off stalls at {cutoff:.4g} sd; see `plansim calibrate "
                "--report --dry-run` and the project's observation-error file")
    else:
        raise CalibrationFailed(f"the cut-off did not reach {history.CUTOFF:g} sd in "
                                f"{MAX_WAVES} waves (last {log[-1]['cutoff_sd']:.3g} sd)")
    return {"values": x, "z": z, "island": island, "waves": log, "keep": keep,
            "max_moves": max_moves, "particles": n, "islands": islands,
            "evaluations": s.evaluations, "proposal_scale": lam}


def _rank_normal(draws: np.ndarray) -> np.ndarray:
    r = stats.rankdata(draws, axis=None).reshape(draws.shape)
    return stats.norm.ppf((r - 0.375) / (draws.size + 0.25))


def _split(draws: np.ndarray) -> np.ndarray:
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]])


def rhat(draws: np.ndarray) -> float:
    """Rank-normalised split-R-hat of ``(chain, draw)`` (bulk and folded tail, the larger)."""
    def basic(d):
        d = _split(d)
        n = d.shape[1]
        w = np.mean(np.var(d, axis=1, ddof=1))
        b = n * np.var(np.mean(d, axis=1), ddof=1)
        return float(np.sqrt(((n - 1) / n * w + b / n) / w)) if w > 0 else float("nan")

    folded = np.abs(draws - np.median(draws))
    return max(basic(_rank_normal(draws)), basic(_rank_normal(folded)))


def ess(draws: np.ndarray, tail: bool = False) -> float:
    """Bulk (or folded-tail) effective sample size of ``(chain, draw)`` draws, Geyer's initial
    monotone sequence over all chains (Vehtari et al. 2021, as Stan and ArviZ)."""
    d = _rank_normal(np.abs(draws - np.median(draws)) if tail else draws)
    d = _split(d)
    m, n = d.shape
    centred = d - d.mean(axis=1, keepdims=True)
    f = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :n] / n
    w = np.mean(acov[:, 0] * n / (n - 1))
    var_plus = w * (n - 1) / n + np.var(d.mean(axis=1), ddof=1)
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    pairs = rho[:-1:2] + rho[1::2]
    stop = np.flatnonzero(pairs < 0)
    pairs = pairs[:stop[0]] if stop.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = max(-1.0 + 2.0 * float(np.sum(pairs)), 1.0 / math.log10(m * n))
    return float(m * n / tau)
