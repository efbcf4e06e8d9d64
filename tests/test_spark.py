"""Spark (local[2]): the same figures as DuckDB.  Part of ``make test`` (the [test] extra
installs the [spark] extra; Spark needs Java 17 or later).

DuckDB is the reference: every figure of ``compute_metrics`` computed by Spark on the same
caseload must agree within 1e-9 relative (1e-12 absolute), as for PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from test_warehouse import _demo_caseload, _sorted, _tricky_caseload, assert_same_figures

from supervision.caseload import Caseload
from supervision.warehouse import caseload_on_spark, spark_session

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.0's toPandas passes pandas 3's deprecated copy= keyword (third-party noise)
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

MASTER = "local[2]"
#: For a few thousand rows Spark's per-query overhead is the cost: generated code compiled for
#: every stage and adaptive re-planning took 120-150 s of the first 20-episode build, 58 s
#: without them (two cores shared with the rest of the suite).  Production keeps Spark's
#: defaults (built for data that is large).
QUICK = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local session for the module, its driver bound to the loopback interface (a host
    name that resolves to another address makes the driver unreachable)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        session = spark_session(MASTER)
        for key, value in QUICK.items():
            session.conf.set(key, value)
        yield session
        session.stop()


def test_tables_arrive_unchanged(spark: Any) -> None:
    """Quotes, commas, newlines, non-ASCII, '' vs NULL, fractional doubles, NULL dates."""
    duck = _tricky_caseload()
    sp = caseload_on_spark(duck, MASTER)
    for name in ("sessions", "episodes", "therapists"):
        pd.testing.assert_frame_equal(
            _sorted(getattr(sp, name).execute()), _sorted(getattr(duck, name).execute()),
            check_exact=True,
        )
    assert sp.measures_present() == ["srs", "phq9"]


@pytest.fixture(scope="module")
def compute_metrics() -> Any:
    from supervision.metrics import compute_metrics

    return compute_metrics


@pytest.fixture(scope="module")
def demo_pair(compute_metrics: Any, spark: Any) -> tuple[Caseload, Caseload]:
    duck = _demo_caseload(300)
    return duck, caseload_on_spark(duck, MASTER)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="practice"),
        pytest.param({"since": "2024-01-01", "until": "2024-06-30"}, id="window"),
    ],
)
def test_demo_figures_equal_duckdb(
    demo_pair: tuple[Caseload, Caseload], compute_metrics: Any, options: dict[str, Any]
) -> None:
    duck, sp = demo_pair
    assert_same_figures(compute_metrics(duck, **options), compute_metrics(sp, **options))
