"""A plan project's inputs, read and checked before any run.

:mod:`project` (the manifest and its paths), :mod:`model` (the model, translated once per
process, and its documented parameters), :mod:`indicators`, :mod:`goals`, :mod:`history`,
:mod:`scenario` (levers, calibration, uncertainties), and the validation layer every file
goes through (:mod:`tomlfile`, :mod:`validate`). Nothing here runs a future.
"""
