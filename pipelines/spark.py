"""The warehouse built on Apache Spark: `unticket build --engine spark`.

DuckDB stays where loading writes (raw events, imported history, reference data, the build's
bookkeeping) and what readers open. A Spark build runs the same dbt project between the two:

1. `export_sources`: every table the dbt project reads as a source, written as Parquet under
   `<data_dir>/spark/sources/<schema>/<table>`; the events partitioned by day and rewritten only
   for the days with newly loaded events, the imported history partitioned by the day of its
   import. dbt registers them as external tables when the run starts (`register_raw_tables`).
2. `spark_session`: Spark in this process (`UNTICKET_SPARK_MASTER`, `local[*]` by default, or a
   cluster's master), bound to loopback, its warehouse and Derby metastore under
   `<data_dir>/spark`. dbt-spark's session method uses this session.
3. `dbt build --target spark` writes staging, intermediate and marts as Parquet tables.
4. `copy_marts`: each mart's Parquet files into the working DuckDB's `marts` schema, its columns
   in the model's order (Spark keeps partition columns last), timestamps naive UTC as DuckDB's
   are. Quality checks, scoring, publishing, `kpis`, `sql`, `report` and the dashboards then
   read the same warehouse as after a DuckDB build.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class SourceTable:
    """A table the dbt project reads as a source, and the query that exports it from DuckDB."""

    schema: str
    name: str
    query: str
    partition: str | None = None


_IMPORT_DAY = "cast(batches.imported_at as date) as imported_on"

# Every source of the dbt project but `scores` (written after the build, from the marts).
SOURCE_TABLES = (
    SourceTable(
        "raw",
        "events",
        "select *, cast(occurred_at as date) as event_date from raw.events",
        "event_date",
    ),
    SourceTable(
        "raw",
        "tickets",
        f"select tickets.*, {_IMPORT_DAY} from raw.tickets as tickets "
        "inner join raw.import_batches as batches using (import_batch)",
        "imported_on",
    ),
    SourceTable(
        "raw",
        "ticket_activities",
        f"select activities.*, {_IMPORT_DAY} from raw.ticket_activities as activities "
        "inner join raw.tickets as tickets using (source, ticket_id) "
        "inner join raw.import_batches as batches using (import_batch)",
        "imported_on",
    ),
    *(
        SourceTable("raw", name, f"select * from raw.{name}")
        for name in (
            "intents",
            "locations",
            "holidays",
            "support_costs",
            "cost_settings",
            "employees",
        )
    ),
    SourceTable("ops", "build_scope", "select * from ops.build_scope"),
)

_EVENTS_STATE = "_exported.json"  # Spark skips files whose names start with an underscore


def sources_dir(settings: Settings) -> Path:
    """Where a Spark build's sources are written: `<schema>/<table>` below it."""
    return settings.spark_dir / "sources"


@dataclass
class ExportSummary:
    """What `export_sources` wrote of the events: the days rewritten, and whether all were."""

    event_days: int
    all_events: bool


def export_sources(connection: duckdb.DuckDBPyConnection, settings: Settings) -> ExportSummary:
    """Write every source table of the dbt project as Parquet for Spark to read. The events
    are rewritten only for the days with events loaded since the last export (all of them when
    the export cannot be trusted to be a prefix of today's events); the rest are small or change
    only by an import, and are rewritten whole."""
    root = sources_dir(settings)
    event_days, all_events = 0, False
    for table in SOURCE_TABLES:
        folder = root / table.schema / table.name
        if table.name == "events":
            event_days, all_events = _export_events(connection, table, folder)
        else:
            _replace_folder(connection, table, folder)
    return ExportSummary(event_days=event_days, all_events=all_events)


def _count(connection: duckdb.DuckDBPyConnection, table: SourceTable) -> int:
    return connection.execute(f"select count(*) from ({table.query})").fetchone()[0]


def _literal(path: Path | str) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def _replace_folder(
    connection: duckdb.DuckDBPyConnection, table: SourceTable, folder: Path
) -> None:
    """Write a table whole into a new folder and swap it in for the old one. A table without
    rows is one Parquet file with its columns and no rows, so Spark still knows its schema."""
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if table.partition and _count(connection, table):
        connection.execute(
            f"copy ({table.query}) to {_literal(staging)} "
            f"(format parquet, partition_by ({table.partition}), overwrite_or_ignore)"
        )
    else:
        connection.execute(
            f"copy ({table.query}) to {_literal(staging / 'data.parquet')} (format parquet)"
        )
    _swap(staging, folder)


def _swap(new: Path, folder: Path) -> None:
    """Put `new` where `folder` is, then delete the old one."""
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _export_events(
    connection: duckdb.DuckDBPyConnection, table: SourceTable, folder: Path
) -> tuple[int, bool]:
    """Rewrite the event days with events loaded since the last export; return how many days
    were written and whether that was all of them."""
    loaded_through, rows = connection.execute(
        "select max(loaded_at), count(*) from raw.events"
    ).fetchone()
    state = _read_state(folder)
    since = _trusted_watermark(connection, state)
    if since is None:
        _replace_folder(connection, table, folder)
        days = connection.execute(
            "select count(distinct cast(occurred_at as date)) from raw.events"
        ).fetchone()[0]
        all_events = True
    else:
        days = _rewrite_days(connection, table, folder, since)
        all_events = False
    if loaded_through is not None:
        state_text = json.dumps({"loaded_through": loaded_through.isoformat(), "rows": rows})
        (folder / _EVENTS_STATE).write_text(state_text)
    return days, all_events


def _read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / _EVENTS_STATE).read_text())
    except (OSError, ValueError):
        return None


def _trusted_watermark(
    connection: duckdb.DuckDBPyConnection, state: dict | None
) -> datetime | None:
    """The load time the last export reached, if the events loaded by then are still exactly
    the ones it wrote (same count), so only later loads need writing; else None."""
    if not state:
        return None
    since = datetime.fromisoformat(state["loaded_through"])
    still_there = connection.execute(
        "select count(*) from raw.events where loaded_at <= ?", [since]
    ).fetchone()[0]
    return since if still_there == state["rows"] else None


def _rewrite_days(
    connection: duckdb.DuckDBPyConnection, table: SourceTable, folder: Path, since: datetime
) -> int:
    """Rewrite, whole, each day partition holding an event loaded after `since`."""
    changed = (
        "select distinct cast(occurred_at as date) from raw.events where loaded_at > "
        f"cast('{since.isoformat()}' as timestamp)"
    )
    days = len(connection.execute(changed).fetchall())
    if not days:
        return 0
    staging = folder.with_name(folder.name + ".days")
    shutil.rmtree(staging, ignore_errors=True)
    connection.execute(
        f"copy (select * from ({table.query}) where {table.partition} in ({changed})) "
        f"to {_literal(staging)} (format parquet, partition_by ({table.partition}))"
    )
    for day in sorted(staging.iterdir()):
        _swap(day, folder / day.name)
    shutil.rmtree(staging, ignore_errors=True)
    return days


def spark_properties(settings: Settings) -> dict[str, str]:
    """The Spark session's properties: bound to loopback, its warehouse and metastore under
    the data dir, UTC, partitions read from the folders; `spark_conf` overrides any of them."""
    root = settings.spark_dir.resolve()
    properties = {
        "spark.master": settings.spark_master,
        "spark.app.name": "unticket-build",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / 'metastore'};create=true"
        ),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={root} -Dlog4j2.configurationFile=file:{root / _LOG_CONFIG}"
        ),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # the sources' files change between builds outside Spark: a table's partitions are
        # the folders it has when read, with no metastore bookkeeping to fall behind
        "spark.sql.hive.manageFilesourcePartitions": "false",
        # a build's tables are small per node: a few shuffle partitions, not Spark's 200
        "spark.sql.shuffle.partitions": "8",
    }
    return properties | settings.spark_conf


_LOG_CONFIG = "log4j2.properties"
# Spark's own log: errors only, to standard error (the build reports what failed)
_LOG_SETTINGS = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
# the metastore logs `create database if not exists` of an existing database as an error
logger.metastore.name = org.apache.hadoop.hive.metastore.RetryingHMSHandler
logger.metastore.level = off
"""


@contextmanager
def spark_session(settings: Settings) -> Iterator[SparkSession]:
    """A Spark session in this process for one build, stopped afterwards (its JVM's memory
    is returned). Spark binds only to loopback; `SPARK_LOCAL_IP` makes it so for every
    service it starts."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise RuntimeError(
            "The Spark engine needs pyspark and dbt-spark: pip install 'dbt-spark[session]' "
            "(Java 17 or later too: apt-get install default-jre-headless)."
        ) from error
    settings.spark_dir.mkdir(parents=True, exist_ok=True)
    (settings.spark_dir / _LOG_CONFIG).write_text(_LOG_SETTINGS)
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_properties(settings).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@dataclass(frozen=True)
class Mart:
    """A mart dbt built on Spark: its name and its query (whose columns give their order)."""

    name: str
    compiled_sql: str


def copy_marts(
    session: SparkSession, connection: duckdb.DuckDBPyConnection, marts: list[Mart]
) -> None:
    """Replace each mart in the working DuckDB with Spark's table: its Parquet files read in
    place, the columns in the model's order, timestamps as naive UTC, and the rows in the order
    of the day or week Spark partitioned it by (a period's queries skip the other periods'
    row groups, as after a DuckDB build)."""
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("create schema if not exists marts")
    for mart in marts:
        columns = session.sql(mart.compiled_sql).columns
        location = _location(session, f"marts.{mart.name}")
        source = _mart_source(session, connection, mart.name, location)
        described = connection.execute(f"describe select * from {source}").fetchall()
        types = {row[0]: row[1] for row in described}
        select = ", ".join(_naive(column, types[column]) for column in columns)
        order = ", ".join(f'"{column}"' for column in _partition_columns(location))
        connection.execute(
            f"create or replace table marts.{mart.name} as select {select} from {source}"
            + (f" order by {order}" if order else "")
        )


def _partition_columns(location: str) -> list[str]:
    """The columns a Spark table's files are partitioned by, from its folder names
    (`started_on=2026-09-07`)."""
    columns: list[str] = []
    folder = Path(location)
    while True:
        partitions = [child for child in folder.iterdir() if "=" in child.name and child.is_dir()]
        if not partitions:
            return columns
        columns.append(partitions[0].name.split("=", 1)[0])
        folder = partitions[0]


def _mart_source(
    session: SparkSession, connection: duckdb.DuckDBPyConnection, name: str, location: str
) -> str:
    """What DuckDB reads a Spark mart from: its Parquet files in place, or, for a table
    without rows (no files), its columns from Spark."""
    if any(Path(location).rglob("*.parquet")):
        return f"read_parquet({_literal(location + '/**/*.parquet')}, hive_partitioning = true)"
    connection.register("empty_mart", session.table(f"marts.{name}").limit(0).toArrow())
    return "empty_mart"


def _naive(column: str, kind: str) -> str:
    """A column as DuckDB keeps it: Spark writes timestamps as UTC instants, the warehouse
    keeps naive UTC timestamps."""
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f'cast("{column}" as timestamp) as "{column}"'
    return f'"{column}"'


def _location(session: SparkSession, table: str) -> str:
    """The local folder of a Spark table's files."""
    rows = session.sql(f"describe table extended {table}").collect()
    location = next(row.data_type for row in rows if row.col_name == "Location")
    if not location.startswith("file:"):
        raise RuntimeError(
            f"{table} is at {location}: marts are copied from a folder this machine reads; "
            "point spark.sql.warehouse.dir at a local or mounted path."
        )
    return location.removeprefix("file:")
