"""The README written beside a demo export: labels it SYNTHETIC and says how it was drawn."""

from __future__ import annotations

import pandas as pd

MARK = "# SYNTHETIC demo export"

_HOW = """\
## How the rows were drawn

One seeded NumPy generator draws everything (same command, same bytes).  The structure is
there to make the dashboards worth looking at; the associations are built in and kept
modest.  Nothing here is evidence about therapy, therapists or neurotypes.

- **Therapists**: one per 25 episodes, at least 12; two teams (North, South).  Of the
  first twelve, six are neurodivergent (four with two tags), five neurotypical, one
  `unknown`.  A third of therapists also rate WAI-SR (every attended session).
- **Episodes**: one client each (`C…`), started uniformly over 2023-01-01 .. 2024-12-31;
  sessions weekly with jitter (some fortnightly gaps); sessions after 2024-12-31 are cut,
  so episodes still running then are `ongoing` (many in the last quarter).  An ended
  episode's `end_date` is its last scheduled session.
- **Attendance**: mostly attended; some cancelled and no-show; a few episodes with two
  no-shows in a row; drop-outs often end on no-shows; the intake is always attended.
- **Alliance**: SRS (0–40, to 0.1; four items 0–10 that sum to it exactly) on every
  attended session, rising over the episode; WAI-SR (12–60; goal, task, bond 4–20, whole
  numbers, summing to it) for some therapists.  Each episode has a latent alliance
  quality (therapist effect SD 0.3; shared-neurotype pairs +0.3 SD, neurotypical
  therapist with neurodivergent client -0.1 SD).
- **Ruptures**: a flagged rupture (withdrawal 55%, confrontation 30%, unspecified 15%) in
  about a third of episodes past intake, likelier with lower alliance quality; about 72%
  repaired (`resolved` on the same session or 1–3 sessions later), the rest `partial`,
  `unresolved` or blank.  A flagged rupture dips SRS by 3–9 points; a repaired one
  climbs back by the repair session and settles 1.5 points above its course (repair
  strengthens the alliance), an unrepaired one stays low.  About 15% of other episodes
  have an unflagged V-shaped dip of 5–9 points that recovers within 1–3 sessions (or, in
  a quarter of them, does not).
- **Termination**: completed most often; drop-out about 20% of ended episodes (Swift &
  Greenberg 2012: 19.7%), raised by an unrepaired rupture and by lower alliance quality,
  slightly lower in shared-neurotype pairs; client_ended, external and therapist_ended
  present; about 7% of episodes are planned intake-only (one attended session), and a
  few more drop-outs attend only the intake.
- **Outcomes**: PHQ-9 (0–27) and GAD-7 (0–21), whole numbers, every attended session;
  most start in the clinical range and improve (more with better alliance quality and
  planned endings); about 6% of episodes worsen.  Targets: NHS Talking Therapies 2024-25
  (recovery 50.5%, reliable improvement 67.5%, deterioration 5.8%).
- **Expected response and sudden gains**: the ended episodes are the practice's history
  for the expected-response bands (`supervision expected`); the open episodes that worsen
  are not on track against it.  Sudden gains arise from the course and its noise; about a
  third of the open episodes with five or more attended sessions get a sudden loss of 9
  PHQ-9 points at their third-last session (a case to discuss, `sudden_loss`).
- **PHQ-9 item 9** (`phq9_item9`, 0–3, thoughts of self-harm) on every PHQ-9 session: 0
  for most; about 15% of episodes are prone to it, and on their sessions at caseness
  (PHQ-9 10 and above) it is above 0 half the time (three in four from PHQ-9 15 on); a
  fifth of the open episodes still at caseness score 1 or 2 at their latest session.  An
  open episode with item 9 above 0 at its latest scored session is listed first, as
  `risk_item` (domain.md §7).  Drawn from
  its own generator: every other column is as without it.
"""


def _pct(part: float, whole: float) -> str:
    return "n/a" if whole == 0 else f"{100.0 * part / whole:.1f}%"


def _repaired(sessions: pd.DataFrame) -> tuple[int, int]:
    """Flagged ruptures, and those with ``resolved`` on them or a later session (domain §4)."""
    order = pd.Series(range(len(sessions)), index=sessions.index)
    last_resolved = order[sessions["repair"] == "resolved"].groupby(sessions["episode_id"]).max()
    flagged = sessions["rupture"] != "none"
    reach = sessions.loc[flagged, "episode_id"].map(last_resolved)
    return int(flagged.sum()), int((reach >= order[flagged]).sum())


def _facts(frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> list[str]:
    """Plain-pandas counts of what this seed produced."""
    sessions, episodes, therapists = frames
    attendance = sessions["attendance"].value_counts()
    term = episodes["termination"].value_counts()
    ended = int((episodes["termination"] != "ongoing").sum())
    attended = sessions[sessions["attendance"] == "attended"]
    n_att = attended.groupby("episode_id").size()
    ended_ids = episodes.loc[episodes["termination"] != "ongoing", "episode_id"]
    intake_only = int((n_att.reindex(ended_ids, fill_value=0) == 1).sum())
    flagged, repaired = _repaired(sessions)
    ruptured = sessions.loc[sessions["rupture"] != "none", "episode_id"].nunique()
    nd = ~therapists["therapist_neurotype"].isin(["neurotypical", "unknown"])
    counts = ", ".join(f"{k} {int(term.get(k, 0)):,}" for k in (
        "completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing"))
    visits = ", ".join(
        f"{k} {int(attendance.get(k, 0)):,}" for k in ("attended", "cancelled", "no_show"))
    dates = sessions["session_date"]
    return [
        f"- {len(sessions):,} scheduled sessions, {dates.min():%Y-%m-%d} to "
        f"{dates.max():%Y-%m-%d}: {visits}.",
        f"- {len(episodes):,} episodes of {len(therapists):,} therapists "
        f"({int(nd.sum()):,} neurodivergent) in {therapists['team'].nunique()} teams.",
        f"- Termination: {counts}; drop-out {_pct(term.get('dropout', 0), ended)} of "
        f"{ended:,} ended episodes; intake-only {_pct(intake_only, ended)}.",
        f"- Flagged ruptures: {flagged:,} in {ruptured:,} episodes "
        f"({_pct(ruptured, len(episodes))}); repaired {_pct(repaired, flagged)}.",
        f"- Rated sessions: SRS {int(attended['srs'].notna().sum()):,}, WAI-SR "
        f"{int(attended['wai_sr'].notna().sum()):,}, PHQ-9 and GAD-7 "
        f"{int(attended['phq9'].notna().sum()):,}.",
    ]


def readme_text(
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], *, episodes: int, seed: int, fmt: str
) -> str:
    """README for a demo export; its first line starts with :data:`MARK`."""
    command = f"supervision demo --episodes {episodes} --seed {seed}"
    command += " --format parquet" if fmt == "parquet" else ""
    ext = fmt
    lines = [
        f"{MARK}, generated by `{command}`: no real person, client or therapist is in it.",
        "",
        "Every id (`T01`, `C0001`, `E00001`), date and score here was drawn by a random "
        "generator. Use it to try `supervision` (`supervision serve`, `supervision metrics`) "
        "and to test it; never as clinical data or evidence.",
        "",
        "## Files",
        "",
        f"- `sessions.{ext}`: one row per scheduled session (domain.md §2): client_id, "
        "therapist_id, episode_id, session_date, attendance, srs and its four items, "
        "wai_sr and its three subscales, phq9, gad7, rupture, repair.",
        f"- `episodes.{ext}`: episode_id, client_id, therapist_id, start_date, end_date, "
        "client_neurotype, termination.",
        f"- `therapists.{ext}`: therapist_id, therapist_neurotype, team.",
        "",
        "## What this seed produced",
        "",
        *_facts(frames),
        "",
        _HOW,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
