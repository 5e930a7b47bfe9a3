"""The report's figures over the marts: the headline KPIs of a period and their comparison with
the period before, resolution speed, savings by intent, what to automate next, data quality.

The SQL here is DuckDB's (`quantile_cont`, `$name` parameters): the report reads the DuckDB
warehouse directly, through a short-lived read-only connection.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb

from pipelines.kpis import KPIS, headlines
from pipelines.metrics import rate

TOP_PRIORITIES = 10


class Priorities(NamedTuple):
    """What to automate next: where the ranking came from, an honest note, and the rows."""

    source: str  # automation_model | lost_hours
    note: str
    rows: list[dict[str, Any]]


def _rows(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts (decimals as floats)."""
    cursor = connection.execute(sql, parameters or {})
    names = [column[0] for column in cursor.description or []]
    return [
        {n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def _span(start: date, end: date) -> dict[str, date]:
    """Query parameters of a period: `start` included, `stop` the day after `end`."""
    return {"start": start, "stop": end + timedelta(days=1)}


def summarise(connection: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, Any]:
    """The headline KPIs of interactions started from `start` to `end` (both included), as
    `pipelines.kpis.headline` defines them (escalations included)."""
    return summarise_periods(connection, [(start, end)])[0]


def summarise_periods(
    connection: duckdb.DuckDBPyConnection, periods: list[tuple[date, date]]
) -> list[dict[str, Any]]:
    """`summarise` for several periods at once (one pass over the interactions): every KPI of
    `pipelines.kpis.KPIS`, decimals as floats."""
    return [
        {kpi.key: _plain_number(getattr(figures, kpi.key)) for kpi in KPIS}
        for figures in headlines(connection, periods)
    ]


def _plain_number(value: Any) -> Any:
    """A DuckDB decimal as a float (JSON and arithmetic take it); other values as they are."""
    return float(value) if isinstance(value, Decimal) else value


def compare(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each KPI with its value, the previous period's, the change (for rates a difference of
    fractions, i.e. percentage points ÷ 100) and the relative change (None without a base).
    A previous period without interactions is no base: its figures and every change are None
    (a first month is not "+2,878 vs 0")."""
    if not previous.get("interactions"):
        previous = {}
    compared = {}
    for kpi in KPIS:
        now, before = current.get(kpi.key), previous.get(kpi.key)
        change = None if now is None or before is None else now - before
        relative = change / before if change is not None and before else None
        compared[kpi.key] = {
            **asdict(kpi),
            "value": now,
            "previous": before,
            "change": change,
            "relative_change": relative,
        }
    return compared


SPEED_SQL = """
with
resolved as (
    select * from marts.fct_interactions
    where is_support and resolved_at is not null and outcome <> 'pending'
        and started_at >= $start and started_at < $stop
),
speed as (
    select
        grouping(intent) = 1 as is_total,
        case when grouping(intent) = 1 then 'all intents' else intent end as intent,
        count(*) as resolved_interactions,
        -- both quantiles of a column from one sort of it
        quantile_cont(seconds_to_resolution, [0.5, 0.9]) as calendar,
        quantile_cont(working_seconds_to_resolution, [0.5, 0.9]) as working,
    from resolved
    group by grouping sets ((intent), ())
    having count(*) > 0
)
select
    speed.is_total,
    speed.intent,
    speed.resolved_interactions,
    speed.calendar[1] / 3600.0 as p50_hours,
    speed.calendar[2] / 3600.0 as p90_hours,
    speed.working[1] / 3600.0 as p50_working_hours,
    speed.working[2] / 3600.0 as p90_working_hours,
    intents.baseline_working_hours,
    speed.working[1] / 3600.0 / nullif(intents.baseline_working_hours, 0)
        as p50_share_of_baseline,
    intents.baseline_source,
from speed
left join marts.dim_intents as intents
    on not speed.is_total and speed.intent = intents.intent
order by speed.is_total desc, speed.resolved_interactions desc, speed.intent
"""


def resolution_speed(
    connection: duckdb.DuckDBPyConnection, start: date, end: date
) -> list[dict[str, Any]]:
    """p50/p90 time to resolution in the period (calendar and working hours), all intents first,
    then by intent beside the intent's pre-automation baseline (working hours, a ticket)."""
    return _rows(connection, SPEED_SQL, _span(start, end))


SAVINGS_SQL = """
select
    days.intent,
    sum(days.support_interactions) as interactions,
    sum(days.escalated) as escalations,
    sum(days.lost_hours) as lost_hours,
    sum(days.lost_cost_usd) as lost_cost_usd,
    sum(days.hours_saved) as hours_saved,
    sum(days.cost_saved_usd) as cost_saved_usd,
    coalesce(bool_or(intents.is_automatable), false) as is_automatable
from marts.kpi_deflection_daily as days
left join marts.dim_intents as intents on days.intent = intents.intent
where days.day >= $start and days.day < $stop
group by days.intent
having sum(days.support_interactions) > 0
order by hours_saved desc, days.intent
"""


def savings_by_intent(
    connection: duckdb.DuckDBPyConnection, start: date, end: date
) -> list[dict[str, Any]]:
    """Support interactions, escalations, lost hours and their cost, hours and cost saved by
    intent in the period, summed from the daily mart the headline sums: they reconcile."""
    return _rows(connection, SAVINGS_SQL, _span(start, end))


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (tables built by later work may not yet)."""
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = $schema and table_name = $table",
            {"schema": schema, "table": table},
        ).fetchone()[0]
    )


def automation_priorities(
    connection: duckdb.DuckDBPyConnection, savings: list[dict[str, Any]]
) -> Priorities:
    """The automation model's ranking (`marts.automation_priorities`) when it has run, else the
    period's intents ranked by lost hours (from `savings_by_intent`), labelled as such."""
    if table_exists(connection, "marts", "automation_priorities"):
        try:
            rows = _rows(
                connection,
                "select * from marts.automation_priorities order by rank limit $limit",
                {"limit": TOP_PRIORITIES},
            )
        except duckdb.Error as error:
            reason = str(error).splitlines()[0]
            note = f"marts.automation_priorities could not be read ({reason}); "
        else:
            note = "Ranked by the automation model: expected hours and cost saved per month."
            return Priorities("automation_model", note, rows)
    else:
        note = ""
    ranked = sorted(savings, key=lambda row: (-row["lost_hours"], row["intent"]))
    rows = [
        {
            "rank": rank,
            "issue_type": row["intent"],
            "lost_hours": row["lost_hours"],
            "interactions": row["interactions"],
            "escalations": row["escalations"],
            "is_automatable": row["is_automatable"],
        }
        for rank, row in enumerate(ranked[:TOP_PRIORITIES], start=1)
    ]
    note += "Ranked by lost hours in the period; the automation model has not run yet."
    return Priorities("lost_hours", note[0].upper() + note[1:], rows)


DQ_LATEST_SQL = """
with latest as (
    select run_id, max(checked_at) as checked_at from ops.dq_results
    group by run_id order by checked_at desc limit 1
)
select
    latest.run_id,
    latest.checked_at,
    count(*) filter (where results.success) as passed,
    count(*) filter (where results.success is not true and results.severity = 'warning')
        as warnings,
    count(*) filter (where results.success is not true and results.severity <> 'warning')
        as critical,
from latest
join ops.dq_results as results on results.run_id = latest.run_id
group by all
"""

DQ_FAILURES_SQL = """
select suite, expectation, severity from ops.dq_results
where run_id = $run_id and success is not true
order by severity = 'warning', suite, expectation
limit 20
"""


def data_quality(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The latest data-quality run (`ops.dq_results`): passed, warnings, critical failures and
    the failed expectations; status `none` until a run has been recorded."""
    if not table_exists(connection, "ops", "dq_results"):
        return {"status": "none", "message": "No data-quality results yet."}
    latest = _rows(connection, DQ_LATEST_SQL)
    if not latest:
        return {"status": "none", "message": "No data-quality results yet."}
    run = latest[0]
    failures = _rows(connection, DQ_FAILURES_SQL, {"run_id": run["run_id"]})
    status = "critical" if run["critical"] else "warning" if run["warnings"] else "passed"
    message = (
        f"Latest run {run['run_id']} ({run['checked_at']:%Y-%m-%d %H:%M}): {run['passed']:,} "
        f"passed, {run['warnings']:,} warnings, {run['critical']:,} critical failures."
    )
    return {"status": status, "message": message, **run, "failures": failures}


BASELINES_SQL = f"""
select
    intents.intent,
    intents.baseline_working_hours,
    intents.blocking_factor,
    intents.baseline_lost_hours,
    intents.baseline_source,
    intents.history_tickets,
    intents.ticket_cost_usd,
    {rate("answer_confirmation_rate").over_rows()} as answer_confirmation_rate,
    coalesce(sum(days.hours_saved), 0) as hours_saved
from marts.dim_intents as intents
left join marts.kpi_deflection_daily as days
    on intents.intent = days.intent and days.day >= $start and days.day < $stop
where intents.is_support and intents.baseline_lost_hours is not null
group by all
order by hours_saved desc, intents.intent
"""
HOURLY_COST_SQL = """
select
    (select default_loaded_hourly_cost from staging.stg_catalogue__cost_settings)
        as default_hourly_cost,
    (
        select cost_usd from staging.stg_catalogue__support_costs
        where support_tier = 'self_help'
    ) as self_help_cost,
    avg(loaded_hourly_cost) as mean_hourly_cost
from marts.fct_interactions
where is_verified_resolution and started_at >= $start and started_at < $stop
"""


def assumptions(connection: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, Any]:
    """What the period's savings rest on: each support intent's baseline (working hours,
    blocking factor, lost hours, where it comes from and on how many tickets of history), its
    ticket cost and answer confirmation rate, the hours it saved; and the hourly costs used."""
    costs = _rows(connection, HOURLY_COST_SQL, _span(start, end))[0]
    return {**costs, "baselines": _rows(connection, BASELINES_SQL, _span(start, end))}


def intent_labels(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each intent's catalogue label, as the warehouse holds it (`marts.dim_intents`)."""
    sql = "select intent, intent_label from marts.dim_intents where intent_label is not null"
    return dict(connection.execute(sql).fetchall())
