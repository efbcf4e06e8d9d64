"""The :class:`Caseload`: validated canonical tables in the database, as Ibis tables.

Data flows one way (STYLE.md): export -> :func:`supervision.io.load_export` ->
``Caseload`` -> metric functions -> views.  Metric functions take a ``Caseload``
and return small pandas tables; everything in between stays an Ibis expression,
so it runs in DuckDB here and unchanged on PostgreSQL or Spark.

Scope and time window (README, "Date ranges")
---------------------------------------------
``caseload.scoped(therapist_id=..., since=..., until=...)`` keeps the episodes
*active* in ``[since, until]`` (started on or before ``until`` and not ended
before ``since``) and reads them **as of** ``until``: sessions after ``until``
are not seen, and an episode that ended after ``until`` counts as ``ongoing``.
Sessions before ``since`` of an active episode are kept, so that "early
alliance" and "first score" keep their meaning.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision import schema
from supervision.measures import Registry, default_registry
from supervision.windowcache import MeasuresPresent, WindowCache

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

_counter = itertools.count()
T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """What :meth:`Caseload.scoped` applied to the root caseload
    (:attr:`~supervision.windowcache.WindowCache.scope`)."""

    therapist_id: str | None
    since: dt.date | None
    until: dt.date | None


@dataclass(frozen=True)
class HandedBands:
    """The expected-response bands a server handed to a therapist's kernel (domain.md §11).

    A therapist's kernel holds one therapist's rows, which are no reference for what to
    expect; the server computes the bands from the whole practice
    (:func:`supervision.clinical.expected.handover_bands`) and the kernel's caseload carries
    them here, so no open episode is judged against its own therapist's rows.

    Attributes
    ----------
    threshold
        The not-on-track percentile, as a fraction (0.10 for the 10th).
    measures
        Outcome measure -> band records (``intake, session, width, n`` and the gain
        percentiles ``q0100`` …), for the window the bundle was written for; empty when
        nothing was handed over (then there is no band at all).
    """

    threshold: float
    measures: dict[str, tuple[dict[str, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Caseload:
    """Canonical ``sessions``, ``episodes`` and ``therapists`` tables of one export.

    Attributes
    ----------
    con
        The Ibis backend holding the tables (in-process DuckDB by default).
    sessions, episodes, therapists
        Ibis tables with the canonical columns of :mod:`supervision.schema`.
    registry
        The measure registry the export was read with.
    source
        Where the export came from (shown on report covers).
    notices
        Things the user should know about how the export was read.
    checksum
        SHA-256 over the export's files, for report covers.
    window
        ``(since, until)`` applied by :meth:`scoped`; ``None`` for either end means open.
    therapist_scope
        The therapist id this caseload is restricted to, if any.
    handed
        On a therapist's kernel, the expected-response bands the server handed over (the
        only reference its figures may use); None on a full server (the reference is the
        caseload's own history).  A privacy switch given at construction, never set later.

    Notes
    -----
    Tables and figures are cached per caseload object in one
    :class:`~supervision.windowcache.WindowCache` (its module lists every key kind, its writer
    and the eviction rule), read and written through :meth:`memo`, :meth:`memo_recent` and
    :meth:`memoised`.  Some figures are computed once over the root (unscoped) caseload and
    filtered per scope (:meth:`memo`, the rupture candidates of
    :mod:`supervision.clinical.ruptures`).  A caseload made from a scoped one with
    ``dataclasses.replace`` keeps that root, so its ``sessions`` must hold, for each of its
    episodes, all the root's sessions up to :attr:`session_cut` (as
    :meth:`scoped`, :meth:`materialised`, team or open-episode filters do).
    """

    con: BaseBackend
    sessions: ir.Table
    episodes: ir.Table
    therapists: ir.Table
    registry: Registry = field(default_factory=default_registry)
    source: str = ""
    notices: tuple[str, ...] = ()
    checksum: str | None = None
    window: tuple[dt.date | None, dt.date | None] = (None, None)
    therapist_scope: str | None = None
    handed: HandedBands | None = field(default=None, repr=False, compare=False)
    #: The unscoped caseload this one was scoped from (None: this is the root).
    _root: Caseload | None = field(default=None, repr=False, compare=False)
    #: The earliest ``until`` applied: sessions after it are not in ``sessions``.
    _cut: dt.date | None = field(default=None, repr=False, compare=False)
    #: The one cache of this object (typed keys); ``replace`` gives a new, empty one.
    _memo: WindowCache = field(default_factory=WindowCache, init=False, repr=False,
                               compare=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frames(
        cls,
        sessions: pd.DataFrame,
        episodes: pd.DataFrame,
        therapists: pd.DataFrame,
        *,
        registry: Registry | None = None,
        con: BaseBackend | None = None,
        source: str = "",
        notices: Sequence[str] = (),
        checksum: str | None = None,
        handed: HandedBands | None = None,
    ) -> Caseload:
        """Load already-canonical pandas frames into the database (tests, demo, readers).

        Missing optional columns are added with their defaults (or NULL); columns are cast
        to the canonical types.  The frames are assumed valid: use
        :func:`supervision.io.load_export` for anything that came from a user.
        """
        registry = registry or default_registry()
        con = con or ibis.duckdb.connect()
        frames = {"sessions": sessions, "episodes": episodes, "therapists": therapists}
        tables = {}
        tag = next(_counter)
        for name, cols in schema.schemas(registry).items():
            df = _canonical_frame(frames[name], cols)
            tname = f"{name}_{tag}"
            tables[name] = con.create_table(tname, df, schema=ibis.schema(_ibis_types(cols)))
        return cls(
            con=con, registry=registry, source=source, notices=tuple(notices),
            checksum=checksum, handed=handed, **tables,
        )

    # ------------------------------------------------------------------ scoping
    def scoped(
        self,
        *,
        therapist_id: str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
    ) -> Caseload:
        """Restrict to one therapist and/or a date window (see module docstring).

        A caseload already fixed to one therapist cannot be widened or moved to another.
        """
        from supervision.errors import ScopeError

        if self.therapist_scope is not None and therapist_id not in (None, self.therapist_scope):
            raise ScopeError("this view is fixed to one therapist and cannot show another")
        since_d, until_d = _as_date(since), _as_date(until)
        s, e, t = self.sessions, self.episodes, self.therapists
        if therapist_id is not None:
            s = s.filter(s.therapist_id == therapist_id)
            e = e.filter(e.therapist_id == therapist_id)
            t = t.filter(t.therapist_id == therapist_id)
        if until_d is not None:
            lit = ibis.literal(until_d)
            e = e.filter(e.start_date <= lit)
            ended_later = e.end_date.notnull() & (e.end_date > lit)
            e = e.mutate(
                termination=ibis.ifelse(ended_later, "ongoing", e.termination),
                end_date=ibis.ifelse(ended_later, ibis.null("date"), e.end_date),
            )
            s = s.filter(s.session_date <= lit)
        if since_d is not None:
            e = e.filter(e.end_date.isnull() | (e.end_date >= ibis.literal(since_d)))
        if since_d is not None or until_d is not None:
            s = s.filter(s.episode_id.isin(e.episode_id))
        window = (since_d or self.window[0], until_d or self.window[1])
        cut = min((d for d in (self._cut, until_d) if d is not None), default=None)
        out = replace(
            self, sessions=s, episodes=e, therapists=t, window=window,
            therapist_scope=therapist_id or self.therapist_scope, _root=self.root, _cut=cut,
        )
        if self._root is None:  # a plain scope of the root: per-window tables can be shared
            out._memo.scope = Scope(therapist_id, since_d, until_d)
        return out

    def materialised(self) -> Caseload:
        """This caseload with its sessions and episodes computed once into temporary tables.

        A scoped caseload is a chain of filters and semi-joins that every figure would
        compile and run again; after Ibis ``cache()`` each figure is a query over plain
        tables (same rows, same figures).  The dashboards materialise each scope they show.
        (``therapists`` stays a plain filter: one row per therapist.)
        """
        out = replace(self, sessions=self.sessions.cache(), episodes=self.episodes.cache())
        out._memo.scope = self._memo.scope  # the same rows: still that plain scope, if one
        return out

    @property
    def scope(self) -> Scope | None:
        """The therapist and window this caseload is of the root, if it is a plain
        :meth:`scoped` of it (or that, :meth:`materialised`); None for anything else."""
        return self._memo.scope

    # ------------------------------------------------------------------ memoising
    @property
    def root(self) -> Caseload:
        """The unscoped caseload this one comes from (``self`` if not scoped)."""
        return self._root if self._root is not None else self

    @property
    def session_cut(self) -> dt.date | None:
        """The earliest ``until`` applied by :meth:`scoped`: no session after it is seen."""
        return self._cut

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()``, computed once per caseload object and kept with it.

        For tables materialised with Ibis ``cache()`` (a temporary table on DuckDB and
        PostgreSQL, a cached DataFrame on Spark) and small summaries that several views
        need: a filter change then compiles each deep expression once, not once per figure.
        ``key`` is an instance of a frozen dataclass (:mod:`supervision.windowcache`), else
        ``TypeError``.  ``dataclasses.replace`` gives a new, empty memo.
        """
        return self._memo.get(key, build)

    def memo_recent(self, key: Hashable, build: Callable[[], T], *, keep: int) -> T:
        """:meth:`memo`, keeping only the ``keep`` most recently used keys of ``key``'s type.

        For what is made per date window (a dashboard user may try many): the windows in
        use stay, older ones are let go so that memory does not grow with every window tried.
        """
        return self._memo.recent(key, build, keep=keep)

    def memoised(self, key: Hashable) -> object | None:
        """What :meth:`memo` holds under ``key``, or None: never computes."""
        return self._memo.peek(key)

    # ------------------------------------------------------------------ facts
    def measures_present(self, kind: str | None = None) -> list[str]:
        """Registry measures with at least one value in the sessions table, in registry order."""
        present = self.memo(MeasuresPresent(), self._measures_present)
        return [k for k in present if kind is None or self.registry[k].kind == kind]

    def _measures_present(self) -> list[str]:
        keys = [m.key for m in self.registry.values()]
        if not keys:
            return []
        s = self.sessions
        counts = s.aggregate([s[k].count().name(k) for k in keys]).execute().iloc[0]
        return [k for k in keys if int(counts[k]) > 0]

    def provenance(self) -> dict[str, str]:
        """Where the tables came from, as the text rows of a ``load_info`` table.

        ``source``, ``checksum``, ``notices`` and ``measures`` (the last two as JSON); written
        with a warehouse load and with the server's prepared copy, read back by
        :func:`provenance_fields`.
        """
        return {
            "source": self.source,
            "checksum": self.checksum or "",
            "notices": json.dumps(list(self.notices)),
            "measures": json.dumps(self.registry.numeric_columns),
        }

    def therapist_ids(self) -> list[str]:
        """Sorted therapist ids of this caseload."""
        t = self.therapists
        return sorted(t.select("therapist_id").distinct().execute()["therapist_id"].tolist())


def provenance_fields(info: dict[str, str], *, source: str) -> dict[str, object]:
    """``source``, ``notices`` and ``checksum`` for a :class:`Caseload` from the rows of
    :meth:`Caseload.provenance` (``source`` when the rows name none)."""
    return {
        "source": info.get("source", source),
        "notices": tuple(json.loads(info.get("notices", "[]"))),
        "checksum": info.get("checksum") or None,
    }


def _canonical_frame(df: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for col, typ in cols.items():
        if col in df.columns:
            v = df[col]
        elif col in schema.DEFAULTS:
            v = pd.Series(schema.DEFAULTS[col], index=df.index)
        elif col == "source_row":
            v = pd.Series(range(1, len(df) + 1), index=df.index)
        else:
            v = pd.Series(None, index=df.index, dtype="object")
        if typ == "DATE":
            v = pd.to_datetime(v).dt.date
        elif typ == "DOUBLE":
            v = pd.to_numeric(v, errors="raise").astype("float64")
        elif typ == "BIGINT":
            v = v.astype("int64")
        else:
            v = v.astype("object").where(v.notna(), None)
            if col in schema.DEFAULTS:
                v = v.fillna(schema.DEFAULTS[col])
        out[col] = v
    if "episode_id" in cols and "client_id" in out and out["episode_id"].isna().any():
        miss = out["episode_id"].isna()
        out.loc[miss, "episode_id"] = [
            schema.default_episode_id(c, t)
            for c, t in zip(out.loc[miss, "client_id"], out.loc[miss, "therapist_id"], strict=True)
        ]
    return out.reset_index(drop=True)


_IBIS = {"VARCHAR": "string", "DATE": "date", "DOUBLE": "float64", "BIGINT": "int64"}


def _ibis_types(cols: dict[str, str]) -> dict[str, str]:
    return {c: _IBIS[t] for c, t in cols.items()}


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


__all__ = ["Caseload", "Scope", "provenance_fields"]
