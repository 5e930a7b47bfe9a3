"""The deflection page: strict deflection by intent, channel, department and language, the four
definitions by week, false deflections, and the interactions behind them."""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, query, read_frame
from pipelines.kpis import BREAKDOWNS, DEFLECTION_BY_SQL
from pipelines.metrics import rate_columns


class Deflection(NamedTuple):
    """Strict deflection by intent, channel, department and language, the four definitions by
    week, and false deflections and re-contacts by intent."""

    by_intent: pl.DataFrame
    by_channel: pl.DataFrame
    by_department: pl.DataFrame
    by_language: pl.DataFrame
    definitions: pl.DataFrame
    false_deflections: pl.DataFrame


DEFINITIONS_SQL = """
select week, strict_deflection_rate, ai_ran_or_positive_rate, bot_effectiveness_rate,
    lenient_deflection_rate, support_interactions
from marts.kpi_deflection_definitions
where week >= date_trunc('week', cast($start as date)) and week < $stop
order by week
"""

FALSE_DEFLECTIONS_SQL = f"""
select
    intent,
    sum(resolved)::bigint as resolved_without_ticket,
    sum(false_deflections)::bigint as false_deflections,
    sum(recontacts)::bigint as recontacts,
    sum(rejected)::bigint as rejected,
    {rate_columns("false_deflection_rate")}
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by intent
having sum(support_interactions) > 0
order by false_deflections desc, recontacts desc, intent
"""


@query("warehouse")
def deflection(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Deflection:
    """Strict deflection by intent, channel, department and language (the report's query);
    the four definitions by week (whole company: that mart is not split by department,
    channel, intent or language); and by intent, resolutions without a ticket, false
    deflections, re-contacts and rejections."""
    by = {
        dimension: read_frame(
            connection, DEFLECTION_BY_SQL.format(dimension=dimension), filters.span
        )
        for dimension in BREAKDOWNS
    }
    return Deflection(
        by["intent"],
        by["channel"],
        by["department"],
        by["language"],
        read_frame(connection, DEFINITIONS_SQL, filters.span),
        read_frame(connection, FALSE_DEFLECTIONS_SQL, filters.span),
    )


INTERACTIONS_SQL = """
select
    interaction_id, started_at, employee_id, department, channel, language, intent, outcome,
    feedback,
    is_deflected, is_false_deflection, has_recontact, ticket_id,
    round(seconds_to_resolution / 60.0, 1) as minutes_to_resolution,
    lost_hours, hours_saved, cost_saved_usd,
from marts.fct_interactions
where started_at >= $start and started_at < $stop
    and (cast($intent as varchar) is null or intent = cast($intent as varchar))
    and (len(cast($outcomes as varchar[])) = 0
        or list_contains(cast($outcomes as varchar[]), outcome))
    and (not $false_only or is_false_deflection)
order by started_at desc
limit $limit
"""


@query("warehouse")
def interactions(
    connection: duckdb.DuckDBPyConnection,
    filters: Filters,
    intent: str | None = None,
    outcomes: tuple[str, ...] = (),
    false_only: bool = False,
    limit: int = 500,
) -> pl.DataFrame:
    """The newest interactions of the period (of one intent, some outcomes, or only false
    deflections), for drilling down from the deflection figures."""
    parameters = {
        **filters.span,
        "intent": intent,
        "outcomes": list(outcomes),
        "false_only": false_only,
        "limit": limit,
    }
    return read_frame(connection, INTERACTIONS_SQL, parameters)
