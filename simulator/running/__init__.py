"""Running the model: parameter values in, indicators and goal margins out, results written.

:mod:`simulate` (runs of a project's model over ``(run, time)``), :mod:`runs` (the central
run of a scenario), :mod:`ensemble` (sampled futures in blocks), :mod:`domain` (runs
outside the model's domain), :mod:`memory` (what a job will hold), :mod:`outputs` (where
results may go), :mod:`results` and :mod:`provenance` (what is written, and from what).
"""
