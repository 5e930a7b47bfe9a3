"""The health page: pipeline runs, data-quality results, builds and model runs (the ops file)."""

from __future__ import annotations

import json
from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import query, read_frame
from settings import get_settings


class Health(NamedTuple):
    """The ops file's latest pipeline runs, data-quality results, builds and model runs
    (each empty until recorded)."""

    runs: pl.DataFrame
    quality: pl.DataFrame
    builds: pl.DataFrame
    model_runs: pl.DataFrame


HEALTH_SQL = {
    "pipeline_runs": """
        select run_id, flow, status, started_at, finished_at, duration_seconds, rows_in,
            rows_out, published, error, steps
        from pipeline_runs order by started_at desc limit 50
    """,
    "dq_results": """
        select suite, expectation, description, severity, success, observed_value,
            unexpected_count, checked_at, run_id
        from dq_results
        where run_id = (select run_id from dq_results order by checked_at desc limit 1)
        order by success, severity = 'warning', suite, expectation
    """,
    "builds": "select * from builds order by started_at desc limit 20",
    "model_runs": "select * from model_runs order by recorded_at desc limit 20",
}


@query("ops")
def _health(connection: duckdb.DuckDBPyConnection) -> Health:
    """The tables of the ops file that exist, read; the others empty."""
    present = {row[0] for row in connection.execute("show tables").fetchall()}
    frames = [
        read_frame(connection, sql) if table in present else pl.DataFrame()
        for table, sql in HEALTH_SQL.items()
    ]
    return Health(*frames)


def health() -> Health:
    """The latest pipeline runs (with their steps as JSON), the latest data-quality run's
    results (failures first), builds and model runs; all empty until a pipeline has run."""
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
