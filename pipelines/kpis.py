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


HEADLINE_SQL = """
with
interactions as (
    select * from marts.fct_interactions
    where outcome <> 'pending'
        and (cast($start as date) is null or started_at >= cast($start as date))
        and (cast($stop as date) is null or started_at < cast($stop as date))
),
support as (select * from interactions where is_support)
select
    (select count(*) from interactions),
    (select count(*) from support),
    (select avg(case when is_deflected then 1.0 else 0 end) from support),
    (select avg(case when outcome <> 'escalated' then 1.0 else 0 end) from support),
    (select avg(case when outcome = 'auto_resolved' then 1.0 else 0 end) from support),
    (select avg(case when outcome = 'escalated' then 1.0 else 0 end) from support),
    (select avg(case when is_false_deflection then 1.0 else 0 end)
        from support where is_resolved_without_ticket),
    (select median(seconds_to_resolution) / 60.0 from support where resolved_at is not null),
    (select coalesce(sum(hours_saved), 0) from support),
    (select coalesce(sum(cost_saved_usd), 0) from support),
    (select min(share_of_items_driving_80pct) from marts.kpi_impact_pareto where level = 'ticket')
"""


def headline(
    connection: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> Headline:
    """Compute the headline figures over the whole warehouse, or over the interactions started
    (UTC) from `start` to `end`, both days included. The Pareto share is always all-time."""
    stop = end + timedelta(days=1) if end is not None else None
    return Headline(*connection.execute(HEADLINE_SQL, {"start": start, "stop": stop}).fetchone())
