"""Cases to discuss (domain.md §7): the reason rule, written once.

A supervisor's list of *open* (``termination == "ongoing"``) episodes with at least one of
these patterns, each coded as domain.md names it (and listed in this order):

``risk_item``
    A critical item (PHQ-9 item 9, ``phq9_item9``: thoughts of being better off dead or of
    self-harm; registry ``critical_item``) above 0 at the episode's latest scored session of
    its measure (Kroenke, Spitzer & Williams 2001; item 9 is the PHQ-9's suicide-risk
    screen, Simon et al. 2013).  Listed first, and its cases at the top of every list,
    whatever else applies: it asks for a risk check, not for reflection later.
``low_alliance``
    The latest rating on an alliance measure that has a concern threshold is below it
    (SRS: below 36, the clinical cut-off of Miller & Duncan; Duncan et al. 2003).
``alliance_drop``
    An alliance-drop rupture (registry ``drop_threshold``: SRS 5, WAI-SR 6 points below the
    previous rated session) on one of the episode's last three rated sessions of that
    measure — whether or not the clinician also flagged it, and whether or not it has since
    recovered: a recent sharp dip is worth a conversation (Safran & Muran 2000; Eubanks,
    Muran & Safran 2018).
``unrepaired_rupture``
    A clinician-flagged rupture with no ``resolved`` repair on it or any later session.
``reliable_deterioration``
    On any outcome measure, first → latest score so far is a reliable deterioration
    (:func:`supervision.clinical.outcomes.per_episode`: reliable-change value or Jacobson &
    Truax 1991).
``no_shows``
    Two or more consecutive scheduled sessions with attendance ``no_show``, anywhere in the
    episode as seen at the end of the window (a cancelled or attended session breaks a run).
``not_on_track``
    On any outcome measure, the latest change from intake is worse than the practice's
    expected response for clients who started there (§11,
    :func:`supervision.clinical.expected.episode_expected`: below the 10th percentile of the
    practice's ended episodes as of the window's end, from the 3rd score on).
``sudden_loss``
    On any outcome measure, a sudden loss (§10, :mod:`supervision.clinical.sudden_gains`)
    whose postgain session is one of the episode's last three scored sessions
    (:data:`~supervision.clinical.sudden_gains.RECENT_SCORED`).

:func:`episode_reasons` is the rule: it reads the per-episode tables of the other clinical
modules (each the owner of its own rule) and marks every episode with its reasons.  The
per-episode table (:mod:`supervision.episodes`) carries the marks as ``reason__<code>``
columns, and the list the dashboards, the pack and the JSON show is a filter of that table
(:func:`supervision.figures.cases_to_discuss`).  Ended episodes never appear there.  These
are prompts, never verdicts on the work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from supervision.measures import Registry

#: Reason codes, in the order they are listed (domain.md §7).
REASONS = ("risk_item", "low_alliance", "alliance_drop", "unrepaired_rupture",
           "reliable_deterioration", "no_shows", "not_on_track", "sudden_loss")

#: An alliance drop counts when it is on one of the episode's last this-many rated sessions.
RECENT_RATED = 3


def reason_col(reason: str) -> str:
    """The boolean column of a reason code in :func:`episode_reasons` (``reason__no_shows``)."""
    return f"reason__{reason}"


@dataclass(frozen=True)
class ReasonInputs:
    """The per-episode tables the reasons are read from (one row per episode each).

    Attributes
    ----------
    risk
        ``episode_id, risk_item`` (a critical item above 0 at the latest scored session), or
        None when the export has no critical item column.
    alliance
        Measure -> :func:`~supervision.clinical.alliance.alliance_figures` (``last_low``).
    outcomes
        Measure -> :func:`~supervision.clinical.outcomes.per_episode`
        (``reliable_deterioration``).
    drops
        Every alliance drop of the window with ``recent`` (on one of the last
        :data:`RECENT_RATED` rated sessions of its measure), or None without a measure.
    ruptures
        :func:`~supervision.clinical.ruptures.episode_ruptures` (``unrepaired_flagged``).
    no_shows
        ``episode_id, no_shows`` (two no-shows in a row).
    not_on_track
        Measure -> a table of ``episode_id`` and a boolean ``not_on_track``.
    recent_loss
        Measure -> a table of ``episode_id`` and a boolean ``recent_loss``.
    """

    alliance: Mapping[str, ir.Table]
    outcomes: Mapping[str, ir.Table]
    drops: ir.Table | None
    ruptures: ir.Table
    no_shows: ir.Table
    not_on_track: Mapping[str, ir.Table]
    recent_loss: Mapping[str, ir.Table]
    risk: ir.Table | None = None


def _tagged(t: ir.Table, reason: str) -> ir.Table:
    return t.select("episode_id", reason=ibis.literal(reason))


def episode_reasons(registry: Registry, x: ReasonInputs) -> ir.Table:
    """Per episode with at least one reason: ``episode_id`` and one boolean column per code
    of :data:`REASONS` (:func:`reason_col`), open or ended (the list keeps the open ones).

    Low alliance counts only on measures with a concern threshold (SRS); reliable
    deterioration on any outcome measure of the registry (not the paired rule, whose
    deterioration is already one of its measures').
    """
    tagged = []
    if x.risk is not None:
        tagged.append(_tagged(x.risk.filter(x.risk.risk_item), "risk_item"))
    for m in registry.alliance:
        if m.key in x.alliance and m.concern_below is not None:
            a = x.alliance[m.key]
            tagged.append(_tagged(a.filter(a.last_low), "low_alliance"))
    if x.drops is not None:
        tagged.append(_tagged(x.drops.filter(x.drops.recent), "alliance_drop"))
    tagged.append(_tagged(x.ruptures.filter(x.ruptures.unrepaired_flagged),
                          "unrepaired_rupture"))
    for m in registry.outcome:
        if m.key in x.outcomes:
            o = x.outcomes[m.key]
            tagged.append(_tagged(o.filter(o.reliable_deterioration), "reliable_deterioration"))
    tagged.append(_tagged(x.no_shows.filter(x.no_shows.no_shows), "no_shows"))
    for e in x.not_on_track.values():
        tagged.append(_tagged(e.filter(e.not_on_track), "not_on_track"))
    for s in x.recent_loss.values():
        tagged.append(_tagged(s.filter(s.recent_loss), "sudden_loss"))
    u = ibis.union(*tagged)
    return u.group_by("episode_id").aggregate(
        **{reason_col(code): (u.reason == code).any() for code in REASONS})


__all__ = ["REASONS", "RECENT_RATED", "ReasonInputs", "episode_reasons", "reason_col"]
