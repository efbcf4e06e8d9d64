"""The compiled-SQL cache (supervision.compiled): the same SQL Ibis would write, once per shape."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from supervision import compiled


def _con() -> object:
    con = ibis.duckdb.connect()
    compiled.install(con)
    return con


def _frame(n: int, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"k": [i % 3 for i in range(n)],
                         "v": [float(i + offset) for i in range(n)]})


def _query(t: ibis.Table, cut: float) -> ibis.Table:
    f = t.filter(t.v >= cut)
    return f.group_by("k").aggregate(n=f.v.count(), s=f.v.sum()).order_by("k")


def test_same_shape_over_other_tables_is_one_compile_with_the_real_names() -> None:
    """Two tables of the same columns in two backends: the second query is a cache hit and
    still reads its own table.  By hand: rows 0..5 with v >= 2 are v = 2, 3, 4, 5 with
    k = 2, 0, 1, 2 -> k 0: n 1 s 3; k 1: n 1 s 4; k 2: n 2 s 7; with offset 10 the same
    rows hold 10..15, all >= 2: k 0: 10+13 = 23, k 1: 11+14 = 25, k 2: 12+15 = 27."""
    a, b = _con(), _con()
    ta = a.create_table("a", _frame(6))
    tb = b.create_table("other_name", _frame(6, offset=10))
    before = dict(compiled.STATS)
    ra = _query(ta, 2.0).execute()
    rb = _query(tb, 2.0).execute()
    assert compiled.STATS["hits"] - before["hits"] >= 1
    assert ra.to_dict("list") == {"k": [0, 1, 2], "n": [1, 1, 2], "s": [3.0, 4.0, 7.0]}
    assert rb.to_dict("list") == {"k": [0, 1, 2], "n": [2, 2, 2], "s": [23.0, 25.0, 27.0]}
    sql = b.compile(_query(tb, 2.0))
    assert '"other_name"' in sql and "__sv" not in sql


def test_literals_are_part_of_the_shape() -> None:
    """Another cut is another query: v >= 4 keeps v = 4, 5 (k = 1, 2)."""
    con = _con()
    t = con.create_table("t", _frame(6))
    assert _query(t, 2.0).execute()["n"].sum() == 4
    assert _query(t, 4.0).execute().to_dict("list") == {"k": [1, 2], "n": [1, 1], "s": [4.0, 5.0]}


@pytest.mark.parametrize("cut", [0.0, 2.5])
def test_the_cached_sql_is_what_ibis_writes(cut: float) -> None:
    """Against Ibis' own compiler on a backend without the cache, table name for name."""
    plain = ibis.duckdb.connect()
    con = _con()
    for c in (plain, con):
        c.create_table("same", _frame(9))
    expr = _query(con.table("same"), cut)
    assert con.compile(expr) == plain.compile(_query(plain.table("same"), cut))


def test_cache_keeps_the_column_types_and_release_drops_the_table() -> None:
    """A cached table through the cache has Ibis' schema (int8 stays int8), and release()
    drops it as Ibis' own cache does."""
    con = _con()
    t = con.create_table("t", _frame(4))
    e = t.mutate(small=t.k.cast("int8"), flag=t.v > 1)
    c = e.cache()
    assert c.schema() == e.schema()
    name = c.op().name
    assert name in _temp_tables(con)
    assert c.execute()["flag"].tolist() == [False, False, True, True]
    c.release()
    assert name not in _temp_tables(con)


def _temp_tables(con: object) -> set[str]:
    rows = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {r[0] for r in rows}


def test_memtables_are_registered_and_named() -> None:
    """An in-memory table in the expression is registered before the cached SQL runs."""
    con = _con()
    m1 = ibis.memtable(pd.DataFrame({"x": [1, 2, 3]}))
    m2 = ibis.memtable(pd.DataFrame({"x": [10, 20]}))
    assert con.execute(m1.x.sum()) == 6
    assert con.execute(m2.x.sum()) == 30
    assert m2.filter(m2.x > 10).cache().count().execute() == 1


def test_dates_and_strings_are_values_of_one_shape() -> None:
    """A window end and an id are put back into the SQL: other values are hits, with
    their own results.  By hand: d = 2024-01-01 + i days for i = 0..5, s = a, b, a, b, a, b
    (note the quote in "b'"): d >= 01-03 and s = "a" keeps i = 2, 4; >= 01-05 and "b'" keeps 5."""
    import datetime as dt

    con = _con()
    t = con.create_table("t", pd.DataFrame({
        "d": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(6)],
        "s": ["a", "b'"] * 3, "i": range(6)}))

    def q(day: int, s: str) -> list[int]:
        f = t.filter((t.d >= dt.date(2024, 1, day)) & (t.s == s))
        return sorted(f.i.execute().tolist())

    assert q(3, "a") == [2, 4]
    before = compiled.STATS["hits"]
    assert q(5, "b'") == [5]
    assert q(1, "zz") == []
    assert compiled.STATS["hits"] - before == 2
