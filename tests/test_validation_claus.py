"""Reliable change and clinical significance reproduce the published Claus et al. (2020) counts.

Data: ``tests/fixtures/claus_2020/claus_2020.csv`` (43 patients with depression, 4 time points),
as shipped in the R package ``clinicalsignificance`` (GPL >= 3; source and terms in that
folder's README, which also lists the published counts).  The rows go through the SAME code
path as any export: a practice's measure file adds HAM-D and BDI-II to the registry, the rows
become sessions of a :class:`Caseload` (client_id = id, therapist_id = treatment,
session_date from time, every session attended) and
:func:`~supervision.clinical.outcomes.episode_outcomes` / :func:`~.category_summary` /
:func:`~.outcome_summary`
classify them.  Only times 1 and 4 are loaded: the published analyses compare time 1 with
time 4 ("n = 40 complete pairs"), so an episode is paired exactly when it has both.

Boundary semantics, as documented in the outcomes module:

* Jacobson–Truax uses the strict ``|RCI| > 1.96``.  In this sample no |RCI| lies within 0.06 of
  1.96 (HAM-D: 1.89 and 2.37 either side; BDI-II: 1.94 and 2.14), so the published counts do not
  discriminate ``>`` from ``>=`` — the strict form is the published definition (README).
* The minimal important difference (``reliable_change = 7``) needs a change of *at least* 7
  points: with ``>= 7`` the counts are improved 25 / unchanged 11 / deteriorated 4 as published;
  with ``> 7`` they would be 20 / 17 / 3 (worked out on the same data), which is not.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical.outcomes import category_summary, episode_outcomes, outcome_summary
from supervision.measures import default_registry

CSV = Path(__file__).resolve().parent / "fixtures" / "claus_2020" / "claus_2020.csv"

PRACTICE_MEASURES = """
[hamd]
name = "Hamilton Depression Rating Scale"
kind = "outcome"
min = 0
max = 52
better = "lower"
reliability = 0.80
functional_mean = 8
functional_sd = 8

[bdi]
name = "Beck Depression Inventory II"
kind = "outcome"
min = 0
max = 63
better = "lower"
reliability = 0.801
functional_mean = 7.69
functional_sd = 7.52

[bdi_mid]
name = "BDI-II, minimal important difference"
kind = "outcome"
min = 0
max = 63
better = "lower"
reliable_change = 7
"""

pytestmark = pytest.mark.skipif(not CSV.exists(), reason="validation data not mounted")


@pytest.fixture(scope="module")
def claus() -> Caseload:
    """Times 1 and 4 of the trial as a two-therapist caseload (TAU, PA)."""
    reg = default_registry().extended(tomllib.loads(PRACTICE_MEASURES), source="practice.toml")
    raw = pd.read_csv(CSV)
    raw = raw[raw["time"].isin([1.0, 4.0])]
    ids = raw["id"].astype(int).astype(str)
    date = pd.Timestamp("2019-01-07") + pd.to_timedelta((raw["time"] - 1) * 28, unit="D")
    sessions = pd.DataFrame({
        "client_id": ids, "therapist_id": raw["treatment"], "episode_id": ids,
        "session_date": date, "hamd": raw["hamd"], "bdi": raw["bdi"], "bdi_mid": raw["bdi"],
    })
    episodes = sessions.groupby("episode_id", as_index=False).agg(
        client_id=("client_id", "first"), therapist_id=("therapist_id", "first"),
        start_date=("session_date", "min"), end_date=("session_date", "max"))
    episodes["termination"] = "completed"
    therapists = pd.DataFrame({"therapist_id": ["PA", "TAU"]})
    return Caseload.from_frames(sessions, episodes, therapists, registry=reg, source="claus_2020")


def _counts(cl: Caseload, measure: str) -> dict[str, int]:
    df = category_summary(cl, measure)
    return dict(zip(df["category"], df["episodes"], strict=True))


def test_hamd_sample_statistics(claus: Caseload) -> None:
    """README: n = 40 complete pairs; pre mean 24.85, SD 3.34, S_diff 2.112, c = 19.887."""
    ep = episode_outcomes(claus, "hamd").execute()
    assert len(ep) == 40
    pre = ep["first_score"]
    assert pre.mean() == pytest.approx(24.85, abs=0.005)
    assert pre.std(ddof=1) == pytest.approx(3.34, abs=0.005)
    m = claus.registry["hamd"]
    assert m.s_diff(pre.std(ddof=1)) == pytest.approx(2.112, abs=0.0005)
    assert m.cutoff(pre.mean(), pre.std(ddof=1)) == pytest.approx(19.887, abs=0.0005)
    # the clinical flags use that cut-off (lower is better: clinical at or above c)
    c = m.cutoff(pre.mean(), pre.std(ddof=1))
    assert (ep["first_clinical"] == (ep["first_score"] >= c)).all()
    assert (ep["last_clinical"] == (ep["last_score"] >= c)).all()


def test_hamd_jacobson_truax_counts(claus: Caseload) -> None:
    """README bullet 1: HAM-D, reliability .80: improved 29, unchanged 10, deteriorated 1."""
    row = outcome_summary(claus, "hamd").iloc[0]
    assert int(row["paired"]) == 40
    assert int(row["reliable_improvement"]) == 29
    assert int(row["reliable_deterioration"]) == 1
    assert int(row["paired"] - row["reliable_improvement"] - row["reliable_deterioration"]) == 10


def test_hamd_combined_categories(claus: Caseload) -> None:
    """README bullet 2: recovered 26, improved 3, unchanged 10, deteriorated 1, harmed 0."""
    assert _counts(claus, "hamd") == {
        "recovered": 26, "improved": 3, "unchanged": 10, "deteriorated": 1, "harmed": 0}


def test_bdi_combined_categories(claus: Caseload) -> None:
    """README bullet 3: BDI-II .801, functional 7.69 / 7.52, c = 21.02, RC 10.09 points:
    recovered 10, improved 8, unchanged 22, deteriorated 0, harmed 0."""
    ep = episode_outcomes(claus, "bdi").execute()
    pre_mean, pre_sd = ep["first_score"].mean(), ep["first_score"].std(ddof=1)
    assert (pre_mean, pre_sd) == (pytest.approx(35.48, abs=0.005), pytest.approx(8.16, abs=0.005))
    m = claus.registry["bdi"]
    assert m.cutoff(pre_mean, pre_sd) == pytest.approx(21.02, abs=0.005)
    assert 1.96 * m.s_diff(pre_sd) == pytest.approx(10.09, abs=0.005)
    assert _counts(claus, "bdi") == {
        "recovered": 10, "improved": 8, "unchanged": 22, "deteriorated": 0, "harmed": 0}


def test_bdi_minimal_important_difference(claus: Caseload) -> None:
    """README bullet 4: MID 7 points: improved 25, unchanged 11, deteriorated 4;
    TAU 8 / 7 / 4, PA 17 / 4 / 0 (therapist_id = treatment arm)."""
    total = outcome_summary(claus, "bdi_mid").iloc[0]
    arms = outcome_summary(claus, "bdi_mid", by="therapist_id").set_index("therapist_id")
    got = {}
    for name, r in [("all", total), *arms.iterrows()]:
        ri, rd = int(r["reliable_improvement"]), int(r["reliable_deterioration"])
        got[name] = (ri, int(r["paired"]) - ri - rd, rd)
    assert got == {"all": (25, 11, 4), "TAU": (8, 7, 4), "PA": (17, 4, 0)}


def test_jacobson_truax_boundary_is_not_hit(claus: Caseload) -> None:
    """The strict |RCI| > 1.96 is untested by these data: no |RCI| within 0.05 of 1.96."""
    ep = episode_outcomes(claus, "hamd").execute()
    s_diff = claus.registry["hamd"].s_diff(ep["first_score"].std(ddof=1))
    rci = (ep["change"] / s_diff).abs()
    assert not ((rci - 1.96).abs() < 0.05).any()
    assert math.isclose(s_diff, 2.1124781898, rel_tol=1e-9)
