"""Plotly figures and ipywidgets panels — the only part of ``supervision`` that draws.

Each panel is one function that takes the tidy frames of the metric modules (never
files) and returns a ``plotly.graph_objects.Figure`` or an ipywidgets widget.  The
dashboards (``dashboards/*.ipynb``) only call :mod:`supervision.views.apps`.
"""
