"""The health page: pipeline runs, the run that published the warehouse now in place and its
data-quality results, the latest data-quality results, builds and model runs (the ops file)."""

from __future__ import annotations

import json
from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import query, read_frame
from settings import get_settings


class Health(NamedTuple):
    """The ops file's latest pipeline runs; the run that published the warehouse now in place
    (one row, none when no recorded run published it) and its data-quality results (none when
    it ran no checks); the latest data-quality results, of whichever run ran them; builds and
    model runs. Each empty until recorded."""

    runs: pl.DataFrame
    published_run: pl.DataFrame
    published_checks: pl.DataFrame
    latest_checks: pl.DataFrame
    builds: pl.DataFrame
    model_runs: pl.DataFrame


# A run publishes only after every step before it succeeded, so the latest run recorded as
# published is the one whose warehouse readers see (a failed run leaves it in place).
PUBLISHED_RUN_ID = (
    "(select run_id from pipeline_runs where published order by started_at desc limit 1)"
)
LATEST_CHECKED_RUN_ID = "(select run_id from dq_results order by checked_at desc limit 1)"
CHECKS_SQL = """
    select checks.suite, checks.expectation, checks.description, checks.severity,
        checks.success, checks.observed_value, checks.unexpected_count, checks.checked_at,
        checks.run_id, runs.flow
    from dq_results as checks
    left join pipeline_runs as runs on checks.run_id = runs.run_id
    where checks.run_id = {run_id}
    order by checks.success, checks.severity = 'warning', checks.suite, checks.expectation
"""
HEALTH_SQL = {  # field of Health: (the tables it reads, its SQL)
    "runs": (
        ("pipeline_runs",),
        """
        select run_id, flow, status, started_at, finished_at, duration_seconds, rows_in,
            rows_out, published, error, steps
        from pipeline_runs order by started_at desc limit 50
        """,
    ),
    "published_run": (
        ("pipeline_runs",),
        f"select run_id, flow, started_at, finished_at from pipeline_runs "
        f"where run_id = {PUBLISHED_RUN_ID}",
    ),
    "published_checks": (
        ("pipeline_runs", "dq_results"),
        CHECKS_SQL.format(run_id=PUBLISHED_RUN_ID),
    ),
    "latest_checks": (
        ("pipeline_runs", "dq_results"),
        CHECKS_SQL.format(run_id=LATEST_CHECKED_RUN_ID),
    ),
    "builds": (("builds",), "select * from builds order by started_at desc limit 20"),
    "model_runs": (("model_runs",), "select * from model_runs order by recorded_at desc limit 20"),
}


@query("ops")
def _health(connection: duckdb.DuckDBPyConnection) -> Health:
    """The ops file read where its tables exist; the rest empty."""
    present = {row[0] for row in connection.execute("show tables").fetchall()}
    return Health(
        **{
            field: read_frame(connection, sql) if present >= set(tables) else pl.DataFrame()
            for field, (tables, sql) in HEALTH_SQL.items()
        }
    )


def health() -> Health:
    """The latest pipeline runs (with their steps as JSON); the run that published the
    warehouse now in place and its data-quality results; the latest data-quality results
    (failures first); builds and model runs. All empty until a pipeline has run."""
    if not get_settings().ops_path.exists():
        return Health(*(pl.DataFrame() for _ in HEALTH_SQL))
    return _health()


def steps_of(runs: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The steps of one run: rows in and out, seconds, summary and warnings."""
    recorded = runs.filter(pl.col("run_id") == run_id)["steps"]
    steps = json.loads(recorded[0]) if len(recorded) and recorded[0] else []
    return pl.DataFrame(
        [{**step, "warnings": "; ".join(step.get("warnings", []))} for step in steps]
    )
