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
