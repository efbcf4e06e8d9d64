"""``serve --db`` and ``report --db``: the dashboards and packs over the PostgreSQL warehouse.

The demo export is loaded once into a throwaway PostgreSQL (tests/conftest_pg.py).  The
reference is the same export read into DuckDB: a dashboard kernel opened through the
server-fixed environment (:mod:`supervision.opening`) must show the same headline and
practice figures from either source (within 1e-9 relative, as in tests/test_warehouse.py:
PostgreSQL returns ``numeric`` averages), a therapist-scoped kernel must get the same bundle
and no way to reach the database, and a report pack over ``--db`` must carry the same figures
as the export's pack.  No password ever appears in an environment handed to a therapist
kernel, in a pack, or in a message.
"""

from __future__ import annotations

import base64
import gc
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_warehouse import assert_same_figures

from supervision import opening
from supervision import serve as sv
from supervision.errors import ConfigError, ScopeError
from supervision.io import load_export
from supervision.warehouse import WarehouseError, load_into

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
SCHEMA = "clinic"
QUARTER = "2024Q3"


@pytest.fixture(scope="module")
def warehouse(pg_server: Any) -> Iterator[str]:
    """The demo export loaded into schema ``clinic`` of a fresh database; its URL."""
    from conftest_pg import new_database

    url = new_database(pg_server)
    load_into(load_export(DEMO, progress=False), url, schema=SCHEMA)
    yield url
    # Ibis drops the temporary tables of cached expressions when they are collected; do it
    # while the throwaway server still runs (not at interpreter exit, after it stopped).
    gc.collect()


def _kernel_figures(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a supervisor kernel started with ``env`` computes: headline + practice aggregates."""
    from supervision import scopes
    from supervision.views import apps

    for name in opening.ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in opening.ALL_VARS:
        if name in env:
            monkeypatch.setenv(name, env[name])
    opening.caseload.cache_clear()
    before = set(_live_widgets())
    try:
        app = apps.supervisor_app()
        assert isinstance(app, apps.SupervisorApp), getattr(app, "message", app)
        cl = opening.caseload()
        head = scopes.headline(cl, alliance_key=scopes.alliance_measure(cl),
                               outcome_key=scopes.outcome_measure(cl))
        figures = {"headline": head, "practice": scopes.practice_aggregates(cl),
                   "therapists": cl.therapist_ids()}
        return json.loads(scopes.dumps(figures))
    finally:
        opening.caseload.cache_clear()
        _close_widgets_since(before)


def _live_widgets() -> dict[str, Any]:
    from ipywidgets.widgets import widget

    return widget._instances


def _close_widgets_since(before: set[str]) -> None:
    """Close the widgets a test built: ipywidgets keeps every open widget (and so the
    caseload its callbacks hold, with Ibis' temporary tables in PostgreSQL) alive."""
    for model_id in set(_live_widgets()) - before:
        w = _live_widgets().get(model_id)
        if w is not None:
            w.close()


# ------------------------------------------------------------------ dashboards
def test_supervisor_kernel_over_db_shows_the_export_figures(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, env_db = sv.prepare(None, db=warehouse, schema=SCHEMA, therapist=None, mapping=None,
                           measures=None, min_cell=5, workdir=tmp_path / "db")
    assert env_db[opening.DB] == warehouse and env_db[opening.DB_SCHEMA] == SCHEMA
    assert opening.EXPORT not in env_db
    _, env_ex = sv.prepare(DEMO, therapist=None, mapping=None, measures=None, min_cell=5,
                           workdir=tmp_path / "ex")
    expected = _kernel_figures(env_ex, monkeypatch)
    actual = _kernel_figures(env_db, monkeypatch)
    assert expected["headline"] and expected["practice"]["headline"]
    assert_same_figures(expected, actual)


def test_therapist_kernel_gets_the_same_bundle_and_no_database(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = warehouse.split(":")[2].split("@")[0]
    monkeypatch.setenv("PGPASSWORD", password)  # as a user's shell might hold it
    monkeypatch.setenv("PGSERVICEFILE", "/somewhere/pg_service.conf")
    monkeypatch.setenv(opening.DB, warehouse)  # inherited from a user's shell
    root, env = sv.prepare(None, db=warehouse, schema=SCHEMA, therapist="T01", mapping=None,
                           measures=None, min_cell=5, workdir=tmp_path / "db")
    assert sorted(p.name for p in root.iterdir()) == ["therapist.ipynb"]
    assert opening.DB not in env and opening.DB_SCHEMA not in env and opening.EXPORT not in env
    assert not [k for k in env if k.startswith("PG")]
    assert not [k for k, v in env.items() if password in v or "postgresql://" in v], "leak"
    _, env_ex = sv.prepare(DEMO, therapist="T01", mapping=None, measures=None, min_cell=5,
                           workdir=tmp_path / "ex")
    db_dir, ex_dir = Path(env[opening.SCOPED_DIR]), Path(env_ex[opening.SCOPED_DIR])
    for file in opening.TABLE_FILES.values():
        a, b = pd.read_parquet(db_dir / file), pd.read_parquet(ex_dir / file)
        key = next(c for c in ("source_row", "episode_id", "therapist_id") if c in a)
        pd.testing.assert_frame_equal(
            a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )
    practice_db = json.loads((db_dir / opening.PRACTICE_FILE).read_text())
    practice_ex = json.loads((ex_dir / opening.PRACTICE_FILE).read_text())
    assert_same_figures(practice_ex, practice_db)
    cl, _ = opening.read_bundle(db_dir, "T01")
    assert cl.therapist_ids() == ["T01"]


def test_unknown_therapist_and_source_rules(warehouse: str, tmp_path: Path) -> None:
    common = {"mapping": None, "measures": None, "min_cell": 5, "workdir": tmp_path}
    with pytest.raises(ScopeError, match=r"unknown therapist 'T99': the export has 12 "):
        sv.prepare(None, db=warehouse, schema=SCHEMA, therapist="T99", **common)
    with pytest.raises(ConfigError, match="exactly one of PATH"):
        sv.prepare(DEMO, db=warehouse, schema=SCHEMA, therapist=None, **common)
    with pytest.raises(ConfigError, match="exactly one of PATH"):
        sv.prepare(None, therapist=None, **common)
    with pytest.raises(ConfigError, match="--mapping applies to an export"):
        sv.prepare(None, db=warehouse, schema=SCHEMA, therapist=None,
                   **{**common, "mapping": "m.toml"})


def test_wrong_password_is_never_echoed(pg_server: Any, tmp_path: Path) -> None:
    secret = "Wr0ng-" + pg_server.password
    url = f"postgresql://postgres:{secret}@127.0.0.1:{pg_server.port}/postgres"
    with pytest.raises(WarehouseError) as info:
        sv.prepare(None, db=url, schema=SCHEMA, therapist=None, mapping=None, measures=None,
                   min_cell=5, workdir=tmp_path)
    assert secret not in str(info.value) and "***" in str(info.value)


def test_kernel_over_db_error_shows_no_password(
    pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supervision.views import apps

    url = pg_server.url("no_such_database")
    for name in opening.ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(opening.DB, url)
    opening.caseload.cache_clear()
    before = set(_live_widgets())
    try:
        app = apps.supervisor_app()
        assert isinstance(app, apps.Unavailable)
        text = " ".join(_widget_texts(app.root))
    finally:
        opening.caseload.cache_clear()
        _close_widgets_since(before)
    assert "no_such_database" in text and pg_server.password not in text


def _widget_texts(widget: Any) -> list[str]:
    """Every string ``value`` in a widget tree (what the page shows)."""
    own = [widget.value] if isinstance(getattr(widget, "value", None), str) else []
    return own + [t for child in getattr(widget, "children", ()) for t in _widget_texts(child)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervision.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_cli_exactly_one_source(warehouse: str) -> None:
    done = _cli("serve", str(DEMO), "--db", warehouse, "--port", "1")
    assert done.returncode == 2 and "not both" in done.stderr
    assert "Traceback" not in done.stderr
    done = _cli("report", "--quarter", QUARTER, "--out", "x.html")
    assert done.returncode == 2 and "exactly one of PATH and --db URL" in done.stderr
    done = _cli("report", str(DEMO), "--db", warehouse, "--quarter", QUARTER, "--out", "x.html")
    assert done.returncode == 2
    password = warehouse.split(":")[2].split("@")[0]
    assert password not in done.stderr


@pytest.mark.parametrize(
    ("url", "schema", "loaded_from", "expected"),
    [
        ("postgresql://ana:s3cret@db.example:5433/caseload", "s1", "",
         "schema 's1' of database 'caseload' on db.example:5433"),
        ("postgres://db.example/care%20network?password=s3cret", "supervision", "/x/2025-q1",
         "schema 'supervision' of database 'care network' on db.example, loaded from export "
         "'2025-q1'"),
        ("postgresql:///caseload?host=/var/run/postgresql", "supervision", "",
         "schema 'supervision' of database 'caseload' on /var/run/postgresql"),
        ("local[2]", "supervision", "", "Spark database 'supervision' (local[2])"),
    ],
)
def test_cover_names_the_warehouse_without_credentials(
    url: str, schema: str, loaded_from: str, expected: str
) -> None:
    from supervision.report.build import describe_warehouse

    text = describe_warehouse(url, schema, loaded_from=loaded_from)
    assert text == expected and "s3cret" not in text and "ana" not in text


# ------------------------------------------------------------------ report packs
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LONG_NUMBER = re.compile(r"-?\d+\.\d{7,}(?:e-?\d+)?")
_BDATA = re.compile(r'"dtype":"(\w+)","bdata":"([^"]*)"')


def _decoded(match: re.Match[str]) -> str:
    """A plotly binary array (base64, ``\\u002f`` for ``/`` in HTML) as 8-digit numbers."""
    raw = base64.b64decode(match.group(2).replace("\\u002f", "/"))
    values = np.frombuffer(raw, dtype=match.group(1))
    return '"values":[' + ",".join(f"{v:.8g}" for v in values.tolist()) + "]"


def _figures_of(document: str) -> str:
    """The pack after its cover, plotly.js removed, ids neutral, numbers at 8 digits.

    Long floats come from the plot data (as text, or as plotly's base64 binary arrays);
    DuckDB and PostgreSQL sum in different orders and may disagree in the last bits
    (15th digit), never in the 8th.
    """
    from supervision.report.page import LIB_RE

    body = LIB_RE.sub("", document).split('id="headline"', 1)[1]
    body = _BDATA.sub(_decoded, _UUID.sub("UUID", body))
    return _LONG_NUMBER.sub(lambda m: f"{float(m.group(0)):.8g}", body)


def _cover(document: str) -> str:
    return document.split('id="headline"', 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize("therapist", [None, "T01"])
def test_report_over_db_has_the_export_figures(
    warehouse: str, tmp_path: Path, therapist: str | None
) -> None:
    from supervision.report import ReportArgs, build_report

    out_ex, out_db = tmp_path / "export.html", tmp_path / "db.html"
    build_report(ReportArgs(str(DEMO), QUARTER, out=str(out_ex), therapist=therapist,
                            quiet=True))
    build_report(ReportArgs(None, QUARTER, out=str(out_db), therapist=therapist, quiet=True,
                            db=warehouse, schema=SCHEMA))
    ex, db = out_ex.read_text(encoding="utf-8"), out_db.read_text(encoding="utf-8")
    assert _figures_of(db) == _figures_of(ex)
    cover = _cover(db)
    port = warehouse.rsplit(":", 1)[1].split("/")[0]
    assert f"schema &#x27;{SCHEMA}&#x27; of database" in cover
    assert f"on 127.0.0.1:{port}, loaded from export &#x27;demo&#x27;" in cover
    assert "Practice (warehouse)" in cover and "as recorded by supervision load" in cover
    checksum = load_export(DEMO, progress=False).checksum
    assert checksum and checksum in cover and checksum in _cover(ex)
    password = warehouse.split(":")[2].split("@")[0]
    assert password not in db and "postgres:" not in db


# ------------------------------------------------------------------ the page in Chromium
HEADLINE_READY = """() => {
  const h = document.querySelector('.sv-headline');
  const busy = [...document.querySelectorAll('.sv-loading-indicator')]
    .some(el => el.offsetParent !== null);
  return h && !busy && h.innerText.includes('n = ')
    && document.querySelector('.sv-figure-panel .js-plotly-plot .main-svg') !== null;
}"""


def _headline_in_chromium(browser: Any, url: str) -> tuple[str, str]:
    """(the headline's text, the whole page's HTML) once the first tab has rendered."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_function(HEADLINE_READY, timeout=180_000)
        assert page.locator(".sv-error").count() == 0
        return page.inner_text(".sv-headline"), page.content()
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.e2e
def test_supervisor_page_over_db_in_chromium(
    warehouse: str, pg_server: Any, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor page served with ``--db`` (password from PGPASSWORD, not the URL)
    shows the same headline text as the page served from the export, and no credential."""
    from e2e_support import e2e_conftest as _e2e

    e2e = _e2e()
    url = warehouse.replace(f":{pg_server.password}@", "@")
    assert pg_server.password not in url
    monkeypatch.setenv("PGPASSWORD", pg_server.password)

    def db_server() -> Any:  # the e2e Server, started without an export PATH
        return e2e.Server(None, "--db", url, "--schema", SCHEMA, notebooks=1)

    texts = {}
    for name, start in (("db", db_server), ("export", lambda: e2e.Server(DEMO, notebooks=1))):
        server = start()
        try:
            texts[name] = _headline_in_chromium(
                browser, f"{server.url}/voila/render/supervisor.ipynb"
            )
            assert pg_server.password not in server.log.read_text(errors="replace")
        finally:
            server.stop()
    (head_db, page_db), (head_export, _) = texts["db"], texts["export"]
    assert head_db == head_export and "n = " in head_db
    assert pg_server.password not in page_db and "postgresql://" not in page_db


@pytest.mark.slow
def test_live_therapist_kernels_hold_no_credential(
    warehouse: str, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --db URL --therapist T01`` with the password in the URL *and* in PGPASSWORD:
    the running kernels' environments (read from /proc) hold neither, nor the URL, nor any
    ``PG*`` variable; the page renders that therapist's dashboard."""
    import processes
    from e2e_support import e2e_conftest as _e2e
    from e2e_support import process_tree

    e2e = _e2e()
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    monkeypatch.setenv("PGUSER", "postgres")


    server = e2e.Server(None, "--db", warehouse, "--schema", SCHEMA, "--therapist", "T01")
    try:
        with urllib.request.urlopen(f"{server.url}/voila/render/therapist.ipynb",
                                    timeout=300) as r:
            page = r.read().decode("utf-8", "replace")
        assert r.status == 200 and pg_server.password not in page
        kernels = [pid for pid, cmd in process_tree(server.proc.pid) if "ipykernel" in cmd]
        assert kernels
        for pid in kernels:
            variables = processes.environ(pid)
            environ = "\0".join(f"{k}={v}" for k, v in variables.items())
            assert variables.get(opening.THERAPIST) == "T01"
            assert pg_server.password not in environ and "postgresql://" not in environ
            assert not [k for k in variables if k.startswith("PG")]
            assert opening.DB not in variables and opening.EXPORT not in variables
        assert pg_server.password not in server.log.read_text(errors="replace")
    finally:
        server.stop()
