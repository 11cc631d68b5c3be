"""The text of ``plansim calibrate --report``: one function per table."""

from __future__ import annotations

from .discrepancy import FAMILIES


def space_report(classes: dict) -> str:
    """The parameters by class, with the measured effect on the history."""
    by = {c: sorted((v for v in classes.values() if v.cls == c), key=lambda v: v.name)
          for c in ("history", "future", "lever")}
    hist = by["history"]
    lines = [(f"history space: {len(hist)} parameters matched jointly to the history "
             f"({sum(v.role == 'calibrated' for v in hist)} Calibrated, "
             f"{sum(v.role == 'uncertain' for v in hist)} Uncertain that move a history "
             f"figure); {len(by['future'])} Uncertain act only from the plan period "
             "(sampled with the futures)")]
    moving = [v for v in by["lever"] if v.effect > 0]
    if moving:
        lines.append("levers that move the history (set by scenarios): "
                     + ", ".join(f"{v.name} ({v.effect:.3g} sd)" for v in moving))
    return "\n".join(lines)


def discrepancy_report(sizes: dict) -> str:
    """Each family's estimated model discrepancy."""
    unit = {"levels": "of the figure", "growth rates": "points", "shares": "points"}
    parts = [f"{f} {100 * sizes.get(f, 0.0):.2f}% {unit[f]}" if f == "levels"
             else f"{f} {sizes.get(f, 0.0):.3g} {unit[f]}" for f in FAMILIES]
    return ("model discrepancy per figure family (estimated at the best joint fit, added to "
            "each figure's error): " + "; ".join(parts))


def waves_report(d: dict, ens) -> str:
    """The waves, their cut-offs and non-implausible fractions, and the convergence."""
    lines = [(f"history matching in waves: {d['particles']} sets in {d['islands']} independent "
             f"islands, {len(d['waves'])} waves, {d['evaluations']} runs with the chains; "
             f"{'wave':>5s} {'cut-off (sd)':>13s} {'non-implausible':>16s} {'moves':>6s} "
             f"{'acceptance':>11s}")]
    waves = d["waves"]
    shown = waves if len(waves) <= 12 else waves[:5] + [None] + waves[-6:]
    for w in shown:
        if w is None:
            lines.append("  ...")
            continue
        lines.append(f"  {w['wave']:>5d} {w['cutoff_sd']:>13.3f} "
                     f"{100 * w['non_implausible_fraction']:>15.1f}% {w['moves']:>6d} "
                     f"{w['acceptance']:>11.2f}")
    ess = ens.effective_sizes()
    for p, a in d.get("priors", {}).items():
        lines.append(
            f"prior {p}: {a['chains']} chains x {a['steps']} steps after {a['warmup_calls']} "
            f"warm-up calls (acceptance {a['acceptance']:.2f}); autocorrelation time max "
            f"{a['tau_max_steps']:.0f} steps (chains {a['chain_length_over_tau']:.1f} tau long, "
            f"target >= 50); split-R-hat max {a['rhat_max']:.3f} over the chains, "
            f"{a['rhat_islands_max']:.3f} between islands (target <= 1.01); ESS min "
            f"{a['effective_sets']:.0f}; {'converged' if a['converged'] else 'NOT CONVERGED'}")
    lines.append(f"stored sets: {d['stored_sets']}; effective sets per prior: "
                 + ", ".join(f"{p} {v:.0f}" for p, v in ess.items()))
    return "\n".join(lines)


def residual_report(rows: list[dict]) -> str:
    """Posterior residuals per figure (z with the discrepancy included)."""
    lines = [("residuals over the sets (documented prior; z in sd of the error with "
             "discrepancy; structural misfit: |mean z| > 1.5)"),
             (f"{'figure':32s} {'history':>10s} {'sd':>9s} {'mean z':>7s} {'sd z':>6s} "
             f"{'mean error':>11s}  note")]
    for r in rows:
        note = (f"structural misfit of {r['mean_error']:+.3g}" if r["structural_misfit"]
                else "")
        lines.append(f"{r['figure']:32s} {r['history']:>10.6g} {r['sd']:>9.3g} "
                     f"{r['mean_z']:>+7.2f} {r['sd_z']:>6.2f} {r['mean_error']:>+11.3g}  {note}")
    n = sum(r["structural_misfit"] for r in rows)
    lines.append(f"{n} figure(s) with a structural misfit")
    return "\n".join(lines)


def bounds_report(hits: list[dict]) -> str:
    """Parameters piling on a bound, and the figure that pushes them there."""
    if not hits:
        return "bounds: no parameter has more than 10% of its sets within 2% of a bound"
    lines = ["bounds that bind (more than 10% of the sets within 2% of the range's end):"]
    lines.extend(f"  {h['parameter']} at its {h['bound']} bound {h['value']:g}: "
                 f"{100 * h['share_of_sets']:.0f}% of sets; pushed by {h['pushed_by']}"
                 for h in hits)
    return "\n".join(lines)
