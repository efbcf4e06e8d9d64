"""Property: any valid export loads with no row lost or added and its values round-trip.

Hypothesis builds random but valid caseloads (therapists, episodes, sessions with scores,
attendance, ruptures and repairs on the rupture's own session), writes them as three CSVs,
a flat CSV or a ``;`` CSV with decimal commas, and the loaded tables must equal the
reference built by :meth:`Caseload.from_frames` from the same Python values.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
from fixtures.io_exports import write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision import schema
from supervision.caseload import Caseload
from supervision.io import load_export

TEAM = st.text("abcdefgh XYZ-", min_size=1, max_size=8).map(str.strip).filter(bool)
TAGS = st.one_of(st.just("unknown"), st.just("neurotypical"),
                 st.sets(st.sampled_from(schema.ND_TAGS), min_size=1, max_size=3)
                 .map(lambda s: ";".join(sorted(s))))
SCORE = st.one_of(st.none(), st.integers(0, 400).map(lambda x: x / 10))
PHQ = st.one_of(st.none(), st.integers(0, 27).map(float))


@st.composite
def caseloads(draw) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n_t = draw(st.integers(1, 3))
    ther = pd.DataFrame({"therapist_id": [f"T{i}" for i in range(n_t)],
                         "therapist_neurotype": [draw(TAGS) for _ in range(n_t)],
                         "team": [draw(st.one_of(st.none(), TEAM)) for _ in range(n_t)]})
    eps, sess = [], []
    for j in range(draw(st.integers(1, 4))):
        t = f"T{draw(st.integers(0, n_t - 1))}"
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400)))
        start = day
        for _ in range(draw(st.integers(1, 5))):
            rupture = draw(st.sampled_from(schema.RUPTURE))
            repair = draw(st.sampled_from((None, *schema.REPAIR))) if rupture != "none" else None
            attendance = draw(st.sampled_from(schema.ATTENDANCE))
            sess.append({"client_id": f"C{j}", "therapist_id": t, "episode_id": f"E{j}",
                         "session_date": day, "attendance": attendance,
                         "srs": draw(SCORE), "phq9": draw(PHQ), "rupture": rupture,
                         "repair": repair})
            day += dt.timedelta(days=draw(st.integers(1, 21)))
        term = draw(st.sampled_from(schema.TERMINATION))
        eps.append({"episode_id": f"E{j}", "client_id": f"C{j}", "therapist_id": t,
                    "start_date": start, "end_date": None if term == "ongoing" else day,
                    "client_neurotype": draw(TAGS), "termination": term})
    return pd.DataFrame(sess), pd.DataFrame(eps), ther


def _text(v: object, comma: bool) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        s = repr(v)
        return s.replace(".", ",") if comma else s
    return str(v)


def _rows(df: pd.DataFrame, comma: bool = False) -> tuple[list[str], list[list[str]]]:
    return list(df.columns), [[_text(v, comma) for v in r] for r in df.itertuples(index=False)]


def write(form: str, s, e, t, folder: Path) -> Path:
    if form == "three":
        for name, df in (("sessions", s), ("episodes", e), ("therapists", t)):
            write_csv(folder / f"{name}.csv", *_rows(df))
        return folder
    flat = s.merge(e.drop(columns=["client_id", "therapist_id"]), on="episode_id")
    flat = flat.merge(t, on="therapist_id")
    comma = form == "semicolon"
    return write_csv(folder / "flat.csv", *_rows(flat, comma), delimiter=";" if comma else ",")


def table(c: Caseload, name: str, key: str) -> pd.DataFrame:
    return getattr(c, name).execute().sort_values(key).reset_index(drop=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=caseloads(), form=st.sampled_from(["three", "flat", "semicolon"]))
def test_any_valid_export_round_trips(data, form: str) -> None:
    s, e, t = data
    if form != "three":  # the flat form only knows therapists that have sessions
        t = t[t.therapist_id.isin(s.therapist_id)].reset_index(drop=True)
    ref = Caseload.from_frames(s, e, t)
    with tempfile.TemporaryDirectory() as tmp:
        got = load_export(write(form, s, e, t, Path(tmp)))
    assert got.sessions.count().execute() == len(s)
    for name, key in (("sessions", "source_row"), ("episodes", "episode_id"),
                      ("therapists", "therapist_id")):
        pd.testing.assert_frame_equal(table(got, name, key), table(ref, name, key), obj=name)
