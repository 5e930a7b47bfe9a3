"""Headline KPIs read from the marts: what `make demo` and the report lead with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb


@dataclass(frozen=True)
class Headline:
    """The figures an IT leader reads first."""

    interactions: int
    support_interactions: int
    strict_deflection_rate: float | None
    lenient_deflection_rate: float | None
    auto_resolution_rate: float | None
    escalation_rate: float | None
    false_deflection_rate: float | None
    median_minutes_to_resolution: float | None
    hours_saved: float
    cost_saved_usd: float
    tickets_share_driving_80pct: float | None
    escalations: int


HEADLINE_SQL = """
with
days as (
    select * from marts.kpi_deflection_daily
    where (cast($start as date) is null or day >= cast($start as date))
        and (cast($stop as date) is null or day < cast($stop as date))
),
totals as (
    select
        coalesce(sum(interactions), 0) as interactions,
        coalesce(sum(support_interactions), 0) as support,
        sum(deflected) as deflected,
        sum(auto_resolved) as auto_resolved,
        sum(escalated) as escalated,
        sum(false_deflections) as false_deflections,
        sum(resolved) as resolved,
        coalesce(sum(hours_saved), 0) as hours_saved,
        coalesce(sum(cost_saved_usd), 0) as cost_saved_usd,
    from days
),
-- the one figure that is not a sum of days
median_time as (
    select median(seconds_to_resolution) / 60.0 as minutes
    from marts.fct_interactions
    where is_support and resolved_at is not null and outcome <> 'pending'
        and (cast($start as date) is null or started_at >= cast($start as date))
        and (cast($stop as date) is null or started_at < cast($stop as date))
)
select
    interactions,
    support,
    deflected / nullif(support, 0),
    (support - escalated) / nullif(support, 0),
    auto_resolved / nullif(support, 0),
    escalated / nullif(support, 0),
    false_deflections / nullif(resolved, 0),
    (select minutes from median_time),
    hours_saved,
    cost_saved_usd,
    (select min(share_of_items_driving_80pct) from marts.kpi_impact_pareto where level = 'ticket'),
    coalesce(escalated, 0),
from totals
"""


def headline(
    connection: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> Headline:
    """Compute the headline figures over the whole warehouse, or over the interactions started
    (UTC) from `start` to `end`, both days included. The Pareto share is always all-time.

    Every figure but the median is a ratio of sums of the daily mart, so a period costs a few
    thousand rows, not a scan of the interactions."""
    stop = end + timedelta(days=1) if end is not None else None
    return Headline(*connection.execute(HEADLINE_SQL, {"start": start, "stop": stop}).fetchone())
