"""Who gets which JSON (issue 23, "Must hold": one gate for lead, scoped supervisor,
therapist, pack and JSON; brief item 1).

``supervision metrics PATH`` reads the whole export, so whoever runs it holds every
therapist's rows: its ``practice`` block is M of the whole practice over the dates given
(domain.md §9), which minus one therapist's own M *is* the other therapists' figures.  So
the §9 JSON is the export holder's (the lead's), not a therapist's; ``--therapist ID``
picks which M is printed and does not make it theirs.  That was nowhere said: a lead asked
for "T03's figures" would run ``metrics --therapist T03`` and hand the file over.  Now the
JSON says who it is for (``meta.audience``), the command says it on standard error with
``--therapist``, and the therapist's own JSON — the bundle of their server and pack — holds
only what the gate hands over: every figure of others from the gate's closed quarter,
the expected-response bands included (on main the bands were the export's end, with no
period: a refresh could be subtracted, see test_gate_handed_bands.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supervision import cli
from supervision.caseload import Caseload
from supervision.comparison import gate
from supervision.metrics import compute_metrics
from supervision.opening import BANDS_KEY, write_bundle

K = 5


@pytest.fixture(scope="module")
def demo() -> Caseload:
    from supervision.demo import generate_demo

    return Caseload.from_frames(*generate_demo(episodes=60, seed=3))


def test_the_metrics_json_says_it_is_the_export_holders(demo: Caseload) -> None:
    meta = compute_metrics(demo, therapist="T01")["meta"]
    words = meta.get("audience") or ""
    assert "whoever holds the export" in words
    assert "not for a therapist" in words and "privacy gate" in words


def test_metrics_with_therapist_warns_on_stderr(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export"
    assert cli.main(["demo", "--out", str(export), "--episodes", "60", "--seed", "3"]) == 0
    capsys.readouterr()
    out = tmp_path / "t01.json"
    assert cli.main(["metrics", str(export), "--therapist", "T01", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "not to be handed to the therapist" in err and "report --therapist" in err
    assert json.loads(out.read_text(encoding="utf-8"))["meta"]["audience"]
    # without --therapist (the whole practice, the lead's) no such notice
    assert cli.main(["metrics", str(export), "--out", str(tmp_path / "all.json")]) == 0
    assert "handed to the therapist" not in capsys.readouterr().err


def test_the_therapists_json_is_what_the_gate_hands_over(demo: Caseload, tmp_path: Path) -> None:
    """The bundle's practice.json: the gate's output for {T01}, key for key, and the bands,
    which name the same closed quarter."""
    folder = write_bundle(demo, "T01", tmp_path, min_cell=K)
    handed = json.loads((folder / "practice.json").read_text(encoding="utf-8"))
    gated = json.loads(json.dumps(gate(demo, entitled={"T01"}, min_cell=K), default=str))
    assert set(handed) == set(gated) | {BANDS_KEY}
    assert handed[BANDS_KEY].get("period") == gated["period"] is not None
