"""The mixing phase: Markov chains on the calibration target, started from the waves'
final population, run until their convergence is measured, not assumed.

The target of each prior ``p`` of :mod:`.priors` is ``p(x) * [max_i |z_i(x)| <= CUTOFF]``
(the non-implausible space, :mod:`.waves`). Each prior has its own chains (``chains``,
split over the waves' independent islands); all chains of all islands of all priors move
in the same engine call (the engine's cost per call, not per run, dominates batches of a
few hundred runs).

Each chain is a Metropolis chain with a fixed, symmetric random-walk proposal built from
its prior's archive (ter Braak & Vrugt 2008's DE-MCz; states of every island of the
prior): ``x + gamma (a - b) + e``, ``a`` and ``b`` two archived states, ``gamma`` the
prior's scale times ``exp(U(-2, 1))`` (several step sizes, for the narrow corners of the
space; 1 in a tenth of the moves). A round
draws each chain's next ``TRIES`` proposals as if each were rejected (all from the
current state), evaluates them in one call, and the chain takes its steps in order up to
the first acceptance: exactly the sequential chain, several steps per call (prefetching
along the rejection path, Brockwell 2006).

A warm-up of ``WARMUP`` calls tunes each prior's scale toward ``ACCEPT`` acceptance and
renews the archive every ``REFRESH`` calls from the chains' states of the last ``REFRESH``
calls, pooled over the islands, so the proposal widens as the chains spread out of the
waves' narrow population; its draws are discarded and the proposal is then frozen. The
measured run grows until its chains are at least ``MIN_TAU`` integrated autocorrelation
times long (emcee's estimator) and their rank-normalised split-R-hat, over
the chains and between the islands, is at most ``RHAT``, or ``MAX_STEPS`` (the report then
says *not converged*). The sets kept are the chains' states every ``tau`` steps (at most
``STORED`` per prior).

Why not an independence sampler from the population (a kernel density or a Gaussian
fitted to it): measured on model v3's 80-parameter space, 3,000 proposals of either gave
an importance effective size of 1 to 2 (log-weight sd 5 to 6), so such chains stick.
"""

from __future__ import annotations

import math

import numpy as np
from emcee.autocorr import AutocorrError, integrated_time

from ..inputs import history
from . import priors, waves

TRIES = 12  # proposals per chain per engine call: the chain's next steps while it rejects
ACCEPT = 0.1  # acceptance per step the warm-up tunes the proposal scale toward
WARMUP = 120  # engine calls; their draws are discarded
REFRESH = 20  # warm-up calls between archive refreshes (the archive: the last REFRESH calls)
BLOCK = 800  # engine calls between convergence checks (a check costs seconds)
THIN = 10  # steps between recorded states, at least
RECORDS = 1000  # recorded states per chain at most (the thinning grows with the chains)
MIN_STEPS = 10000
MAX_STEPS = 40000
MIN_TAU = 50.0  # chain length in autocorrelation times (emcee's guidance)
RHAT = 1.01
STORED = 4000  # sets kept per prior at most


class _Chains:
    """One prior's chains of every island, advanced together, one engine call per round.

    Each chain is an ordinary Metropolis chain with a fixed random-walk proposal
    ``x + gamma (a - b) + e`` (``a``, ``b`` drawn from its island's archive, the same for
    every island after the warm-up's first renewal, ``gamma`` the prior's scale times
    ``exp(U(-2, 1))``, or 1 in a tenth of the moves). A round draws each chain's next
    ``TRIES`` proposals as if each were rejected (all from the current state) and evaluates
    them in one call; the chain then takes its steps in order up to the first acceptance:
    exactly the sequential chain, several steps per call (Brockwell 2006's prefetching along
    the rejection path)."""

    def __init__(self, sampler, prior, x, z, island_of, archives, rng):
        self.s, self.prior, self.x, self.z, self.rng = sampler, prior, x, z, rng
        self.island_of, self.archives = island_of, archives  # archives: island -> states
        self.lp = sampler.logprior(x)
        self.scale = 2.38 / math.sqrt(2 * x.shape[1])
        self.steps = np.zeros(x.shape[0], dtype=int)
        self.accepted = np.zeros(x.shape[0], dtype=int)

    def round(self, record=None, thin: int = THIN):
        """Every chain's next steps, up to its first acceptance or ``TRIES`` steps;
        ``record(chain, step, x, z)`` gets each state at a step divisible by ``thin``."""
        t, rng = self.s.t, self.rng
        n, k = self.x.shape
        prop = np.repeat(self.x[:, None, :], TRIES, axis=1)
        gamma = self.scale * np.exp(rng.uniform(-2.0, 1.0, (n, TRIES)))
        gamma = np.where(rng.random((n, TRIES)) < 0.1, 1.0, gamma)
        for island, arch in self.archives.items():
            idx = np.flatnonzero(self.island_of == island)
            a = rng.integers(0, arch.shape[0], (idx.size, TRIES))
            b = (a + rng.integers(1, arch.shape[0], (idx.size, TRIES))) % arch.shape[0]
            prop[idx] += gamma[idx, :, None] * (arch[a] - arch[b])
        prop += 1e-4 * t.width * rng.standard_normal((n, TRIES, k))
        lp = self.s.logprior(prop.reshape(-1, k)).reshape(n, TRIES)
        cand = np.log(rng.random((n, TRIES))) < lp - self.lp[:, None]
        ci, cj = np.nonzero(cand)
        zc = self.s.evaluate(prop[ci, cj])
        ok = np.zeros((n, TRIES), dtype=bool)
        ok[ci, cj] = waves.implausibility(zc) <= history.CUTOFF
        zfull = {(i, j): r for i, j, r in zip(ci, cj, range(ci.size))}
        first = np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1)
        for i in range(n):
            taken = TRIES if first[i] < 0 else first[i] + 1
            if record is not None:
                for s in range(self.steps[i] + 1, self.steps[i] + taken + 1):
                    if s % thin == 0:
                        moved = first[i] >= 0 and s == self.steps[i] + taken
                        record(i, s, prop[i, first[i]] if moved else self.x[i],
                               zc[zfull[i, first[i]]] if moved else self.z[i])
            if first[i] >= 0:
                self.x[i], self.lp[i] = prop[i, first[i]], lp[i, first[i]]
                self.z[i] = zc[zfull[i, first[i]]]
                self.accepted[i] += 1
            self.steps[i] += taken

    def tune(self):
        """Warm-up: the scale toward ``ACCEPT`` acceptance per step."""
        acc = self.accepted.sum() / max(1, self.steps.sum())
        self.scale *= math.exp(2.0 * (acc - ACCEPT))
        self.accepted[:] = 0
        self.steps[:] = 0


def _pooled(states: list[np.ndarray], islands) -> dict:
    """DE-MCz archives from the warm-up's recent states of the prior's chains: every island's
    states pooled (an island's own states alone keep its proposals as narrow as the island;
    measured in ``models/CALIBRATION.md``), the same archive for each island."""
    pooled = np.stack(states).reshape(-1, states[0].shape[1])
    return dict.fromkeys(islands, pooled)


def _tau(draws: np.ndarray) -> np.ndarray:
    """emcee's integrated autocorrelation time per parameter of ``(step, chain, parameter)``
    draws (inf where a chain never moved)."""
    still = np.any(np.ptp(draws, axis=0) == 0, axis=0)
    with np.errstate(all="ignore"):
        try:
            tau = integrated_time(draws, tol=MIN_TAU)
        except AutocorrError as short:  # shorter than MIN_TAU tau: the estimate, no log line
            tau = np.asarray(short.tau, dtype=float)
    return np.where(still | ~np.isfinite(tau), np.inf, tau)


def diagnose(draws: np.ndarray, island: np.ndarray, thin: int = 1) -> dict:
    """tau (in steps), split-R-hat over the chains and between the islands, ESS, of
    ``(record, chain, parameter)`` draws of one prior recorded every ``thin`` steps."""
    records, n, k = draws.shape
    steps = records * thin
    tau = _tau(draws) * thin
    per = np.transpose(draws, (1, 0, 2))
    r = [waves.rhat(per[:, :, j]) for j in range(k)]
    groups = np.unique(island)
    size = min(int((island == g).sum()) for g in groups)
    pooled = [np.concatenate([per[island == g][:size, :, j].T.ravel()[None, :]
                              for g in groups]) for j in range(k)]
    between = [waves.rhat(p) for p in pooled]
    bulk = [waves.ess(per[:, :, j]) for j in range(k)]
    tau_max = float(np.max(tau))
    return {"steps": steps, "chains": n, "tau_max_steps": tau_max,
            "chain_length_over_tau": float(steps / tau_max) if tau_max > 0 else 0.0,
            "rhat_max": float(np.nanmax(r)), "rhat_islands_max": float(np.nanmax(between)),
            "ess_bulk_min": float(np.min(bulk)),
            "ess_tau_min": (float(n * steps / max(tau_max, thin)) if np.isfinite(tau_max)
                            else 0.0),
            "per_parameter": {"tau": [float(v) for v in tau], "rhat": r,
                              "rhat_islands": between, "ess_bulk": bulk}}


def converged(d: dict) -> bool:
    return (d["chain_length_over_tau"] >= MIN_TAU and d["rhat_max"] <= RHAT
            and d["rhat_islands_max"] <= RHAT)


def run(sampler, pop: np.ndarray, pop_z: np.ndarray, pop_island: np.ndarray, chains: int,
        seed, max_steps: int = MAX_STEPS, warmup: int = WARMUP,
        min_steps: int = MIN_STEPS, workers: int = 1) -> dict:
    """Chains of every prior from the population; per prior, its kept sets, their errors
    and diagnostics (``chains`` per prior, split evenly over the islands).

    The priors' chains are independent of each other (each prior its own archive, scale,
    random stream ``[*seed, i]`` and stopping rule), so they run in up to ``workers``
    processes with the same result to the last bit as in one."""
    seed = [int(v) for v in np.atleast_1d(seed)]
    jobs = [(sampler.t, p, pop, pop_z, pop_island, chains, [*seed, i], max_steps, warmup,
             min_steps) for i, p in enumerate(priors.PRIORS)]
    if workers > 1:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        from ..sweep.execution import exit_with_parent  # a worker ends with its caller

        # fork where the platform has it: the workers start with the translated model in
        # memory, and a caller's script is not run again in each worker (spawn re-runs an
        # unguarded ``__main__``, and every worker would start a calibration of its own)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(min(workers, len(jobs)),
                                 mp_context=multiprocessing.get_context(method),
                                 initializer=exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            done = list(pool.map(_run_prior, *zip(*jobs)))
    else:
        done = [_run_prior(*job) for job in jobs]
    result = {}
    for p, (out, evaluations) in zip(priors.PRIORS, done):
        sampler.evaluations += evaluations
        if sampler.progress is not None:
            sampler.progress(evaluations)
        result[p] = out
    return result


def thin_for(max_steps: int) -> int:
    """Steps between recorded states: at most ``RECORDS`` records per chain."""
    return max(THIN, math.ceil(max_steps / RECORDS))


def _run_prior(target, p: str, pop: np.ndarray, pop_z: np.ndarray, pop_island: np.ndarray,
               chains: int, seed, max_steps: int, warmup: int,
               min_steps: int) -> tuple[dict, int]:
    """One prior's chains from the population: its kept sets, their errors, diagnostics,
    and the engine runs they took."""
    rng = np.random.default_rng(seed)
    sampler = waves._Sampler(target, p, None)
    t = target
    thin = thin_for(max_steps)
    islands = np.unique(pop_island)
    per_island = max(2, chains // islands.size)
    xs, zs, island_of, archives = [], [], [], {}
    for g in islands:
        members = np.flatnonzero(pop_island == g)
        if p == "documented" and members.size >= per_island:
            start = rng.choice(members, per_island, replace=False)
        else:  # the population reweighted to the prior (duplicates part in the warm-up)
            w = priors.weights_from(p, "documented", pop[members], t.lower, t.upper,
                                    t.default)
            start = members[rng.choice(members.size, per_island, p=w)]
        xs.append(pop[start])
        zs.append(pop_z[start])
        island_of += [int(g)] * per_island
        archives[int(g)] = pop[members]
    island_of = np.array(island_of)
    state = _Chains(sampler, p, np.concatenate(xs), np.concatenate(zs), island_of, archives,
                    rng)
    window = max(1, min(REFRESH, warmup // 2))
    seen = []
    for r in range(warmup):
        state.round()
        if r % 10 == 9:
            state.tune()
        seen = [*seen[-(window - 1):], state.x.copy()] if window > 1 else [state.x.copy()]
        if r % REFRESH == REFRESH - 1 or r == warmup - 1:
            state.archives = _pooled(seen, archives)
    if not warmup:
        state.archives = _pooled([state.x], archives)
    state.steps[:] = 0
    state.accepted[:] = 0
    n, k = state.x.shape
    records = max_steps // thin
    draws = np.empty((records, n, k))
    zdraws = np.empty((records, n, state.z.shape[1]))

    def record(i, s, x, z):
        if s // thin <= records:
            draws[s // thin - 1, i], zdraws[s // thin - 1, i] = x, z

    d, calls, length, checked = {}, 0, 0, 0
    while True:
        state.round(record, thin)
        calls += 1
        length = int(min(state.steps.min(), max_steps)) // thin
        if length * thin < min_steps and length < records:
            continue
        if length < records and calls - checked < BLOCK:
            continue
        checked = calls
        d = diagnose(draws[:length], island_of, thin)
        if converged(d) or length >= records:
            break
    tau = d["tau_max_steps"]
    every = max(1, math.ceil(tau / thin) if np.isfinite(tau) else length,
                math.ceil(length * n / STORED))
    rows = np.arange(length - 1, -1, -every)[::-1]
    values = draws[rows].reshape(-1, k)
    zv = zdraws[rows].reshape(-1, state.z.shape[1])
    d.update({"converged": converged(d), "warmup_calls": warmup, "calls": calls,
              "tries_per_call": TRIES, "thin_steps": thin, "scale": state.scale,
              "acceptance": float(state.accepted.sum() / max(1, state.steps.sum())),
              "stored_every_records": every, "stored_sets": int(values.shape[0]),
              "effective_sets": float(min(d["ess_tau_min"], d["ess_bulk_min"]))})
    return {"values": values, "z": zv, "diagnostics": d}, sampler.evaluations
