"""Assemble the canonical ``sessions``, ``episodes`` and ``therapists`` frames of the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd

from supervision.demo import _scores as sc
from supervision.demo import _structure as st
from supervision.schema import REPAIR, RUPTURE, TERMINATION

SRS_COLUMNS = ("srs", "srs_relationship", "srs_goals", "srs_approach", "srs_overall")
WAI_COLUMNS = ("wai_sr", "wai_goal", "wai_task", "wai_bond")
#: Measure columns that hold whole numbers (written without a decimal point).
INTEGER_COLUMNS = (*WAI_COLUMNS, "phq9", "phq9_item9", "gad7")
DATE_COLUMNS = ("session_date", "start_date", "end_date")


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Pseudonyms ``prefix`` + zero-padded 1..n (wider when n needs more digits)."""
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _dates(days: np.ndarray) -> np.ndarray:
    """Days after ``FIRST_DAY`` -> ``datetime64[s]`` (pandas' date resolution)."""
    return (st.FIRST_DAY + days.astype("timedelta64[D]")).astype("datetime64[s]")


def _scatter(n: int, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Length-``n`` float array, NaN except ``values`` at ``where``."""
    out = np.full(n, np.nan)
    out[where] = values
    return out


def _measure_columns(
    rng: np.random.Generator, eps: st.Episodes, ther: st.Therapists, sess: st.Sessions
) -> tuple[dict[str, np.ndarray], sc.Flags]:
    """Every measure column of the sessions table, plus the rupture flags."""
    att = sc.attended(sess)
    n = len(sess.episode)
    flags = sc.flag_ruptures(rng, eps, att, n)
    level = sc.alliance_level(rng, eps, att, flags)
    srs = sc.srs_items(rng, level) / 10.0
    cols = {c: _scatter(n, att.index, srs[:, i]) for i, c in enumerate(SRS_COLUMNS)}
    wai = sc.wai_subscales(rng, level)
    uses = ther.uses_wai[eps.therapist[att.episode]]
    wai_all = np.column_stack([wai.sum(axis=1), wai])[uses]
    for i, c in enumerate(WAI_COLUMNS):
        cols[c] = _scatter(n, att.index[uses], wai_all[:, i])
    phq, gad = sc.outcome_scores(rng, eps, att)
    cols["phq9"] = _scatter(n, att.index, phq)
    cols["gad7"] = _scatter(n, att.index, gad)
    return cols, flags


def build_frames(episodes: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw the whole demo caseload; see :func:`supervision.demo.generate_demo`."""
    rng = np.random.default_rng(seed)
    ther = st.draw_therapists(rng, episodes)
    eps = st.draw_episodes(rng, episodes, ther)
    sess = st.schedule(rng, eps)
    cols, flags = _measure_columns(rng, eps, ther, sess)
    att = sc.attended(sess)
    phq = sc.plant_sudden_losses(np.random.default_rng((seed, 15)), att, sess.ongoing,
                                 cols["phq9"][att.index])
    cols["phq9"] = _scatter(len(sess.episode), att.index, phq)
    item9 = sc.phq9_item9(np.random.default_rng((seed, 19)), att, sess.ongoing, phq)
    cols = {**{k: v for k, v in cols.items() if k != "gad7"},
            "phq9_item9": _scatter(len(sess.episode), att.index, item9), "gad7": cols["gad7"]}
    labels = st.tag_labels()
    t_ids = _ids("T", len(ther.tags), 2)
    e_ids, c_ids = _ids("E", episodes, 5), _ids("C", episodes, 4)
    termination = st.termination_codes(eps, sess)
    last_day = sess.day[sess.first + sess.count - 1]
    therapists = pd.DataFrame({
        "therapist_id": t_ids,
        "therapist_neurotype": labels[ther.tags],
        "team": np.array(st.TEAMS, dtype=object)[ther.team],
    })
    episodes_df = pd.DataFrame({
        "episode_id": e_ids,
        "client_id": c_ids,
        "therapist_id": t_ids[eps.therapist],
        "start_date": _dates(sess.day[sess.first]),
        "end_date": np.where(sess.ongoing, np.datetime64("NaT", "s"), _dates(last_day)),
        "client_neurotype": labels[eps.client_tags],
        "termination": np.array(TERMINATION, dtype=object)[termination],
    })
    e = sess.episode
    repair = np.array((*REPAIR, None), dtype=object)[flags.repair]  # -1 -> None
    sessions = pd.DataFrame({
        "client_id": c_ids[e],
        "therapist_id": t_ids[eps.therapist[e]],
        "episode_id": e_ids[e],
        "session_date": _dates(sess.day),
        "attendance": np.array(st.ATTENDANCE_CODES, dtype=object)[sess.attendance],
        **cols,
        "rupture": np.array(RUPTURE, dtype=object)[flags.rupture],
        "repair": repair,
    })
    return sessions, episodes_df, therapists
