"""Samples of the inputs, one module per design (SALib's layout), each ``sample(problem, n, seed)``.

``latin`` (Latin hypercube: the futures of ensembles, and PAWN), ``saltelli``
(Sobol indices) and ``morris`` (elementary effects); ``calibration`` joins the futures
with calibration sets of the history-matched ensemble (:func:`futures`). Designs are drawn on the unit
cube of the problem's inputs; :mod:`simulator.analyze.sensitivity` maps them to values.
"""

from . import calibration, latin, morris, saltelli
from .calibration import RUNS_PER_SET, futures, with_calibration
from .latin import latin_hypercube

__all__ = ["RUNS_PER_SET", "calibration", "futures", "latin", "latin_hypercube", "morris",
           "saltelli", "with_calibration"]
