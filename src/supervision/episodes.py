"""The one-pass per-episode table: every quantity a figure needs, one row per episode.

``episode_table(cl)`` is computed once per caseload object (a data source and a date window,
:meth:`Caseload.scoped`) in the database and kept with it (:meth:`Caseload.memo`, under the
typed key :class:`EpisodeTableKey`).  Every figure of a scope — the practice, a therapist, a
team, a neurotype group — is then a grouped aggregate of this table (:mod:`supervision.scopes`),
and a therapist's figures are a filter of it, never a recomputation.

Each quantity comes from the one function that owns its clinical rule (alliance §3:
:func:`supervision.alliance.episode_alliance`; ruptures §4:
:func:`supervision.ruptures.episode_ruptures`; termination §5:
:func:`supervision.termination.episode_termination`; outcomes §5:
:func:`supervision.outcomes.per_episode`; neurotype pair §6:
:func:`supervision.neurotype.episode_pairs`; case reasons §7:
:func:`supervision.cases.episode_reasons`); this module only lays them side by side.

Columns (``<a>`` an alliance measure with values, ``<o>`` an outcome measure with values or
``phq9_gad7`` when PHQ-9 and GAD-7 both have values):

* ``episode_id, therapist_id, group`` (neurotype pair group; NULL without a therapist row);
* termination: ``termination, ended, attended_sessions, intake_only``;
* ruptures: ``flagged, drop, count, repaired, unrepaired_flagged, last_repaired``;
* alliance: ``<a>__rated_sessions, <a>__early_mean, <a>__slope, <a>__low_sessions,
  <a>__last_low`` (NULL for an episode without a rated session);
* outcomes: ``<o>__n_scores`` (NULL for an episode without a pre–post pair),
  ``<o>__reliable_improvement, <o>__reliable_deterioration, <o>__recovered,
  <o>__reliable_recovery, <o>__started_clinical``;
* case reasons (§7, for open episodes): one boolean column per code of
  :data:`supervision.cases.REASONS`, prefixed ``reason__``.

A figure that uses the caseload's own sample (a Jacobson–Truax measure without norms) is
computed over this caseload's paired episodes; :func:`sample_free` says whether a therapist's
figures filtered from a wider table equal those of the therapist's own caseload.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from supervision import alliance, cases, neurotype, ruptures
from supervision import outcomes as oc
from supervision import termination as term
from supervision.caseload import Caseload
from supervision.cases import reason_col
from supervision.measures import Measure

_SEP = "__"
ALLIANCE_FIELDS = ("rated_sessions", "early_mean", "slope", "low_sessions", "last_low")
OUTCOME_FIELDS = ("n_scores", "reliable_improvement", "reliable_deterioration", "recovered",
                  "reliable_recovery", "started_clinical")
RUPTURE_FIELDS = ("flagged", "drop", "count", "repaired", "unrepaired_flagged", "last_repaired")


@dataclass(frozen=True)
class EpisodeTableKey:
    """The memo key of a caseload's per-episode table: the measures it holds."""

    alliance: tuple[str, ...]
    outcome: tuple[str, ...]


def col(measure: str, field: str) -> str:
    """The column of ``field`` for ``measure`` (``"srs__early_mean"``)."""
    return f"{measure}{_SEP}{field}"


def measures(cl: Caseload) -> EpisodeTableKey:
    """The alliance and outcome measures (and the paired rule) the table holds for ``cl``."""
    present = cl.measures_present()
    al = tuple(k for k in present if cl.registry[k].kind == "alliance")
    outs = [k for k in present if cl.registry[k].kind == "outcome"]
    if {"phq9", "gad7"} <= set(outs):
        outs.append(oc.PAIRED)
    return EpisodeTableKey(al, tuple(outs))


def _needs_sample(m: Measure) -> bool:
    sd = m.reliable_change is None and m.reliability is not None and m.norm_sd is None
    c = m.clinical_cutoff is None and m.functional_mean is not None and (
        m.clinical_mean is None or m.clinical_sd is None)
    return sd or c


def sample_free(cl: Caseload) -> bool:
    """Whether no outcome measure's reliable change or cut-off uses the caseload's sample:
    then every per-episode quantity depends on the episode's own sessions alone."""
    return not any(_needs_sample(m) for m in cl.registry.outcome)


def _left(t: ir.Table, other: ir.Table) -> ir.Table:
    """``t`` left-joined to ``other`` on ``episode_id`` (``other``'s key dropped)."""
    other = other.rename(_episode_id="episode_id")
    j = t.left_join(other, t.episode_id == other._episode_id)
    return j.drop("_episode_id")


def _build(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    tt = term.episode_termination(cl)
    t = tt.select("episode_id", "therapist_id", "termination", "ended", "attended_sessions",
                  "intake_only")
    t = _left(t, neurotype.episode_pairs(cl).select("episode_id", "group"))
    rup = ruptures.episode_ruptures(cl, attended=tt)
    t = _left(t, rup.select("episode_id", *RUPTURE_FIELDS))
    tables: dict[str, ir.Table] = {}
    for k in key.alliance:
        a = alliance.episode_alliance(cl, k)
        tables[f"alliance:{k}"] = a
        t = _left(t, a.select("episode_id", **{col(k, f): a[f] for f in ALLIANCE_FIELDS}))
    for k in key.outcome:
        o = oc.per_episode(cl, k)
        tables[f"outcome:{k}"] = o
        t = _left(t, o.select("episode_id", **{col(k, f): o[f] for f in OUTCOME_FIELDS}))
    reasons = cases.episode_reasons(cl, tables=tables, ruptures=rup)
    t = _left(t, reasons)
    fill = {reason_col(r): ibis.coalesce(t[reason_col(r)], False) for r in cases.REASONS}
    return t.mutate(**fill)


def episode_table(cl: Caseload) -> ir.Table:
    """The per-episode table of ``cl`` (module docstring), materialised once per caseload."""
    key = measures(cl)
    return cl.memo(key, lambda: _build(cl, key).cache())


__all__ = [
    "ALLIANCE_FIELDS", "OUTCOME_FIELDS", "RUPTURE_FIELDS", "EpisodeTableKey", "col",
    "episode_table", "measures", "reason_col", "sample_free",
]
