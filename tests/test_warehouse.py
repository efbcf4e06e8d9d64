"""PostgreSQL warehouse: bulk load, atomic replace, credentials, and the same figures as DuckDB.

Runs against a throwaway server (tests/conftest_pg.py).  The metric equality tests compare
every figure of ``compute_metrics`` on PostgreSQL with the DuckDB result of the same export:
DuckDB is the reference implementation here, PostgreSQL must agree within 1e-9 relative.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import psycopg
import pytest

from supervision import warehouse
from supervision.caseload import Caseload
from supervision.errors import ConfigError
from supervision.measures import default_registry
from supervision.warehouse import (
    WarehouseError,
    connect_caseload,
    engine_of,
    load_into,
    mask_url,
)

# ----------------------------------------------------------------------------- helpers
REL = 1e-9
ABS = 1e-12  # a slope of exactly 0 in one engine may be 1e-17 in another


def assert_same_figures(expected: Any, actual: Any, path: str = "$") -> None:
    """Recursive equality of two JSON results; numbers within 1e-9 relative (or 1e-12 absolute)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert sorted(expected) == sorted(actual), f"{path}: keys differ"
        for k in expected:
            assert_same_figures(expected[k], actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same_figures(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, int | float):
        assert isinstance(actual, int | float) and not isinstance(actual, bool), path
        assert math.isclose(actual, expected, rel_tol=REL, abs_tol=ABS), (
            f"{path}: {actual!r} != {expected!r}"
        )
    else:  # pragma: no cover - JSON has no other types
        raise AssertionError(f"{path}: unexpected type {type(expected).__name__}")


def _tricky_caseload() -> Caseload:
    """Values that a naive CSV bulk load gets wrong: quotes, commas, newlines, non-ASCII,
    empty string vs NULL, fractional doubles, NULL dates."""
    sessions = pd.DataFrame({
        "client_id": ["C1", "C1", "C2", "C2"],
        "therapist_id": ["T1", "T1", "T2", "T2"],
        "episode_id": ["E1", "E1", 'E"2,\nx', 'E"2,\nx'],
        "session_date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-01"],
        "attendance": ["attended", "no_show", "attended", "attended"],
        "srs": [30.5, None, 2 / 3, 1e-20],
        "phq9": [12.0, None, None, 27.0],
    })
    episodes = pd.DataFrame({
        "episode_id": ["E1", 'E"2,\nx'], "client_id": ["C1", "C2"], "therapist_id": ["T1", "T2"],
        "start_date": ["2024-01-01", "2024-02-15"], "end_date": ["2024-03-01", None],
        "termination": ["completed", None], "client_neurotype": ["adhd;autistic", None],
    })
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"], "team": ["Nörth; \\N", ""]})
    return Caseload.from_frames(sessions, episodes, therapists, source="tricky/",
                                notices=["decoded as Windows-1252"], checksum="abc123")


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    key = "source_row" if "source_row" in df else df.columns[0]
    return df.sort_values(key).reset_index(drop=True)


# ----------------------------------------------------------------------------- URLs
@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://ana:s3cret@db:5432/c", "postgresql://ana:***@db:5432/c"),
        ("postgresql://ana@db/c", "postgresql://ana@db/c"),
        ("postgresql://db/c?user=ana&password=s3cret&sslmode=require",
         "postgresql://db/c?user=ana&password=***&sslmode=require"),
        ("postgres://a:p%40ss@h/c", "postgres://a:***@h/c"),
        ("local[2]", "local[2]"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_engine_of() -> None:
    assert engine_of("postgresql://h/db") == engine_of("postgres://h/db") == "postgres"
    assert engine_of("local[2]") == engine_of("local") == engine_of("spark://m:7077") == "spark"
    with pytest.raises(ConfigError, match="unsupported database URL 'mysql://u:\\*\\*\\*@h/d'"):
        engine_of("mysql://u:pw@h/d")


# ----------------------------------------------------------------------------- loading
def test_round_trip_keeps_every_value(pg_database: str) -> None:
    """Every cell of the three tables reads back from PostgreSQL exactly as DuckDB holds it."""
    cl = _tricky_caseload()
    result = load_into(cl, pg_database)
    assert result.rows == {"sessions": 4, "episodes": 2, "therapists": 2}
    assert "***" in str(result) and pg_database not in str(result)
    pg = connect_caseload(pg_database)
    for name in ("sessions", "episodes", "therapists"):
        expected = _sorted(getattr(cl, name).execute())
        actual = _sorted(getattr(pg, name).execute())
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    assert (pg.source, pg.notices, pg.checksum) == (
        "tricky/", ("decoded as Windows-1252",), "abc123")
    assert pg.measures_present() == ["srs", "phq9"]


def test_indexes_on_episode_and_therapist(pg_database: str) -> None:
    load_into(_tricky_caseload(), pg_database, schema="clinic_a")
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'clinic_a'"
        ).fetchall()
    indexed = {(t, d.rsplit("(", 1)[1].rstrip(")")) for t, d in rows}
    assert {("sessions", "episode_id"), ("sessions", "therapist_id"),
            ("episodes", "episode_id"), ("therapists", "therapist_id")} <= indexed


def test_reload_replaces_and_a_failed_load_changes_nothing(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second load replaces the tables; a load that fails half-way (after COPY, before the
    swap) leaves the previous tables as they were and no staging schema behind."""
    first = _tricky_caseload()
    load_into(first, pg_database)
    smaller = Caseload.from_frames(
        first.sessions.execute().head(1), first.episodes.execute().head(1),
        first.therapists.execute().head(1),
    )
    assert load_into(smaller, pg_database).rows["sessions"] == 1

    def boom(*args: object) -> None:
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(warehouse, "_finish_schema", boom)
    with pytest.raises(WarehouseError, match="nothing was changed: could not extend file"):
        load_into(first, pg_database)
    assert connect_caseload(pg_database).sessions.count().execute() == 1
    with psycopg.connect(pg_database) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    assert "supervision" in schemas and "supervision__loading" not in schemas


def test_a_refused_value_is_not_quoted_in_the_message(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A COPY error quotes the row ("invalid input syntax ... 'Jane Smith'", CONTEXT: COPY
    sessions, line 3: "..."): the message gives the error's class and SQLSTATE only."""
    def refuse(*args: object) -> None:
        raise psycopg.errors.InvalidTextRepresentation(
            'invalid input syntax for type double precision: "Jane Smith"\n'
            'CONTEXT:  COPY sessions, line 3: "C01,T01,Jane Smith,1 High Street"')

    monkeypatch.setattr(warehouse, "_finish_schema", refuse)
    with pytest.raises(WarehouseError) as err:
        load_into(_tricky_caseload(), pg_database)
    text = str(err.value)
    assert "Jane" not in text and "High Street" not in text and "line 3" not in text
    assert "InvalidTextRepresentation" in text and "nothing was changed" in text


def test_never_replaces_a_schema_it_did_not_make(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE SCHEMA finance; CREATE TABLE finance.invoices (id int)")
    with pytest.raises(ConfigError, match="schema 'finance' already holds 1 table"):
        load_into(_tricky_caseload(), pg_database, schema="finance")
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM finance.invoices").fetchone() == (0,)
    with pytest.raises(ConfigError, match="not a plain lower-case identifier"):
        load_into(_tricky_caseload(), pg_database, schema="x; DROP TABLE y")


# ----------------------------------------------------------------------------- connecting
def test_password_never_appears_in_errors(pg_server: Any) -> None:
    wrong = pg_server.url().replace(pg_server.password, "Wr0ngPassw0rd")
    with pytest.raises(WarehouseError) as info:
        connect_caseload(wrong)
    assert "Wr0ngPassw0rd" not in str(info.value) and "postgres:***@" in str(info.value)
    assert "password authentication failed" in str(info.value)
    with pytest.raises(WarehouseError) as info:
        load_into(_tricky_caseload(), pg_server.url("no_such_db"))
    assert pg_server.password not in str(info.value) and "no_such_db" in str(info.value)


def test_credentials_from_the_environment(
    pg_database: str, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_into(_tricky_caseload(), pg_database)
    bare = pg_database.replace(f":{pg_server.password}@", "@")
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    assert connect_caseload(bare).episodes.count().execute() == 2


def test_missing_tables_and_registry_mismatch(pg_database: str) -> None:
    with pytest.raises(ConfigError, match=r"holds no tables loaded by .*supervision load PATH"):
        connect_caseload(pg_database)
    load_into(_tricky_caseload(), pg_database)
    extended = default_registry().extended(
        {"hamd": {"kind": "outcome", "min": 0, "max": 52, "better": "lower"}}
    )
    with pytest.raises(ConfigError, match=r"missing \['hamd'\].*same --measures file"):
        connect_caseload(pg_database, registry=extended)


def test_scoping_runs_in_postgres(pg_database: str) -> None:
    """``scoped`` is an Ibis expression too.  As of 2024-02-20: E1 (ended 03-01) reads as
    ongoing; E2 (started 02-15) is active; only E1's two sessions (01-01, 02-01) are seen."""
    load_into(_tricky_caseload(), pg_database)
    pg = connect_caseload(pg_database).scoped(until="2024-02-20")
    e = pg.episodes.execute().set_index("episode_id")
    assert e["termination"].to_dict() == {"E1": "ongoing", 'E"2,\nx': "ongoing"}
    assert e.loc["E1", "end_date"] is pd.NaT or pd.isna(e.loc["E1", "end_date"])
    assert pg.sessions.execute()["session_date"].astype(str).tolist() == [
        "2024-01-01", "2024-02-01"]


# ----------------------------------------------------------------------------- same figures
@pytest.fixture(scope="module")
def compute_metrics() -> Any:
    from supervision.metrics import compute_metrics

    return compute_metrics


def _demo_caseload(episodes: int) -> Caseload:
    from supervision.demo import generate_demo

    return Caseload.from_frames(*generate_demo(episodes=episodes, seed=7), source="demo")


@pytest.fixture(scope="module")
def demo_pair(compute_metrics: Any, pg_server: Any) -> tuple[Caseload, Caseload]:
    """The 300-episode demo caseload (about 3,000 sessions) in DuckDB and in PostgreSQL."""
    from conftest_pg import new_database

    duck = _demo_caseload(300)
    url = new_database(pg_server)
    load_into(duck, url)
    return duck, connect_caseload(url)


SCOPES = [
    pytest.param({}, id="practice"),
    pytest.param({"since": "2024-01-01", "until": "2024-06-30"}, id="window"),
    pytest.param({"min_cell": 8}, id="min_cell_8"),
]


@pytest.mark.parametrize("options", SCOPES)
def test_demo_figures_equal_duckdb(
    demo_pair: tuple[Caseload, Caseload], compute_metrics: Any, options: dict[str, Any]
) -> None:
    """Every figure of compute_metrics on PostgreSQL equals DuckDB's (1e-9 relative)."""
    duck, pg = demo_pair
    expected = compute_metrics(duck, **options)
    assert expected["practice"]["episodes"] > 0
    assert_same_figures(expected, compute_metrics(pg, **options))


def test_one_therapist_equal_duckdb(
    demo_pair: tuple[Caseload, Caseload], compute_metrics: Any
) -> None:
    duck, pg = demo_pair
    therapist = duck.therapist_ids()[0]
    assert_same_figures(
        compute_metrics(duck, therapist=therapist), compute_metrics(pg, therapist=therapist)
    )


@pytest.mark.slow
def test_100k_sessions_equal_duckdb(compute_metrics: Any, pg_server: Any) -> None:
    """generate_demo(episodes=10000): about 100,000 scheduled sessions."""
    from conftest_pg import new_database

    duck = _demo_caseload(10_000)
    url = new_database(pg_server)
    rows = load_into(duck, url).rows
    assert rows["sessions"] == duck.sessions.count().execute() > 90_000
    assert_same_figures(compute_metrics(duck), compute_metrics(connect_caseload(url)))


# ----------------------------------------------------------------------------- command line
SESSIONS_CSV = """client_id,therapist_id,episode_id,session_date,attendance,srs,phq9
C1,T1,E1,2024-01-08,attended,30,14
C1,T1,E1,2024-01-15,attended,37,9
C2,T2,E2,2024-02-01,no_show,,
C2,T2,E2,2024-02-08,attended,{srs},16
"""
EPISODES_CSV = """episode_id,client_id,therapist_id,start_date,end_date,termination
E1,C1,T1,2024-01-08,2024-01-15,completed
E2,C2,T2,2024-02-01,,
"""


def _write_export(folder: Any, *, srs: str = "33") -> str:
    folder.mkdir()
    (folder / "sessions.csv").write_text(SESSIONS_CSV.format(srs=srs), encoding="utf-8")
    (folder / "episodes.csv").write_text(EPISODES_CSV, encoding="utf-8")
    return str(folder)


def test_cli_load_then_read_back(
    pg_database: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``supervision load`` validates with load_export and lands the same rows in PostgreSQL."""
    from supervision import cli
    from supervision.io import load_export

    export = _write_export(tmp_path / "export")
    assert cli.main(["load", export, "--into", pg_database, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Loaded 4 sessions, 2 episodes, 2 therapists" in out and "postgres:***@" in out
    assert pg_database not in out
    duck, pg = load_export(export), connect_caseload(pg_database)
    for name in ("sessions", "episodes", "therapists"):
        pd.testing.assert_frame_equal(
            _sorted(getattr(pg, name).execute()), _sorted(getattr(duck, name).execute()),
            check_exact=True,
        )
    assert pg.checksum == duck.checksum and pg.source == duck.source


def test_cli_load_rejects_like_validate_and_loads_nothing(
    pg_database: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from supervision import cli

    export = _write_export(tmp_path / "export", srs="41")
    assert cli.main(["validate", export, "--quiet"]) == 1
    validate_err = capsys.readouterr().err
    assert cli.main(["load", export, "--into", pg_database, "--quiet"]) == 1
    load_err = capsys.readouterr().err
    # the problem is named; the database URL (random port and name) is never printed
    assert "srs" in load_err and pg_database not in load_err
    assert load_err.replace("supervision load:", "") == validate_err.replace(
        "supervision validate:", "")
    with psycopg.connect(pg_database) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'supervision'").fetchall()
    assert found == []


def test_boolean_counts_compile_for_postgres(pg_database: str) -> None:
    """``(cond).cast("int64").sum()`` — Ibis 12 emits CAST(bool AS BIGINT), which PostgreSQL
    rejects; connect_caseload's backend routes it through INTEGER.  Tricky caseload: srs values
    30.5, NULL, 2/3, 1e-20, so ``srs < 1`` holds on 2 rows, and the NULL counts as neither."""
    load_into(_tricky_caseload(), pg_database)
    s = connect_caseload(pg_database).sessions
    assert s.aggregate(n=(s.srs < 1).cast("int64").sum()).execute()["n"].tolist() == [2]
    assert s.aggregate(n=(s.srs < 1).cast("int16").sum()).execute()["n"].tolist() == [2]


def test_strftime_reads_its_format_on_postgres(pg_database: str) -> None:
    """Ibis' PostgreSQL compiler translates a ``strftime`` format (``%Y-%m`` -> ``YYYY-MM``):
    the format must reach it as the literal, not as a placeholder put back afterwards (which
    would send ``to_char(d, '%Y-%m')`` to PostgreSQL).  Tricky caseload: sessions on 2024-01-01,
    02-01, 03-01 and 03-01; E1 starts 2024-01-01, E2 2024-02-15."""
    load_into(_tricky_caseload(), pg_database)
    pg = connect_caseload(pg_database)
    s, e = pg.sessions, pg.episodes
    months = s.select(m=s.session_date.strftime("%Y-%m")).execute()["m"]
    assert sorted(months) == ["2024-01", "2024-02", "2024-03", "2024-03"]
    days = e.select(d=e.start_date.strftime("%d/%m/%Y")).execute()["d"]
    assert sorted(days) == ["01/01/2024", "15/02/2024"]


def test_cli_metrics_db_equals_metrics_path(
    pg_database: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's check, end to end: ``supervision metrics --db URL`` after ``supervision load``
    prints the same figures as ``supervision metrics PATH`` on the demo export."""
    import json

    from supervision import cli

    export = str(tmp_path / "demo")
    assert cli.main(["demo", "--out", export]) == 0
    assert cli.main(["load", export, "--into", pg_database, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["metrics", export]) == 0
    from_path = json.loads(capsys.readouterr().out)
    assert cli.main(["metrics", "--db", pg_database]) == 0
    from_db = json.loads(capsys.readouterr().out)
    assert from_path["practice"]["episodes"] == 300
    assert_same_figures(from_path, from_db)
    assert cli.main(["metrics", export, "--db", pg_database]) == 1
    assert "load the export first" in capsys.readouterr().err
