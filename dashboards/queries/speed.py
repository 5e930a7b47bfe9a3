"""The resolution-speed page: how long resolution took and p50/p90 by one dimension."""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, query, read_frame

SPEED_BUCKETS = (
    (60, "< 1 min"),
    (300, "1–5 min"),
    (900, "5–15 min"),
    (3600, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (8 * 3600, "4–8 h"),
    (24 * 3600, "8–24 h"),
    (72 * 3600, "1–3 days"),
    (None, "> 3 days"),
)


class Speed(NamedTuple):
    """How long resolution took (buckets by outcome) and p50/p90 by one dimension."""

    distribution: pl.DataFrame
    percentiles: pl.DataFrame


SPEED_BY_SQL = """
with
speed as (
    select
        {dimension},
        count(*) as resolved_interactions,
        -- both quantiles of a column from one sort of it
        quantile_cont(seconds_to_resolution, [0.5, 0.9]) as calendar,
        quantile_cont(working_seconds_to_resolution, [0.5, 0.9]) as working,
    from marts.fct_interactions
    where is_support and resolved_at is not null and outcome <> 'pending'
        and started_at >= $start and started_at < $stop
    group by {dimension}
)
select
    speed.{dimension},
    speed.resolved_interactions,
    speed.calendar[1] / 3600.0 as p50_hours,
    speed.calendar[2] / 3600.0 as p90_hours,
    speed.working[1] / 3600.0 as p50_working_hours,
    speed.working[2] / 3600.0 as p90_working_hours,
    {baseline}
from speed
{baseline_join}
order by speed.resolved_interactions desc, speed.{dimension}
"""
BASELINE_COLUMNS = """intents.baseline_working_hours,
    speed.working[1] / 3600.0 / nullif(intents.baseline_working_hours, 0)
        as p50_share_of_baseline,
    intents.baseline_source,"""
BASELINE_JOIN = "left join marts.dim_intents as intents on speed.intent = intents.intent"
SPEED_DIMENSIONS = ("intent", "outcome", "channel")


def _bucket_sql() -> str:
    """A case expression numbering the time-to-resolution bucket of an interaction."""
    cases = " ".join(
        f"when seconds_to_resolution < {limit} then {index}"
        for index, (limit, _) in enumerate(SPEED_BUCKETS)
        if limit is not None
    )
    return f"case {cases} else {len(SPEED_BUCKETS) - 1} end"


DISTRIBUTION_SQL = f"""
select outcome, {_bucket_sql()} as bucket_index, count(*) as interactions
from marts.fct_interactions
where is_support and resolved_at is not null and outcome <> 'pending'
    and started_at >= $start and started_at < $stop
group by all
order by bucket_index, outcome
"""


def _distribution(connection: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Resolved support interactions by outcome and time-to-resolution bucket (labelled)."""
    labels = pl.DataFrame(
        {"bucket_index": range(len(SPEED_BUCKETS)), "bucket": [b[1] for b in SPEED_BUCKETS]},
        schema={"bucket_index": pl.Int32, "bucket": pl.String},
    )
    frame = read_frame(connection, DISTRIBUTION_SQL, filters.span)
    return frame.with_columns(pl.col("bucket_index").cast(pl.Int32)).join(
        labels, on="bucket_index", how="left"
    )


@query("warehouse")
def resolution_speed(
    connection: duckdb.DuckDBPyConnection, filters: Filters, dimension: str = "intent"
) -> Speed:
    """The distribution of calendar time to resolution by outcome, and p50/p90 (calendar and
    working hours) by one dimension: intent (beside each intent's pre-automation baseline, as
    the report gives them), outcome or channel."""
    if dimension not in SPEED_DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(SPEED_DIMENSIONS)}")
    by_intent = dimension == "intent"
    sql = SPEED_BY_SQL.format(
        dimension=dimension,
        baseline=BASELINE_COLUMNS if by_intent else "",
        baseline_join=BASELINE_JOIN if by_intent else "",
    )
    return Speed(_distribution(connection, filters), read_frame(connection, sql, filters.span))
