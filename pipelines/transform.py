"""Build the warehouse models with dbt (in process), from any working directory."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from catalogue import load_catalogue
from pipelines import spark
from pipelines.reference import load_reference_data
from pipelines.warehouse import connect
from settings import PROJECT_ROOT, Settings

DBT_PROJECT = PROJECT_ROOT / "dbt"


def build_state_path(warehouse: Path) -> Path:
    """The file beside a warehouse that holds its build's incremental state: the intermediate
    models' tables (attached to dbt's connection as `build_state`). Readers never query them,
    so they stay out of the warehouse file and publishing copies a quarter less."""
    return warehouse.with_name(f"{warehouse.stem}-build-state.duckdb")


@dataclass
class BuildResult:
    """What `dbt build` did: success, the nodes that failed or warned, the marts it built, and
    (on Spark) how long each phase took."""

    success: bool
    full_refresh: bool = False
    nodes: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marts: list[spark.Mart] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    def timings(self) -> str:
        """How long each phase of the build took, for people: `dbt 12 s, marts copied 1 s`."""
        return ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in self.phases.items())


def run_dbt(arguments: list[str], warehouse: Path, settings: Settings) -> BuildResult:
    """Run a dbt command against a warehouse file with absolute project and profile paths, on
    `settings.engine` (the profile's target); `settings` give the build's variables (the
    re-contact window) and DuckDB's memory limit."""
    from dbt.cli.main import dbtRunner

    os.environ["UNTICKET_WAREHOUSE"] = str(warehouse.resolve())
    os.environ["UNTICKET_BUILD_STATE"] = str(build_state_path(warehouse.resolve()))
    os.environ["UNTICKET_DUCKDB_MEMORY_LIMIT"] = settings.duckdb_memory_limit
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = warehouse.parent / "dbt-target"
    variables = {
        "recontact_window_hours": settings.recontact_window_hours,
        # dbt re-parses the project when its variables change, but not when the project
        # moves; with the path among them, a moved installation never reuses stale paths
        "project_dir": str(DBT_PROJECT),
        # where a Spark build's sources are (pipelines/spark.py, macro register_raw_tables)
        "raw_location": str(spark.sources_dir(settings).resolve()),
    }
    command = [
        *arguments,
        "--target",
        "spark" if settings.engine == "spark" else "local",
        "--vars",
        json.dumps(variables),
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        "--quiet",
    ]
    try:
        result = dbtRunner().invoke(command)
    finally:
        _release_warehouse()
    outcome = BuildResult(success=bool(result.success))
    for node in getattr(result.result, "results", None) or []:
        outcome.nodes += 1
        status = str(node.status)
        if status in ("error", "fail"):
            outcome.failures.append(f"{node.node.name}: {node.message}")
        elif status == "warn":
            outcome.warnings.append(f"{node.node.name}: {node.message}")
        if node.node.resource_type == "model" and node.node.schema == "marts":
            outcome.marts.append(spark.Mart(node.node.name, node.node.compiled_code))
    if result.exception is not None:
        outcome.failures.append(str(result.exception))
    return outcome


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process, so this
    process (and others) can open the warehouse freely after the build."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def build_models(warehouse: Path, settings: Settings, full_refresh: bool = False) -> BuildResult:
    """`dbt build`: seeds, models and their tests; `full_refresh` rebuilds incremental models.

    Any change to the project forces a full refresh (`build_fingerprint`), so an incremental
    build runs code that a full one already ran. It leaves out what only the code decides:
    unit tests (fixed inputs, expected outputs), the seeds and the staging views, which would
    come out the same. The data tests on those views still run (`--indirect-selection empty`:
    leaving a model out does not leave out its tests).
    """
    # the results come back in process; dbt.log in the target folder keeps every statement
    build = ["build", "--no-write-json"]
    if full_refresh:
        return run_dbt([*build, "--full-refresh"], warehouse, settings)
    unchanged = ["resource_type:unit_test", "resource_type:seed", "config.materialized:view"]
    command = [*build, "--exclude", *unchanged, "--indirect-selection", "empty"]
    return run_dbt(command, warehouse, settings)


def build_fingerprint(settings: Settings, connection: duckdb.DuckDBPyConnection) -> str:
    """A hash of everything an incremental build cannot follow row by row: the dbt project,
    the catalogue, the build's variables, the roster and the imported ticket history."""
    digest = hashlib.sha256()
    for folder in (DBT_PROJECT, settings.catalogue_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not _is_tool_output(path.relative_to(folder)):
                digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    digest.update(f"{settings.recontact_window_hours} {settings.engine}".encode())
    for query in _REFERENCE_DATA_QUERIES:
        digest.update(repr(connection.execute(query).fetchall()).encode())
    return digest.hexdigest()


def _is_tool_output(relative: Path) -> bool:
    """Whether a file in the dbt project or catalogue is something a tool wrote rather than
    part of the project: dbt's target and logs folders, and hidden files such as the
    `.user.yml` the dbt command line leaves beside its profile."""
    return bool({"target", "logs"} & set(relative.parts)) or relative.name.startswith(".")


_REFERENCE_DATA_QUERIES = [
    "select count(*), sum(hash(employees)) from raw.employees as employees",
    "select import_batch from raw.import_batches order by import_batch",
]


def _plan_build(settings: Settings, connection: duckdb.DuckDBPyConnection, build_id: str) -> bool:
    """Record the build about to run in `ops.builds` and the rows its scoped data tests check
    in `ops.build_scope` (a dbt source: dbt/models/_written_by_python.yml); return whether it
    must be a full refresh."""
    fingerprint = build_fingerprint(settings, connection)
    last = connection.execute(
        "select fingerprint, finished_at, loaded_through from ops.builds "
        "where succeeded order by started_at desc limit 1"
    ).fetchone()
    built = connection.execute(
        "select count(*) from information_schema.tables where table_name = 'fct_interactions'"
    ).fetchone()[0]
    state_kept = _state_path(settings).exists()
    full_refresh = last is None or last[0] != fingerprint or not built or not state_kept
    old = datetime(1900, 1, 1)
    connection.execute(
        """
        insert into ops.builds (build_id, started_at, fingerprint, full_refresh, loaded_through)
        select ?, now(), ?, ?, (select max(loaded_at) from raw.events)
        """,
        [build_id, fingerprint, full_refresh],
    )
    connection.execute(
        "create or replace table ops.build_scope as select ? as loaded_after, ? as built_after",
        [old if full_refresh else last[2] or old, old if full_refresh else last[1]],
    )
    return full_refresh


def engine_label(settings: Settings) -> str:
    """The engine a build runs on, for people: `DuckDB` or `Spark (local[*])`."""
    return f"Spark ({settings.spark_master})" if settings.engine == "spark" else "DuckDB"


def _state_path(settings: Settings) -> Path:
    """What an incremental build on the configured engine needs from the last one: the
    build-state file (DuckDB), or Spark's intermediate tables."""
    if settings.engine == "spark":
        return settings.spark_dir / "warehouse" / "intermediate.db"
    return build_state_path(settings.work_warehouse_path)


def build_on_spark(settings: Settings, full_refresh: bool) -> BuildResult:
    """Export the sources for Spark, `dbt build` on Spark, and copy the marts it built into
    the working warehouse (pipelines/spark.py); `phases` says how long each part took."""
    phases: dict[str, float] = {}
    began = time.perf_counter()
    connection = connect(settings.work_warehouse_path, memory_limit=settings.duckdb_memory_limit)
    try:
        spark.export_sources(connection, settings)
    finally:
        connection.close()
    phases["sources exported"] = time.perf_counter() - began
    with spark.spark_session(settings) as session:
        phases["Spark started"] = time.perf_counter() - began - sum(phases.values())
        result = build_models(settings.work_warehouse_path, settings, full_refresh)
        phases["dbt"] = time.perf_counter() - began - sum(phases.values())
        if result.success:
            connection = connect(
                settings.work_warehouse_path, memory_limit=settings.duckdb_memory_limit
            )
            try:
                spark.copy_marts(session, connection, result.marts)
            finally:
                connection.close()
            phases["marts copied"] = time.perf_counter() - began - sum(phases.values())
    result.phases = phases
    return result


def build_warehouse(settings: Settings) -> BuildResult:
    """Refresh the catalogue's reference tables, then `dbt build` the warehouse: incrementally,
    unless the project, catalogue, roster or ticket history changed since the last good build."""
    catalogue = load_catalogue(settings.catalogue_dir)
    build_id = uuid.uuid4().hex
    connection = connect(settings.work_warehouse_path, memory_limit=settings.duckdb_memory_limit)
    try:
        load_reference_data(catalogue, connection, settings.state_db)
        full_refresh = _plan_build(settings, connection, build_id)
        if full_refresh:  # warehouses built before the build-state file kept these here
            connection.execute("drop schema if exists intermediate cascade")
    finally:
        connection.close()
    if settings.engine == "spark":
        result = build_on_spark(settings, full_refresh)
    else:
        result = build_models(settings.work_warehouse_path, settings, full_refresh)
    result.full_refresh = full_refresh
    connection = connect(settings.work_warehouse_path, memory_limit=settings.duckdb_memory_limit)
    try:
        connection.execute(
            "update ops.builds set finished_at = now(), succeeded = ? where build_id = ?",
            [result.success, build_id],
        )
    finally:
        connection.close()
    return result
