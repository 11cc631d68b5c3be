"""Presenting results to people: labels in both languages (:mod:`labels`), charts
(:mod:`chart`, :mod:`briefing`), the one-page brief (:mod:`brief`), the lever explorer
(:mod:`explorer`) and the ``ds.plan`` xarray accessor (:mod:`accessor`).
"""
