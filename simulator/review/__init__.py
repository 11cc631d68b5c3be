"""Reviews of a model's structure, as a system-dynamics reviewer runs them.

:mod:`.units` (``plansim check``) checks the dimensions of every equation with
pint; :mod:`.loops` (``plansim loops``) measures each documented feedback loop's
activity and polarity by knockout, at cuts :mod:`.loopgraph` checks on PySD's
dependency graph, and :mod:`.loopresult` holds the verdict and the report.
:mod:`.parsed` reads the model through PySD's translator, :mod:`.registry` maps
Vensim unit names to pint.
"""
