"""The raw suites: `raw_events` (the loaded event log) and `imported_tickets` (ticket history
from other tools), validated after loading and before `dbt build`.

What dbt's tests on the staging models already enforce is not repeated here: the accepted
values of event_type, outcome and feedback (`accepted_values` on stg_unticket__events). These
suites keep what dbt does not check: the columns and types of the raw tables, event_id unique
across loads, times, freshness and quarantine, plausibility of imported tickets, and the
profile of every other enum column's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from pipelines.quality.checks import (
    CRITICAL,
    DEFAULT_THRESHOLDS,
    PROFILE_LIMIT,
    WARNING,
    Dataset,
    Severity,
    Thresholds,
    at_least,
    at_most,
    has_columns,
    known_values,
)
from pipelines.warehouse import RAW_SCHEMA
from resolver.events import SCHEMA_VERSION
from vocabulary import FILED, SERVICE_DESK, Channel, Language, TicketStatus

# Allowed values, as documented in docs/events.md (event types, outcomes and feedback: dbt's
# accepted_values). Channels and ticket statuses are the vocabulary's: every channel, and
# `service_desk` on ticket updates; every ticket status, and `filed` when a queued ticket was filed.
CHANNELS = (*(channel.value for channel in Channel), SERVICE_DESK)
TICKET_STATUSES = (*(status.value for status in TicketStatus), FILED)
# The engine's languages; any other value is loaded and modelled as 'und' (undetermined).
LANGUAGES = tuple(language.value for language in Language)
ENGINE_PRIORITIES = ("P1", "P2", "P3", "P4")
RESULTS = ("success", "failure", "passed", "wrong", "expired", "locked", "none")
DECISIONS = ("approved", "denied")
# Imported priorities are on ServiceNow's scale (data/mappings/*.yml map other tools onto it);
# XES logs give the bare level.
HISTORY_PRIORITIES = (
    "1 - Critical",
    "2 - High",
    "3 - Moderate",
    "4 - Low",
    "5 - Planning",
    *("1", "2", "3", "4", "5"),
)


def _expected_columns(tables: Sequence[str]) -> list[str]:
    """`table.column TYPE` of raw tables as the current code creates them (RAW_SCHEMA)."""
    with duckdb.connect() as scratch:
        scratch.execute(RAW_SCHEMA)
        rows = scratch.execute(_COLUMNS_SQL, {"tables": list(tables)}).fetchall()
    return [row[0] for row in rows]


_COLUMNS_SQL = """
    select table_name || '.' || column_name || ' ' || data_type as column_spec
    from information_schema.columns
    where table_catalog = current_database() and table_schema = 'raw'
        and table_name in (select unnest($tables::varchar[]))
    order by table_name, ordinal_position
"""


def schema_dataset(suite: str, tables: Sequence[str]) -> Dataset:
    """The raw tables' columns and types, against those the current code creates."""
    return Dataset(
        suite=suite,
        name="columns",
        sql=_COLUMNS_SQL,
        parameters={"tables": list(tables)},
        how="information_schema.columns of the warehouse, one row per column",
        checks=(
            has_columns(
                _expected_columns(tables),
                f"raw.{', raw.'.join(tables)} have the current columns and types",
            ),
        ),
    )


def profile_sql(table: str, fields: Sequence[str], keys: Sequence[str] = ()) -> str:
    """Distinct non-null values of each of `fields` (with their row counts), in one scan.

    One `grouping sets` aggregate over the table; at most `PROFILE_LIMIT` values per field
    (the most frequent), so the frame stays small whatever the table's size.
    """
    which = " ".join(f"when grouping({name}) = 0 then '{name}'" for name in fields)
    value = ", ".join(f"{name}::varchar" for name in fields)
    sets = ", ".join("(" + ", ".join([*keys, name]) + ")" for name in fields)
    key_columns = "".join(f"{key}, " for key in keys)
    return f"""
        select field, {key_columns}value, rows from (
            select case {which} end as field, {key_columns}coalesce({value}) as value,
                count(*) as rows
            from {table}
            group by grouping sets ({sets})
        )
        where value is not null
        qualify row_number() over (partition by field order by rows desc, value) <= {PROFILE_LIMIT}
        order by field, rows desc
    """


_EVENTS_SUMMARY_SQL = """
    with
    quarantined as (select count(*) as lines from raw.event_quarantine),
    ids as (select count(*) - count(distinct event_id) as duplicates from raw.events)
    select
        count(*) as events,
        (select duplicates from ids) as duplicate_event_ids,
        count(*) filter (where occurred_at > $future) as future_events,
        count(*) filter (where occurred_at < $earliest) as events_before_earliest,
        count(*) filter (
            where interaction_id is null
            and event_type not in ('ticket_status_changed', 'article_approved', 'llm_called')
        ) as events_without_interaction,
        count(*) filter (
            where coalesce(resolution_note, resolution_category, assignment_group) is not null
            and not (event_type = 'ticket_status_changed' and status in ('resolved', 'closed'))
        ) as resolutions_outside_finished_tickets,
        count(*) filter (where confidence not between 0 and 1) as confidence_outside_0_1,
        count(*) filter (where turn < 1) as turns_below_1,
        (epoch($now) - epoch(max(occurred_at))) / 3600.0 as hours_since_last_event,
        (select lines from quarantined)
            / greatest(count(*) + (select lines from quarantined), 1) as quarantined_share,
    from raw.events
"""


def events_summary(now: datetime, limits: Thresholds) -> Dataset:
    """One row of aggregates over raw.events (one scan): uniqueness, times, ranges, freshness.

    event_id's uniqueness stays here although dbt tests it too: dbt's test sees one build's new
    events only (`ops.build_scope`), so only this whole-table count sees a repeat across loads.
    """
    return Dataset(
        suite="raw_events",
        name="events_summary",
        sql=_EVENTS_SUMMARY_SQL,
        parameters={
            "now": now,
            "future": now + limits.clock_skew,
            "earliest": limits.earliest_event,
        },
        how="one aggregate row over raw.events computed in DuckDB (count(*) - count(distinct "
        "event_id), counts of offending rows, hours since the newest event); GX checks the row",
        checks=(
            at_least("events", 1, CRITICAL, "events were loaded"),
            at_most("duplicate_event_ids", 0, CRITICAL, "event_id is unique"),
            at_most("future_events", 0, CRITICAL, "no event is in the future"),
            at_most("events_before_earliest", 0, CRITICAL, "no event predates the product"),
            at_most(
                "events_without_interaction",
                0,
                CRITICAL,
                "only ticket updates, article approvals and drafting LLM calls may lack an "
                "interaction_id",
            ),
            at_most(
                "resolutions_outside_finished_tickets",
                0,
                WARNING,
                "only a ticket_status_changed to resolved or closed carries a resolution",
            ),
            at_most("confidence_outside_0_1", 0, WARNING, "intent confidence is within [0, 1]"),
            at_most("turns_below_1", 0, WARNING, "message turns count from 1"),
            at_most(
                "hours_since_last_event",
                limits.stale_after_hours,
                WARNING,
                f"the newest event is under {limits.stale_after_hours:g} h old",
            ),
            at_most(
                "quarantined_share",
                limits.max_quarantined_share,
                WARNING,
                f"at most {limits.max_quarantined_share:.0%} of event lines were quarantined",
            ),
        ),
    )


def event_values() -> Dataset:
    """Distinct values of raw.events' enum columns against the documented sets (but those
    dbt's accepted_values test: event_type, outcome, feedback)."""
    allowed: dict[str, tuple[Sequence[str], Severity, str]] = {
        "schema_version": ([str(SCHEMA_VERSION)], CRITICAL, "the schema version is current"),
        "channel": (CHANNELS, WARNING, "channels are known"),
        "priority": (ENGINE_PRIORITIES, WARNING, "engine ticket priorities are P1-P4"),
        "status": (TICKET_STATUSES, WARNING, "ticket statuses are known"),
        "result": (RESULTS, WARNING, "action and verification results are known"),
        "decision": (DECISIONS, WARNING, "approval decisions are known"),
        "language": (LANGUAGES, WARNING, "languages are the engine's ISO 639-1 codes"),
    }
    return Dataset(
        suite="raw_events",
        name="event_values",
        sql=profile_sql("raw.events", list(allowed)),
        how=f"distinct values per column of raw.events with their event counts (grouping sets, "
        f"one scan in DuckDB, top {PROFILE_LIMIT} per column); GX checks each column's values",
        checks=tuple(known_values(name, *spec) for name, spec in allowed.items()),
        index=("field", "rows"),
    )


_TICKETS_SUMMARY_SQL = """
    with latest_batches as (
        select * from raw.import_batches
        qualify row_number() over (partition by source order by imported_at desc) = 1
    ),
    quarantine as (
        select coalesce(sum(rows_quarantined) / nullif(sum(rows_read), 0), 0) as share
        from latest_batches
    ),
    orphans as (
        select count(*) as activities
        from raw.ticket_activities
        anti join raw.tickets using (source, ticket_id)
    )
    select
        count(*) as tickets,
        count(*) filter (where resolved_at < opened_at) as resolved_before_opened,
        count(*) filter (where closed_at < opened_at) as closed_before_opened,
        count(*) filter (where closed_at < resolved_at) as closed_before_resolved,
        count(*) filter (where opened_at is null) as tickets_without_opened_at,
        count(*) filter (where opened_at > $future) as opened_in_future,
        count(*) filter (where reassignments < 0 or reopens < 0) as negative_counters,
        (select activities from orphans) as activities_without_ticket,
        (select share from quarantine) as quarantined_share,
    from raw.tickets
"""


def tickets_summary(now: datetime, limits: Thresholds) -> Dataset:
    """One row of aggregates over raw.tickets: date order, plausibility, import quarantine."""
    return Dataset(
        suite="imported_tickets",
        name="tickets_summary",
        sql=_TICKETS_SUMMARY_SQL,
        parameters={"future": now + limits.ticket_clock_skew},
        how="one aggregate row over raw.tickets, raw.ticket_activities and the latest import "
        "batch per source, computed in DuckDB; GX checks the row",
        checks=(
            at_most("resolved_before_opened", 0, CRITICAL, "no ticket is resolved before opened"),
            at_most("closed_before_opened", 0, CRITICAL, "no ticket is closed before opened"),
            at_most("closed_before_resolved", 0, WARNING, "no ticket is closed before resolved"),
            at_most("tickets_without_opened_at", 0, WARNING, "every ticket has an opened_at"),
            at_most("opened_in_future", 0, WARNING, "no ticket is opened in the future"),
            at_most("negative_counters", 0, WARNING, "reassignments and reopens are >= 0"),
            at_most("activities_without_ticket", 0, WARNING, "every activity has its ticket"),
            at_most(
                "quarantined_share",
                limits.max_quarantined_share,
                WARNING,
                f"at most {limits.max_quarantined_share:.0%} of imported rows were quarantined",
            ),
        ),
    )


def ticket_priorities() -> Dataset:
    """Distinct priorities of the imported tickets, per source, against the known scale."""
    return Dataset(
        suite="imported_tickets",
        name="ticket_priorities",
        sql=profile_sql("raw.tickets", ["priority", "initial_priority"], keys=["source"]),
        how="distinct (source, priority) and (source, initial_priority) with ticket counts "
        "(grouping sets in DuckDB); GX checks the values",
        checks=tuple(
            known_values(
                name,
                HISTORY_PRIORITIES,
                WARNING,
                f"imported {name.replace('_', ' ')} is on the ServiceNow scale",
            )
            for name in ("priority", "initial_priority")
        ),
        index=("field", "source", "rows"),
    )


def raw_datasets(now: datetime, limits: Thresholds = DEFAULT_THRESHOLDS) -> list[Dataset]:
    """Every dataset of the raw_events and imported_tickets suites."""
    return [
        schema_dataset("raw_events", ["events"]),
        events_summary(now, limits),
        event_values(),
        schema_dataset("imported_tickets", ["tickets", "ticket_activities"]),
        tickets_summary(now, limits),
        ticket_priorities(),
    ]
