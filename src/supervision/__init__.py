"""supervision — clinical-supervision dashboards over anonymised caseload exports.

Figures here are prompts for reflection in supervision, never verdicts on a therapist.
"""

from supervision.errors import (
    ConfigError,
    ExportError,
    ExportNotice,
    IdentifierError,
    MappingError,
    Problem,
    ScopeError,
    SupervisionError,
    SupervisionWarning,
)
from supervision.measures import Measure, Registry, default_registry, load_registry

__version__ = "0.1.0"

# The reader and the metrics engine import DuckDB, Ibis and statsmodels: loaded on first use,
# so that ``import supervision`` (and the command line's --help) stays quick.
_LAZY = {
    "Caseload": "supervision.caseload",
    "load_export": "supervision.io",
    "summarize": "supervision.io",
    "compute_metrics": "supervision.metrics",
    "metrics_to_csv": "supervision.metrics",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'supervision' has no attribute {name!r}")

__all__ = [
    "Caseload",
    "ConfigError",
    "ExportError",
    "ExportNotice",
    "IdentifierError",
    "MappingError",
    "Measure",
    "Problem",
    "Registry",
    "ScopeError",
    "SupervisionError",
    "SupervisionWarning",
    "__version__",
    "compute_metrics",
    "default_registry",
    "load_export",
    "load_registry",
    "metrics_to_csv",
    "summarize",
]
