"""The published files the dashboards read: one short-lived read-only connection per query,
the filters applied as views over the marts, and results cached per version of the file."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
import polars.selectors as cs
import streamlit as st

from models.pipeline import MART_SCHEMAS
from pipelines.report import table_exists
from settings import get_settings

CACHE_SECONDS = 600
CORE_MARTS = frozenset({"fct_interactions", "kpi_deflection_daily", "dim_intents"})
# The columns the sidebar filters on, and which of them each mart has (the others are not split
# by them: kpi_deflection_definitions and kpi_proactive are whole-company figures).
FILTER_COLUMNS = ("department", "channel", "intent", "language")
FILTERED_MARTS = {
    "fct_interactions": FILTER_COLUMNS,
    "kpi_deflection_daily": FILTER_COLUMNS,
    "kpi_productivity": ("department", "intent"),
    "fct_tickets": ("intent",),
}
# The catalogue's settings the savings rest on (`pipelines.report.assumptions` reads them).
CATALOGUE_SETTINGS = ("stg_catalogue__cost_settings", "stg_catalogue__support_costs")
# Marts the models write (after the dbt marts), read with the columns they declare.
OPTIONAL_MARTS = tuple(MART_SCHEMAS)


class QueryError(RuntimeError):
    """A query failed on the published data; the message says what and what to run."""


@dataclass(frozen=True)
class Filters:
    """What every analytics page shows: UTC days `start`..`end` (both included) and, when
    not empty, only these departments, channels, intents and languages (ISO 639-1 codes, or
    `und`)."""

    start: date
    end: date
    departments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return end - (self.end - self.start), end

    @property
    def chosen(self) -> dict[str, tuple[str, ...]]:
        """The values chosen for each filter column (`FILTER_COLUMNS`); empty: all of them."""
        return {
            "department": self.departments,
            "channel": self.channels,
            "intent": self.intents,
            "language": self.languages,
        }

    @property
    def span(self) -> dict[str, date]:
        """Query parameters of the period: `start` included, `stop` the day after `end`."""
        return {"start": self.start, "stop": self.end + timedelta(days=1)}


def stamp(path: Path) -> tuple[int, int, int]:
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


def filter_condition(filters: Filters | None, columns: tuple[str, ...]) -> str:
    """The where clause restricting a mart with these columns to the filters."""
    chosen = filters.chosen if filters else {}
    terms = [
        f"coalesce({column}, 'unknown') in ({', '.join(_quote(v) for v in chosen[column])})"
        for column in columns
        if chosen.get(column)
    ]
    return " and ".join(terms) or "true"


@contextmanager
def _warehouse(path: Path, filters: Filters | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published warehouse attached read-only as `warehouse` to an in-memory database.
    With filters, every mart is a view `marts.<name>` restricted to them where it applies (the
    catalogue's cost settings are views as they are); without, the warehouse's own tables."""
    connection = duckdb.connect()
    try:
        connection.execute(f"attach {_quote(str(path))} as warehouse (read_only)")
        if filter_condition(filters, FILTER_COLUMNS) == "true":
            connection.execute("use warehouse")
        else:
            connection.execute("create schema marts")
            for name in mart_names(connection):
                where = filter_condition(filters, FILTERED_MARTS.get(name, ()))
                connection.execute(
                    f'create view marts."{name}" as select * from warehouse.marts."{name}" '
                    f"where {where}"
                )
            connection.execute("create schema staging")
            for name in CATALOGUE_SETTINGS:
                connection.execute(
                    f'create view staging."{name}" as select * from warehouse.staging."{name}"'
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


def query(database: Literal["warehouse", "ops"]) -> Callable[[Callable[..., Any]], Any]:
    """Make `function(connection, *arguments)` callable as `function(*arguments)` on the
    published warehouse or ops file, with results cached until that file is republished."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*arguments: Any) -> Any:
            settings = get_settings()
            path = settings.warehouse_path if database == "warehouse" else settings.ops_path
            name = f"{function.__module__}.{function.__qualname__}"
            return _cached(name, database, str(path), stamp(path), arguments, _function=function)

        return run

    return decorate


def clear_cache() -> None:
    """Forget every cached result (the benchmark times uncached queries)."""
    _cached.clear()


def read_frame(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run a query and return its result as a polars DataFrame, decimals as floats."""
    connection.complete()  # finish a result an earlier `execute(...).fetchone()` left open
    frame = pl.from_arrow(connection.sql(sql, params=parameters or {}).to_arrow_table())
    return frame.with_columns(cs.decimal().cast(pl.Float64))


def mart_names(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The names of the warehouse's marts."""
    sql = (
        "select table_name from information_schema.tables "
        "where table_catalog = 'warehouse' and table_schema = 'marts' order by 1"
    )
    return [row[0] for row in connection.execute(sql).fetchall()]


def published_at(path: Path) -> datetime | None:
    """When the file was last published (its modification time, UTC)."""
    _, modified, _ = stamp(path)
    return datetime.fromtimestamp(modified / 1e9, UTC) if modified else None


def optional_mart(connection: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame | None:
    """The declared columns (`models.pipeline.MART_SCHEMAS`) of a mart the models write, or
    None while it is missing; a mart that lacks one of them is a QueryError saying to rebuild."""
    if name not in OPTIONAL_MARTS:
        raise ValueError(f"not an optional mart: {name!r}")
    if not table_exists(connection, "marts", name):
        return None
    columns = ", ".join(f'"{column}"' for column in MART_SCHEMAS[name])
    return read_frame(connection, f"select {columns} from marts.{name} limit 10000")
