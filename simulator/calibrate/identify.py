"""Which calibrated parameters the history determines: local identifiability.

At a parameter set, the Jacobian ``J`` of the figures' errors (in standard
deviations of the error model) with respect to the parameters (in units of their
documented range width) has a plain reading: a singular value ``s`` says that
moving the parameters by one full range width along its right singular vector
changes the fit by ``s`` standard deviations. Directions with ``s < 1`` are not
determined by the history (the whole range fits within one standard deviation).

Per parameter, the local posterior standard deviation under a uniform prior on the
documented range (Laplace approximation: ``(J'J + 12 I)^-1`` in range widths)
against the prior's ``1/sqrt(12)``: the parameter is *identified* when the history
shrinks its uncertainty to at most ``SHRINK`` of the prior's. The ensemble
(:mod:`simulator.calibrate.match`) gives the global counterpart: the spread of
each parameter among the sets the history does not rule out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .target import Target

STEP = 1e-3  # central-difference step, in range widths
UNDETERMINED = 1.0  # singular value below which a direction is not determined
SHRINK = 0.5  # posterior/prior sd at most this: identified
PRIOR_PRECISION = 12.0  # 1 / variance of a uniform on a unit range


@dataclass
class Identifiability:
    """The Jacobian's singular spectrum and each parameter's verdict."""

    names: list[str]
    singular_values: np.ndarray
    directions: np.ndarray  # right singular vectors, rows, in range widths
    sensitivity: np.ndarray  # column norms of J: sd moved by one range width alone
    shrink: np.ndarray  # local posterior sd / prior sd
    pivots: np.ndarray  # columns of the Jacobian, most independent first

    @property
    def free(self) -> list[str]:
        """A largest set of parameters the history determines jointly: as many as there are
        determined directions, chosen by column-pivoted QR of the Jacobian (the rest are
        fixed at their documented defaults for the point fit)."""
        rank = int((self.singular_values >= UNDETERMINED).sum())
        return sorted(self.names[i] for i in self.pivots[:rank])

    @property
    def identified(self) -> list[str]:
        return [n for n, r in zip(self.names, self.shrink) if r <= SHRINK]

    @property
    def unidentified(self) -> list[str]:
        return [n for n, r in zip(self.names, self.shrink) if r > SHRINK]

    def undetermined(self, top: int = 4) -> list[dict]:
        """The directions with ``s < UNDETERMINED``: their heaviest loadings."""
        out = []
        for s, v in zip(self.singular_values, self.directions):
            if s >= UNDETERMINED:
                continue
            order = np.argsort(-np.abs(v))[:top]
            out.append({"singular_value": float(s),
                        "combination": [(self.names[i], float(v[i])) for i in order]})
        return out

    def report(self) -> str:
        s = self.singular_values
        lines = [(f"Jacobian of the history errors (sd per range width): {len(self.names)} "
                 f"parameters, {int((s >= UNDETERMINED).sum())} directions determined "
                 f"(singular value >= {UNDETERMINED:g})"),
                 "singular values: " + " ".join(f"{x:.3g}" for x in s)]
        for d in self.undetermined():
            combo = " ".join(f"{w:+.2f}*[{n}]" for n, w in d["combination"])
            lines.append(f"  not determined (s = {d['singular_value']:.2g}): {combo}")
        lines.append(f"{'parameter':40s} {'alone':>8s} {'post/prior':>10s}  identified  "
                     "point fit")
        free = set(self.free)
        for n, a, r in zip(self.names, self.sensitivity, self.shrink):
            lines.append(f"{n:40s} {a:>8.3g} {r:>10.2f}  {'yes' if r <= SHRINK else 'no ':10s}"
                         f"  {'free' if n in free else 'fixed at default'}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"singular_values": [float(x) for x in self.singular_values],
                "undetermined": [{"singular_value": d["singular_value"],
                                  "combination": {n: w for n, w in d["combination"]}}
                                 for d in self.undetermined()],
                "parameters": {n: {"sensitivity": float(a), "posterior_over_prior_sd": float(r),
                                   "identified": bool(r <= SHRINK),
                                   "free_in_point_fit": n in self.free}
                               for n, a, r in zip(self.names, self.sensitivity, self.shrink)}}


def jacobian(target: Target, x: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of the history errors (sd) per range width, one batch."""
    k = len(target.names)
    h = STEP * target.width
    lo = np.clip(x - h, target.lower, target.upper)
    hi = np.clip(x + h, target.lower, target.upper)
    sets = np.vstack([np.where(np.eye(k, dtype=bool), lo[None, :], x[None, :]),
                      np.where(np.eye(k, dtype=bool), hi[None, :], x[None, :])])
    z = target.capped(sets, outside=0.0)
    return ((z[k:] - z[:k]) / ((hi - lo) / target.width)[:, None]).T


def identify(target: Target, x: np.ndarray) -> Identifiability:
    """Identifiability of every calibrated parameter at ``x``."""
    jac = jacobian(target, np.asarray(x, dtype=float))
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    k = len(target.names)
    if s.size < k:
        s = np.concatenate([s, np.zeros(k - s.size)])
        vt = np.linalg.svd(np.vstack([jac, np.zeros((k, k))]))[2]
    cov = np.linalg.inv(jac.T @ jac + PRIOR_PRECISION * np.eye(k))
    shrink = np.sqrt(np.diag(cov) * PRIOR_PRECISION)
    pivots = scipy.linalg.qr(jac, pivoting=True, mode="r")[1]
    return Identifiability(list(target.names), s, vt, np.linalg.norm(jac, axis=0), shrink,
                           pivots)
