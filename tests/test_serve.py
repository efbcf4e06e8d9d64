"""supervision serve: validation before Voilà starts, therapist scoping, the command line."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest
from compare import nested_close

from supervision import opening
from supervision import serve as sv
from supervision.errors import ConfigError, ExportError, ScopeError


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic export written by supervision.demo (CSV)."""
    from supervision.demo import write_demo

    out = tmp_path_factory.mktemp("demo") / "export"
    write_demo(out, episodes=120, seed=5)
    return out


def test_voila_command_is_local_hidden_and_preheated() -> None:
    cmd = sv.voila_command(Path("/x"), 9999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9999" in cmd
    assert "--strip_sources=True" in cmd and "--show_tracebacks=False" in cmd
    assert "--preheat_kernel=True" in cmd and "--pool_size=1" in cmd
    assert "--Voila.port_retries=0" in cmd


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="already in use"):
            sv.check_port(s.getsockname()[1])


def test_dashboards_are_found_and_thin() -> None:
    import nbformat

    folder = sv.find_dashboards()
    for name in sv.NOTEBOOKS:
        nb = nbformat.read(folder / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert 3 <= len(code) <= 4
        for c in code:
            assert not c.get("outputs") and c.get("execution_count") is None
            assert not any(w in c.source for w in ("def ", "class ", "for ", "while ", "pandas",
                                                   "plotly", "observe"))


def test_min_cell_below_five_is_refused(demo_export: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="upward only"):
        sv.prepare(demo_export, therapist=None, mapping=None, measures=None, min_cell=3,
                   workdir=tmp_path)


def test_bad_export_fails_before_voila(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "sessions.csv").write_text(
        "client_id,therapist_id,session_date,srs\nC1,T1,2024-01-01,99\n")
    with pytest.raises(ExportError):
        sv.prepare(bad, therapist=None, mapping=None, measures=None, min_cell=5,
                   workdir=tmp_path / "w")


def test_full_server_env_names_the_export(demo_export: Path, tmp_path: Path) -> None:
    root, env = sv.prepare(demo_export, therapist=None, mapping=None, measures=None,
                           min_cell=8, workdir=tmp_path)
    assert sorted(p.name for p in root.iterdir()) == sorted(sv.FULL_NOTEBOOKS)
    assert env[opening.EXPORT] == str(demo_export.resolve())
    assert env[opening.MIN_CELL] == "8" and opening.THERAPIST not in env


def test_kernels_open_the_servers_validated_copy(
    demo_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server validates once and saves a DuckDB file; a kernel opens it read-only.

    The kernel's caseload (``opening.caseload`` with the server's environment) has the same
    provenance and gives the same metrics as reading the export itself, and it cannot write
    to the shared file.
    """
    import duckdb

    from supervision.io import load_export
    from supervision.metrics import compute_metrics

    _root, env = sv.prepare(demo_export, therapist=None, mapping=None, measures=None,
                            min_cell=5, workdir=tmp_path)
    prepared = Path(env[opening.PREPARED])
    assert prepared.parent == tmp_path / "data" and prepared.is_file()
    assert (prepared.parent.stat().st_mode & 0o777) == 0o700
    for var in opening.ALL_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in (opening.EXPORT, opening.PREPARED, opening.MIN_CELL):
        monkeypatch.setenv(var, env[var])
    monkeypatch.setenv(opening.EXPORT, "/no/such/export")  # proves the export is not re-read
    opening.caseload.cache_clear()
    try:
        kernel = opening.caseload()
    finally:
        opening.caseload.cache_clear()
    direct = load_export(demo_export, progress=False)
    assert (kernel.source, kernel.checksum, kernel.notices) == (
        direct.source, direct.checksum, direct.notices)
    got, want = compute_metrics(kernel), compute_metrics(direct)
    assert nested_close(got["practice"], want["practice"]) == []
    assert nested_close(got["therapists"], want["therapists"]) == []
    with pytest.raises(duckdb.Error, match="read-only"):
        kernel.con.con.execute("DELETE FROM prepared.sessions")


def test_prepared_copy_carries_what_every_kernel_would_compute(
    demo_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default window's practice aggregates and the rupture candidates come precomputed.

    A kernel finds both in its caseload's memo (so it does not compute them: the builders
    below would fail if called), and they equal what a kernel reading the export computes.
    """
    from supervision import periods, scopes
    from supervision.clinical import ruptures
    from supervision.io import load_export
    from supervision.io.prepared import open_prepared
    from supervision.measures import default_registry

    _root, env = sv.prepare(demo_export, therapist=None, mapping=None, measures=None,
                            min_cell=5, workdir=tmp_path)
    kernel = open_prepared(env[opening.PREPARED], registry=default_registry())
    direct = load_export(demo_export, progress=False)
    lo, hi = periods.date_span(direct)
    monkeypatch.setattr(scopes, "practice_aggregates", lambda cl: pytest.fail("recomputed"))
    monkeypatch.setattr(ruptures, "ordered_sessions", lambda cl: pytest.fail("recomputed"))
    got = scopes.practice_for(kernel, lo, hi)
    got_events = ruptures.rupture_events(kernel).order_by("source_row", "kind").execute()
    monkeypatch.undo()
    assert nested_close(got, scopes.practice_for(direct, lo, hi)) == []
    want_events = ruptures.rupture_events(direct).order_by("source_row", "kind").execute()
    assert len(got_events) > 0
    pd.testing.assert_frame_equal(got_events.reset_index(drop=True),
                                  want_events.reset_index(drop=True))


def test_unknown_therapist_says_how_many_exist(demo_export: Path, tmp_path: Path) -> None:
    msg = r"unknown therapist 'NOPE': the export has \d+ therapists"
    with pytest.raises(ScopeError, match=msg):
        sv.prepare(demo_export, therapist="NOPE", mapping=None, measures=None, min_cell=5,
                   workdir=tmp_path)


def test_therapist_server_serves_one_notebook_and_hides_the_export(
    demo_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supervision.io import load_export

    ids = load_export(demo_export, progress=False).therapist_ids()
    monkeypatch.setenv(opening.EXPORT, "/somewhere/else")  # inherited from a user's shell
    root, env = sv.prepare(demo_export, therapist=ids[0], mapping=None, measures=None,
                           min_cell=5, workdir=tmp_path)
    assert sorted(p.name for p in root.iterdir()) == ["therapist.ipynb"]
    assert opening.EXPORT not in env and env[opening.THERAPIST] == ids[0]
    data = Path(env[opening.SCOPED_DIR])
    cl, practice = opening.read_bundle(data, ids[0])
    assert cl.therapist_ids() == [ids[0]] and cl.therapist_scope == ids[0]
    with pytest.raises(ScopeError):
        cl.scoped(therapist_id=ids[1])
    assert "headline" in practice


def test_landing_names_the_export_and_only_what_is_served(demo_export: Path,
                                                          tmp_path: Path) -> None:
    import json

    sv.prepare(demo_export, therapist=None, mapping=None, measures=None, min_cell=5,
               workdir=tmp_path / "full")
    data = json.loads((tmp_path / "full" / "landing.json").read_text())
    assert [d["href"] for d in data["dashboards"]] == [
        "voila/render/supervisor.ipynb", "voila/render/practice_review.ipynb"]
    assert data["export"]["name"] == demo_export.name
    assert len(data["export"]["checksum"]) == 64
    assert "prompts" in data["note"] and "not verdicts" in data["note"]
    sv.prepare(demo_export, therapist="T01", mapping=None, measures=None, min_cell=5,
               workdir=tmp_path / "t01")
    data = json.loads((tmp_path / "t01" / "landing.json").read_text())
    assert [d["href"] for d in data["dashboards"]] == ["voila/render/therapist.ipynb"]


def test_landing_escapes_every_value() -> None:
    from supervision.voila_app import render_landing

    evil = "<script>window.__x=1</script>"
    data = {"scope": evil, "note": evil,
            "export": {"name": evil, "first_date": evil, "last_date": evil, "checksum": evil},
            "dashboards": [{"title": evil, "for": evil, "href": 'x" onclick="y'},
                           {"title": "t", "for": "f", "url": 'javascript:"<b>'}]}
    page = render_landing(data, "/user/<a>/")
    assert "<script>" not in page and "<b>" not in page and '" onclick' not in page
    assert page.count("&lt;script&gt;") == 8 and "javascript:" not in page
