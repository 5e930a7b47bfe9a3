"""The knowledge page: topics, spikes and what the engine did not understand."""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, optional_mart, query, read_frame
from pipelines.report import table_exists


class Knowledge(NamedTuple):
    """Topics and spikes (None until the models that write them have run) and the requests
    the engine did not understand."""

    topics: pl.DataFrame | None
    unrecognized: pl.DataFrame
    spikes: pl.DataFrame | None


UNRECOGNIZED_SQL = """
with unrecognized as (
    select interaction_id from marts.fct_interactions
    where outcome = 'unrecognized' and started_at >= $start and started_at < $stop
)
select lower(trim(events.text)) as request, count(*) as times, max(events.occurred_at) as last_seen
from warehouse.raw.events as events
semi join unrecognized on events.interaction_id = unrecognized.interaction_id
where events.event_type = 'message_received' and events.text is not null
    and events.occurred_at >= $start
group by all
order by times desc, last_seen desc
limit 200
"""


@query("warehouse")
def knowledge(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Knowledge:
    """Topics and spikes as the models wrote them (None until they have run), and what
    employees wrote when the engine did not understand them (redacted in the event log),
    most frequent first."""
    return Knowledge(
        optional_mart(connection, "topics"),
        read_frame(connection, UNRECOGNIZED_SQL, filters.span),
        optional_mart(connection, "spikes"),
    )


LEARNED_SINCE_APPROVAL_SQL = """
select
    article_id,
    sum(answered) as answered,
    sum(deflected) as deflected,
    sum(confirmed) as confirmed
from warehouse.marts.kpi_article_deflection_daily
where is_learned and days_since_approval >= 0
group by article_id
order by article_id
"""


@query("warehouse")
def learned_article_deflection(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Each learned article's answers since its approval (kpi_article_deflection_daily, all
    days, no filters): article_id, answered, deflected, confirmed; None until the warehouse
    has the mart (a build before it existed)."""
    if not table_exists(connection, "marts", "kpi_article_deflection_daily"):
        return None
    return read_frame(connection, LEARNED_SINCE_APPROVAL_SQL)


def text_of(frame: pl.DataFrame, column: str) -> pl.Series:
    """A column as text: lists joined with commas, nulls as empty strings."""
    series = frame[column]
    if series.dtype == pl.List(pl.String):
        series = series.list.join(", ")
    return series.cast(pl.String, strict=False).fill_null("")
