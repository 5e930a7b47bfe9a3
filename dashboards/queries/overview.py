"""The overview page: the headline KPIs against the previous period, the daily trend, and
what was resolved before anyone asked."""

from __future__ import annotations

from typing import Any, NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, query, read_frame
from pipelines import report
from pipelines.metrics import rate_columns

TILES = (
    "interactions",
    "strict_deflection_rate",
    "auto_resolution_rate",
    "median_minutes_to_resolution",
    "hours_saved",
    "cost_saved_usd",
    "false_deflection_rate",
    "escalations",
)


class Overview(NamedTuple):
    """The headline KPIs against the previous period, the daily trend, and what was resolved
    before anyone asked (None while that mart is missing)."""

    tiles: list[dict[str, Any]]
    trend: pl.DataFrame
    proactive: dict[str, Any] | None


# The day the data runs through (that of the newest event in the log, whatever the filters)
# is still incomplete: `is_partial_day` lets the charts hatch it and leave it out of rate lines.
TREND_SQL = f"""
select
    day,
    sum(interactions)::bigint as interactions,
    sum(support_interactions)::bigint as support_interactions,
    {rate_columns("strict_deflection_rate", "auto_resolution_rate")},
    sum(hours_saved) as hours_saved,
    sum(cost_saved_usd) as cost_saved_usd,
    day >= (select cast(max(occurred_at) as date) from warehouse.raw.events) as is_partial_day,
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by day
order by day
"""


@query("warehouse")
def overview(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Overview:
    """The headline KPIs of the period beside the previous period of the same length, as
    `pipelines.report.compare` gives them (value, previous, change, unit, better; no change
    when the previous period holds no interactions; a KPI shown with another, the verified
    savings with the expected, carries it as `beside_kpi`), and the same figures day by day."""
    current, previous = report.summarise_periods(
        connection, [(filters.start, filters.end), filters.previous]
    )
    compared = report.compare(current, previous)
    tiles = [
        compared[key]
        | ({"beside_kpi": compared[compared[key]["beside"]]} if compared[key]["beside"] else {})
        for key in TILES
    ]
    return Overview(
        tiles,
        read_frame(connection, TREND_SQL, filters.span),
        _proactive(connection, filters),
    )


PROACTIVE_SQL = """
select
    coalesce(sum(unlock_offers), 0)::bigint as unlock_offers,
    coalesce(sum(resolved_before_reported), 0)::bigint as resolved_before_reported,
    sum(resolved_before_reported)
        / nullif(sum(resolved_before_reported) + sum(unlock_requests), 0)
        as share_of_unlocks_before_reported,
    coalesce(sum(outage_notices), 0)::bigint as outage_notices,
    coalesce(sum(tickets_avoided), 0)::bigint as tickets_avoided,
from marts.kpi_proactive
where week >= date_trunc('week', cast($start as date)) and week < $stop
"""


def _proactive(connection: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any] | None:
    """What the system resolved before anyone asked, over the weeks the period touches (the
    whole company: the mart is by week only); None while the mart is missing."""
    if not report.table_exists(connection, "marts", "kpi_proactive"):
        return None
    return read_frame(connection, PROACTIVE_SQL, filters.span).row(0, named=True)
