"""The clinical concepts, one module each (domain.md §3–§7, §10–§11).

Layered from the bottom: :mod:`pairing` (the neurotype-match pair of an episode) and
:mod:`breakdown` (the one rule for grouping a per-episode table); then one module per concept
— :mod:`alliance`, :mod:`termination`, :mod:`ruptures`, :mod:`outcomes`,
:mod:`sudden_gains`, :mod:`expected`, :mod:`completeness`; on top
:mod:`neurotype` (the group figures) and :mod:`cases` (cases to discuss), which combine them.
A clinical module imports the shared pieces (caseload, measures, privacy, stats, schema)
and never a figure, a view or a server (README, "Architecture"; checked by import-linter).
"""
