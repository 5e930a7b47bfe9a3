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
periods as (
    -- one row per period asked for: [start, stop) in UTC days
    select unnest($starts::date[]) as period_start, unnest($stops::date[]) as period_stop
),
totals as (
    select
        periods.period_start,
        coalesce(sum(days.interactions), 0) as interactions,
        coalesce(sum(days.support_interactions), 0) as support,
        sum(days.deflected) as deflected,
        sum(days.auto_resolved) as auto_resolved,
        sum(days.escalated) as escalated,
        sum(days.false_deflections) as false_deflections,
        sum(days.resolved) as resolved,
        coalesce(sum(days.hours_saved), 0) as hours_saved,
        coalesce(sum(days.cost_saved_usd), 0) as cost_saved_usd,
    from periods
    left join marts.kpi_deflection_daily as days
        on days.day >= periods.period_start and days.day < periods.period_stop
    group by periods.period_start
),
-- the one figure that is not a sum of days: every period's median from one scan
median_time as (
    select periods.period_start, median(interactions.seconds_to_resolution) / 60.0 as minutes
    from marts.fct_interactions as interactions
    inner join periods
        on interactions.started_at >= periods.period_start
        and interactions.started_at < periods.period_stop
    where interactions.is_support and interactions.resolved_at is not null
        and interactions.outcome <> 'pending'
    group by periods.period_start
)
select
    totals.interactions,
    totals.support,
    totals.deflected / nullif(totals.support, 0),
    (totals.support - totals.escalated) / nullif(totals.support, 0),
    totals.auto_resolved / nullif(totals.support, 0),
    totals.escalated / nullif(totals.support, 0),
    totals.false_deflections / nullif(totals.resolved, 0),
    median_time.minutes,
    totals.hours_saved,
    totals.cost_saved_usd,
    (select min(share_of_items_driving_80pct) from marts.kpi_impact_pareto where level = 'ticket'),
    coalesce(totals.escalated, 0),
from totals
left join median_time on totals.period_start = median_time.period_start
order by totals.period_start
"""
ALL_TIME = (date(1, 1, 1), date(9999, 12, 30))


def headlines(
    connection: duckdb.DuckDBPyConnection, periods: list[tuple[date, date]]
) -> list[Headline]:
    """The headline figures of each period (UTC days `start` to `end`, both included; periods
    start on different days), in the order given, from one pass over the interactions. The
    Pareto share is always all-time.

    Every figure but the median is a ratio of sums of the daily mart, so a period costs a few
    thousand rows, not a scan of the interactions."""
    starts = [start for start, _ in periods]
    if len(set(starts)) != len(starts):
        raise ValueError("periods must start on different days")
    parameters = {"starts": starts, "stops": [end + timedelta(days=1) for _, end in periods]}
    rows = connection.execute(HEADLINE_SQL, parameters).fetchall()
    by_start = dict(zip(sorted(starts), rows, strict=True))
    return [Headline(*by_start[start]) for start in starts]


def headline(
    connection: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> Headline:
    """The headline figures over the whole warehouse, or over the interactions started (UTC)
    from `start` to `end`, both days included (see `headlines`)."""
    return headlines(connection, [(start or ALL_TIME[0], end or ALL_TIME[1])])[0]
