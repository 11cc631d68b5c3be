"""Reviews of a model's structure, as a system-dynamics reviewer runs them.

:mod:`.units` (``plansim check``) checks the dimensions of every equation with
pint; :mod:`.loops` (``plansim loops``) measures each documented feedback loop's
activity by knockout. :mod:`.parsed` reads the model through PySD's translator,
:mod:`.registry` maps Vensim unit names to pint.
"""
