"""The quarterly review pack (``supervision report``, issue 7).

The packs are built once per module (each runs a report notebook in a fresh kernel, which
takes tens of seconds on a busy machine) and then inspected as text: sections, cover,
checksum, no external resource, plotly.js exactly once, therapist files holding no other
therapist's ids, escaping of hostile ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from supervision.cli import main
from supervision.errors import ConfigError, ScopeError, SupervisionError
from supervision.io import load_export
from supervision.report import ReportArgs, build_report, quarter_window, safe_name
from supervision.report.build import practice_bundle
from supervision.report.page import LIB_ID, LIB_RE, check_self_contained, count_figures

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
QUARTER = "2024Q3"
PRACTICE_SECTIONS = (
    "cover", "headline", "alliance", "ruptures", "neurotype", "termination", "funnels",
    "reflection", "references",
)
THERAPIST_SECTIONS = (
    "cover", "headline", "alliance", "ruptures", "neurotype", "termination", "cases",
    "reflection", "references",
)
HOSTILE = '<b>T"9&<i>'  # no "/": validation refuses an id that could be read as a path

pytestmark = pytest.mark.slow


def _page_text(document: str) -> str:
    """The document without the inlined plotly.js (so ids are not matched inside the library)."""
    return LIB_RE.sub("", document)


@pytest.fixture(scope="module")
def practice_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("pack") / "pack.html"
    build_report(ReportArgs(str(DEMO), QUARTER, out=str(out), quiet=True))
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def therapist_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("t01") / "T01.html"
    build_report(ReportArgs(str(DEMO), QUARTER, out=str(out), therapist="T01", quiet=True))
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's therapists T01 and T02 only, T02 renamed to an HTML-hostile id."""
    folder = tmp_path_factory.mktemp("hostile") / "practice<&>"
    folder.mkdir()
    for name in ("sessions", "episodes", "therapists"):
        df = pd.read_csv(DEMO / f"{name}.csv", dtype=str, keep_default_na=False)
        df = df[df["therapist_id"].isin(["T01", "T02"])].copy()
        df["therapist_id"] = df["therapist_id"].replace({"T02": HOSTILE})
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def per_therapist(hostile_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("per")
    build_report(
        ReportArgs(str(hostile_export), QUARTER, per_therapist=str(out), quiet=True)
    )
    return out


# ---------------------------------------------------------------------- the practice pack
def test_practice_pack_has_every_section(practice_html: str) -> None:
    for key in PRACTICE_SECTIONS:
        assert f'<section class="sv-section" id="{key}"' in practice_html, key
    assert 'id="cases"' not in practice_html  # cases only in a therapist's own pack


def test_cover_fields_and_checksum(practice_html: str) -> None:
    cl = load_export(DEMO, progress=False)
    cover = practice_html.split('id="headline"')[0]
    assert cl.checksum and cl.checksum in cover
    assert "2024Q3" in cover
    # the demo's first and last session dates (data/demo/sessions.csv)
    assert "2023-01-02 to 2024-12-31" in cover
    assert "<td>demo</td>" in cover  # the export's name (not the folder it sits in)
    assert "groups of fewer than 5 episodes are shown as &lt;5" in cover
    assert "prompts for reflection, not verdicts" in cover
    assert re.search(r"Generated</th><td>\d{4}-\d\d-\d\d \d\d:\d\d UTC", cover)


def test_benchmarks_labelled_with_sources(practice_html: str) -> None:
    text = practice_html.split('id="headline"')[1].split('id="alliance"')[0]
    assert "Swift &amp; Greenberg 2012" in text
    assert "NHS Talking Therapies, England 2024-25" in text


def test_self_contained_plotly_once(practice_html: str) -> None:
    check_self_contained(practice_html)  # raises on any external src/href/url()
    assert practice_html.count(f'<script id="{LIB_ID}"') == 1
    rest = _page_text(practice_html)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", rest, re.I)
    for cdn in ("require.js", "MathJax", "@jupyter-widgets", "FigureWidget", "<link"):
        assert cdn not in rest
    assert "In&nbsp;[" not in rest and "jp-InputArea" not in rest  # no code cells


def test_every_section_declares_its_figures(practice_html: str) -> None:
    """The page draws as many figures as the sections say they hold (e2e counts them)."""
    declared = sum(int(n) for n in re.findall(r'data-figures="(\d+)"', practice_html))
    assert declared == count_figures(practice_html) > 10


def test_funnels_in_practice_pack_are_not_ranked(practice_html: str) -> None:
    funnels = practice_html.split('id="funnels"')[1].split('id="reflection"')[0]
    assert "no ranked list" in funnels
    assert "therapist T" in funnels  # hover labels of the funnel points


# ---------------------------------------------------------------------- therapist packs
def test_therapist_pack_holds_only_their_own_ids(therapist_html: str) -> None:
    """T01's pack from the full demo: no other demo therapist id, no episode not T01's."""
    episodes = pd.read_csv(DEMO / "episodes.csv", dtype=str)
    check_self_contained(therapist_html)
    text = _page_text(therapist_html)
    for section in THERAPIST_SECTIONS:
        assert f'id="{section}"' in text, section
    assert 'id="funnels"' not in text
    others = episodes[episodes["therapist_id"] != "T01"]
    # every other therapist of the demo, by id, and every episode that is not T01's
    for tid in sorted(set(others["therapist_id"])):
        assert not re.search(rf"\b{tid}\b", text), tid
    leaked = [e for e in others["episode_id"] if re.search(rf"\b{e}\b", text)]
    assert leaked == []
    mine = episodes.loc[episodes["therapist_id"] == "T01", "episode_id"]
    assert any(re.search(rf"\b{e}\b", text) for e in mine)  # the own caseload is there


def test_per_therapist_writes_one_file_each(per_therapist: Path) -> None:
    files = sorted(p.name for p in per_therapist.glob("*.html"))
    assert len(files) == 2 and "T01.html" in files
    text = _page_text((per_therapist / "T01.html").read_text(encoding="utf-8"))
    assert "T&quot;9" not in text and 'T"9' not in text and "T&amp;quot;9" not in text
    assert 'id="funnels"' not in text and 'id="cases"' in text


def test_hostile_id_is_escaped_and_filename_safe(per_therapist: Path) -> None:
    hostile = [p for p in per_therapist.glob("*.html") if p.name != "T01.html"]
    assert len(hostile) == 1 and "<" not in hostile[0].name and '"' not in hostile[0].name
    text = _page_text(hostile[0].read_text(encoding="utf-8"))
    assert HOSTILE not in text
    assert "&lt;b&gt;T&quot;9&amp;&lt;i&gt;" in text
    assert "<b>T" not in text
    assert "practice&lt;&amp;&gt;" in text and "practice<&>" not in text  # the source name
    check_self_contained(hostile[0].read_text(encoding="utf-8"))


def test_practice_bundle_is_anonymous() -> None:
    """What a therapist's kernel gets about the practice: no id of any kind, cells suppressed."""
    cl = load_export(DEMO, progress=False)
    agg = practice_bundle(cl, QUARTER, {"source": "demo"}, min_cell=5)
    text = json.dumps(agg)
    episodes = pd.read_csv(DEMO / "episodes.csv", dtype=str)
    for value in [*episodes["therapist_id"].unique(), *episodes["episode_id"],
                  *episodes["client_id"].unique()]:
        assert not re.search(rf"\b{value}\b", text), value
    groups = agg["neurotype_groups"]
    assert groups
    for g in groups:
        if g["suppressed"]:
            assert g["episodes"] is None and g["dropout_rate"] is None
        else:
            assert g["episodes"] >= 5


def test_safe_name() -> None:
    assert safe_name("T01") == "T01"
    a, b = safe_name("T/01"), safe_name("T:01")
    assert a.startswith("T_01-") and b.startswith("T_01-") and a != b
    assert "/" not in safe_name("../../etc") and not safe_name("../../etc").startswith(".")


# ---------------------------------------------------------------------- errors
def test_quarter_outside_the_export_names_the_range() -> None:
    cl = load_export(DEMO, progress=False)
    with pytest.raises(ScopeError, match=r"2022Q4 .*outside the export's date range "
                       r"2023-01-02 to 2024-12-31; choose a quarter from 2023Q1 to 2024Q4"):
        quarter_window("2022Q4", cl)
    with pytest.raises(ConfigError, match="YYYYQn"):
        quarter_window("2024-3", cl)
    assert quarter_window("2024Q4", cl)[1].isoformat() == "2024-12-31"


def test_cli_bad_quarter_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", str(DEMO), "--quarter", "2030Q1", "--out", str(tmp_path / "x.html")])
    assert code == 1
    err = capsys.readouterr().err
    assert "supervision report: quarter 2030Q1" in err and "2023-01-02 to 2024-12-31" in err
    assert not (tmp_path / "x.html").exists()


def test_unknown_therapist_and_bad_options(tmp_path: Path) -> None:
    out = str(tmp_path / "x.html")
    with pytest.raises(ScopeError, match="'T99' is not in this export"):
        build_report(ReportArgs(str(DEMO), QUARTER, out=out, therapist="T99", quiet=True))
    with pytest.raises(ConfigError, match=r"upward only|below 5"):
        build_report(ReportArgs(str(DEMO), QUARTER, out=out, min_cell=3, quiet=True))
    with pytest.raises(ConfigError, match="either --out"):
        build_report(ReportArgs(str(DEMO), QUARTER, quiet=True))


def test_check_self_contained_refuses_network() -> None:
    lib = f'<script id="{LIB_ID}">/* plotly */</script>'
    ok = f"<html><head>{lib}</head><body><p>see https://example.org</p></body></html>"
    check_self_contained(ok)  # a plain-text link is fine
    for bad in (
        '<script src="https://cdn.plot.ly/plotly.min.js"></script>',
        "<link rel=stylesheet href='//fonts.example/x.css'>",
        '<img src="http://example.org/x.png">',
        "<style>body{background:url(https://example.org/a.png)}</style>",
    ):
        with pytest.raises(SupervisionError):
            check_self_contained(ok.replace("<body>", f"<body>{bad}"))
    with pytest.raises(SupervisionError, match="2 times"):
        check_self_contained(ok.replace("</head>", f"{lib}</head>"))
