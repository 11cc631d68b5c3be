"""plansim: can a development plan's goals be reached together?

Data flow one way, one package per stage: :mod:`inputs` (the project: manifest, model and
its documented parameters, indicators, goals, history, scenarios, and the validation layer)
→ :mod:`sample` (futures, calibration sets) → :mod:`running` (runs through the vectorised
:mod:`engine`, ensembles, results files) → :mod:`analyze` (goal margins summarised,
sensitivity, scenario discovery) → :mod:`decide` (joint reachability and the lever search)
→ :mod:`plotting` and :mod:`present` (charts, labels in both languages, the brief, the
lever explorer). :mod:`calibrate` fits the model to the history, :mod:`sweep` runs large
lever × future grids, :mod:`review` checks the model itself (units, feedback loops) and
:mod:`audit` checks the plan's own figures against each other before any run;
:mod:`cli` is the ``plansim`` command. Importing the package registers the ``ds.plan``
xarray accessor.
"""

from .present import accessor  # noqa: F401  (registers ds.plan)

__version__ = "0.1.0"


def explore(scenario=None, futures: int = 1000, indicator: str | None = None, seed: int = 0,
            lang: str = "en"):
    """Lever explorer for Jupyter (sliders, scorecard and fan): see :mod:`simulator.present.explorer`."""
    from .present.explorer import explore as _explore

    return _explore(scenario, futures, indicator, seed, lang)
