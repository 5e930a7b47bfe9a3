"""Headline KPIs read from the marts: what `make demo` and the report lead with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from pipelines.metrics import rate, rate_columns


@dataclass(frozen=True)
class Kpi:
    """How one KPI is labelled, formatted and judged (`better`: higher, lower or neutral)."""

    key: str
    label: str
    unit: str
    better: str
    headline: bool = True
    beside: str | None = None  # a figure shown beside this one (the expected savings)


def rate_kpi(key: str, headline: bool = True) -> Kpi:
    """A KPI rate as the dbt project defines it (label, and which way is better)."""
    definition = rate(key)
    return Kpi(key, definition.label, "rate", definition.better, headline)


# Savings come as a range: verified (the headline: actions that succeeded and resolutions the
# employee confirmed, never more than the intent's baseline) and expected (plus unconfirmed
# answers, credited at the intent's answer confirmation rate in the period).
SAVED_HOURS = "Employee hours saved (verified)"
SAVED_COST = "Cost saved (verified)"
EXPECTED_HOURS = "Employee hours saved (expected)"
EXPECTED_COST = "Cost saved (expected)"

# The KPIs a period is summarised by, in the order an IT leader reads them: the report's table
# and the dashboards' tiles (those with `headline`), compared with the period before.
KPIS: tuple[Kpi, ...] = (
    Kpi("interactions", "Interactions", "count", "neutral"),
    rate_kpi("strict_deflection_rate"),
    rate_kpi("auto_resolution_rate"),
    Kpi("median_minutes_to_resolution", "Median time to resolution", "minutes", "lower"),
    Kpi("hours_saved", SAVED_HOURS, "hours", "higher", beside="expected_hours_saved"),
    Kpi("expected_hours_saved", EXPECTED_HOURS, "hours", "higher", headline=False),
    Kpi("cost_saved_usd", SAVED_COST, "usd", "higher", beside="expected_cost_saved_usd"),
    Kpi("expected_cost_saved_usd", EXPECTED_COST, "usd", "higher", headline=False),
    Kpi(
        "cost_saved_per_support_interaction",
        "Cost saved per support interaction (verified)",
        "usd",
        "higher",
        headline=False,
    ),
    Kpi(
        "assumed_baseline_share",
        "Share of hours saved resting on assumed baselines",
        "share",
        "lower",
        headline=False,
    ),
    rate_kpi("false_deflection_rate"),
    Kpi("escalations", "Escalations", "count", "lower"),
    Kpi("support_interactions", "Support interactions", "count", "neutral", headline=False),
    rate_kpi("escalation_rate", headline=False),
)
# `unticket kpis`: every figure of the `Headline` over all time.
ALL_TIME_KPIS: tuple[Kpi, ...] = (
    *KPIS,
    rate_kpi("lenient_deflection_rate", headline=False),
    Kpi(
        "tickets_share_driving_80pct",
        "Share of tickets causing 80 % of lost time",
        "share",
        "lower",
        headline=False,
    ),
)


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
    expected_hours_saved: float
    expected_cost_saved_usd: float
    cost_saved_per_support_interaction: float | None
    assumed_baseline_share: float | None
    tickets_share_driving_80pct: float | None
    escalations: int


HEADLINE_RATES = (
    "strict_deflection_rate",
    "lenient_deflection_rate",
    "auto_resolution_rate",
    "escalation_rate",
    "false_deflection_rate",
)
HEADLINE_SQL = f"""
with
periods as (
    -- one row per period asked for: [start, stop) in UTC days
    select unnest($starts::date[]) as period_start, unnest($stops::date[]) as period_stop
),
totals as (
    select
        periods.period_start,
        coalesce(sum(days.interactions), 0) as interactions,
        coalesce(sum(days.support_interactions), 0) as support_interactions,
        {rate_columns(*HEADLINE_RATES)},
        coalesce(sum(days.hours_saved), 0) as hours_saved,
        coalesce(sum(days.cost_saved_usd), 0) as cost_saved_usd,
        sum(days.hours_saved_on_assumed_baselines) / nullif(sum(days.hours_saved), 0)
            as assumed_baseline_share,
        coalesce(sum(days.escalated), 0) as escalations
    from periods
    left join marts.kpi_deflection_daily as days
        on days.day >= periods.period_start and days.day < periods.period_stop
    group by periods.period_start
),
-- the expected range adds unconfirmed answers at their intent's confirmation rate in the period
unconfirmed_by_intent as (
    select
        periods.period_start,
        sum(days.unconfirmed_hours) as hours,
        sum(days.unconfirmed_cost_usd) as cost_usd,
        {rate("answer_confirmation_rate").over_rows()} as confirmation_rate
    from periods
    inner join marts.kpi_deflection_daily as days
        on days.day >= periods.period_start and days.day < periods.period_stop
    group by periods.period_start, days.intent
),
unconfirmed as (
    select
        period_start,
        coalesce(sum(hours * confirmation_rate), 0) as hours,
        coalesce(sum(cost_usd * confirmation_rate), 0) as cost_usd
    from unconfirmed_by_intent
    group by period_start
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
    totals.period_start,
    totals.interactions,
    totals.support_interactions,
    {", ".join(f"totals.{key}" for key in HEADLINE_RATES)},
    median_time.minutes as median_minutes_to_resolution,
    totals.hours_saved,
    totals.cost_saved_usd,
    totals.hours_saved + coalesce(unconfirmed.hours, 0) as expected_hours_saved,
    totals.cost_saved_usd + coalesce(unconfirmed.cost_usd, 0) as expected_cost_saved_usd,
    totals.cost_saved_usd / nullif(totals.support_interactions, 0)
        as cost_saved_per_support_interaction,
    totals.assumed_baseline_share,
    (
        select min(share_of_items_driving_80pct) from marts.kpi_impact_pareto
        where level = 'ticket'
    ) as tickets_share_driving_80pct,
    totals.escalations
from totals
left join median_time on totals.period_start = median_time.period_start
left join unconfirmed on totals.period_start = unconfirmed.period_start
"""
DEFLECTION_BY_SQL = f"""
select
    {{dimension}},
    sum(support_interactions) as support_interactions,
    sum(deflected) as deflected,
    sum(auto_resolved) as auto_resolved,
    sum(answered) as answered,
    sum(escalated) as escalated,
    sum(false_deflections) as false_deflections,
    {rate_columns("strict_deflection_rate", "auto_resolution_rate")}
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by {{dimension}}
having sum(support_interactions) > 0
order by support_interactions desc, {{dimension}}
"""
BREAKDOWNS = ("intent", "channel", "department", "language")
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
    cursor = connection.execute(HEADLINE_SQL, parameters)
    names = [column[0] for column in cursor.description]
    by_start = {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}
    return [Headline(**by_start[start]) for start in starts]


def headline(
    connection: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> Headline:
    """The headline figures over the whole warehouse, or over the interactions started (UTC)
    from `start` to `end`, both days included (see `headlines`)."""
    return headlines(connection, [(start or ALL_TIME[0], end or ALL_TIME[1])])[0]


def deflection_by(
    connection: duckdb.DuckDBPyConnection, dimension: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Strict deflection by intent, channel, department or language among the interactions
    started (UTC) from `start` to `end`, both days included (small talk is outside the
    denominator: `support_interactions`)."""
    if dimension not in BREAKDOWNS:
        raise ValueError(f"dimension must be one of {BREAKDOWNS}, not {dimension!r}")
    cursor = connection.execute(
        DEFLECTION_BY_SQL.format(dimension=dimension),
        {"start": start, "stop": end + timedelta(days=1)},
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
