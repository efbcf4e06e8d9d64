"""Ruptures, alliance and outcome scores of the synthetic demo (attended sessions only).

Arrays here are per *attended* session (ordered by episode, then date) unless named per
episode.  The rank of an attended session is its 0-based index among the episode's attended
sessions, i.e. the rated-session index of domain.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supervision.demo._structure import _END_TYPES, Episodes, Sessions, expit, logit

_RUPTURE_KIND_P = (0.55, 0.30, 0.15)  # withdrawal, confrontation, unspecified
_SAME_SESSION_REPAIR = 0.55
_SECOND_RUPTURE = 0.20
_UNFLAGGED_DIP = 0.15
_REPAIR_BONUS = 1.5  # SRS points above the course once a dip has recovered

# Outcome: share of the intake score lost by the end of treatment, by planned ending.
_END_RESPONSE_SHIFT = dict(
    zip(_END_TYPES, (0.12, 0.05, -0.20, -0.05, -0.15), strict=True)
)
_DETERIORATE = 0.06


@dataclass(frozen=True)
class Attended:
    """Where the attended sessions are: session index, episode, rank; per-episode layout."""

    index: np.ndarray
    episode: np.ndarray
    rank: np.ndarray
    first: np.ndarray  # per episode: position of its first attended session in ``index``
    count: np.ndarray  # per episode: attended sessions


def attended(sess: Sessions) -> Attended:
    """Locate the attended sessions of ``sess``."""
    index = np.flatnonzero(sess.attendance == 0)
    episode = sess.episode[index]
    count = np.bincount(episode, minlength=len(sess.count))
    first = np.cumsum(count) - count
    return Attended(index, episode, np.arange(len(index)) - first[episode], first, count)


@dataclass(frozen=True)
class Flags:
    """Per-session rupture (index into ``schema.RUPTURE``) and repair (into ``schema.REPAIR``,
    -1 = empty); per-episode alliance dip: attended rank (-1 none), depth in SRS points and
    recovery lag in rated sessions (0 = does not recover)."""

    rupture: np.ndarray
    repair: np.ndarray
    dip_rank: np.ndarray
    dip_depth: np.ndarray
    dip_lag: np.ndarray


def flag_ruptures(
    rng: np.random.Generator, eps: Episodes, att: Attended, n_sessions: int
) -> Flags:
    """Place flagged ruptures (3RS types) and their repair on attended sessions.

    A repaired rupture is ``resolved`` on the same session or 1–3 rated sessions later (then
    the rupture session may say ``partial``); an unrepaired one says ``unresolved``,
    ``partial`` or nothing.  About a fifth of ruptured episodes have a second rupture after
    the first is dealt with.  A flagged rupture dips the alliance by 3–9 SRS points, which
    recovers by the repair session; some episodes have an unflagged V-shaped dip instead.
    """
    n = len(att.count)
    rupture = np.zeros(n_sessions, dtype=np.int64)
    repair = np.full(n_sessions, -1, dtype=np.int64)
    ok = eps.rupture & (att.count >= 2)
    # a repair needs sessions after the rupture: repaired ones sit 3+ sessions before the end
    room = np.where(eps.repaired, np.maximum(att.count - 4, 1), att.count - 1)
    pos = 1 + (rng.random(n) * room).astype(np.int64)
    lag = _flag(rng, att, ok, pos, eps.repaired, (rupture, repair))
    again_p = expit(logit(0.72) + 0.4 * eps.latent)
    pos2 = pos + lag + rng.integers(1, 5, size=n)
    ok2 = ok & (rng.random(n) < _SECOND_RUPTURE) & (pos2 < att.count)
    _flag(rng, att, ok2, pos2, rng.random(n) < again_p, (rupture, repair))
    depth = rng.uniform(3.0, 9.0, size=n)
    dip_rank = np.where(ok, pos, -1)
    dip_lag = np.where(eps.repaired, np.maximum(lag, 1), 0)
    free = ~ok & (att.count >= 3) & (rng.random(n) < _UNFLAGGED_DIP)
    recovers = rng.random(n) < 0.75
    room = np.where(recovers, np.maximum(att.count - 4, 1), att.count - 1)
    dip_rank[free] = 1 + (rng.random(n) * room).astype(np.int64)[free]
    depth[free] = rng.uniform(5.0, 9.0, size=n)[free]
    dip_lag[free] = np.where(recovers, rng.integers(1, 4, size=n), 0)[free]
    return Flags(rupture, repair, dip_rank, depth, dip_lag)


def _flag(
    rng: np.random.Generator,
    att: Attended,
    ok: np.ndarray,
    pos: np.ndarray,
    repaired: np.ndarray,
    cols: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Write one rupture per ``ok`` episode at attended rank ``pos``; return the repair lag."""
    rupture, repair = cols
    n = len(ok)
    kind = 1 + rng.choice(3, size=n, p=_RUPTURE_KIND_P)
    later = rng.random(n) >= _SAME_SESSION_REPAIR
    lag = np.where(later & repaired, rng.integers(1, 4, size=n), 0)
    lag = np.clip(np.minimum(lag, att.count - 1 - pos), 0, None)
    at = att.index[att.first[ok] + pos[ok]]
    rupture[at] = kind[ok]
    # value on the rupture session: resolved / partial / unresolved / empty
    on_unrepaired = rng.choice([2, 1, -1], size=n, p=(0.5, 0.25, 0.25))
    on_later = np.where(rng.random(n) < 0.6, 1, -1)
    value = np.where(~repaired, on_unrepaired, np.where(lag > 0, on_later, 0))
    repair[at] = value[ok]
    later_ok = ok & repaired & (lag > 0)
    repair[att.index[att.first[later_ok] + pos[later_ok] + lag[later_ok]]] = 0
    return lag


def _dip_offset(att: Attended, flags: Flags) -> np.ndarray:
    """Alliance offset (SRS points) per attended session from the episode's dip.

    Recovering dips are V-shaped: -D at the dip, back to the course after ``lag`` rated
    sessions and then a little above it (+1.5 points: a repaired rupture strengthens the
    alliance, Safran & Muran 2000; Stiles et al. 2004); others stay 0.7 D below the course.
    """
    rank0 = flags.dip_rank[att.episode]
    delta = (att.rank - rank0).astype(float)
    depth = flags.dip_depth[att.episode]
    lag = flags.dip_lag[att.episode]
    step = np.clip(delta / np.maximum(lag, 1), 0.0, 1.0)
    v_shape = depth * (1.0 - step) - _REPAIR_BONUS * step
    stays = depth * np.where(delta == 0, 1.0, 0.7)
    offset = np.where(lag > 0, v_shape, stays)
    return np.where((rank0 >= 0) & (delta >= 0), -offset, 0.0)


def alliance_level(
    rng: np.random.Generator, eps: Episodes, att: Attended, flags: Flags
) -> np.ndarray:
    """Continuous SRS level per attended session: rises over the episode (saturating),
    higher with the latent quality, minus any dip, plus session noise (SD 1 point)."""
    n = len(att.count)
    rise = 2.5 + 0.8 * eps.latent + rng.normal(0.0, 0.8, size=n)
    course = 35.5 + 1.6 * eps.latent[att.episode]
    course += rise[att.episode] * (1.0 - np.exp(-att.rank / 4.0))
    return course + _dip_offset(att, flags) + rng.normal(0.0, 1.0, size=len(att.index))


def srs_items(rng: np.random.Generator, level: np.ndarray) -> np.ndarray:
    """SRS total and its four items, in tenths of a point: shape (n, 5), items sum exactly.

    The total is the level rounded to 0.1 within 0–40; the first three items scatter around
    a quarter of it (SD 0.4 points) within 0–10 and the fourth takes the rest; where the rest
    falls outside 0–10 the total is split evenly instead.
    """
    total = np.clip(np.rint(level * 10.0), 0, 400).astype(np.int64)
    profile = np.array([3.0, 0.0, -1.0])  # relationship a little higher than the rest
    three = np.rint(total[:, None] / 4.0 + profile + rng.normal(0.0, 4.0, (len(total), 3)))
    three = np.clip(three, 0, 100).astype(np.int64)
    rest = total - three.sum(axis=1)
    items = np.column_stack([three, rest])
    bad = (rest < 0) | (rest > 100)
    quarter, extra = np.divmod(total, 4)
    even = quarter[:, None] + (np.arange(4) < extra[:, None])
    items[bad] = even[bad]
    return np.column_stack([total, items])


def wai_subscales(rng: np.random.Generator, level: np.ndarray) -> np.ndarray:
    """WAI-SR goal, task and bond (integers 4–20) tracking the SRS level: shape (n, 3).

    Subscale = 4 + 16 (SRS/40)^1.8 + offset + noise (SD 0.8): an SRS of 36 maps to a WAI-SR
    total near 52, and a 5-point SRS dip to a drop of about 9 WAI-SR points.
    """
    share = np.clip(level / 40.0, 0.0, 1.0) ** 1.8
    offset = np.array([-0.3, 0.0, 0.5])  # bond a little higher than goal and task
    raw = 4.0 + 16.0 * share[:, None] + offset + rng.normal(0.0, 0.8, (len(level), 3))
    return np.clip(np.rint(raw), 4, 20).astype(np.int64)


def outcome_scores(
    rng: np.random.Generator, eps: Episodes, att: Attended
) -> tuple[np.ndarray, np.ndarray]:
    """PHQ-9 (0–27) and GAD-7 (0–21) integers per attended session.

    Intake severity: PHQ-9 ~ N(15.5, 4.5), GAD-7 correlated with it.  Each episode loses a
    share ``f`` of its intake score along ``1 - exp(-rank / 3.5)``; ``f`` ~ N(0.5 + 0.12
    latent + shift by ending, 0.28), so better alliance goes with better outcome; about 6%
    of episodes worsen instead (``f`` from -0.7 to -0.3).  Session noise SD 1.8 / 1.5.
    """
    n = len(att.count)
    phq0 = np.clip(rng.normal(15.5, 4.5, size=n), 2.0, 27.0)
    gad0 = np.clip(12.0 + 0.7 * (phq0 - 15.5) + rng.normal(0.0, 2.8, size=n), 1.0, 21.0)
    shift = np.array([_END_RESPONSE_SHIFT[t] for t in _END_TYPES])[eps.planned_end]
    f_phq = rng.normal(0.60 + 0.12 * eps.latent + shift, 0.28)
    worse = rng.random(n) < _DETERIORATE
    f_phq = np.where(worse, -rng.uniform(0.3, 0.7, size=n), f_phq)
    f_gad = f_phq + rng.normal(0.0, 0.12, size=n)
    course = (1.0 - np.exp(-att.rank / 3.5))
    later = att.rank > 0
    size = len(att.index)
    e = att.episode
    phq = phq0[e] * (1.0 - f_phq[e] * course) + later * rng.normal(0.0, 1.8, size=size)
    gad = gad0[e] * (1.0 - f_gad[e] * course) + later * rng.normal(0.0, 1.5, size=size)
    return np.clip(np.rint(phq), 0, 27), np.clip(np.rint(gad), 0, 21)


#: Share of open episodes (with room for it) given a sudden loss near their latest session.
_PLANTED_LOSS = 0.35
#: PHQ-9 points added from the loss on (above the reliable change of 6, Kroenke et al. 2001).
_LOSS_POINTS = 9.0


def plant_sudden_losses(
    rng: np.random.Generator, att: Attended, ongoing: np.ndarray, phq: np.ndarray
) -> np.ndarray:
    """PHQ-9 per attended session with a sudden loss planted in a few open episodes.

    In about :data:`_PLANTED_LOSS` of the open episodes with at least 5 attended sessions the
    last three attended sessions score :data:`_LOSS_POINTS` higher (clipped to 27): a large,
    stable worsening between the 4th-last and 3rd-last sessions, which domain.md §7 lists as
    a case to discuss (a sudden loss in the last 3 scored sessions, §10).  Drawn from its own
    generator, so the rest of the demo is as without it.
    """
    chosen = ongoing & (att.count >= 5) & (rng.random(len(att.count)) < _PLANTED_LOSS)
    late = chosen[att.episode] & (att.rank >= att.count[att.episode] - 3)
    return np.where(late, np.clip(phq + _LOSS_POINTS, 0, 27), phq)


#: Share of episodes whose client reports thoughts of self-harm on PHQ-9 item 9 at some point
#: while depressed (outpatient samples: roughly 1 in 5 endorse it at intake, Simon et al. 2013;
#: kept lower here so that only a realistic few open cases carry it).
_ITEM9_PRONE = 0.15


#: Share of open episodes still at caseness whose latest session has item 9 above 0.
_ITEM9_LATEST = 0.2


def phq9_item9(rng: np.random.Generator, att: Attended, ongoing: np.ndarray, phq: np.ndarray
               ) -> np.ndarray:
    """PHQ-9 item 9 (0–3, whole numbers) on each attended session with a PHQ-9 score.

    About :data:`_ITEM9_PRONE` of the episodes are prone to it: on their sessions with PHQ-9
    at caseness (10 and above) it is above 0 half the time, and three times in four from
    PHQ-9 15 on (1: 65%, 2: 25%, 3: 10%); every other session scores 0.  In about
    :data:`_ITEM9_LATEST` of the open episodes whose latest PHQ-9 is at caseness, the latest
    session scores 1 or 2 (a few ``risk_item`` cases, domain.md §7).  Never above the PHQ-9
    total (it is one of its nine items).  Drawn from its own generator, so every other
    column of the demo is as without it.
    """
    n = len(att.count)
    prone = rng.random(n) < _ITEM9_PRONE
    size = len(att.index)
    value = 1 + rng.choice(3, size=size, p=(0.65, 0.25, 0.10))
    chance = np.where(phq >= 15, 0.75, 0.5)
    on = prone[att.episode] & (phq >= 10) & (rng.random(size) < chance)
    last = att.rank == att.count[att.episode] - 1
    planted = ongoing & (rng.random(n) < _ITEM9_LATEST)
    on |= planted[att.episode] & last & (phq >= 10)
    value = np.where(planted[att.episode] & last, np.minimum(value, 2), value)
    return np.where(on, np.minimum(value, phq), 0.0)
