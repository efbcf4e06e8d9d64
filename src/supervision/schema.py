"""The canonical tables (domain.md §2) as they live in the database.

Readers turn any accepted export into these three tables; metric functions rely
on nothing else.  Categories are stored as lower-case text; neurotype tags as a
canonical ``;``-joined, sorted, de-duplicated string (``"adhd;autistic"``).
Numeric measure columns come from the measure registry, so a practice that adds
a measure (say ``hamd``) gets a ``hamd`` column.
"""

from __future__ import annotations

from supervision.measures import Registry

ATTENDANCE = ("attended", "cancelled", "no_show")
RUPTURE = ("none", "withdrawal", "confrontation", "unspecified")
REPAIR = ("resolved", "partial", "unresolved")
TERMINATION = ("completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing")
ENDED = tuple(t for t in TERMINATION if t != "ongoing")
ND_TAGS = ("adhd", "autistic", "dyslexic", "dyspraxic", "tourette", "other_nd")
NEUROTYPE_TAGS = (*ND_TAGS, "neurotypical", "unknown")
NEUROTYPE_GROUPS = ("shared", "other_nd", "nd_therapist", "nt_therapist", "both_nt", "unknown")
TAG_SEPARATOR = ";"

#: Canonical column -> DuckDB type, for the fixed (non-measure) columns.
#: ``source_row`` is the data row (from 1) of the session in the user's sessions file;
#: it breaks ties between sessions on the same date and lets errors point at the file.
SESSIONS_FIXED: dict[str, str] = {
    "source_row": "BIGINT",
    "client_id": "VARCHAR",
    "therapist_id": "VARCHAR",
    "episode_id": "VARCHAR",
    "session_date": "DATE",
    "attendance": "VARCHAR",
    "rupture": "VARCHAR",
    "repair": "VARCHAR",
}
EPISODES: dict[str, str] = {
    "episode_id": "VARCHAR",
    "client_id": "VARCHAR",
    "therapist_id": "VARCHAR",
    "start_date": "DATE",
    "end_date": "DATE",
    "client_neurotype": "VARCHAR",
    "termination": "VARCHAR",
}
THERAPISTS: dict[str, str] = {
    "therapist_id": "VARCHAR",
    "therapist_neurotype": "VARCHAR",
    "team": "VARCHAR",
}

#: Defaults applied when an optional column is absent or a cell is empty.
DEFAULTS: dict[str, str] = {
    "attendance": "attended",
    "rupture": "none",
    "client_neurotype": "unknown",
    "therapist_neurotype": "unknown",
    "termination": "ongoing",
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "sessions": ("client_id", "therapist_id", "session_date"),
    "episodes": ("episode_id", "client_id", "therapist_id", "start_date"),
    "therapists": ("therapist_id",),
}

TABLES = ("sessions", "episodes", "therapists")


def sessions_schema(registry: Registry) -> dict[str, str]:
    """Column -> DuckDB type of the canonical sessions table for ``registry``."""
    schema = dict(SESSIONS_FIXED)
    for col in registry.numeric_columns:
        schema[col] = "DOUBLE"
    return schema


def schemas(registry: Registry) -> dict[str, dict[str, str]]:
    """Column -> type for each canonical table."""
    return {"sessions": sessions_schema(registry), "episodes": EPISODES, "therapists": THERAPISTS}


def default_episode_id(client_id: str, therapist_id: str) -> str:
    """The episode id used when the export has none: client and therapist, joined."""
    return f"{client_id}~{therapist_id}"


def canonical_tags(value: str | None) -> str:
    """Normalise a neurotype tag list to the canonical sorted ``;``-joined form.

    Empty -> ``"unknown"``.  Does not validate the tags (the reader does, with row numbers).
    """
    if value is None:
        return "unknown"
    tags = sorted({t.strip().lower() for t in str(value).split(TAG_SEPARATOR) if t.strip()})
    return TAG_SEPARATOR.join(tags) if tags else "unknown"


__all__ = [
    "ATTENDANCE", "DEFAULTS", "ENDED", "EPISODES", "ND_TAGS", "NEUROTYPE_GROUPS",
    "NEUROTYPE_TAGS", "REPAIR", "REQUIRED", "RUPTURE", "SESSIONS_FIXED", "TABLES",
    "TAG_SEPARATOR", "TERMINATION", "THERAPISTS", "canonical_tags", "default_episode_id",
    "schemas", "sessions_schema",
]
