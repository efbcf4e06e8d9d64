"""Ids that differ only by case, look-alike letters or invisible characters (a notice).

``T01`` and ``t01``, ``C1`` and ``С1`` (a Cyrillic С), or ``E7`` and ``E7`` followed by a
zero-width space are different ids to the database, so one person becomes two therapists or
one course of therapy two episodes, and nothing says so.  They are not an error — a
practice may use case-sensitive pseudonyms — but each id column whose ids collide once
folded gets a notice naming the column, how many such groups there are and two rows of the
first group (never the ids themselves).

The fold, in SQL over the *distinct* ids of a column (one aggregation per column, in
DuckDB): invisible characters removed (soft hyphen, zero-width and directional marks, word
joiner, BOM), full-width forms and the common Cyrillic and Greek look-alikes written as the
Latin letter (the identifier guard's table, :data:`~supervision.io.identifiers.CONFUSABLES`),
then lower case.
"""

from __future__ import annotations

import duckdb

from supervision.io.identifiers import CONFUSABLES, ID_COLUMNS
from supervision.io.stage import Staged

INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e" \
    "\u2060\u2061\u2062\u2063\u2064\ufeff"
_FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_HALF = "".join(chr(c) for c in range(0x21, 0x7F))
WHAT = {"client_id": "clients", "therapist_id": "therapists", "episode_id": "episodes"}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def fold_sql(v: str) -> str:
    """SQL: ``v`` folded (see the module docstring).

    Every character the fold removes or replaces is outside ASCII, so an ASCII value (most
    ids: ``strlen``, its bytes, equals ``length``, its characters) is only lower-cased; the
    ``translate`` over the long character map runs on the others alone.
    """
    src = _FULL + "".join(CONFUSABLES)
    dst = _HALF + "".join(CONFUSABLES.values())
    stripped = f"regexp_replace({v}, {_lit('[' + INVISIBLE + ']')}, '', 'g')"
    return (f"CASE WHEN strlen({v}) = length({v}) THEN lower({v}) "
            f"ELSE lower(translate({stripped}, {_lit(src)}, {_lit(dst)})) END")


def notices(con: duckdb.DuckDBPyConnection, staged: dict[str, Staged]) -> list[str]:
    """One notice per id column whose distinct ids collide once folded."""
    out: list[str] = []
    for st in staged.values():
        for col in ID_COLUMNS:
            if not st.has(col):
                continue
            sql = (
                f"WITH d AS (SELECT {col} AS v, min(_row) AS r FROM {st.relation} "
                f"WHERE {col} IS NOT NULL GROUP BY {col}), "
                f"g AS (SELECT {fold_sql('v')} AS f, list(r ORDER BY r) AS rs FROM d "
                "GROUP BY f HAVING count(*) > 1) "
                "SELECT count(*), arg_min(rs, rs[1]) FROM g"
            )
            n, rows = con.execute(sql).fetchone() or (0, None)
            if n:
                out.append(
                    f"{st.file}: {st.name(col)}: {n} group{'s' if n != 1 else ''} of ids "
                    "differ only by upper/lower case, look-alike letters or invisible "
                    f"characters (first: rows {rows[0]} and {rows[1]}); they count as different "
                    f"{WHAT[col]} — check that they are not the same"
                )
    return out


__all__ = ["fold_sql", "notices"]
