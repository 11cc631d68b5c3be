"""The mixing chains' moves: Metropolis kernels on ``prior(x) * [max_i |z_i(x)| <= CUTOFF]``
in the prior's standard-normal coordinates, several steps per engine call.

Each chain lives in ``u = Phi^-1(F(x))`` (:func:`.priors.to_normal`, per parameter): under
its prior ``u ~ N(0, I)``, and the target is ``N(u; 0, I) * [x(u) non-implausible]``. Each
step is one of three kernels, drawn at random with fixed weights ``WEIGHTS`` (independently
of the state, so the mixture leaves the target invariant; Tierney 1994). By default the
full walk takes every step: measured on model v3, the other two, accepted more often,
end a chain's prefetched run of proposals early with a small move and cost engine calls
per autocorrelation time (``models/CALIBRATION.md``); they stay for models where the
history informs few directions:

* ``refresh`` - the directions the history barely informs get a Crank-Nicolson move
  ``w' = sqrt(1 - beta^2) w + beta xi`` (``xi ~ N(0, I)``, ``w`` the coordinates of ``u``
  outside the likelihood-informed subspace below). It is reversible for the prior, so its
  acceptance is exactly the indicator of the new point (Cotter, Roberts, Stuart & White
  2013's pCN): no step shrinks with the dimension; ``beta = 1`` draws them afresh from
  their prior.
* ``subspace`` - a random walk inside the likelihood-informed subspace along differences
  of two archived states projected onto it (DE-MCz, ter Braak & Vrugt 2008, restricted to
  the directions the history determines; Cui, Law & Marzouk 2016's split of the space).
* ``full`` - the same random walk in every direction (what the split misses where the
  informed directions turn).

The likelihood-informed subspace of a (prior, island) is spanned by the leading
eigenvectors of the mean ``J' J`` over states of its own archive (``J``: Jacobian of the
errors in sd with respect to ``u``, central differences; Cui, Martin, Marzouk et al. 2014):
an eigenvalue ``lambda`` says a move of one prior sd along it changes the errors by
``sqrt(lambda)`` sd, and the subspace keeps those with ``lambda >= INFORMED``. The kernels
use only their own island's archive and subspace and their own step sizes, so the islands
stay independent replicates (their agreement is the between-island R-hat).

A round draws each chain's next ``TRIES`` proposals as if each were rejected (all from the
current state), evaluates them in one engine call, and the chain takes its steps in order
up to the first acceptance: exactly the sequential chain (Brockwell 2006's prefetching
along the rejection path).
"""

from __future__ import annotations

import math

import numpy as np

from ..inputs import history
from . import priors, waves

KINDS = ("refresh", "subspace", "full")
WEIGHTS = np.array([0.0, 0.0, 1.0])  # share of steps of each kernel (measured: CALIBRATION.md)
TRIES = 24  # proposals per chain per engine call: the chain's next steps while it rejects
ACCEPT = {"refresh": 0.05, "subspace": 0.05, "full": 0.05}  # what the warm-up tunes toward
INFORMED = 1.0  # eigenvalue (sd^2 per prior sd^2) from which a direction is informed
POINTS = 6  # archive states whose Jacobians make a subspace
STEP = 1e-3  # central-difference step, prior sd
JITTER = 1e-4  # prior sd: the random walks' small Gaussian term


class Chains:
    """All chains of all priors and islands, advanced together, one engine call per round."""

    def __init__(self, sampler, x, z, prior_of, island_of, rng):
        self.s, self.z, self.rng = sampler, z, rng
        self.prior_of, self.island_of = prior_of, island_of
        self.x = x.copy()
        self.u = np.empty_like(x)
        t = sampler.t
        for p in priors.PRIORS:
            mine = prior_of == p
            self.u[mine] = priors.to_normal(p, x[mine], t.lower, t.upper, t.default)
        self.keys = sorted({(p, int(g)) for p, g in zip(prior_of, island_of)})
        self.members = {key: np.flatnonzero((prior_of == key[0]) & (island_of == key[1]))
                        for key in self.keys}
        k = x.shape[1]
        self.scale = {(key, kind): (0.5 if kind == "refresh" else 2.38 / math.sqrt(2 * k))
                      for key in self.keys for kind in KINDS}
        self.archives, self.basis, self.rank = {}, {}, {}
        self.steps = np.zeros(x.shape[0], dtype=int)
        self.accepted = np.zeros(x.shape[0], dtype=int)
        self.tried = np.zeros((x.shape[0], len(KINDS)), dtype=int)
        self.took = np.zeros((x.shape[0], len(KINDS)), dtype=int)

    def _to_x(self, p, u):
        t = self.s.t
        return priors.from_normal(p, u, t.lower, t.upper, t.default)

    def geometry(self, archives: dict):
        """Each (prior, island)'s archive of ``u`` states and its likelihood-informed
        subspace, from the Jacobians at ``POINTS`` of the archive's states (one call)."""
        k = self.u.shape[1]
        self.archives.update(archives)
        if WEIGHTS[0] + WEIGHTS[1] == 0:  # only the full walk: no subspace to measure
            for key in self.keys:
                self.basis[key], self.rank[key] = np.eye(k), k
            return
        eye = np.eye(k) * STEP
        sets, at = [], {}
        for key in self.keys:
            arch = archives[key]
            pts = arch[self.rng.choice(arch.shape[0], min(POINTS, arch.shape[0]),
                                       replace=False)]
            both = np.concatenate([pts[:, None, :] + eye, pts[:, None, :] - eye], axis=1)
            at[key] = (len(sets), pts.shape[0])
            sets.append(self._to_x(key[0], both.reshape(-1, k)))
        z = self.s.evaluate(np.concatenate(sets)) if sets else None
        z = np.where(np.isfinite(z), z, 0.0)
        for key in self.keys:
            first, m = at[key]
            start = sum(s.shape[0] for s in sets[:first])
            zz = z[start:start + m * 2 * k].reshape(m, 2, k, -1)
            jac = (zz[:, 0] - zz[:, 1]) / (2 * STEP)  # (point, parameter, figure)
            fisher = np.einsum("pkf,plf->kl", jac, jac) / m
            lam, vec = np.linalg.eigh(fisher)
            order = np.argsort(-lam)
            self.basis[key] = vec[:, order]
            self.rank[key] = int(np.clip((lam >= INFORMED).sum(), 1, k - 1))

    def round(self, record=None):
        """Every chain's next steps, up to its first acceptance or ``TRIES`` steps;
        ``record(chain, step, x, z)`` gets the state at each step divisible by the
        caller's ``thin``."""
        rng = self.rng
        n, k = self.u.shape
        kind = rng.choice(len(KINDS), (n, TRIES), p=WEIGHTS)
        walk_scale = np.exp(rng.uniform(-1.0, 1.0, (n, TRIES)))
        xi = rng.standard_normal((n, TRIES, k))
        prop = np.repeat(self.u[:, None, :], TRIES, axis=1)
        for key in self.keys:
            idx = self.members[key]
            arch, basis, r = self.archives[key], self.basis[key], self.rank[key]
            a = rng.integers(0, arch.shape[0], (idx.size, TRIES))
            b = (a + rng.integers(1, arch.shape[0], (idx.size, TRIES))) % arch.shape[0]
            diff = arch[a] - arch[b]
            u = self.u[idx][:, None, :]
            informed, rest = basis[:, :r], basis[:, r:]
            beta = self.scale[(key, "refresh")]
            w = u @ rest
            fresh = u + ((math.sqrt(1 - beta ** 2) - 1) * w + beta * (xi[idx] @ rest)) @ rest.T
            walk = JITTER * xi[idx]
            sub = u + (self.scale[(key, "subspace")] * walk_scale[idx, :, None]
                       * ((diff @ informed) @ informed.T)) + walk
            full = u + self.scale[(key, "full")] * walk_scale[idx, :, None] * diff + walk
            kk = kind[idx][:, :, None]
            prop[idx] = np.where(kk == 0, fresh, np.where(kk == 1, sub, full))
        # refresh is reversible for N(0, I): its prior ratio is 1; the walks' is the ratio
        ratio = np.where(kind == 0, 0.0, -0.5 * (np.sum(prop ** 2, axis=2)
                                                 - np.sum(self.u ** 2, axis=1)[:, None]))
        cand = np.log(rng.random((n, TRIES))) < ratio
        ci, cj = np.nonzero(cand)
        xc = np.empty((ci.size, k))
        for p in priors.PRIORS:
            mine = self.prior_of[ci] == p
            xc[mine] = self._to_x(p, prop[ci[mine], cj[mine]])
        zc = self.s.evaluate(xc)
        ok = np.zeros((n, TRIES), dtype=bool)
        ok[ci, cj] = waves.implausibility(zc) <= history.CUTOFF
        row = np.full((n, TRIES), -1)
        row[ci, cj] = np.arange(ci.size)
        first = np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1)
        for i in range(n):
            taken = TRIES if first[i] < 0 else first[i] + 1
            np.add.at(self.tried[i], kind[i, :taken], 1)
            if first[i] >= 0:
                j = first[i]
                if record is not None:
                    record(i, self.steps[i], taken - 1, self.x[i], self.z[i])
                self.u[i], self.x[i], self.z[i] = prop[i, j], xc[row[i, j]], zc[row[i, j]]
                self.accepted[i] += 1
                self.took[i, kind[i, j]] += 1
                if record is not None:
                    record(i, self.steps[i] + taken - 1, 1, self.x[i], self.z[i])
            elif record is not None:
                record(i, self.steps[i], taken, self.x[i], self.z[i])
            self.steps[i] += taken

    def tune(self):
        """Warm-up: each (prior, island, kernel)'s step toward its ``ACCEPT``."""
        for key in self.keys:
            idx = self.members[key]
            for j, kind in enumerate(KINDS):
                acc = self.took[idx, j].sum() / max(1, self.tried[idx, j].sum())
                s = self.scale[(key, kind)] * math.exp(0.7 * (math.log(acc + 0.005)
                                                              - math.log(ACCEPT[kind])))
                self.scale[(key, kind)] = min(s, 1.0) if kind == "refresh" else s
        self.reset()

    def reset(self):
        self.steps[:] = 0
        self.accepted[:] = 0
        self.tried[:] = 0
        self.took[:] = 0

    def acceptance(self, mine: np.ndarray) -> dict:
        """Acceptance per kernel of the chains ``mine`` since the last reset."""
        return {kind: float(self.took[mine, j].sum() / max(1, self.tried[mine, j].sum()))
                for j, kind in enumerate(KINDS)}
