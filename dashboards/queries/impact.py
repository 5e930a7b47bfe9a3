"""The productivity and priorities pages: lost and saved hours, the impact concentration, and
what to automate next."""

from __future__ import annotations

from typing import Literal, NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, optional_mart, query, read_frame
from pipelines import report

PARETO_POINTS = 400


class Productivity(NamedTuple):
    """Lost hours and cost, hours and cost saved, by department, intent and both."""

    by_department: pl.DataFrame
    by_intent: pl.DataFrame
    by_department_intent: pl.DataFrame


class Ranking(NamedTuple):
    """What to automate next: where the ranking comes from, a note for the reader, the rows."""

    source: Literal["automation_model", "lost_hours"]
    note: str
    rows: pl.DataFrame


IMPACT_SQL = """
select
    {dimensions},
    sum(support_interactions)::bigint as support_interactions,
    sum(lost_hours) as lost_hours,
    sum(lost_cost_usd) as lost_cost_usd,
    sum(hours_saved) as hours_saved,
    sum(cost_saved_usd) as cost_saved_usd,
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by all
having sum(support_interactions) > 0
order by lost_hours desc
"""


@query("warehouse")
def productivity(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Productivity:
    """Lost hours, their cost (× each employee's loaded hourly cost), hours and cost saved,
    by department, by intent, and by both."""

    def impact_by(*dimensions: str) -> pl.DataFrame:
        columns = ", ".join(f"coalesce({d}, 'unknown') as {d}" for d in dimensions)
        return read_frame(connection, IMPACT_SQL.format(dimensions=columns), filters.span)

    return Productivity(
        impact_by("department"), impact_by("intent"), impact_by("department", "intent")
    )


PARETO_SQL = """
select item_rank, item, lost_hours, cumulative_share_of_items, cumulative_share_of_lost_time,
    drives_80pct, share_of_items_driving_80pct, items
from marts.kpi_impact_pareto
where level = $level
    and (items <= $points or item_rank = 1 or item_rank = items
        or item_rank % greatest(1, items // $points) = 0
        or cumulative_share_of_items = share_of_items_driving_80pct)
order by item_rank
"""


@query("warehouse")
def pareto(connection: duckdb.DuckDBPyConnection, level: str) -> pl.DataFrame:
    """The impact-concentration curve of tickets or issue types (all time), sampled to about
    `PARETO_POINTS` points, its ends and the 80 % point kept."""
    if level not in ("ticket", "issue_type"):
        raise ValueError(f"level must be ticket or issue_type, not {level!r}")
    return read_frame(connection, PARETO_SQL, {"level": level, "points": PARETO_POINTS})


@query("warehouse")
def priorities(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Ranking:
    """The automation model's ranking (`marts.automation_priorities`) when it has run; until
    then the report's fallback: the period's intents ranked by lost hours."""
    ranked = optional_mart(connection, "automation_priorities")
    if ranked is not None:
        note = "Ranked by the automation model: expected hours and cost saved per month."
        return Ranking("automation_model", note, ranked.sort("rank"))
    savings = report.savings_by_intent(connection, filters.start, filters.end)
    fallback = report.automation_priorities(connection, savings)
    return Ranking("lost_hours", fallback.note, pl.DataFrame(fallback.rows))
