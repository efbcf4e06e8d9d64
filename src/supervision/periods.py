"""Periods: the date span of a caseload and calendar quarters (the report's and the
dashboards' date windows; a window itself is applied by :meth:`Caseload.scoped`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from supervision.caseload import Caseload
from supervision.windowcache import ExportEnd


def date_span(cl: Caseload) -> tuple[dt.date | None, dt.date | None]:
    """First and last session date of the caseload."""
    s = cl.sessions
    r = s.aggregate(lo=s.session_date.min(), hi=s.session_date.max()).execute().iloc[0]
    lo, hi = r["lo"], r["hi"]
    as_date = lambda v: None if pd.isna(v) else pd.Timestamp(v).date()  # noqa: E731
    return as_date(lo), as_date(hi)


def quarters(cl: Caseload) -> list[str]:
    """Calendar quarters (``"2024Q1"``) from the first to the last session, oldest first."""
    lo, hi = date_span(cl)
    if lo is None or hi is None:
        return []
    rng = pd.period_range(pd.Period(lo, "Q"), pd.Period(hi, "Q"), freq="Q")
    return [str(p) for p in rng]


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """``"2024Q1"`` -> (2024-01-01, 2024-03-31)."""
    p = pd.Period(quarter, "Q")
    return p.start_time.date(), p.end_time.date()


def closed_quarter(until: dt.date) -> str:
    """The last calendar quarter that has ended on or before ``until``.

    ``2024-09-30`` -> ``"2024Q3"`` (the quarter's last day closes it); ``2024-09-29`` and
    ``2024-07-01`` -> ``"2024Q2"``.  Figures of other therapists come from this quarter
    (:func:`supervision.comparison.gate`), so moving ``until`` within a quarter, or an
    export that has grown by a later session, does not change them.
    """
    p = pd.Period(until, "Q")
    return str(p if p.end_time.date() <= until else p - 1)


def gate_quarter(cl: Caseload, until: dt.date | None = None) -> str | None:
    """The period every figure of *other therapists* comes from for a viewer whose dates
    end at ``until`` (None: the export's end): the last quarter closed by ``until``, capped
    at the export's last session (:func:`closed_quarter`); None when the export has no
    sessions.  The gate's period (:func:`supervision.comparison.gate` says why): the
    practice comparison, the intake-adjusted model beside a limited supervisor's therapist
    and the expected-response bands handed to a therapist all take it from here.  The
    export's last date is kept with the root caseload (:meth:`Caseload.memo`)."""
    root = cl.root
    last = root.memo(ExportEnd(), lambda: date_span(root)[1])
    if last is None:
        return None
    return closed_quarter(last if until is None else min(until, last))


def previous_quarter(quarter: str, back: int = 1) -> str:
    """``"2024Q1"`` -> ``"2023Q4"`` (``back`` quarters earlier)."""
    return str(pd.Period(quarter, "Q") - back)


__all__ = ["closed_quarter", "date_span", "gate_quarter", "previous_quarter", "quarter_bounds",
           "quarters"]
