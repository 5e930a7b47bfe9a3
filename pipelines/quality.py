"""Data quality of the warehouse, checked with Great Expectations (GX 1.x) before publishing.

Three suites: `raw_events` (the loaded event log), `imported_tickets` (ticket history from
other tools), both checked by `validate_raw` after loading, and `marts` (what analysts and
dashboards read), checked by `validate_marts` after `dbt build`. Every expectation has a
severity: a failed `critical` one means the warehouse must not be published
(`QualityReport.passed_critical` is False); a failed `warning` is recorded and the run goes on.

How a check is evaluated: the warehouse can hold tens of millions of events, so nothing row-level
is pulled into pandas. Each *dataset* is one DuckDB query over the warehouse that returns a small
frame — a single row of aggregates (counts of offending rows, staleness), a profile of the
distinct values of enum columns (at most `PROFILE_LIMIT` per column), or one row per measure
(ranges of rates and durations, fact-vs-KPI totals) — and GX validates that frame through an
ephemeral context (pandas datasource → dataframe asset → batch definition → validation
definition). GX's SQL datasource is not used: on DuckDB it closes the connection before fetching.
Each expectation's `notes` say how its frame is computed; its `severity` is GX's own field.

Results go to `ops.dq_results` (`record_results`) and to GX Data Docs (HTML) under
`<data_docs_dir>/raw/` and `<data_docs_dir>/marts/` (the latest run of each), with an
`index.html` linking both. GX is imported only inside the validation functions (≈ 5 s, 260 MB).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from pipelines.warehouse import RAW_SCHEMA
from resolver.events import EVENT_TYPES, SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

    from unticket.settings import Settings

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

PROFILE_LIMIT = 1000  # distinct values per profiled column; more than any allowed set, so an
# unknown value can never be cut off (if there are more values than allowed ones, one is unknown)
SITE_NAME = "unticket"

# Allowed values, as documented in docs/events.md. Channels come from resolver.engine.CHANNELS
# (imported lazily: that module loads scikit-learn); `service_desk` writes ticket updates.
OUTCOMES = ("auto_resolved", "answered", "escalated", "abandoned", "unrecognized", "pending")
FEEDBACK = ("confirmed", "rejected")
ENGINE_PRIORITIES = ("P1", "P2", "P3", "P4")
TICKET_STATUSES = ("new", "in_progress", "on_hold", "resolved", "closed", "filed")
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


@dataclass(frozen=True)
class Thresholds:
    """Tolerances of the checks that need one (pass your own to `validate_raw`/`_marts`)."""

    clock_skew: timedelta = timedelta(minutes=5)  # an event this far ahead of now is "future"
    ticket_clock_skew: timedelta = timedelta(days=1)  # imported times may be in a local zone
    earliest_event: datetime = datetime(2000, 1, 1)  # anything older is a broken clock / epoch 0
    stale_after_hours: float = 72.0  # the newest event is older than this: ingest stalled?
    max_quarantined_share: float = 0.01  # of lines (events) or rows (latest import per source)
    reconcile_tolerance: float = 1e-9  # relative difference of a fact total and a KPI total


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Check:
    """One expectation on a dataset's frame: which GX expectation, on what, and how bad."""

    expectation: str  # a class of great_expectations.expectations, e.g. ExpectColumnMaxToBeBetween
    column: str
    severity: Severity
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    subset: str | None = None  # profile frames: the `field` whose rows this check covers


@dataclass(frozen=True)
class Dataset:
    """A small frame computed in DuckDB, and the checks GX runs on it."""

    suite: str
    name: str
    sql: str
    how: str  # how the frame is evaluated: shown in the Data Docs and stored with the result
    checks: tuple[Check, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    index: tuple[str, ...] = ()  # columns that name a failing row in the result's details


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation in one run."""

    suite: str
    dataset: str
    expectation: str  # stable key: dataset.column[subset]:expectation_type
    expectation_type: str
    column: str
    description: str
    severity: Severity
    success: bool
    observed_value: str | None  # JSON
    unexpected_count: int | None
    element_count: int | None
    details: str | None  # JSON: the failing values or rows, or the error
    evaluated_by: str

    def line(self) -> str:
        """One human-readable line."""
        status = "ok" if self.success else ("FAILED" if self.severity == CRITICAL else "warning")
        found = _readable(self.observed_value)
        if self.unexpected_count:
            found = f"{self.unexpected_count} unexpected"
        extra = f" — {found}" if found else ""
        detail = f": {self.details}" if self.details and not self.success else ""
        return f"[{status}] {self.suite}/{self.dataset}: {self.description}{extra}{detail}"


def _readable(observed: str | None) -> str:
    """An observed value for people: numbers to 4 significant digits."""
    try:
        return f"{float(observed):,.4g}" if observed is not None else ""
    except ValueError:
        return observed or ""


@dataclass
class QualityReport:
    """All expectation results of one validation call, and where its Data Docs are."""

    run_id: str
    checked_at: datetime  # UTC, naive like the warehouse's timestamps
    results: list[ExpectationResult] = field(default_factory=list)
    data_docs: Path | None = None  # index.html of this call's Data Docs site

    @property
    def suites(self) -> list[str]:
        """The suites validated, in order."""
        return list(dict.fromkeys(result.suite for result in self.results))

    @property
    def failures(self) -> list[ExpectationResult]:
        """Failed critical expectations: any one of them blocks publishing."""
        return [r for r in self.results if not r.success and r.severity == CRITICAL]

    @property
    def warnings(self) -> list[ExpectationResult]:
        """Failed warning expectations: recorded, the run continues."""
        return [r for r in self.results if not r.success and r.severity == WARNING]

    @property
    def passed_critical(self) -> bool:
        """True when no critical expectation failed: the warehouse may be published."""
        return not self.failures

    def summary(self) -> list[str]:
        """A headline, then one line per failed expectation (critical first)."""
        verdict = "publishable" if self.passed_critical else "DO NOT PUBLISH"
        head = (
            f"{', '.join(self.suites)}: {len(self.results)} expectations, "
            f"{len(self.failures)} critical failure(s), {len(self.warnings)} warning(s) "
            f"— {verdict}"
        )
        docs = [f"Data Docs: {self.data_docs}"] if self.data_docs else []
        return [head, *(r.line() for r in self.failures + self.warnings), *docs]

    def raise_for_critical(self) -> None:
        """Raise `QualityGateError` if a critical expectation failed."""
        if not self.passed_critical:
            raise QualityGateError(self)


class QualityGateError(RuntimeError):
    """A critical expectation failed: the warehouse must not be published."""

    def __init__(self, report: QualityReport) -> None:
        super().__init__("\n".join(report.summary()))
        self.report = report


def quality_dir(settings: Settings) -> Path:
    """Where Data Docs go for a settings object: `<data_dir>/quality`."""
    return settings.data_dir / "quality"


# --- checks ------------------------------------------------------------------------------------


def at_most(column: str, limit: float, severity: Severity, description: str) -> Check:
    """The (single-row) column's value is at most `limit`; GX shows it as the observed value."""
    return Check("ExpectColumnMaxToBeBetween", column, severity, description, {"max_value": limit})


def at_least(column: str, limit: float, severity: Severity, description: str) -> Check:
    """The (single-row) column's value is at least `limit`."""
    return Check("ExpectColumnMinToBeBetween", column, severity, description, {"min_value": limit})


def each_between(
    column: str, low: float | None, high: float | None, severity: Severity, description: str
) -> Check:
    """Every row of a per-measure frame has its value within [low, high] (nulls are skipped)."""
    bounds = {"min_value": low, "max_value": high}
    return Check("ExpectColumnValuesToBeBetween", column, severity, description, bounds)


def known_values(subset: str, values: Sequence[str], severity: Severity, description: str) -> Check:
    """Every profiled value of the column `subset` is one of `values`."""
    kwargs = {"value_set": sorted(values)}
    return Check("ExpectColumnValuesToBeInSet", "value", severity, description, kwargs, subset)


def has_columns(expected: Sequence[str], description: str) -> Check:
    """The warehouse has every `table.column TYPE` of the current schema (extras are fine)."""
    kwargs = {"value_set": sorted(expected)}
    return Check(
        "ExpectColumnDistinctValuesToContainSet", "column_spec", CRITICAL, description, kwargs
    )


# --- datasets: raw ------------------------------------------------------------------------------


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
            where interaction_id is null and event_type <> 'ticket_status_changed'
        ) as events_without_interaction,
        count(*) filter (where confidence not between 0 and 1) as confidence_outside_0_1,
        count(*) filter (where turn < 1) as turns_below_1,
        (epoch($now) - epoch(max(occurred_at))) / 3600.0 as hours_since_last_event,
        (select lines from quarantined)
            / greatest(count(*) + (select lines from quarantined), 1) as quarantined_share,
    from raw.events
"""


def events_summary(now: datetime, limits: Thresholds) -> Dataset:
    """One row of aggregates over raw.events (one scan): uniqueness, times, ranges, freshness."""
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
                "only ticket updates may lack an interaction_id",
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
    """Distinct values of raw.events' enum columns against the documented sets."""
    from resolver.engine import CHANNELS  # scikit-learn comes with it; only pay when validating

    allowed: dict[str, tuple[Sequence[str], Severity, str]] = {
        "event_type": (sorted(EVENT_TYPES), CRITICAL, "event types are known"),
        "schema_version": ([str(SCHEMA_VERSION)], CRITICAL, "the schema version is current"),
        "outcome": (OUTCOMES, CRITICAL, "outcomes are known"),
        "feedback": (FEEDBACK, CRITICAL, "feedback is confirmed or rejected"),
        "channel": ([*CHANNELS, "service_desk"], WARNING, "channels are known"),
        "priority": (ENGINE_PRIORITIES, WARNING, "engine ticket priorities are P1-P4"),
        "status": (TICKET_STATUSES, WARNING, "ticket statuses are known"),
        "result": (RESULTS, WARNING, "action and verification results are known"),
        "decision": (DECISIONS, WARNING, "approval decisions are known"),
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


# --- datasets: marts ----------------------------------------------------------------------------

RATES = {
    "kpi_deflection_daily": (
        "deflection_rate",
        "auto_resolution_rate",
        "answer_rate",
        "escalation_rate",
        "abandonment_rate",
        "false_deflection_rate",
        "confirmation_rate",
    ),
    "kpi_deflection_definitions": (
        "strict_deflection_rate",
        "ai_ran_or_positive_rate",
        "bot_effectiveness_rate",
        "lenient_deflection_rate",
    ),
    "kpi_impact_pareto": (
        "cumulative_share_of_items",
        "cumulative_share_of_lost_time",
        "share_of_items_driving_80pct",
    ),
    "fct_interactions": ("blocking_factor",),
    "dim_intents": ("blocking_factor",),
}

DURATIONS = {
    "fct_interactions": (
        "seconds_to_resolution",
        "working_seconds_to_resolution",
        "lost_hours",
        "baseline_lost_hours",
    ),
    "fct_tickets": ("hours_to_resolve", "working_hours_to_resolve"),
    "kpi_resolution_speed": (
        "p50_hours",
        "p90_hours",
        "p50_working_hours",
        "p90_working_hours",
        "baseline_working_hours",
    ),
    "kpi_productivity": ("lost_hours", "baseline_lost_hours"),
    "kpi_impact_pareto": ("lost_hours", "cumulative_lost_hours", "total_lost_hours"),
    "dim_intents": ("baseline_working_hours", "baseline_lost_hours"),
}


def ranges_sql(measures: dict[str, Sequence[str]]) -> str:
    """One row per `mart.column` with its min and max: one scan of each mart."""
    selects = []
    for table, columns in measures.items():
        rows = ", ".join(
            f"{{'measure': '{table}.{c}', 'min_value': min({c})::double, "
            f"'max_value': max({c})::double}}"
            for c in columns
        )
        selects.append(f"select unnest([{rows}], recursive := true) from marts.{table}")
    return "\nunion all\n".join(selects)


def mart_rates() -> Dataset:
    """Range of every rate and share in the marts."""
    return Dataset(
        suite="marts",
        name="mart_rates",
        sql=ranges_sql(RATES),
        how="min and max of each rate/share column, one row per column (one aggregate per mart "
        "in DuckDB); GX checks every row",
        checks=(
            each_between("min_value", 0, None, CRITICAL, "rates and shares are >= 0"),
            # a share summed in floating point may exceed 1 by a rounding error, never more
            each_between("max_value", None, 1 + 1e-9, CRITICAL, "rates and shares are <= 1"),
        ),
        index=("measure",),
    )


def mart_durations() -> Dataset:
    """Minimum of every duration and lost-time column in the marts."""
    return Dataset(
        suite="marts",
        name="mart_durations",
        sql=ranges_sql(DURATIONS),
        how="min of each duration / lost-time column, one row per column (one aggregate per mart "
        "in DuckDB); GX checks every row",
        checks=(each_between("min_value", 0, None, CRITICAL, "durations and lost time are >= 0"),),
        index=("measure",),
    )


_RECONCILIATION_SQL = """
    with
    facts as (
        select
            count(*) as rows,
            count(*) filter (where outcome <> 'pending') as known,
            count(*) filter (where is_support and outcome <> 'pending') as support_known,
            count(*) filter (where is_deflected and outcome <> 'pending') as deflected,
            count(*) filter (where is_support) as support,
            count(*) filter (where is_support and resolved_at is not null) as support_resolved,
            sum(hours_saved) filter (where is_support) as hours_saved,
            sum(cost_saved_usd) filter (where is_support) as cost_saved,
            sum(coalesce(lost_hours, 0)) filter (where is_support) as lost_hours,
        from marts.fct_interactions
    ),
    raw_interactions as (
        select count(distinct interaction_id) as interactions from raw.events
    ),
    tickets as (
        select count(*) filter (where working_hours_to_resolve is not null) as timed
        from marts.fct_tickets
    ),
    daily as (
        select sum(interactions) as interactions, sum(support_interactions) as support,
            sum(deflected) as deflected
        from marts.kpi_deflection_daily
    ),
    weekly as (
        select sum(support_interactions) as support from marts.kpi_deflection_definitions
    ),
    productivity as (
        select sum(interactions) as interactions, sum(hours_saved) as hours_saved,
            sum(cost_saved_usd) as cost_saved, sum(lost_hours) as lost_hours
        from marts.kpi_productivity
    ),
    speed as (
        select
            sum(resolved_interactions) filter (where dimension = 'outcome') as by_outcome,
            sum(resolved_interactions) filter (where dimension = 'intent') as by_intent,
            sum(resolved_interactions) filter (where dimension = 'channel') as by_channel,
        from marts.kpi_resolution_speed
    ),
    pareto as (
        select
            max(items) filter (where level = 'ticket') as tickets,
            max(total_lost_hours) filter (where level = 'ticket') as ticket_hours,
            max(total_lost_hours) filter (where level = 'issue_type') as issue_type_hours,
            sum(lost_hours) filter (where level = 'ticket') as ticket_hours_summed,
        from marts.kpi_impact_pareto
    ),
    checks as (
        select unnest([
            {'check': 'fct_interactions rows = interactions in raw.events',
                'expected': raw_interactions.interactions, 'reported': facts.rows},
            {'check': 'kpi_deflection_daily.interactions = facts with an outcome',
                'expected': facts.known, 'reported': daily.interactions},
            {'check': 'kpi_deflection_daily.support_interactions = support facts with an outcome',
                'expected': facts.support_known, 'reported': daily.support},
            {'check': 'kpi_deflection_daily.deflected = deflected facts',
                'expected': facts.deflected, 'reported': daily.deflected},
            {'check': 'kpi_deflection_definitions.support_interactions = support facts',
                'expected': facts.support_known, 'reported': weekly.support},
            {'check': 'kpi_productivity.interactions = support facts',
                'expected': facts.support, 'reported': productivity.interactions},
            {'check': 'kpi_productivity.hours_saved = facts',
                'expected': facts.hours_saved, 'reported': productivity.hours_saved},
            {'check': 'kpi_productivity.cost_saved_usd = facts',
                'expected': facts.cost_saved, 'reported': productivity.cost_saved},
            {'check': 'kpi_productivity.lost_hours = facts',
                'expected': facts.lost_hours, 'reported': productivity.lost_hours},
            {'check': 'kpi_resolution_speed by outcome = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_outcome},
            {'check': 'kpi_resolution_speed by intent = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_intent},
            {'check': 'kpi_resolution_speed by channel = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_channel},
            {'check': 'kpi_impact_pareto tickets = timed fct_tickets',
                'expected': tickets.timed, 'reported': pareto.tickets},
            {'check': 'kpi_impact_pareto total = sum of its tickets',
                'expected': pareto.ticket_hours_summed, 'reported': pareto.ticket_hours},
            {'check': 'kpi_impact_pareto issue types total = tickets total',
                'expected': pareto.ticket_hours, 'reported': pareto.issue_type_hours},
        ], recursive := true)
        from facts, raw_interactions, tickets, daily, weekly, productivity, speed, pareto
    )
    select
        "check",
        coalesce(expected, 0)::double as expected,
        coalesce(reported, 0)::double as reported,
        abs(coalesce(expected, 0) - coalesce(reported, 0))
            / greatest(abs(coalesce(expected, 0)), abs(coalesce(reported, 0)), 1)::double
            as relative_difference,
    from checks
"""


def mart_reconciliation(limits: Thresholds) -> Dataset:
    """Totals that must agree between the facts (and raw events) and the KPI marts."""
    return Dataset(
        suite="marts",
        name="mart_reconciliation",
        sql=_RECONCILIATION_SQL,
        how="one row per reconciliation: the total from the facts (or raw.events) and the KPI "
        "mart's total, each one aggregate in DuckDB; GX checks their relative difference",
        checks=(
            each_between(
                "relative_difference",
                None,
                limits.reconcile_tolerance,
                CRITICAL,
                "KPI totals reconcile with the facts",
            ),
        ),
        index=("check", "expected", "reported"),
    )


_MARTS_SUMMARY_SQL = """
    select
        (select count(*) from marts.fct_interactions) as interactions,
        (
            select count(*) from marts.kpi_resolution_speed
            where p90_hours < p50_hours or p90_working_hours < p50_working_hours
        ) as p90_below_p50,
        (
            select count(*) from marts.dim_intents
            where is_support and baseline_source = 'none'
        ) as support_intents_without_baseline,
"""


def marts_summary() -> Dataset:
    """One row of whole-mart facts: not empty, percentiles ordered, baselines present."""
    return Dataset(
        suite="marts",
        name="marts_summary",
        sql=_MARTS_SUMMARY_SQL,
        how="one row of counts over the marts computed in DuckDB; GX checks the row",
        checks=(
            at_least("interactions", 1, CRITICAL, "fct_interactions is not empty"),
            at_most("p90_below_p50", 0, CRITICAL, "every p90 is at least its p50"),
            at_most(
                "support_intents_without_baseline",
                0,
                WARNING,
                "every support intent has a pre-automation baseline",
            ),
        ),
    )


def mart_datasets(limits: Thresholds = DEFAULT_THRESHOLDS) -> list[Dataset]:
    """Every dataset of the marts suite."""
    return [marts_summary(), mart_rates(), mart_durations(), mart_reconciliation(limits)]


# --- validation ---------------------------------------------------------------------------------


def _naive_utc(moment: datetime | None) -> datetime:
    """`moment` (default: now) as a naive UTC time, like the warehouse's timestamps."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def validate_raw(
    connection: duckdb.DuckDBPyConnection,
    data_docs_dir: Path,
    run_id: str,
    *,
    now: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> QualityReport:
    """Validate raw.events and the imported tickets (after loading, before `dbt build`).

    `now` (naive UTC, default the current time) is the moment "future" and "stale" refer to.
    Data Docs go to `<data_docs_dir>/raw/`.
    """
    now = _naive_utc(now)
    datasets = raw_datasets(now, thresholds)
    return validate(connection, datasets, data_docs_dir / "raw", run_id, now)


def validate_marts(
    connection: duckdb.DuckDBPyConnection,
    data_docs_dir: Path,
    run_id: str,
    *,
    now: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> QualityReport:
    """Validate the marts (after `dbt build`, before publishing). Data Docs: `<dir>/marts/`."""
    now = _naive_utc(now)
    return validate(connection, mart_datasets(thresholds), data_docs_dir / "marts", run_id, now)


def validate(
    connection: duckdb.DuckDBPyConnection,
    datasets: Sequence[Dataset],
    site_dir: Path,
    run_id: str,
    checked_at: datetime,
) -> QualityReport:
    """Compute each dataset's frame, validate it with GX and build the Data Docs at `site_dir`.

    One ephemeral GX context per call. A dataset whose query fails (a missing table or column)
    fails all its checks, with the error as details, rather than stopping the run.
    """
    context = _gx_context(site_dir)
    report = QualityReport(run_id=run_id, checked_at=checked_at)
    for dataset in datasets:
        try:
            frame = connection.execute(dataset.sql, dataset.parameters).df()
        except duckdb.Error as error:
            report.results.extend(_errored(dataset, f"query failed: {error}"))
            continue
        report.results.extend(_run_dataset(context, dataset, frame, run_id, checked_at))
    report.data_docs = _build_docs(context, site_dir)
    return report


def _gx_context(site_dir: Path) -> Any:
    """An ephemeral GX context whose only Data Docs site is `site_dir`, with no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(site_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={SITE_NAME: site},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("warehouse")
    return context


def _expectation(check: Check, dataset: Dataset) -> Any:
    """The GX expectation of a check, with its severity, description and how it is evaluated."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    kwargs: dict[str, Any] = dict(check.kwargs)
    if check.subset is not None:
        kwargs["row_condition"] = Column("field") == check.subset
    return getattr(gxe, check.expectation)(
        column=check.column,
        severity=check.severity,
        description=f"{check.severity}: {check.description}",
        notes=dataset.how,
        meta={"key": _key(dataset, check), "severity": check.severity},
        **kwargs,
    )


def _key(dataset: Dataset, check: Check) -> str:
    """The expectation's stable key: dataset.column[subset]:expectation_type."""
    subset = f"[{check.subset}]" if check.subset else ""
    return f"{dataset.name}.{check.column}{subset}:{_snake(check.expectation)}"


def _snake(name: str) -> str:
    """ExpectColumnMaxToBeBetween → expect_column_max_to_be_between."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _run_dataset(
    context: Any, dataset: Dataset, frame: pd.DataFrame, run_id: str, checked_at: datetime
) -> list[ExpectationResult]:
    """Validate one frame with one GX suite and validation definition; return its results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    name = f"{dataset.suite}.{dataset.name}"
    asset = context.data_sources.get("warehouse").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for check in dataset.checks:
        suite.add_expectation(_expectation(check, dataset))
    definition = gx.ValidationDefinition(name=name, data=batch, suite=suite)
    validation = context.validation_definitions.add(definition)
    result_format = {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": list(dataset.index),
    }
    outcome = validation.run(
        batch_parameters={"dataframe": frame},
        result_format=result_format,
        run_id=RunIdentifier(run_name=run_id, run_time=checked_at.replace(tzinfo=UTC)),
    )
    checks = {_key(dataset, check): check for check in dataset.checks}
    return [_result(dataset, checks[r.expectation_config.meta["key"]], r) for r in outcome.results]


def _json(value: Any) -> str | None:
    """JSON text of a GX result value (numpy scalars included); None for None."""
    if value is None:
        return None
    return json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def _result(dataset: Dataset, check: Check, validation: Any) -> ExpectationResult:
    """Our record of one GX expectation result."""
    result = validation.result or {}
    error = validation.exception_info or {}
    details: Any = None
    if error.get("raised_exception"):
        details = error.get("exception_message")
    elif not validation.success:
        details = (
            result.get("partial_unexpected_index_list")
            or result.get("partial_unexpected_list")
            or result.get("partial_missing_list")
        )
    return _record(dataset, check, bool(validation.success), details, result)


def _errored(dataset: Dataset, message: str) -> list[ExpectationResult]:
    """Failed results for every check of a dataset that could not be computed."""
    return [_record(dataset, check, False, message) for check in dataset.checks]


def _record(
    dataset: Dataset,
    check: Check,
    success: bool,
    details: Any = None,
    result: dict[str, Any] | None = None,
) -> ExpectationResult:
    """An ExpectationResult of a check, from GX's result dict (if any) and failure details."""
    result = result or {}
    return ExpectationResult(
        suite=dataset.suite,
        dataset=dataset.name,
        expectation=_key(dataset, check),
        expectation_type=_snake(check.expectation),
        column=check.column,
        description=check.description,
        severity=check.severity,
        success=success,
        observed_value=_json(result.get("observed_value")),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        details=_json(details),
        evaluated_by=dataset.how,
    )


def _build_docs(context: Any, site_dir: Path) -> Path:
    """Replace the site at `site_dir` with this run's Data Docs; refresh the parent index."""
    shutil.rmtree(site_dir, ignore_errors=True)
    context.build_data_docs(site_names=[SITE_NAME])
    _write_index(site_dir.parent)
    return site_dir / "index.html"


def _write_index(data_docs_dir: Path) -> None:
    """A small index.html linking every site (raw, marts) under the Data Docs folder."""
    links = "".join(
        f'<li><a href="{site.parent.name}/index.html">{site.parent.name}</a></li>'
        for site in sorted(data_docs_dir.glob("*/index.html"))
    )
    (data_docs_dir / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Unticket data quality</title>"
        f"<h1>Unticket data quality</h1><p>The latest run of each stage.</p><ul>{links}</ul>\n",
        encoding="utf-8",
    )


# --- results table ------------------------------------------------------------------------------

DQ_RESULTS_DDL = """
create schema if not exists ops;
create table if not exists ops.dq_results (
    run_id varchar not null,
    suite varchar not null,               -- raw_events | imported_tickets | marts
    expectation varchar not null,         -- dataset.column[subset]:expectation_type
    dataset varchar not null,             -- the validated frame, e.g. events_summary
    expectation_type varchar not null,    -- GX expectation, e.g. expect_column_max_to_be_between
    column_name varchar not null,
    description varchar not null,
    severity varchar not null check (severity in ('critical', 'warning')),
    success boolean not null,
    observed_value varchar,               -- JSON
    unexpected_count bigint,
    element_count bigint,
    details varchar,                      -- JSON: failing values or rows, or the error
    evaluated_by varchar not null,        -- how the frame was computed
    checked_at timestamp not null,        -- UTC
    data_docs varchar,                    -- index.html of the run's Data Docs
    primary key (run_id, suite, expectation)
);
"""


def record_results(connection: duckdb.DuckDBPyConnection, report: QualityReport) -> int:
    """Store a report in ops.dq_results (created if missing); return the rows written.

    Idempotent: the report's suites' earlier rows for the same run_id are replaced, in one
    transaction, so re-recording a run never duplicates rows.
    """
    connection.execute(DQ_RESULTS_DDL)
    docs = str(report.data_docs) if report.data_docs else None
    rows = [
        [
            report.run_id,
            *(r.suite, r.expectation, r.dataset, r.expectation_type, r.column, r.description),
            *(r.severity, r.success, r.observed_value, r.unexpected_count, r.element_count),
            *(r.details, r.evaluated_by, report.checked_at, docs),
        ]
        for r in report.results
    ]
    connection.execute("begin transaction")
    try:
        connection.execute(
            "delete from ops.dq_results where run_id = ? and suite in (select unnest(?))",
            [report.run_id, report.suites],
        )
        if rows:
            placeholders = ", ".join("?" * len(rows[0]))
            connection.executemany(f"insert into ops.dq_results values ({placeholders})", rows)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    return len(rows)
