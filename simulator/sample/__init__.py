"""Samples of the inputs, one module per design (SALib's layout), each ``sample(problem, n, seed)``.

``latin`` (Latin hypercube: the futures of ensembles, and PAWN), ``saltelli``
(Sobol indices) and ``morris`` (elementary effects). Designs are drawn on the unit
cube of the problem's inputs; :mod:`simulator.sensitivity` maps them to values.
"""

from . import latin, morris, saltelli
from .latin import latin_hypercube

__all__ = ["latin", "latin_hypercube", "morris", "saltelli"]
