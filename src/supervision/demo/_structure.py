"""Structure of the synthetic demo: therapists, episodes, scheduled sessions, attendance.

Everything is drawn with one :class:`numpy.random.Generator` in a fixed order, so a seed
fixes the result.  Per-episode quantities are arrays of length ``n_episodes``; per-session
quantities are arrays of length ``n_sessions`` ordered by episode, then date.  No Python loop
runs over sessions or episodes (only over the 64 possible neurotype tag sets).

The causal sketch (kept deliberately modest, see ``data/demo/README.md``): each episode has a
latent *alliance quality* ``latent`` (standard normal, plus a small therapist effect and a
small neurotype-pairing shift); lower quality makes a flagged rupture likelier and its repair
less likely; an unrepaired rupture raises the odds of drop-out; how the episode ends sets how
many sessions it was planned to have; sessions after the data's last day are cut, and those
episodes are ``ongoing``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supervision.schema import ND_TAGS, NEUROTYPE_GROUPS, TAG_SEPARATOR, TERMINATION

FIRST_DAY = np.datetime64("2023-01-01", "D")
LAST_DAY = np.datetime64("2024-12-31", "D")
TEAMS = ("North", "South")
ATTENDANCE_CODES = ("attended", "cancelled", "no_show")

#: Tag-set codes: bit i set = ND_TAGS[i]; 0 = neurotypical; 64 = unknown.
NT, UNKNOWN = 0, 64

#: The first twelve therapists' neurotypes (half neurodivergent, four with two tags, five
#: neurotypical, one unknown); later therapists draw from the same list.  Shuffled per seed.
THERAPIST_TEMPLATE = (
    "adhd", "adhd;autistic", "autistic", "dyslexic;dyspraxic", "adhd;dyslexic", "neurotypical",
    "neurotypical", "neurotypical", "autistic;dyspraxic", "neurotypical", "unknown",
    "neurotypical",
)
EPISODES_PER_THERAPIST = 25
MIN_THERAPISTS = 12

# Client neurotype mix: neurotypical / neurodivergent / unknown, then ND tag prevalence
# (first tag; a second tag is drawn with probability _SECOND_TAG).
_CLIENT_KIND_P = (0.48, 0.40, 0.12)
_TAG_P = (0.34, 0.30, 0.12, 0.07, 0.05, 0.12)
_SECOND_TAG = 0.30

#: Modest shift of the latent alliance quality by neurotype group (in latent SDs).
_GROUP_SHIFT = {"shared": 0.30, "other_nd": 0.05, "nt_therapist": -0.10}

# Termination: base probabilities of completed, client_ended, dropout, external,
# therapist_ended for episodes past intake; mean scheduled sessions for each.
_END_TYPES = ("completed", "client_ended", "dropout", "external", "therapist_ended")
_END_P = (0.50, 0.15, 0.14, 0.11, 0.10)
_END_MEAN_SESSIONS = (16.0, 10.0, 7.0, 9.0, 8.0)
_INTAKE_ONLY_P = 0.07
_INTAKE_END_P = (0.0, 0.35, 0.45, 0.08, 0.12)

# Days between scheduled sessions: weekly-ish, some fortnightly or longer gaps.
_GAP_DAYS = (7, 14, 6, 8, 5, 9, 10, 21)
_GAP_P = (0.58, 0.14, 0.08, 0.08, 0.03, 0.03, 0.03, 0.03)
_ATTEND_P = (0.86, 0.08, 0.06)
_NO_SHOW_STREAK_P = 0.04


def logit(p: float) -> float:
    """Log-odds of ``p``."""
    return float(np.log(p / (1.0 - p)))


def expit(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`logit`."""
    return 1.0 / (1.0 + np.exp(-x))


def tag_labels() -> np.ndarray:
    """Canonical tag string for each tag-set code 0..64 (sorted, ``;``-joined)."""
    labels = np.empty(65, dtype=object)
    for code in range(1, 64):
        tags = sorted(t for i, t in enumerate(ND_TAGS) if code >> i & 1)
        labels[code] = TAG_SEPARATOR.join(tags)
    labels[NT], labels[UNKNOWN] = "neurotypical", "unknown"
    return labels


def tag_code(label: str) -> int:
    """Tag-set code of a canonical tag string (inverse of :func:`tag_labels`)."""
    if label in ("neurotypical", "unknown"):
        return NT if label == "neurotypical" else UNKNOWN
    return sum(1 << ND_TAGS.index(t) for t in label.split(TAG_SEPARATOR))


def neurotype_group(therapist: np.ndarray, client: np.ndarray) -> np.ndarray:
    """Index into ``NEUROTYPE_GROUPS`` for each (therapist, client) tag-set code (domain §6)."""
    t_nd = (therapist > 0) & (therapist < UNKNOWN)
    c_nd = (client > 0) & (client < UNKNOWN)
    share = (therapist & client & (UNKNOWN - 1)) > 0
    group = np.full(therapist.shape, NEUROTYPE_GROUPS.index("unknown"))
    group[t_nd & c_nd & share] = NEUROTYPE_GROUPS.index("shared")
    group[t_nd & c_nd & ~share] = NEUROTYPE_GROUPS.index("other_nd")
    group[t_nd & (client == NT)] = NEUROTYPE_GROUPS.index("nd_therapist")
    group[(therapist == NT) & c_nd] = NEUROTYPE_GROUPS.index("nt_therapist")
    group[(therapist == NT) & (client == NT)] = NEUROTYPE_GROUPS.index("both_nt")
    return group


@dataclass(frozen=True)
class Therapists:
    """Per-therapist arrays: tag-set code, team index, rates WAI-SR, latent effect."""

    tags: np.ndarray
    team: np.ndarray
    uses_wai: np.ndarray
    effect: np.ndarray


def draw_therapists(rng: np.random.Generator, n_episodes: int) -> Therapists:
    """About one therapist per 25 episodes, at least 12; a third also rate WAI-SR."""
    n = max(MIN_THERAPISTS, round(n_episodes / EPISODES_PER_THERAPIST))
    template = np.array([tag_code(t) for t in THERAPIST_TEMPLATE])
    tags = np.concatenate(
        [template[rng.permutation(len(template))], rng.choice(template, n - len(template))]
    )
    idx = np.arange(n)
    return Therapists(
        tags=tags, team=idx % len(TEAMS), uses_wai=idx % 3 == 1,
        effect=rng.normal(0.0, 0.3, n),
    )


def draw_client_tags(rng: np.random.Generator, n: int) -> np.ndarray:
    """Client tag-set codes: neurotypical, one or two ND tags, or unknown."""
    kind = rng.choice(3, size=n, p=_CLIENT_KIND_P)
    first = rng.choice(len(ND_TAGS), size=n, p=_TAG_P)
    second = rng.choice(len(ND_TAGS), size=n, p=_TAG_P)
    two = rng.random(n) < _SECOND_TAG
    nd = (1 << first) | np.where(two, 1 << second, 0)
    return np.select([kind == 0, kind == 1], [NT, nd], UNKNOWN)


def _categorical(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One draw per row from softmax(logits) (Gumbel-max trick)."""
    with np.errstate(divide="ignore"):
        return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


@dataclass(frozen=True)
class Episodes:
    """Per-episode arrays (see module docstring)."""

    therapist: np.ndarray
    client_tags: np.ndarray
    group: np.ndarray
    latent: np.ndarray
    intake_only: np.ndarray
    rupture: np.ndarray
    repaired: np.ndarray
    planned_end: np.ndarray  # index into _END_TYPES, before cutting at LAST_DAY
    start_day: np.ndarray  # days after FIRST_DAY


def draw_episodes(rng: np.random.Generator, n: int, ther: Therapists) -> Episodes:
    """Therapist, client, latent alliance quality, planned rupture/repair and ending."""
    weights = rng.gamma(4.0, size=len(ther.tags))
    therapist = rng.choice(len(ther.tags), size=n, p=weights / weights.sum())
    client_tags = draw_client_tags(rng, n)
    group = neurotype_group(ther.tags[therapist], client_tags)
    shift = np.array([_GROUP_SHIFT.get(g, 0.0) for g in NEUROTYPE_GROUPS])
    latent = rng.normal(size=n) + ther.effect[therapist] + shift[group]
    intake_only = rng.random(n) < expit(logit(_INTAKE_ONLY_P) - 0.3 * latent)
    rupture = ~intake_only & (rng.random(n) < expit(logit(0.33) - 0.35 * latent))
    repaired = rupture & (rng.random(n) < expit(logit(0.72) + 0.4 * latent))
    with np.errstate(divide="ignore"):
        logits = np.tile(np.log(_END_P), (n, 1))
        intake_logits = np.log(_INTAKE_END_P)
    logits[:, 0] += 0.3 * latent
    logits[:, 2] += 1.1 * (rupture & ~repaired) - 0.35 * latent
    logits[:, 2] -= 0.25 * (group == NEUROTYPE_GROUPS.index("shared"))
    logits[intake_only] = intake_logits
    planned_end = _categorical(rng, logits)
    span = int((LAST_DAY - FIRST_DAY).astype(int))
    start_day = rng.integers(0, span + 1, size=n)
    return Episodes(
        therapist=therapist, client_tags=client_tags, group=group, latent=latent,
        intake_only=intake_only, rupture=rupture, repaired=repaired,
        planned_end=planned_end, start_day=start_day,
    )


def planned_sessions(rng: np.random.Generator, eps: Episodes) -> np.ndarray:
    """Scheduled sessions per episode: negative binomial around the ending's mean, >= 3;
    intake-only episodes have one (drop-outs sometimes a second, missed, appointment)."""
    mean = np.asarray(_END_MEAN_SESSIONS)[eps.planned_end] - 3.0
    size = 3.0  # dispersion: variance = mean + mean^2 / size
    count = 3 + rng.negative_binomial(size, size / (size + mean))
    missed = (eps.planned_end == _END_TYPES.index("dropout")) & (rng.random(len(mean)) < 0.6)
    return np.where(eps.intake_only, 1 + missed, count)


@dataclass(frozen=True)
class Sessions:
    """Per-session arrays after cutting at LAST_DAY, and per-episode counts."""

    episode: np.ndarray
    rank: np.ndarray
    day: np.ndarray  # days after FIRST_DAY
    attendance: np.ndarray  # index into ATTENDANCE_CODES
    first: np.ndarray  # per episode: index of its first session
    count: np.ndarray  # per episode: scheduled sessions kept
    ongoing: np.ndarray  # per episode: cut at LAST_DAY


def schedule(rng: np.random.Generator, eps: Episodes) -> Sessions:
    """Expand episodes to dated sessions (weekly-ish with jitter) and draw attendance."""
    planned = planned_sessions(rng, eps)
    episode = np.repeat(np.arange(len(planned)), planned)
    first = np.cumsum(planned) - planned
    gaps = rng.choice(_GAP_DAYS, size=len(episode), p=_GAP_P)
    gaps[first] = 0
    elapsed = np.cumsum(gaps)
    day = eps.start_day[episode] + elapsed - elapsed[first][episode]
    keep = day <= int((LAST_DAY - FIRST_DAY).astype(int))
    episode, day = episode[keep], day[keep]
    count = np.bincount(episode, minlength=len(planned))
    first = np.cumsum(count) - count
    rank = np.arange(len(episode)) - first[episode]
    attendance = rng.choice(3, size=len(episode), p=_ATTEND_P)
    sess = Sessions(episode, rank, day, attendance, first, count, count < planned)
    _shape_attendance(rng, eps, sess)
    return sess


def _shape_attendance(rng: np.random.Generator, eps: Episodes, sess: Sessions) -> None:
    """Intake attended; some two-no-show streaks; drop-outs fade out with no-shows; other
    endings close with an attended session; intake-only episodes attend only the intake."""
    att, first, count = sess.attendance, sess.first, sess.count
    n_ep = len(count)
    streak = np.flatnonzero((count >= 5) & (rng.random(n_ep) < _NO_SHOW_STREAK_P))
    at = first[streak] + 1 + (rng.random(len(streak)) * (count[streak] - 2)).astype(int)
    att[at] = att[np.minimum(at + 1, len(att) - 1)] = 2
    last = first + count - 1
    ended = ~sess.ongoing
    dropout = ended & (eps.planned_end == _END_TYPES.index("dropout")) & ~eps.intake_only
    fade = dropout & (count >= 3)
    att[last[fade & (rng.random(n_ep) < 0.7)]] = 2
    att[last[fade & (rng.random(n_ep) < 0.4)] - 1] = 2
    att[last[ended & ~dropout & ~eps.intake_only]] = 0
    att[eps.intake_only[sess.episode] & (sess.rank > 0)] = 2
    att[first] = 0


def termination_codes(eps: Episodes, sess: Sessions) -> np.ndarray:
    """Index into ``schema.TERMINATION`` per episode: the planned ending, or ongoing."""
    ended = np.array([TERMINATION.index(t) for t in _END_TYPES])[eps.planned_end]
    return np.where(sess.ongoing, TERMINATION.index("ongoing"), ended)
