"""Import ServiceNow incident exports into `raw.tickets` and `raw.ticket_activities`.

Two forms, told apart by the header:

- the incident table (one row per incident): each row is a ticket. There is no history, so
  `initial_priority` and `initial_category` stay empty and no activities are written; a
  repeated number is quarantined.
- the audit/event log (it has `sys_mod_count` and `sys_updated_at`; many rows per incident, as
  in the UCI "incident management process enriched event log"): an incident's rows, ordered by
  sys_mod_count, then sys_updated_at, then file order, become its activities (`occurred_at` is
  sys_updated_at). The ticket takes its attributes from the last row, as the incident table
  would show them, and `initial_priority` and `initial_category` from the first; reassignments
  and reopens are the last row's counts. Each activity is labelled `opened` (the first row),
  `reopened` (reopen_count rose), `reassigned` (reassignment_count rose, or the assignment
  group changed from one group to another), `state changed` or `updated`.

How an incident was fixed is kept when the export has it: the resolution code (`close_code`,
the UCI log's `closed_code`, the label "Resolution code") as `resolution_category`, the close
notes (`close_notes`, "Resolution notes") as `resolution_note` (redacted, as titles and
descriptions are: agents paste passwords too) and the `assignment_group`.

Headers match case-insensitively, and ServiceNow's labels are accepted for the fields whose
label differs from the field name ("Opened", "Caller", "Updated", "Updates", ...). Dates are
ISO 8601 or day-first `d/m/yyyy` or `dd-mm-yyyy`, each with an optional `H:MM` or `HH:MM:SS`
(a month-first US export is not recognised: export ISO dates instead); times without a zone are
stored as they are (see `common`). Boolean columns (`active`, `made_sla`, ... in any letter case)
are not stored: raw.tickets has no column for them.

A row without a number, or with a missing or unparseable opened_at (in the audit form also
sys_mod_count or sys_updated_at), is quarantined with its row number and reason; quarantined
rows are left out of the ticket's history. Other values that do not parse are left empty and
named in the summary's notes.
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
    replace_tickets,
    run_import,
    stage_export,
)
from pipelines.warehouse import LoadSummary

SOURCE = "servicenow"
DATE_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y",
)

# Each field read, with the header keys (see common.column_key) it may have, first match wins.
FIELDS = {
    "number": ("number",),
    "opened_at": ("opened_at", "opened"),
    "resolved_at": ("resolved_at", "resolved"),
    "closed_at": ("closed_at", "closed"),
    "state": ("incident_state", "state"),
    "priority": ("priority",),
    "category": ("category",),
    "subcategory": ("subcategory",),
    "impact": ("impact",),
    "urgency": ("urgency",),
    "assignment_group": ("assignment_group",),
    "assigned_to": ("assigned_to",),
    "close_code": ("close_code", "closed_code", "resolution_code"),
    "close_notes": ("close_notes", "resolution_notes"),
    "caller_id": ("caller_id", "caller"),
    "location": ("location",),
    "short_description": ("short_description",),
    "description": ("description",),
    "reassignment_count": ("reassignment_count",),
    "reopen_count": ("reopen_count",),
    "sys_mod_count": ("sys_mod_count", "updates"),
    "sys_updated_at": ("sys_updated_at", "sys_updated_on", "updated"),
}
KINDS = {
    "opened_at": "timestamp",
    "resolved_at": "timestamp",
    "closed_at": "timestamp",
    "reassignment_count": "integer",
    "reopen_count": "integer",
    "sys_mod_count": "integer",
    "sys_updated_at": "timestamp",
}
AUDIT_FIELDS = ("sys_mod_count", "sys_updated_at")

# raw.tickets column: the field it comes from (initial_* come from the audit form's first row).
TICKET_COLUMNS = {
    "ticket_id": "number",
    "opened_at": "opened_at",
    "resolved_at": "resolved_at",
    "closed_at": "closed_at",
    "state": "state",
    "priority": "priority",
    "category": "category",
    "subcategory": "subcategory",
    "impact": "impact",
    "urgency": "urgency",
    "assignment_group": "assignment_group",
    "assignee": "assigned_to",
    "requester": "caller_id",
    "location": "location",
    "title": "short_description",
    "description": "description",
    "reassignments": "reassignment_count",
    "reopens": "reopen_count",
    "resolution_category": "close_code",
    "resolution_note": "close_notes",
}


def _ticket_select(alias: str) -> str:
    return ", ".join(f"{alias}.{field} as {column}" for column, field in TICKET_COLUMNS.items())


def _headers(export: Export) -> dict[str, str | None]:
    """Each field's header in the file; fail when the file lacks number or opened_at."""
    headers = {field: export.column(*keys) for field, keys in FIELDS.items()}
    missing = [field for field in ("number", "opened_at") if headers[field] is None]
    if missing:
        raise ImportFailed(
            f"{export.path} is not a ServiceNow incident export: it has no column "
            f"{' or '.join(missing)}. Expected the incident table (number, opened_at, "
            "resolved_at, closed_at, priority, category, state, ...) or the incident audit log "
            "(the same plus sys_mod_count and sys_updated_at, one row per update). Found: "
            f"{export.describe_columns()}."
        )
    return headers


def _check(
    connection: duckdb.DuckDBPyConnection,
    required: tuple[str, ...],
    kinds: dict[str, str],
    audit: bool,
) -> None:
    """Create `checked`: `staged` with each row's quarantine reason (null when it loads)."""
    strict = [field for field in required if field in kinds]
    duplicate = (
        ""
        if audit
        else "when row_number() over (partition by number order by opened_at is null, "
        "source_row) > 1 then 'duplicate number'"
    )
    connection.execute(
        f"""
        create or replace temp table checked as
        select *, case {reason_branches(required, strict, kinds)} {duplicate} end as reason
        from staged
        """
    )


def _load_table(connection: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    connection.execute(
        f"""
        create or replace temp table import_tickets as
        select {_ticket_select("checked")} from checked where reason is null
        """
    )
    replace_tickets(connection, batch, "import_tickets")


def _load_audit(connection: duckdb.DuckDBPyConnection, batch: Batch) -> int:
    connection.execute(
        """
        create or replace temp table ordered as
        select
            *,
            row_number() over updates as seq,
            count(*) over (partition by number) as rows_of_ticket,
            lag(state) over updates as previous_state,
            lag(assignment_group) over updates as previous_group,
            lag(reassignment_count) over updates as previous_reassignments,
            lag(reopen_count) over updates as previous_reopens,
        from checked
        where reason is null
        window updates as (partition by number order by sys_mod_count, sys_updated_at, source_row)
        """
    )
    connection.execute(
        f"""
        create or replace temp table import_tickets as
        select
            {_ticket_select("last")},
            first.priority as initial_priority,
            first.category as initial_category,
        from ordered as last
        inner join ordered as first on first.number = last.number and first.seq = 1
        where last.seq = last.rows_of_ticket
        """
    )
    connection.execute(
        """
        create or replace temp table import_activities as
        select
            number as ticket_id,
            seq,
            sys_updated_at as occurred_at,
            case
                when seq = 1 then 'opened'
                when reopen_count > previous_reopens then 'reopened'
                when reassignment_count > previous_reassignments
                    or assignment_group is distinct from coalesce(previous_group, assignment_group)
                    then 'reassigned'
                when state is distinct from previous_state then 'state changed'
                else 'updated'
            end as activity,
            state,
            assignment_group,
            assigned_to as assignee,
        from ordered
        """
    )
    return replace_tickets(connection, batch, "import_tickets", "import_activities")


def _load(
    connection: duckdb.DuckDBPyConnection,
    batch: Batch,
    headers: dict[str, str | None],
    summary: LoadSummary,
) -> None:
    audit = all(headers[field] for field in AUDIT_FIELDS)
    if not audit:
        headers = {field: h for field, h in headers.items() if field not in AUDIT_FIELDS}
    kinds = {field: kind for field, kind in KINDS.items() if field in headers}
    required = ("number", "opened_at", *AUDIT_FIELDS) if audit else ("number", "opened_at")
    stage_export(connection, headers, kinds, DATE_FORMATS)
    _check(connection, required, kinds, audit)
    note_unparsed(connection, summary, kinds, required)
    quarantine(connection, batch, summary, "checked")
    summary.rows_loaded = summary.rows_read - summary.rows_quarantined
    if audit:
        tickets = _load_audit(connection, batch)
        summary.notes.append(
            f"audit log: {summary.rows_loaded:,} rows collapsed into {tickets:,} tickets"
        )
    else:
        _load_table(connection, batch)
        summary.notes.append(
            "incident table: no history, so no activities and no initial priority or category"
        )


def import_servicenow(path: Path, connection: duckdb.DuckDBPyConnection) -> LoadSummary:
    """Import a ServiceNow incident table or audit-log export (`.csv` or `.csv.gz`) in one
    transaction; raise ImportFailed, leaving the warehouse unchanged, if it cannot be read."""
    batch = open_batch(path, SOURCE)
    export = read_export(path)
    headers = _headers(export)
    return run_import(
        connection, batch, export.frame, lambda summary: _load(connection, batch, headers, summary)
    )
