"""Publish the working warehouse for readers, whole and at once.

DuckDB lets one process write a database file and blocks that writer while any other process has
the file open, even read-only. So pipelines never write the file readers use: they write a
working copy (`settings.work_warehouse_path`), and publishing copies it beside the published file
and renames it into place. A rename is atomic: a reader opening the warehouse gets either the
old build or the new one, never a mix, and a reader still holding the old file keeps reading it
undisturbed. The same is done for `ops.duckdb`, the small file of run and quality records.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.warehouse import connect

OPS_TABLES = ("pipeline_runs", "builds", "dq_results", "model_runs")


@dataclass(frozen=True)
class Published:
    """A published file: where, how big and how long publishing took."""

    path: Path
    bytes: int
    seconds: float


def _replace_atomically(source: Path, target: Path) -> int:
    """Copy `source` next to `target`, flush it to disk, and rename it over `target`."""
    staging = target.with_name(f".{target.name}.publishing")
    shutil.copyfile(source, staging)
    with staging.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target.stat().st_size


def publish_warehouse(work: Path, published: Path) -> Published:
    """Checkpoint the working warehouse and publish a copy of it at `published`."""
    began = time.perf_counter()
    connection = connect(work)
    try:
        connection.execute("checkpoint")
    finally:
        connection.close()
    size = _replace_atomically(work, published)
    return Published(published, size, time.perf_counter() - began)


def publish_ops(work: Path, ops_file: Path) -> Published:
    """Publish the working warehouse's `ops` tables (runs, builds, quality results) as a small
    database of their own (tables in its main schema; `attach ... as ops` to read them as
    ops.pipeline_runs), so a failed run is visible even though the warehouse was not published."""
    began = time.perf_counter()
    staging = ops_file.with_name(f"{ops_file.stem}-publishing.tmp")
    staging.unlink(missing_ok=True)
    connection = duckdb.connect(str(staging))
    try:
        connection.execute(f"attach '{work}' as work (read_only)")
        present = {
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'work' "
                "and schema_name = 'ops'"
            ).fetchall()
        }
        for table in OPS_TABLES:
            if table in present:
                connection.execute(f"create table main.{table} as select * from work.ops.{table}")
    finally:
        connection.close()
    os.replace(staging, ops_file)
    return Published(ops_file, ops_file.stat().st_size, time.perf_counter() - began)


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a published file; it never blocks or breaks a pipeline."""
    return duckdb.connect(str(path), read_only=True)
