"""The knowledge page: topics, spikes and what the engine did not understand."""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import polars as pl

from dashboards.queries.published import Filters, optional_mart, query, read_frame


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


def text_of(frame: pl.DataFrame, column: str) -> pl.Series:
    """A column as text: lists joined with commas, nulls as empty strings."""
    series = frame[column]
    if series.dtype == pl.List(pl.String):
        series = series.list.join(", ")
    return series.cast(pl.String, strict=False).fill_null("")
