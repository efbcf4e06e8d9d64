"""The one owner of a caseload's cached tables and figures: :class:`WindowCache`, typed keys.

Every :class:`~supervision.caseload.Caseload` holds one ``WindowCache`` (``Caseload._memo``)
and reads and writes it only through :meth:`~supervision.caseload.Caseload.memo`,
:meth:`~supervision.caseload.Caseload.memo_recent` and
:meth:`~supervision.caseload.Caseload.memoised`.  A key is an instance of a frozen dataclass
(one class per kind of entry), so two writers cannot collide on a string and a reader names
what it looks up.  The kinds, who writes them and on which caseload:

==========================  =================================  ==============================
key                          writer (value)                     held by
==========================  =================================  ==============================
:class:`MeasuresPresent`     ``Caseload.measures_present``      every caseload object
                             (the measures with a value)
:class:`RuptureCandidates`   ``clinical.ruptures`` (flagged     the root; the server's
                             and drop candidate tables)         prepared copy hands it over
``episodes.EpisodeTableKey`` ``episodes.episode_table`` (the    every caseload object
                             per-episode table)
``episodes.FactsKey``        ``episodes.session_facts`` (the    the root (once per export)
                             ordered sessions, sorted once)
``episodes.SuddenFactsKey``  ``episodes`` (a measure's dated    the root (once per export)
                             sudden gains and losses)
``episodes.WindowKey``       ``episodes`` (per-episode table    the root, the
                             of every therapist as of a date)   ``KEEP_WINDOWS`` most recent
``episodes.ReferenceKey``    ``episodes`` (expected-response    the root, the ``KEEP_WINDOWS``
                             reference scores as of a date)     most recent
:class:`ScopeRow`            ``scopes`` (a scope's figures,     every caseload object
                             rupture and termination rows)
:class:`PracticeAggregates`  ``scopes.practice_for`` (JSON)     the root; prepared copy
:class:`TherapistHeadlines`  ``serve`` via the prepared copy    the root (read by
                             (every therapist's headline)       ``scopes.scope_headline``)
:class:`ExportEnd`           ``periods.gate_quarter`` (the last the root
                             session date)
:class:`GateFigures`         ``comparison.gate`` (what a        the root
                             viewer may see of others)
:class:`IntakeAdjusted`      ``views.adjusted`` (the fitted     the root
                             practice model of a window)
==========================  =================================  ==============================

Eviction
--------
A cache lives and dies with its caseload object: :meth:`Caseload.scoped`,
:meth:`Caseload.materialised` and any ``dataclasses.replace`` give a new, empty cache (only
:attr:`WindowCache.scope`, which plain scope of the root the tables are, passes to a
materialised copy, since its rows are the same).  Entries made with
:meth:`WindowCache.recent` (``keep=n``) are the only ones let go while their caseload lives:
of the keys of that class, only the ``n`` most recently used stay, the least recently used
dropped first (a supervisor trying date after date must not grow the kernel).  Every other
entry stays until its caseload goes: per-object kinds go with the scoped caseload a view
drops; the root's per-window kinds (:class:`PracticeAggregates`, :class:`GateFigures`,
:class:`IntakeAdjusted`) are small (JSON, a fitted model) and grow by one per window or
quarter shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING = object()


@dataclass(frozen=True)
class MeasuresPresent:
    """Registry measures with at least one value in the caseload's sessions."""


@dataclass(frozen=True)
class RuptureCandidates:
    """The root's flagged and drop candidate tables at these drop thresholds
    (measure -> points, sorted by measure)."""

    points: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ScopeRow:
    """One scope's summary row: ``part`` is ``"figures"`` (the row of
    :func:`supervision.figures.scope_figures`), ``"ruptures"`` or ``"termination"``."""

    part: str

    def __post_init__(self) -> None:
        if self.part not in ("figures", "ruptures", "termination"):
            raise ValueError(f"ScopeRow part {self.part!r} is not figures, ruptures or "
                             "termination")


@dataclass(frozen=True)
class PracticeAggregates:
    """The practice aggregates (JSON form) of the window ``[since, until]``."""

    since: dt.date | None
    until: dt.date | None


@dataclass(frozen=True)
class TherapistHeadlines:
    """Every therapist's headline (JSON form) of one window and pair of headline measures."""

    since: dt.date | None
    until: dt.date | None
    alliance_key: str | None
    outcome_key: str | None


@dataclass(frozen=True)
class ExportEnd:
    """The date of the export's last session (None without sessions)."""


@dataclass(frozen=True)
class GateFigures:
    """What a viewer entitled to ``entitled`` may see of the other therapists in the closed
    ``quarter`` (:func:`supervision.comparison.gate`)."""

    entitled: frozenset[str]
    quarter: str
    min_cell: int
    groups: bool


@dataclass(frozen=True)
class IntakeAdjusted:
    """The practice's intake-adjusted outcome model of one window and measure."""

    since: dt.date | None
    until: dt.date | None
    outcome_key: str
    min_cell: int


#: The kinds a prepared file may hand over (:mod:`supervision.io.prepared`), by class name.
SAVED_KINDS: dict[str, type] = {
    k.__name__: k for k in (RuptureCandidates, PracticeAggregates, TherapistHeadlines)
}


def check_key(key: object) -> None:
    """Raise ``TypeError`` unless ``key`` is an instance of a frozen dataclass."""
    params = getattr(type(key), "__dataclass_params__", None)
    if isinstance(key, type) or params is None or not params.frozen:
        raise TypeError(
            f"a cache key must be an instance of a frozen dataclass (one class per kind of "
            f"entry, see supervision.windowcache), not {type(key).__name__} {key!r}"
        )


class WindowCache:
    """The cache of one caseload object: typed keys -> values, see the module docstring.

    Iterating gives the keys from the least to the most recently stored or used by
    :meth:`recent`.
    """

    __slots__ = ("_entries", "scope")

    def __init__(self) -> None:
        self._entries: dict[Any, Any] = {}
        #: The plain scope of the root the holder's tables are (a
        #: :class:`~supervision.caseload.Scope`), or None.
        self.scope: Any = None

    def get(self, key: Any, build: Callable[[], T]) -> T:
        """The value under ``key``, built once with ``build()``."""
        check_key(key)
        if key not in self._entries:
            self._entries[key] = build()
        return self._entries[key]

    def recent(self, key: Any, build: Callable[[], T], *, keep: int) -> T:
        """:meth:`get`, keeping only the ``keep`` most recently used keys of ``key``'s class."""
        check_key(key)
        found = self._entries.pop(key, _MISSING)
        value = build() if found is _MISSING else found
        self._entries[key] = value  # dicts keep insertion order: the newest at the end
        same = [k for k in self._entries if type(k) is type(key)]
        for old in same[:-keep]:
            del self._entries[old]
        return value

    def peek(self, key: Any) -> object | None:
        """The value under ``key``, or None: never builds."""
        check_key(key)
        return self._entries.get(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


# ------------------------------------------------------------------ keys as JSON (prepared)
def key_to_json(key: Any) -> list[Any]:
    """``[kind, {field: value}]`` for a key of :data:`SAVED_KINDS` (dates as ISO text)."""
    if type(key).__name__ not in SAVED_KINDS:
        raise TypeError(f"{type(key).__name__} keys are not saved with a prepared caseload")
    return [type(key).__name__,
            {f.name: _to_json(getattr(key, f.name)) for f in dataclasses.fields(key)}]


def key_from_json(value: list[Any]) -> Any:
    """The key :func:`key_to_json` wrote."""
    kind, fields = value
    return SAVED_KINDS[kind](**{k: _from_json(v) for k, v in fields.items()})


def _to_json(v: Any) -> Any:
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, tuple):
        return [_to_json(x) for x in v]
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, dict):
        return dt.date.fromisoformat(v["date"])
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    return v


__all__ = [
    "SAVED_KINDS", "ExportEnd", "GateFigures", "IntakeAdjusted", "MeasuresPresent",
    "PracticeAggregates", "RuptureCandidates", "ScopeRow", "TherapistHeadlines", "WindowCache",
    "check_key", "key_from_json", "key_to_json",
]
