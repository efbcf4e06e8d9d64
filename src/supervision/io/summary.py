"""``summarize``: the human summary ``supervision validate`` prints on success."""

from __future__ import annotations

from supervision import schema
from supervision.caseload import Caseload


def _counts(pairs: list[tuple[str, int]], unit: str = "") -> str:
    return " · ".join(f"{k} {v:,}{unit}" for k, v in pairs)


def _day(value: object) -> str:
    return str(value)[:10]


def summarize(caseload: Caseload) -> str:
    """A few lines on what was read: tables and rows, therapists, episodes, date range,
    measures found (with how many values), attendance counts and any notices."""
    s, e, t = caseload.sessions, caseload.episodes, caseload.therapists
    n_s, n_e, n_t = (int(x.count().execute()) for x in (s, e, t))
    span = s.aggregate(lo=s.session_date.min(), hi=s.session_date.max()).execute().iloc[0]
    att = s.group_by("attendance").aggregate(n=s.count()).execute()
    att_n = dict(zip(att["attendance"], att["n"].astype(int), strict=True))
    ended = int(e.filter(e.termination != "ongoing").count().execute())
    keys = caseload.registry.numeric_columns
    present = s.aggregate([s[k].count().name(k) for k in keys]).execute().iloc[0]
    measures = [(k, int(present[k])) for k in caseload.registry if int(present[k]) > 0]
    lines = [
        f"Export: {caseload.source}",
        f"  checksum (sha256): {caseload.checksum}",
        f"Tables: sessions {n_s:,} rows · episodes {n_e:,} rows · therapists {n_t:,} rows",
        f"Therapists: {n_t:,}",
        f"Episodes: {n_e:,} (ended {ended:,}, ongoing {n_e - ended:,})",
        f"Sessions: {_day(span['lo'])} to {_day(span['hi'])}",
        "Measures: " + (_counts(measures, " values") if measures else "none"),
        "Attendance: " + _counts([(a, att_n.get(a, 0)) for a in schema.ATTENDANCE]),
    ]
    if caseload.notices:
        lines.append("Notices:")
        lines += [f"  - {n}" for n in caseload.notices]
    lines.append("The export is valid.")
    return "\n".join(lines)


__all__ = ["summarize"]
