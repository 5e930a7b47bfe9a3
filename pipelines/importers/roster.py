"""Import the employee roster (a CSV export from HR) into `raw.employees`.

Columns: employee_id, name, department, location, manager_id, hourly_cost, and optionally
title; headers match case-insensitively. hourly_cost is the loaded hourly cost in the
catalogue's currency; an empty one falls back to the catalogue's default downstream.

The roster is a full snapshot: a successful import replaces every row of `raw.employees`
(including employees synced from the embedded directory). A row without an employee_id, with
a hourly_cost that is not a non-negative number, or with an employee_id seen earlier in the
file is quarantined. A file with no loadable row fails and leaves the roster as it was.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.importers.common import (
    Batch,
    Export,
    ImportFailed,
    note_unparsed,
    open_batch,
    quarantine,
    read_export,
    reason_branches,
    run_import,
    stage_export,
)
from pipelines.warehouse import LoadSummary

SOURCE = "roster"
REQUIRED_COLUMNS = ("employee_id", "name", "department", "location", "manager_id", "hourly_cost")
KINDS = {"hourly_cost": "number"}


def _headers(export: Export) -> dict[str, str | None]:
    """Each column's header in the file; fail when a required one is missing."""
    headers = {field: export.column(field) for field in (*REQUIRED_COLUMNS, "title")}
    missing = [field for field in REQUIRED_COLUMNS if headers[field] is None]
    if missing:
        raise ImportFailed(
            f"{export.path} is not an employee roster: it has no column {', '.join(missing)}. "
            f"Expected {', '.join(REQUIRED_COLUMNS)} (title optional; any letter case). "
            f"Found: {export.describe_columns()}."
        )
    return headers


def _load(
    connection: duckdb.DuckDBPyConnection,
    batch: Batch,
    headers: dict[str, str | None],
    summary: LoadSummary,
) -> None:
    stage_export(connection, headers, KINDS)
    connection.execute(
        f"""
        create or replace temp table checked as
        select *, case
            {reason_branches(["employee_id"], ["hourly_cost"], KINDS)}
            when hourly_cost < 0 then 'negative hourly_cost'
            when row_number() over (partition by employee_id order by source_row) > 1
                then 'duplicate employee_id'
        end as reason
        from staged
        """
    )
    note_unparsed(connection, summary, KINDS, KINDS)
    quarantine(connection, batch, summary, "checked")
    summary.rows_loaded = summary.rows_read - summary.rows_quarantined
    if not summary.rows_loaded:
        raise ImportFailed(
            f"{batch.path} has no loadable employee ({summary.reasons or 'no rows'}); the "
            "roster was left as it was. Fix the file and import it again."
        )
    connection.execute("delete from raw.employees")
    connection.execute(
        """
        insert into raw.employees by name
        select employee_id, name, department, location, manager_id, title, hourly_cost,
            ? as import_batch
        from checked
        where reason is null
        """,
        [batch.batch_id],
    )


def import_roster(path: Path, connection: duckdb.DuckDBPyConnection) -> LoadSummary:
    """Replace the roster with an employees CSV (`.csv` or `.csv.gz`) in one transaction;
    raise ImportFailed, leaving the warehouse unchanged, if it cannot be used."""
    batch = open_batch(path, SOURCE)
    export = read_export(path)
    headers = _headers(export)
    return run_import(
        connection, batch, export.frame, lambda summary: _load(connection, batch, headers, summary)
    )
