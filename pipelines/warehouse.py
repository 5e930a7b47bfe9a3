"""The DuckDB warehouse: connections and the raw tables that loading writes into.

Loading (event ingest and ticket imports) writes the `raw` schema; dbt builds `staging` and
`marts` from it (and `intermediate` in a build-state file beside it: pipelines/transform.py).
Every load runs in one transaction, so a failed load leaves the warehouse as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Type-specific event fields lifted out of the JSON into typed columns of raw.events.
EVENT_FIELDS = {
    "intent": "varchar",
    "confidence": "double",
    "outcome": "varchar",
    "feedback": "varchar",
    "ticket_id": "varchar",
    "approval_id": "varchar",
    "action": "varchar",
    "result": "varchar",
    "reason": "varchar",
    "status": "varchar",
    "decision": "varchar",
    "article_id": "varchar",
    "priority": "varchar",
    "text": "varchar",
    "turn": "integer",
    "provisional_ticket_id": "varchar",
    # on interaction_started: the employee's language (ISO 639-1); absent from older events.
    # Kept as written: an unknown value is loaded, profiled by the raw suite and shown as
    # 'und' by stg_unticket__events, never a reason to lose the interaction.
    "language": "varchar",
    # on ticket_status_changed to resolved or closed: how the ticket was fixed (note redacted)
    "resolution_note": "varchar",
    "resolution_category": "varchar",
    "assignment_group": "varchar",
}
_EVENT_FIELD_COLUMNS = ",\n    ".join(f"{name} {kind}" for name, kind in EVENT_FIELDS.items())

RAW_SCHEMA = f"""
create schema if not exists raw;

create table if not exists raw.events (
    event_id varchar not null,  -- unique: ingest anti-joins on it (an index would cost more)
    schema_version integer not null,
    event_type varchar not null,
    occurred_at timestamp not null,
    interaction_id varchar,
    employee_id varchar,
    channel varchar not null,
    {_EVENT_FIELD_COLUMNS},
    source_file varchar not null,
    source_line bigint,
    loaded_at timestamp not null
);
-- fields added after a warehouse was created (loads insert by name)
alter table raw.events add column if not exists provisional_ticket_id varchar;
alter table raw.events add column if not exists language varchar;
alter table raw.events add column if not exists resolution_note varchar;
alter table raw.events add column if not exists resolution_category varchar;
alter table raw.events add column if not exists assignment_group varchar;

create table if not exists raw.event_quarantine (
    source_file varchar not null,
    source_line bigint not null,  -- 0: the whole file, refused unread (a symbolic link ...)
    reason varchar not null,
    raw_line varchar,
    quarantined_at timestamp not null,
    primary key (source_file, source_line)
);

create table if not exists raw.event_files (
    source_file varchar primary key,
    bytes_loaded bigint not null,
    loaded_at timestamp not null
);

create table if not exists raw.tickets (
    source varchar not null,
    ticket_id varchar not null,
    opened_at timestamp,
    resolved_at timestamp,
    closed_at timestamp,
    state varchar,
    priority varchar,
    initial_priority varchar,
    category varchar,
    initial_category varchar,
    subcategory varchar,
    impact varchar,
    urgency varchar,
    assignment_group varchar,
    assignee varchar,
    requester varchar,
    location varchar,
    title varchar,
    description varchar,
    reassignments integer,
    reopens integer,
    import_batch varchar not null,
    primary key (source, ticket_id)
);
-- columns added after a warehouse was created (imports insert by name)
alter table raw.tickets add column if not exists resolution_note varchar;
alter table raw.tickets add column if not exists resolution_category varchar;

create table if not exists raw.ticket_activities (
    source varchar not null,
    ticket_id varchar not null,
    seq integer not null,
    occurred_at timestamp,
    activity varchar,
    state varchar,
    assignment_group varchar,
    assignee varchar,
    primary key (source, ticket_id, seq)
);

create table if not exists raw.employees (
    employee_id varchar primary key,
    name varchar,
    department varchar,
    location varchar,
    manager_id varchar,
    title varchar,
    hourly_cost double,
    import_batch varchar not null
);

create table if not exists raw.import_quarantine (
    import_batch varchar not null,
    source varchar not null,
    source_file varchar not null,
    source_row bigint not null,
    reason varchar not null,
    raw_row varchar
);

create schema if not exists ops;

create table if not exists ops.builds (
    build_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp,
    fingerprint varchar not null,
    full_refresh boolean not null,
    loaded_through timestamp,
    succeeded boolean
);

create table if not exists raw.import_batches (
    import_batch varchar primary key,
    source varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    imported_at timestamp not null
);
"""


@dataclass
class LoadSummary:
    """What one load did: rows read, loaded and quarantined, and the reasons for quarantine."""

    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count_reason(self, reason: str, count: int = 1) -> None:
        """Add quarantined rows under a reason."""
        self.reasons[reason] = self.reasons.get(reason, 0) + count
        self.rows_quarantined += count


EXCERPT_CHARS = 80  # the most of a file's text any message quotes


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Text read from a file (or a file's name), safe to put in a message: control and other
    unprintable characters escaped as `repr` writes them, cut to `limit` characters with `…`."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def connect(
    path: Path, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating the folder and the raw tables when writing).

    `memory_limit` (the pipeline passes `settings.duckdb_memory_limit`) bounds a writing
    connection's memory: beyond it DuckDB spills to disk; without it DuckDB's own default holds.
    """
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"preserve_insertion_order": False}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    connection = duckdb.connect(str(path), config=config)
    connection.execute(RAW_SCHEMA)
    return connection
