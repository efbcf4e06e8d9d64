"""One failing export per validation rule of domain.md §2 (issue 2, item 4).

Each test writes a tiny export that breaks one rule and checks the message names the
file, the data row (counted from 1, header excluded) and the column.  Row numbers are
read off the rows written in each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.io_exports import write_csv

from supervision.errors import ExportError, MappingError
from supervision.io import load_export

S = ["client_id", "therapist_id", "episode_id", "session_date", "srs", "rupture", "repair"]
E = ["episode_id", "client_id", "therapist_id", "start_date", "end_date", "termination"]
T = ["therapist_id", "therapist_neurotype", "team"]
GOOD_S = [["C1", "T1", "E1", "2024-01-01", "35", "none", ""],
          ["C1", "T1", "E1", "2024-01-08", "30", "withdrawal", ""],
          ["C1", "T1", "E1", "2024-01-15", "36", "none", "resolved"]]
GOOD_E = [["E1", "C1", "T1", "2024-01-01", "2024-01-15", "completed"]]
GOOD_T = [["T1", "adhd", "North"]]


def problems(tmp_path: Path, sessions=(S, GOOD_S), episodes=(E, GOOD_E), therapists=(T, GOOD_T),
             **kw) -> list[str]:
    """Write the tables that are not None and return the rendered problems."""
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, table in (("sessions", sessions), ("episodes", episodes),
                        ("therapists", therapists)):
        if table is not None:
            write_csv(folder / f"{name}.csv", *table)
    with pytest.raises(ExportError) as info:
        load_export(folder, **kw)
    return [str(p) for p in info.value.problems]


def with_cell(rows: list[list[str]], cols: list[str], row: int, col: str, value: str):
    out = [list(r) for r in rows]
    out[row - 1][cols.index(col)] = value
    return cols, out


def test_the_good_export_loads(tmp_path: Path) -> None:
    folder = tmp_path / "ok"
    folder.mkdir()
    write_csv(folder / "sessions.csv", S, GOOD_S)
    write_csv(folder / "episodes.csv", E, GOOD_E)
    write_csv(folder / "therapists.csv", T, GOOD_T)
    assert load_export(folder).sessions.count().execute() == 3


def test_missing_required_column(tmp_path: Path) -> None:
    cols = [c for c in S if c != "session_date"]
    rows = [[v for c, v in zip(S, r, strict=True) if c != "session_date"] for r in GOOD_S]
    got = problems(tmp_path, sessions=(cols, rows))
    assert got[0].startswith("sessions.csv::session_date: required column is missing")


def test_empty_required_cell(tmp_path: Path) -> None:
    got = problems(tmp_path, sessions=with_cell(GOOD_S, S, 2, "client_id", "  "))
    assert "sessions.csv:2:client_id: a value is required here" in got


@pytest.mark.parametrize("value", ["2024-13-01", "05/01/2024", "1/5/24", "yesterday"])
def test_bad_date(tmp_path: Path, value: str) -> None:
    got = problems(tmp_path, sessions=with_cell(GOOD_S, S, 3, "session_date", value))
    # the message goes on with a hint at the format seen (tests/test_io_messy_exports.py)
    assert len(got) == 1
    assert got[0].startswith("sessions.csv:3:session_date: expected a date as YYYY-MM-DD")


def test_mapping_date_format_is_used_and_never_guessed(tmp_path: Path) -> None:
    """With format %d/%m/%Y, 13/01/2024 is a date and 01/13/2024 is not."""
    mapping = tmp_path / "m.toml"
    mapping.write_text('[dates]\nformat = "%d/%m/%Y"\n', encoding="utf-8")
    cols, rows = with_cell(GOOD_S, S, 1, "session_date", "01/01/2024")
    rows[1][S.index("session_date")] = "01/13/2024"
    got = problems(tmp_path, sessions=(cols, rows), mapping=mapping)
    assert len(got) == 1
    assert got[0].startswith(
        "sessions.csv:2:session_date: expected a date as YYYY-MM-DD or %d/%m/%Y")


def test_number_not_parseable_is_not_echoed(tmp_path: Path) -> None:
    got = problems(tmp_path, sessions=with_cell(GOOD_S, S, 2, "srs", "thirty"))
    assert got == ["sessions.csv:2:srs: expected a number"]


@pytest.mark.parametrize(("col", "value", "message"), [
    ("srs", "41", "41 is outside 0–40 (Session Rating Scale)"),
    ("srs", "-1", "-1 is outside 0–40 (Session Rating Scale)"),
    ("phq9", "27.5", "27.5 is outside 0–27 (PHQ-9)"),
    ("srs_goals", "11", "11 is outside 0–10 (Session Rating Scale item)"),
    ("wai_bond", "3", "3 is outside 4–20 (Working Alliance Inventory, short revised subscale)"),
    ("wai_sr", "61", "61 is outside 12–60 (Working Alliance Inventory, short revised)"),
])
def test_value_outside_range_is_an_error_never_clipped(tmp_path: Path, col, value, message):
    cols, rows = (S, GOOD_S) if col in S else ([*S, col], [[*r, ""] for r in GOOD_S])
    got = problems(tmp_path, sessions=with_cell(rows, cols, 1, col, value))
    assert got == [f"sessions.csv:1:{col}: {message}"]


def test_srs_items_must_sum_to_the_total_within_rounding(tmp_path: Path) -> None:
    """Row 1: 9+9+9+9 = 36 but srs 30 -> error.  Row 2: 7.5+7.5+7.5+7.6 = 30.1 vs 30:
    |diff| = 0.1 <= 0.2, accepted.  Row 3: 9+9+9+9.3 = 36.3 vs 36: 0.3 > 0.2 -> error."""
    items = ["srs_relationship", "srs_goals", "srs_approach", "srs_overall"]
    cols = [*S, *items]
    rows = [[*GOOD_S[0], "9", "9", "9", "9"], [*GOOD_S[1], "7.5", "7.5", "7.5", "7.6"],
            [*GOOD_S[2], "9", "9", "9", "9.3"]]
    got = problems(tmp_path, sessions=(cols, rows))
    assert len(got) == 2
    assert got[0] == ("sessions.csv:1:srs: the Session Rating Scale items sum to 36, but the "
                      "total is 35 (they must agree within 0.2)")
    assert got[1].startswith("sessions.csv:3:srs: the Session Rating Scale items sum to 36.3,")


def test_unknown_category_names_allowed_values(tmp_path: Path) -> None:
    cols = [*S, "attendance"]
    rows = [[*GOOD_S[0], "DNA"], [*GOOD_S[1], "late!"], [*GOOD_S[2], "Attended"]]
    got = problems(tmp_path, sessions=(cols, rows))
    assert got[0] == ("sessions.csv:1:attendance: expected one of attended, cancelled, no_show;"
                      " got 'dna' (other values can be mapped in the mapping's "
                      "[values.attendance])")
    assert got[1].startswith("sessions.csv:2:attendance: expected one of attended, cancelled, "
                             "no_show; got an unknown value")
    assert len(got) == 2  # "Attended" is attended: categories are not case-sensitive


def test_unknown_termination_and_rupture(tmp_path: Path) -> None:
    got = problems(tmp_path, episodes=with_cell(GOOD_E, E, 1, "termination", "finished"),
                   sessions=with_cell(GOOD_S, S, 2, "rupture", "shouting"))
    assert any(g.startswith("episodes.csv:1:termination: expected one of completed, "
                            "client_ended, dropout, external, therapist_ended, ongoing; "
                            "got 'finished'") for g in got)
    assert any(g.startswith("sessions.csv:2:rupture: expected one of none,") for g in got)


def test_neurotype_tags(tmp_path: Path) -> None:
    ts = [["T1", "adhd; Bipolar", ""], ["T2", "neurotypical;adhd", ""], ["T3", "unknown", ""],
          ["T4", "autistic;adhd;autistic", ""]]
    got = problems(tmp_path, therapists=(T, ts))
    assert got == [
        "therapists.csv:1:therapist_neurotype: unknown neurotype tag 'bipolar'; expected tags "
        "from adhd, autistic, dyslexic, dyspraxic, tourette, other_nd, neurotypical, unknown, "
        "separated by ';'",
        "therapists.csv:2:therapist_neurotype: 'neurotypical' and 'unknown' cannot be combined "
        "with other tags",
    ]


def test_repair_needs_a_rupture_at_or_before_it(tmp_path: Path) -> None:
    """Row 1 (Jan 1) repairs with no rupture yet -> error.  Row 4 is dated before row 3's
    rupture but written after it: order is by date, so row 4 is an error too.  Row 3
    (rupture and repair on one session) is fine, as is row 5 (after row 3's rupture)."""
    rows = [["C1", "T1", "E1", "2024-01-01", "35", "none", "resolved"],
            ["C1", "T1", "E1", "2024-01-08", "30", "", ""],
            ["C1", "T1", "E1", "2024-01-15", "30", "confrontation", "partial"],
            ["C1", "T1", "E1", "2024-01-10", "30", "none", "resolved"],
            ["C1", "T1", "E1", "2024-01-22", "30", "none", "resolved"]]
    got = problems(tmp_path, sessions=(S, rows))
    msg = ("repair is set, but the episode has no rupture (other than none) at or before this "
           "session")
    assert got == [f"sessions.csv:1:repair: {msg}", f"sessions.csv:4:repair: {msg}"]


def test_exact_duplicate_rows_name_both(tmp_path: Path) -> None:
    rows = [*GOOD_S, list(GOOD_S[0])]
    got = problems(tmp_path, sessions=(S, rows))
    assert got == ["sessions.csv:4: duplicates row 1"]


def test_flat_export_values_must_agree_within_an_episode(tmp_path: Path) -> None:
    cols = [*S, "termination", "start_date", "team", "therapist_neurotype"]
    rows = [[*GOOD_S[0], "completed", "2024-01-01", "North", "adhd"],
            [*GOOD_S[1], "dropout", "2024-01-01", "South", "adhd"],
            [*GOOD_S[2], "", "2024-01-02", "North", "autistic"]]
    got = problems(tmp_path, sessions=(cols, rows), episodes=None, therapists=None)
    assert sorted(got) == sorted([
        "sessions.csv:2:termination: differs from row 1 of the same episode (termination must "
        "be the same on every row of one episode)",
        "sessions.csv:3:start_date: differs from row 1 of the same episode (start_date must be "
        "the same on every row of one episode)",
        "sessions.csv:3:therapist_neurotype: differs from row 1 of the same therapist "
        "(therapist_neurotype must be the same on every row of one therapist)",
        "sessions.csv:2:team: differs from row 1 of the same therapist (team must be the same "
        "on every row of one therapist)",
    ])


def test_flat_episode_with_two_clients(tmp_path: Path) -> None:
    got = problems(tmp_path, sessions=with_cell(GOOD_S, S, 3, "client_id", "C2"),
                   episodes=None, therapists=None)
    assert got[0].startswith("sessions.csv:3:client_id: differs from row 1 of the same episode")


def test_therapist_missing_from_therapists_table(tmp_path: Path) -> None:
    eps = [*GOOD_E, ["E2", "C2", "T9", "2024-01-01", "", ""]]
    ss = [*GOOD_S, ["C2", "T9", "E2", "2024-01-03", "", "", ""]]
    got = problems(tmp_path, episodes=(E, eps), sessions=(S, ss))
    assert got == ["episodes.csv:2:therapist_id: therapist not found in therapists.csv"]


def test_sessions_must_match_their_episode(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD_S]
    rows[0][S.index("episode_id")] = "E7"
    rows[1][S.index("client_id")] = "C2"
    rows[2][S.index("therapist_id")] = "T2"
    ts = [*GOOD_T, ["T2", "", ""]]
    got = problems(tmp_path, sessions=(S, rows), therapists=(T, ts))
    assert got == [
        "sessions.csv:1:episode_id: no such episode in episodes.csv",
        "sessions.csv:2:client_id: differs from the client_id of its episode (episodes.csv row 1)",
        "sessions.csv:3:therapist_id: differs from the therapist_id of its episode "
        "(episodes.csv row 1)",
    ]


def test_sessions_without_episode_id_need_a_matching_episode(tmp_path: Path) -> None:
    cols = [c for c in S if c != "episode_id"]
    rows = [[v for c, v in zip(S, r, strict=True) if c != "episode_id"] for r in GOOD_S]
    got = problems(tmp_path, sessions=(cols, rows))
    assert got[0].startswith("sessions.csv:1:client_id: no such episode in episodes.csv (a "
                             "session without episode_id belongs to")
    assert len(got) == 3


def test_end_date_before_start_date(tmp_path: Path) -> None:
    got = problems(tmp_path, episodes=with_cell(GOOD_E, E, 1, "end_date", "2023-12-31"))
    assert got == ["episodes.csv:1:end_date: end_date is before start_date"]


def test_flat_end_date_before_first_session(tmp_path: Path) -> None:
    cols = [*S, "end_date"]
    rows = [[*r, "2023-12-31"] for r in GOOD_S]
    got = problems(tmp_path, sessions=(cols, rows), episodes=None, therapists=None)
    assert got[0] == ("sessions.csv:1:end_date: end_date is before the episode's start (its "
                      "start_date, or else its first session)")


def test_duplicate_ids(tmp_path: Path) -> None:
    eps = [*GOOD_E, ["E1", "C1", "T1", "2024-01-01", "", ""]]
    ts = [*GOOD_T, ["T1", "", ""]]
    got = problems(tmp_path, episodes=(E, eps), therapists=(T, ts))
    assert got == ["episodes.csv:2:episode_id: duplicates the episode_id of row 1",
                   "therapists.csv:2:therapist_id: duplicates the therapist_id of row 1"]


def test_export_with_no_sessions(tmp_path: Path) -> None:
    assert problems(tmp_path, sessions=(S, [])) == [
        "sessions.csv: the export has no sessions (no data rows)"]
    (tmp_path / "export" / "sessions.csv").unlink()
    assert problems(tmp_path, sessions=None)[0].startswith(
        "export: the export has no sessions table")


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    rows = [["C1", "T1", "E1", "2024-02-30", "41", "none", ""],
            ["", "T1", "E1", "2024-01-08", "x", "bad", "resolved"],
            ["C1", "T1", "E1", "2024-01-15", "36", "none", ""]]
    eps = [["E1", "C1", "T1", "2024-01-01", "2023-01-01", "finished"]]
    got = problems(tmp_path, sessions=(S, rows), episodes=(E, eps))
    for expected in ("sessions.csv:2:client_id:", "sessions.csv:1:session_date:",
                     "sessions.csv:1:srs: 41 is outside", "sessions.csv:2:srs: expected a number",
                     "sessions.csv:2:rupture:", "episodes.csv:1:termination:",
                     "episodes.csv:1:end_date:"):
        assert any(g.startswith(expected) for g in got), expected


def test_many_bad_rows_are_counted_but_not_all_listed(tmp_path: Path) -> None:
    """120 sessions with srs 50: 50 listed, then one line for the other 70."""
    rows = [["C1", "T1", "E1", f"2024-01-{1 + i % 28:02d}", "50", "none", ""] for i in range(120)]
    for i, r in enumerate(rows):
        r[0] = f"C{i}"
        r[2] = f"E{i}"
    eps = [[r[2], r[0], "T1", "2024-01-01", "", ""] for r in rows]
    got = problems(tmp_path, sessions=(S, rows), episodes=(E, eps))
    assert len(got) == 51
    assert got[-1] == "sessions.csv::srs: … and 70 more rows like these"


def test_a_ragged_csv_is_reported_without_its_content(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "sessions.csv").write_text(
        "client_id,therapist_id,session_date\nC1,T1,2024-01-01\nC1,T1,2024-01-08,Ann Smith\n",
        encoding="utf-8")
    with pytest.raises(ExportError) as info:
        load_export(folder)
    assert str(info.value.problems[0]).startswith("sessions.csv:")
    assert "Ann Smith" not in str(info.value)


@pytest.mark.parametrize(("text", "needle"), [
    ("[colums]\n", "unknown section(s) ['colums']; allowed sections"),
    ('[columns]\n"Client Ref" = "client"\n', "'client', which is not a canonical column"),
    ('[values.attendance]\n"DNA" = "noshow"\n', "allowed: attended, cancelled, no_show"),
    ('[values.team]\n"A" = "b"\n', "values can be mapped only for attendance"),
    ('[tables]\n"appointments" = "visits"\n', "allowed: sessions, episodes, therapists"),
    ('[dates]\nformat = "dd/mm/yyyy"\n', "strptime format"),
    ("[columns\n", "not valid TOML"),
])
def test_malformed_mapping(tmp_path: Path, text: str, needle: str) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_export(tmp_path, mapping=mapping)
    assert needle in str(info.value)
    assert str(info.value.problems[0]).startswith("m.toml: ")


def test_a_phone_number_in_a_score_column_is_not_echoed(tmp_path: Path) -> None:
    got = problems(tmp_path, sessions=with_cell(GOOD_S, S, 1, "srs", "07700900123"))
    assert got == ["sessions.csv:1:srs: a number is outside 0–40 (Session Rating Scale)"]


def test_work_tables_are_dropped_after_loading(tmp_path: Path) -> None:
    """Only the three canonical tables of a load stay in the database."""
    import ibis

    folder = tmp_path / "ok"
    folder.mkdir()
    write_csv(folder / "sessions.csv", [*S, "client_neurotype"], [[*r, "adhd"] for r in GOOD_S])
    con = ibis.duckdb.connect()
    load_export(folder, con=con)
    names = [r[0] for r in con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert sorted(n.rsplit("_", 2)[1] for n in names) == ["episodes", "sessions", "therapists"]
