"""Every query the dashboards run, on the published files only, read-only and cached.

Each page's data is read by one function here, through one short-lived connection that is
closed before the page draws: the warehouse is only ever replaced whole by an atomic rename, so
a reader never blocks a pipeline and never sees half a build. Results are cached
(`st.cache_data`) under the file's identity (inode, modification time, size), so a new publish
is picked up on the next rerun. The filters (department, channel, intent) are applied once, as
views over the marts in an in-memory database that attaches the warehouse: the KPI formulas of
`pipelines.kpis` and `pipelines.report` then run unchanged on the filtered data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
import polars as pl
import polars.selectors as cs
import streamlit as st

from models.pipeline import MART_SCHEMAS
from pipelines import report
from pipelines.kpis import BREAKDOWNS, DEFLECTION_BY_SQL
from pipelines.metrics import rate_columns
from unticket.settings import get_settings

CACHE_SECONDS = 600
CORE_MARTS = frozenset({"fct_interactions", "kpi_deflection_daily", "dim_intents"})
FILTERED_MARTS = {
    "fct_interactions": ("department", "channel", "intent"),
    "kpi_deflection_daily": ("department", "channel", "intent"),
    "kpi_productivity": ("department", "intent"),
    "fct_tickets": ("intent",),
}
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
SPEED_BUCKETS = (
    (60, "< 1 min"),
    (300, "1–5 min"),
    (900, "5–15 min"),
    (3600, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (8 * 3600, "4–8 h"),
    (24 * 3600, "8–24 h"),
    (72 * 3600, "1–3 days"),
    (None, "> 3 days"),
)
PARETO_POINTS = 400
# Marts the models write (after the dbt marts), read with the columns they declare.
OPTIONAL_MARTS = tuple(MART_SCHEMAS)


class QueryError(RuntimeError):
    """A query failed on the published data; the message says what and what to run."""


@dataclass(frozen=True)
class Filters:
    """What every analytics page shows: UTC days `start`..`end` (both included) and, when
    not empty, only these departments, channels and intents."""

    start: date
    end: date
    departments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return end - (self.end - self.start), end

    @property
    def span(self) -> dict[str, date]:
        """Query parameters of the period: `start` included, `stop` the day after `end`."""
        return {"start": self.start, "stop": self.end + timedelta(days=1)}


@dataclass(frozen=True)
class WarehouseStatus:
    """What the published warehouse holds: its marts, the days it covers, filter options."""

    exists: bool
    marts: frozenset[str] = frozenset()
    first_day: date | None = None
    last_day: date | None = None
    data_through: datetime | None = None
    published_at: datetime | None = None
    departments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        """Whether the core marts are built and hold at least one interaction."""
        return self.marts >= CORE_MARTS and self.first_day is not None


class Overview(NamedTuple):
    """The headline KPIs against the previous period, the daily trend, and what was resolved
    before anyone asked (None while that mart is missing)."""

    tiles: list[dict[str, Any]]
    trend: pl.DataFrame
    proactive: dict[str, Any] | None


class Deflection(NamedTuple):
    """Strict deflection by intent, channel and department, the four definitions by week, and
    false deflections and re-contacts by intent."""

    by_intent: pl.DataFrame
    by_channel: pl.DataFrame
    by_department: pl.DataFrame
    definitions: pl.DataFrame
    false_deflections: pl.DataFrame


class Speed(NamedTuple):
    """How long resolution took (buckets by outcome) and p50/p90 by one dimension."""

    distribution: pl.DataFrame
    percentiles: pl.DataFrame


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


class Knowledge(NamedTuple):
    """Topics and spikes (None until the models that write them have run) and the requests
    the engine did not understand."""

    topics: pl.DataFrame | None
    unrecognized: pl.DataFrame
    spikes: pl.DataFrame | None


class Health(NamedTuple):
    """The ops file's latest pipeline runs, data-quality results, builds and model runs
    (each empty until recorded)."""

    runs: pl.DataFrame
    quality: pl.DataFrame
    builds: pl.DataFrame
    model_runs: pl.DataFrame


# --- connections and the cache ---------------------------------------------------------------


def _stamp(path: Path) -> tuple[int, int, int]:
    """The file's inode, modification time (ns) and size, zeros when missing: a publish (an
    atomic rename of a new file) is a new cache key."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0, 0, 0
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _condition(filters: Filters | None, columns: tuple[str, ...]) -> str:
    """The where clause restricting a mart with these columns to the filters."""
    chosen = {
        "department": filters.departments if filters else (),
        "channel": filters.channels if filters else (),
        "intent": filters.intents if filters else (),
    }
    terms = [
        f"coalesce({column}, 'unknown') in ({', '.join(_quote(v) for v in chosen[column])})"
        for column in columns
        if chosen[column]
    ]
    return " and ".join(terms) or "true"


@contextmanager
def _warehouse(path: Path, filters: Filters | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published warehouse attached read-only as `warehouse` to an in-memory database.
    With filters, every mart is a view `marts.<name>` restricted to them where it applies;
    without, `marts.<name>` are the warehouse's own tables."""
    connection = duckdb.connect()
    try:
        connection.execute(f"attach {_quote(str(path))} as warehouse (read_only)")
        if _condition(filters, ("department", "channel", "intent")) == "true":
            connection.execute("use warehouse")
        else:
            connection.execute("create schema marts")
            for name in _marts(connection):
                where = _condition(filters, FILTERED_MARTS.get(name, ()))
                connection.execute(
                    f'create view marts."{name}" as select * from warehouse.marts."{name}" '
                    f"where {where}"
                )
        yield connection
    finally:
        connection.close()


@contextmanager
def _ops(path: Path, _: Filters | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published ops file (runs, builds, quality results)."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


CONNECTORS = {"warehouse": _warehouse, "ops": _ops}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=1000)
def _cached(
    name: str,
    database: str,
    path: str,
    stamp: tuple[int, int, int],
    arguments: tuple[Any, ...],
    _function: Callable[..., Any],
) -> Any:
    """Run a query function on a fresh connection; cached per file version and arguments."""
    filters = next((a for a in arguments if isinstance(a, Filters)), None)
    try:
        with CONNECTORS[database](Path(path), filters) as connection:
            return _function(connection, *arguments)
    except duckdb.Error as error:
        reason = str(error).splitlines()[0]
        raise QueryError(
            f"Reading the {database} failed ({reason}). If a pipeline changed the marts, "
            "run `unticket pipeline run nightly` to rebuild and publish them."
        ) from None


def _query(database: Literal["warehouse", "ops"]) -> Callable[[Callable[..., Any]], Any]:
    """Make `function(connection, *arguments)` callable as `function(*arguments)` on the
    published warehouse or ops file, with results cached until that file is republished."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*arguments: Any) -> Any:
            settings = get_settings()
            path = settings.warehouse_path if database == "warehouse" else settings.ops_path
            name = f"{function.__module__}.{function.__qualname__}"
            return _cached(name, database, str(path), _stamp(path), arguments, _function=function)

        return run

    return decorate


def clear_cache() -> None:
    """Forget every cached result (the benchmark times uncached queries)."""
    _cached.clear()


def _frame(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run a query and return its result as a polars DataFrame, decimals as floats."""
    connection.complete()  # finish a result an earlier `execute(...).fetchone()` left open
    frame = pl.from_arrow(connection.sql(sql, params=parameters or {}).to_arrow_table())
    return frame.with_columns(cs.decimal().cast(pl.Float64))


def _marts(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The names of the warehouse's marts."""
    sql = (
        "select table_name from information_schema.tables "
        "where table_catalog = 'warehouse' and table_schema = 'marts' order by 1"
    )
    return [row[0] for row in connection.execute(sql).fetchall()]


# --- status ----------------------------------------------------------------------------------


def _published_at(path: Path) -> datetime | None:
    """When the file was last published (its modification time, UTC)."""
    _, modified, _ = _stamp(path)
    return datetime.fromtimestamp(modified / 1e9, UTC) if modified else None


@_query("warehouse")
def _status(connection: duckdb.DuckDBPyConnection) -> WarehouseStatus:
    """The marts present, the days covered and the filter options."""
    marts = frozenset(_marts(connection))
    if not marts >= CORE_MARTS:
        return WarehouseStatus(exists=True, marts=marts)
    first, last, through = connection.execute(
        "select min(day), max(day), (select max(started_at) from marts.fct_interactions) "
        "from marts.kpi_deflection_daily"
    ).fetchall()[0]

    def distinct(column: str) -> tuple[str, ...]:
        sql = f"select distinct {column} from marts.kpi_deflection_daily order by 1"
        return tuple(row[0] for row in connection.execute(sql).fetchall() if row[0] is not None)

    return WarehouseStatus(
        exists=True,
        marts=marts,
        first_day=first,
        last_day=last,
        data_through=through,
        departments=distinct("department"),
        channels=distinct("channel"),
        intents=distinct("intent"),
    )


def warehouse_status() -> WarehouseStatus:
    """What the published warehouse holds (`exists` is False until the first publish)."""
    path = get_settings().warehouse_path
    if not path.exists():
        return WarehouseStatus(exists=False)
    return dataclasses.replace(_status(), published_at=_published_at(path))


# --- overview --------------------------------------------------------------------------------

TREND_SQL = f"""
select
    day,
    sum(interactions)::bigint as interactions,
    sum(support_interactions)::bigint as support_interactions,
    {rate_columns("strict_deflection_rate", "auto_resolution_rate")},
    sum(hours_saved) as hours_saved,
    sum(cost_saved_usd) as cost_saved_usd,
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by day
order by day
"""


@_query("warehouse")
def overview(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Overview:
    """The headline KPIs of the period beside the previous period of the same length, as
    `pipelines.report.compare` gives them (value, previous, change, unit, better; no change
    when the previous period holds no interactions), and the same figures day by day."""
    current, previous = report.summarise_periods(
        connection, [(filters.start, filters.end), filters.previous]
    )
    compared = report.compare(current, previous if previous["interactions"] else {})
    return Overview(
        [compared[key] for key in TILES],
        _frame(connection, TREND_SQL, filters.span),
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
    return _frame(connection, PROACTIVE_SQL, filters.span).row(0, named=True)


# --- deflection ------------------------------------------------------------------------------

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


@_query("warehouse")
def deflection(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Deflection:
    """Strict deflection by intent, channel and department (the report's query); the four
    definitions by week (whole company: that mart is not split by department, channel or
    intent); and by intent, resolutions without a ticket, false deflections, re-contacts
    and rejections."""
    by = {
        dimension: _frame(connection, DEFLECTION_BY_SQL.format(dimension=dimension), filters.span)
        for dimension in BREAKDOWNS
    }
    return Deflection(
        by["intent"],
        by["channel"],
        by["department"],
        _frame(connection, DEFINITIONS_SQL, filters.span),
        _frame(connection, FALSE_DEFLECTIONS_SQL, filters.span),
    )


INTERACTIONS_SQL = """
select
    interaction_id, started_at, employee_id, department, channel, intent, outcome, feedback,
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


@_query("warehouse")
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
    return _frame(connection, INTERACTIONS_SQL, parameters)


# --- resolution speed ------------------------------------------------------------------------

SPEED_BY_SQL = """
with
speed as (
    select
        {dimension},
        count(*) as resolved_interactions,
        -- both quantiles of a column from one sort of it
        quantile_cont(seconds_to_resolution, [0.5, 0.9]) as calendar,
        quantile_cont(working_seconds_to_resolution, [0.5, 0.9]) as working,
    from marts.fct_interactions
    where is_support and resolved_at is not null and outcome <> 'pending'
        and started_at >= $start and started_at < $stop
    group by {dimension}
)
select
    speed.{dimension},
    speed.resolved_interactions,
    speed.calendar[1] / 3600.0 as p50_hours,
    speed.calendar[2] / 3600.0 as p90_hours,
    speed.working[1] / 3600.0 as p50_working_hours,
    speed.working[2] / 3600.0 as p90_working_hours,
    {baseline}
from speed
{baseline_join}
order by speed.resolved_interactions desc, speed.{dimension}
"""
BASELINE_COLUMNS = """intents.baseline_working_hours,
    speed.working[1] / 3600.0 / nullif(intents.baseline_working_hours, 0)
        as p50_share_of_baseline,
    intents.baseline_source,"""
BASELINE_JOIN = "left join marts.dim_intents as intents on speed.intent = intents.intent"
SPEED_DIMENSIONS = ("intent", "outcome", "channel")


def _bucket_sql() -> str:
    """A case expression numbering the time-to-resolution bucket of an interaction."""
    cases = " ".join(
        f"when seconds_to_resolution < {limit} then {index}"
        for index, (limit, _) in enumerate(SPEED_BUCKETS)
        if limit is not None
    )
    return f"case {cases} else {len(SPEED_BUCKETS) - 1} end"


DISTRIBUTION_SQL = f"""
select outcome, {_bucket_sql()} as bucket_index, count(*) as interactions
from marts.fct_interactions
where is_support and resolved_at is not null and outcome <> 'pending'
    and started_at >= $start and started_at < $stop
group by all
order by bucket_index, outcome
"""


def _distribution(connection: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Resolved support interactions by outcome and time-to-resolution bucket (labelled)."""
    labels = pl.DataFrame(
        {"bucket_index": range(len(SPEED_BUCKETS)), "bucket": [b[1] for b in SPEED_BUCKETS]},
        schema={"bucket_index": pl.Int32, "bucket": pl.String},
    )
    frame = _frame(connection, DISTRIBUTION_SQL, filters.span)
    return frame.with_columns(pl.col("bucket_index").cast(pl.Int32)).join(
        labels, on="bucket_index", how="left"
    )


@_query("warehouse")
def resolution_speed(
    connection: duckdb.DuckDBPyConnection, filters: Filters, dimension: str = "intent"
) -> Speed:
    """The distribution of calendar time to resolution by outcome, and p50/p90 (calendar and
    working hours) by one dimension: intent (beside each intent's pre-automation baseline, as
    the report gives them), outcome or channel."""
    if dimension not in SPEED_DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(SPEED_DIMENSIONS)}")
    by_intent = dimension == "intent"
    sql = SPEED_BY_SQL.format(
        dimension=dimension,
        baseline=BASELINE_COLUMNS if by_intent else "",
        baseline_join=BASELINE_JOIN if by_intent else "",
    )
    return Speed(_distribution(connection, filters), _frame(connection, sql, filters.span))


# --- productivity ----------------------------------------------------------------------------

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


@_query("warehouse")
def productivity(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Productivity:
    """Lost hours, their cost (× each employee's loaded hourly cost), hours and cost saved,
    by department, by intent, and by both."""

    def impact_by(*dimensions: str) -> pl.DataFrame:
        columns = ", ".join(f"coalesce({d}, 'unknown') as {d}" for d in dimensions)
        return _frame(connection, IMPACT_SQL.format(dimensions=columns), filters.span)

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


@_query("warehouse")
def pareto(connection: duckdb.DuckDBPyConnection, level: str) -> pl.DataFrame:
    """The impact-concentration curve of tickets or issue types (all time), sampled to about
    `PARETO_POINTS` points, its ends and the 80 % point kept."""
    if level not in ("ticket", "issue_type"):
        raise ValueError(f"level must be ticket or issue_type, not {level!r}")
    return _frame(connection, PARETO_SQL, {"level": level, "points": PARETO_POINTS})


# --- automation priorities -------------------------------------------------------------------


def _optional(connection: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame | None:
    """The declared columns (`models.pipeline.MART_SCHEMAS`) of a mart the models write, or
    None while it is missing; a mart that lacks one of them is a QueryError saying to rebuild."""
    if name not in OPTIONAL_MARTS:
        raise ValueError(f"not an optional mart: {name!r}")
    if not report.table_exists(connection, "marts", name):
        return None
    columns = ", ".join(f'"{column}"' for column in MART_SCHEMAS[name])
    return _frame(connection, f"select {columns} from marts.{name} limit 10000")


@_query("warehouse")
def priorities(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Ranking:
    """The automation model's ranking (`marts.automation_priorities`) when it has run; until
    then the report's fallback: the period's intents ranked by lost hours."""
    ranked = _optional(connection, "automation_priorities")
    if ranked is not None:
        note = "Ranked by the automation model: expected hours and cost saved per month."
        return Ranking("automation_model", note, ranked.sort("rank"))
    savings = report.savings_by_intent(connection, filters.start, filters.end)
    fallback = report.automation_priorities(connection, savings)
    return Ranking("lost_hours", fallback.note, pl.DataFrame(fallback.rows))


# --- knowledge gaps and topics ---------------------------------------------------------------

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


@_query("warehouse")
def knowledge(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Knowledge:
    """Topics and spikes as the models wrote them (None until they have run), and what
    employees wrote when the engine did not understand them (redacted in the event log),
    most frequent first."""
    return Knowledge(
        _optional(connection, "topics"),
        _frame(connection, UNRECOGNIZED_SQL, filters.span),
        _optional(connection, "spikes"),
    )


def text_of(frame: pl.DataFrame, column: str) -> pl.Series:
    """A column as text: lists joined with commas, nulls as empty strings."""
    series = frame[column]
    if series.dtype == pl.List(pl.String):
        series = series.list.join(", ")
    return series.cast(pl.String, strict=False).fill_null("")


# --- pipeline and data health ----------------------------------------------------------------

HEALTH_SQL = {
    "pipeline_runs": """
        select run_id, flow, status, started_at, finished_at, duration_seconds, rows_in,
            rows_out, published, error, steps
        from pipeline_runs order by started_at desc limit 50
    """,
    "dq_results": """
        select suite, expectation, description, severity, success, observed_value,
            unexpected_count, checked_at, run_id
        from dq_results
        where run_id = (select run_id from dq_results order by checked_at desc limit 1)
        order by success, severity = 'warning', suite, expectation
    """,
    "builds": "select * from builds order by started_at desc limit 20",
    "model_runs": "select * from model_runs order by recorded_at desc limit 20",
}


@_query("ops")
def _health(connection: duckdb.DuckDBPyConnection) -> Health:
    """The tables of the ops file that exist, read; the others empty."""
    present = {row[0] for row in connection.execute("show tables").fetchall()}
    frames = [
        _frame(connection, sql) if table in present else pl.DataFrame()
        for table, sql in HEALTH_SQL.items()
    ]
    return Health(*frames)


def health() -> Health:
    """The latest pipeline runs (with their steps as JSON), the latest data-quality run's
    results (failures first), builds and model runs; all empty until a pipeline has run."""
    if not get_settings().ops_path.exists():
        return Health(*(pl.DataFrame() for _ in HEALTH_SQL))
    return _health()


def steps_of(runs: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The steps of one run: rows in and out, seconds, summary and warnings."""
    recorded = runs.filter(pl.col("run_id") == run_id)["steps"]
    steps = json.loads(recorded[0]) if len(recorded) and recorded[0] else []
    return pl.DataFrame(
        [{**step, "warnings": "; ".join(step.get("warnings", []))} for step in steps]
    )
