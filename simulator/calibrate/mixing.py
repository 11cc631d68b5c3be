"""The mixing phase: Markov chains on the calibration target, started from the waves'
final population, run until their convergence is measured, not assumed.

The target of each prior ``p`` of :mod:`.priors` is ``p(x) * [max_i |z_i(x)| <= CUTOFF]``
(the non-implausible space, :mod:`.waves`). Each prior has its own chains (``chains``,
split over the waves' independent islands); all chains of all islands of all priors move
in the same engine call (the engine's cost per call, not per run, dominates batches of a
few hundred runs).

Each chain is a Metropolis chain in its prior's standard-normal coordinates; its steps
are a fixed mixture of kernels (:mod:`.kernels`; by default the DE-MCz random walk in
every direction alone, optionally a Crank-Nicolson refresh of the directions the history
barely informs and a walk inside the informed subspace); each (prior, island) has its own archive (the island's
population), subspace and step sizes. A round evaluates each chain's next
``kernels.TRIES`` steps as if each were rejected, in one engine call for all chains
(prefetching along the rejection path, Brockwell 2006).

A warm-up of ``WARMUP`` calls tunes each kernel's step toward its acceptance target; its
draws are discarded and the proposal is then frozen. The measured run grows until its
chains are at least ``MIN_TAU`` integrated autocorrelation times long (emcee's estimator)
and their rank-normalised split-R-hat, over the chains and between the islands, is at most
``RHAT``, or ``MAX_STEPS`` (the report then says *not converged*). The sets kept are the
chains' states every ``tau`` steps (at most ``STORED`` per prior).

Length, not the number of chains, is what R-hat asks: for chains that sample the target,
split-R-hat is about ``1 + tau / length`` (each half's mean has variance ``sigma^2 tau /
(length / 2)``), so R-hat <= 1.01 on the slowest parameter needs chains about 100 tau long;
``50 tau`` alone gives about 1.02. Hence few chains per island, run long.

Why not an independence sampler from the population (a kernel density or a Gaussian
fitted to it): measured on model v3's 80-parameter space, 3,000 proposals of either gave
an importance effective size of 1 to 2 (log-weight sd 5 to 6), so such chains stick.
"""

from __future__ import annotations

import math

import numpy as np
from emcee.autocorr import AutocorrError, integrated_time

from . import kernels, priors, waves

WARMUP = 60  # engine calls; their draws are discarded
BLOCK = 40  # engine calls between convergence checks
THIN = 10  # steps between recorded states
MIN_STEPS = 1000
MAX_STEPS = 7000
MIN_TAU = 50.0  # chain length in autocorrelation times (emcee's guidance)
RHAT = 1.01
STORED = 4000  # sets kept per prior at most


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
        min_steps: int = MIN_STEPS) -> dict:
    """Chains of every prior from the population; per prior, its kept sets, their errors
    and diagnostics (``chains`` per prior, split evenly over the islands)."""
    rng = np.random.default_rng(seed)
    t = sampler.t
    islands = np.unique(pop_island)
    per_island = max(2, chains // islands.size)
    xs, zs, prior_of, island_of, archives = [], [], [], [], {}
    for p in priors.PRIORS:
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
            prior_of += [p] * per_island
            island_of += [int(g)] * per_island
            archives[(p, int(g))] = priors.to_normal(p, pop[members], t.lower, t.upper,
                                                     t.default)
    state = kernels.Chains(sampler, np.concatenate(xs), np.concatenate(zs),
                           np.array(prior_of), np.array(island_of), rng)
    state.geometry(archives)  # frozen from here: the warm-up tunes the steps to it
    for r in range(warmup):
        state.round()
        if r % 10 == 9:
            state.tune()
    state.reset()
    n, k = state.x.shape
    records = max_steps // THIN
    draws = np.empty((records, n, k))
    zdraws = np.empty((records, n, state.z.shape[1]))

    def record(i, after, count, x, z):
        """The chain ``i`` is at ``x`` for its steps ``after + 1 .. after + count``."""
        first = (after // THIN + 1) * THIN
        for s in range(first, min(after + count, records * THIN) + 1, THIN):
            draws[s // THIN - 1, i], zdraws[s // THIN - 1, i] = x, z

    out, calls = {}, 0
    while True:
        for _ in range(BLOCK):
            state.round(record)
            calls += 1
        length = int(min(state.steps.min(), max_steps)) // THIN
        if length * THIN < min_steps and length < records:
            continue
        out = {p: diagnose(draws[:length, state.prior_of == p],
                           state.island_of[state.prior_of == p], THIN) for p in priors.PRIORS}
        if all(converged(d) for d in out.values()) or length >= records:
            break
    result = {}
    for p in priors.PRIORS:
        mine = state.prior_of == p
        d = out[p]
        tau = d["tau_max_steps"]
        every = max(1, math.ceil(tau / THIN) if np.isfinite(tau) else length,
                    math.ceil(length * mine.sum() / STORED))
        rows = np.arange(length - 1, -1, -every)[::-1]
        values = draws[rows][:, mine].reshape(-1, k)
        zv = zdraws[rows][:, mine].reshape(-1, state.z.shape[1])
        mine_keys = [key for key in state.keys if key[0] == p]
        d.update({"converged": converged(d), "warmup_calls": warmup, "calls": calls,
                  "tries_per_call": kernels.TRIES, "thin_steps": THIN,
                  "kernels": {kind: float(w) for kind, w in zip(kernels.KINDS,
                                                                 kernels.WEIGHTS)},
                  "kernel_acceptance": state.acceptance(mine),
                  "informed_directions": [state.rank[key] for key in mine_keys],
                  "acceptance": float(state.accepted[mine].sum()
                                      / max(1, state.steps[mine].sum())),
                  "stored_every_records": every, "stored_sets": int(values.shape[0]),
                  "effective_sets": float(min(d["ess_tau_min"], d["ess_bulk_min"]))})
        result[p] = {"values": values, "z": zv, "diagnostics": d}
    return result
