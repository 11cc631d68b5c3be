"""Deciding: are the goals reachable together, and under which levers (:mod:`reach`)."""
