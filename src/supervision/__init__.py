"""supervision — clinical-supervision dashboards over anonymised caseload exports.

Figures here are prompts for reflection in supervision, never verdicts on a therapist.
"""

from supervision.caseload import Caseload
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
    "default_registry",
    "load_registry",
]
