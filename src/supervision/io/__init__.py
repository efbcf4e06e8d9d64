"""Reading, checking and loading caseload exports (domain.md §2 and §8).

:func:`load_export` turns an export on disk into a validated
:class:`~supervision.caseload.Caseload`; :func:`summarize` describes one.  The mapping
file format is documented in :mod:`supervision.io.mapping`.
"""

from supervision.io.identifiers import looks_like_identifier_name
from supervision.io.load import load_export
from supervision.io.mapping import ExportMapping, load_mapping
from supervision.io.summary import summarize

__all__ = [
    "ExportMapping", "load_export", "load_mapping", "looks_like_identifier_name", "summarize",
]
