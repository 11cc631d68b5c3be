"""plansim: can a development plan's goals be reached together?

The pipeline, one module per step: :mod:`scenario` (spec) → :mod:`sample`
(futures) → :mod:`simulate` / :mod:`ensemble` (runs, via the vectorised
:mod:`engine`) → :mod:`goals` (margins) → :mod:`analyze` (summaries, sensitivity,
discovery) → :mod:`plotting` and :mod:`results` (charts, files). :mod:`reach`
and :mod:`sweep` compose them; :mod:`review` checks the model itself (units,
feedback loops); :mod:`cli` is the ``plansim`` command. Before any run,
:mod:`audit` checks the plan's own figures against each other.
Importing the package registers the ``ds.plan`` xarray accessor.
"""

from . import accessor  # noqa: F401  (registers ds.plan)

__version__ = "0.1.0"


def explore(scenario=None, futures: int = 1000, indicator: str | None = None, seed: int = 0,
            lang: str = "en"):
    """Lever explorer for Jupyter (sliders, scorecard and fan): see :mod:`simulator.explorer`."""
    from .explorer import explore as _explore

    return _explore(scenario, futures, indicator, seed, lang)
