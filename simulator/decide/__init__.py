"""Decisions: the goal frontier, trade-offs between goal groups, robust levers."""
