"""Data quality (Great Expectations) on a real warehouse: simulate → ingest → import → build, then
validate clean and deliberately corrupted copies of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.importers.csv_mapping import import_csv
from pipelines.ingest import ingest_events
from pipelines.quality import (
    ExpectationResult,
    QualityGateError,
    QualityReport,
    quality_dir,
    record_results,
    validate_marts,
    validate_raw,
)
from pipelines.transform import build_warehouse
from pipelines.warehouse import connect
from resolver.simulation import run_simulation
from settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings

JSM_MAPPING = PROJECT_ROOT / "data" / "mappings" / "jsm.yml"
CATEGORIES = ("VPN", "Password reset", "Email", "Printer", "Hardware", "Request access")
PRIORITIES = ("Highest", "High", "Medium", "Low")


def write_ticket_history(path: Path, tickets: int = 24) -> Path:
    """A clean Jira Service Management export of resolved tickets from before the simulation."""
    lines = ["Issue key,Summary,Status,Priority,Created,Resolved,Request Type"]
    for n in range(tickets):
        opened = datetime(2026, 8, 3, 9) + timedelta(days=n % 20, hours=n % 5)
        resolved = opened + timedelta(hours=1 + 3 * (n % 7))
        category = CATEGORIES[n % len(CATEGORIES)]
        lines.append(
            f"ITHELP-{100 + n},Help with {category},Done,{PRIORITIES[n % 4]},"
            f"{opened.isoformat()},{resolved.isoformat()},{category}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Settings:
    """A real working warehouse (what the pipeline validates before publishing): simulated
    events, imported ticket history, dbt-built marts."""
    root = tmp_path_factory.mktemp("quality")
    settings = make_settings(root / "data", trained_models)
    run_simulation(settings, employees=120, days=14, seed=5, start=date(2026, 9, 7))
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    summary = import_csv(write_ticket_history(root / "jsm.csv"), JSM_MAPPING, connection)
    assert summary.rows_quarantined == 0
    connection.close()
    result = build_warehouse(settings)
    assert result.success, result.failures
    return settings


@pytest.fixture(scope="module")
def now(built: Settings) -> datetime:
    """An hour after the newest event: the warehouse is fresh."""
    with duckdb.connect(str(built.work_warehouse_path), read_only=True) as connection:
        newest = connection.execute("select max(occurred_at) from raw.events").fetchone()[0]
    return newest + timedelta(hours=1)


def corrupted(built: Settings, folder: Path, statements: list[str]) -> duckdb.DuckDBPyConnection:
    """A copy of the built working warehouse with `statements` applied to it."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(built.work_warehouse_path, copy)
    connection = duckdb.connect(str(copy))
    for statement in statements:
        connection.execute(statement)
    return connection


def failed(report: QualityReport) -> dict[str, str]:
    """Failed expectations: key → severity."""
    return {r.expectation: r.severity for r in report.results if not r.success}


def result(report: QualityReport, expectation: str) -> ExpectationResult:
    """One expectation's result by key."""
    (found,) = [r for r in report.results if r.expectation == expectation]
    return found


@pytest.fixture(scope="module")
def clean(
    built: Settings, now: datetime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[QualityReport, QualityReport, duckdb.DuckDBPyConnection, Path]]:
    """Both validations of the untouched warehouse (on a copy, which also records results)."""
    connection = corrupted(built, tmp_path_factory.mktemp("clean"), [])
    docs = quality_dir(built)
    raw = validate_raw(connection, docs, "run-clean", now=now)
    marts = validate_marts(connection, docs, "run-clean", now=now)
    yield raw, marts, connection, docs
    connection.close()


def test_a_clean_warehouse_passes_every_expectation(clean) -> None:
    raw, marts, connection, _ = clean
    assert raw.suites == ["raw_events", "imported_tickets"]
    assert marts.suites == ["marts"]
    assert failed(raw) == {} and failed(marts) == {}, raw.summary() + marts.summary()
    assert raw.passed_critical and marts.passed_critical
    assert len(raw.results) >= 25 and len(marts.results) >= 7
    observed = result(raw, "events_summary.events:expect_column_min_to_be_between")
    loaded = connection.execute("select count(*) from raw.events").fetchone()[0]
    assert int(observed.observed_value) == loaded > 500  # the events loaded, counted
    marts.raise_for_critical()  # does not raise


def test_every_expectation_says_how_it_is_evaluated_and_how_bad_it_is(clean) -> None:
    raw, marts, _, _ = clean
    for outcome in raw.results + marts.results:
        assert outcome.severity in ("critical", "warning")
        assert "DuckDB" in outcome.evaluated_by or "information_schema" in outcome.evaluated_by
    severities = {r.expectation: r.severity for r in raw.results + marts.results}
    assert severities["events_summary.duplicate_event_ids:expect_column_max_to_be_between"] == (
        "critical"
    )
    assert severities["event_values.value[channel]:expect_column_values_to_be_in_set"] == "warning"
    assert (
        severities["ticket_priorities.value[priority]:expect_column_values_to_be_in_set"]
        == "warning"
    )
    assert (
        severities["mart_reconciliation.relative_difference:expect_column_values_to_be_between"]
        == "critical"
    )


def test_data_docs_are_written_per_stage_with_an_index(clean) -> None:
    raw, marts, _, docs = clean
    assert raw.data_docs == docs / "raw" / "index.html" and raw.data_docs.exists()
    assert marts.data_docs == docs / "marts" / "index.html" and marts.data_docs.exists()
    pages = list((docs / "raw" / "validations").rglob("*.html"))
    assert len(pages) == 6  # one per dataset
    assert any("critical: event_id is unique" in page.read_text() for page in pages)
    assert all("run-clean" in str(page) for page in pages)
    index = (docs / "index.html").read_text()
    assert 'href="raw/index.html"' in index and 'href="marts/index.html"' in index


def test_results_are_recorded_once_per_run(clean) -> None:
    raw, marts, connection, _ = clean
    assert record_results(connection, raw) == len(raw.results)
    record_results(connection, marts)
    record_results(connection, raw)  # again: replaces, never duplicates
    rows = connection.execute(
        "select suite, severity, count(*), bool_and(success), count(distinct checked_at) "
        "from ops.dq_results where run_id = 'run-clean' group by all order by all"
    ).fetchall()
    counts = {(suite, severity): n for suite, severity, n, _, _ in rows}
    assert sum(counts.values()) == len(raw.results) + len(marts.results)
    assert {suite for suite, _ in counts} == {"raw_events", "imported_tickets", "marts"}
    assert all(ok and moments == 1 for *_, ok, moments in rows)
    duplicates = connection.execute(
        "select observed_value, details, data_docs from ops.dq_results "
        "where expectation = 'events_summary.duplicate_event_ids:expect_column_max_to_be_between'"
    ).fetchone()
    assert duplicates[0] == "0" and duplicates[1] is None and duplicates[2].endswith("index.html")


@pytest.fixture(scope="module")
def broken_raw(built: Settings, now: datetime, tmp_path_factory: pytest.TempPathFactory):
    """Raw data with one critical problem of each kind GX checks (and one that dbt's tests
    catch instead): validated and recorded."""
    connection = corrupted(
        built,
        tmp_path_factory.mktemp("broken-raw"),
        [
            # a re-loaded event (same event_id)
            "insert into raw.events select * from raw.events order by event_id limit 1",
            # an event from a host whose clock is a year ahead
            "insert into raw.events select * replace ('future-1' as event_id, "
            "occurred_at + interval 365 day as occurred_at) from raw.events limit 1",
            # an outcome the KPIs do not know: dbt's accepted_values test on the staging model
            "insert into raw.events select * replace ('odd-outcome' as event_id, "
            "'half_resolved' as outcome) from raw.events where outcome is not null limit 1",
            # an event written by a future version of the engine
            "insert into raw.events select * replace ('v99-1' as event_id, "
            "99 as schema_version) from raw.events limit 1",
            # an imported ticket resolved before it was opened
            "update raw.tickets set resolved_at = opened_at - interval 2 hour "
            "where ticket_id = 'ITHELP-101'",
        ],
    )
    report = validate_raw(connection, tmp_path_factory.mktemp("docs-raw"), "run-broken", now=now)
    record_results(connection, report)
    yield report, connection
    connection.close()


def test_critical_raw_problems_fail_the_gate(broken_raw) -> None:
    report, _ = broken_raw
    assert failed(report) == {
        "events_summary.duplicate_event_ids:expect_column_max_to_be_between": "critical",
        "events_summary.future_events:expect_column_max_to_be_between": "critical",
        "event_values.value[schema_version]:expect_column_values_to_be_in_set": "critical",
        "tickets_summary.resolved_before_opened:expect_column_max_to_be_between": "critical",
    }
    assert not report.passed_critical and report.warnings == []
    assert len(report.failures) == 4
    version = result(report, "event_values.value[schema_version]:expect_column_values_to_be_in_set")
    assert '"99"' in version.details and version.unexpected_count == 1
    lines = report.summary()
    assert "DO NOT PUBLISH" in lines[0] and "4 critical failure(s)" in lines[0]
    assert any("event_id is unique" in line and "— 1" in line for line in lines)
    with pytest.raises(QualityGateError, match="resolved before opened"):
        report.raise_for_critical()


def test_failures_are_recorded_with_observed_values(broken_raw) -> None:
    _, connection = broken_raw
    rows = connection.execute(
        "select expectation, severity, observed_value, unexpected_count, details "
        "from ops.dq_results where run_id = 'run-broken' and not success order by expectation"
    ).fetchall()
    assert [row[1] for row in rows] == ["critical"] * 4
    by_key = {row[0]: row for row in rows}
    assert by_key["events_summary.future_events:expect_column_max_to_be_between"][2] == "1"
    version = by_key["event_values.value[schema_version]:expect_column_values_to_be_in_set"]
    assert version[3] == 1 and '"value": "99"' in version[4]


@pytest.fixture(scope="module")
def warned_raw(built: Settings, now: datetime, tmp_path_factory: pytest.TempPathFactory):
    """Raw data with only warning-level problems, validated ten days after the newest event."""
    connection = corrupted(
        built,
        tmp_path_factory.mktemp("warned-raw"),
        [
            "insert into raw.events select * replace ('fax-1' as event_id, 'fax' as channel) "
            "from raw.events limit 1",
            "update raw.tickets set priority = 'Urgent!!' where ticket_id = 'ITHELP-102'",
        ],
    )
    later = now + timedelta(days=10)
    report = validate_raw(connection, tmp_path_factory.mktemp("docs-warn"), "run-warn", now=later)
    yield report
    connection.close()


def test_warnings_are_reported_but_do_not_fail_the_gate(warned_raw) -> None:
    report = warned_raw
    assert failed(report) == {
        "event_values.value[channel]:expect_column_values_to_be_in_set": "warning",
        "ticket_priorities.value[priority]:expect_column_values_to_be_in_set": "warning",
        "events_summary.hours_since_last_event:expect_column_max_to_be_between": "warning",
    }
    assert report.passed_critical and report.failures == [] and len(report.warnings) == 3
    report.raise_for_critical()
    channel = result(report, "event_values.value[channel]:expect_column_values_to_be_in_set")
    assert '"value": "fax"' in channel.details and '"rows": 1' in channel.details
    assert "publishable" in report.summary()[0]


@pytest.fixture(scope="module")
def broken_marts(built: Settings, now: datetime, tmp_path_factory: pytest.TempPathFactory):
    """Marts with a rate of 1.5 (one dbt does not test), a negative duration, a KPI total off by
    10 hours, and a support intent without a baseline (a warning)."""
    connection = corrupted(
        built,
        tmp_path_factory.mktemp("broken-marts"),
        [
            "update marts.kpi_deflection_daily set answer_rate = 1.5 "
            "where day = (select min(day) from marts.kpi_deflection_daily)",
            "update marts.fct_interactions set seconds_to_resolution = -60 "
            "where interaction_id = (select min(interaction_id) from marts.fct_interactions "
            "where seconds_to_resolution is not null)",
            "update marts.kpi_productivity set hours_saved = hours_saved + 10 "
            "where week = (select min(week) from marts.kpi_productivity)",
            "update marts.dim_intents set baseline_source = 'none' "
            "where intent = (select min(intent) from marts.dim_intents where is_support)",
        ],
    )
    report = validate_marts(connection, tmp_path_factory.mktemp("docs-marts"), "run-m", now=now)
    yield report
    connection.close()


def test_broken_marts_fail_the_right_expectations(broken_marts) -> None:
    report = broken_marts
    assert failed(report) == {
        "mart_rates.max_value:expect_column_values_to_be_between": "critical",
        "mart_durations.min_value:expect_column_values_to_be_between": "critical",
        "mart_reconciliation.relative_difference:expect_column_values_to_be_between": ("critical"),
        "marts_summary.support_intents_without_baseline:expect_column_max_to_be_between": (
            "warning"
        ),
    }
    assert not report.passed_critical and len(report.warnings) == 1
    rates = result(report, "mart_rates.max_value:expect_column_values_to_be_between")
    assert "kpi_deflection_daily.answer_rate" in rates.details and "1.5" in rates.details
    durations = result(report, "mart_durations.min_value:expect_column_values_to_be_between")
    assert "fct_interactions.seconds_to_resolution" in durations.details
    reconciliation = result(
        report, "mart_reconciliation.relative_difference:expect_column_values_to_be_between"
    )
    assert reconciliation.unexpected_count == 1
    assert "kpi_productivity.hours_saved" in reconciliation.details


def test_no_imported_history_is_not_a_problem(
    built: Settings, now: datetime, tmp_path: Path
) -> None:
    tables = ("raw.tickets", "raw.ticket_activities", "raw.import_batches")
    connection = corrupted(built, tmp_path / "w", [f"delete from {table}" for table in tables])
    report = validate_raw(connection, tmp_path / "docs", "run-empty", now=now)
    connection.close()
    assert failed(report) == {}
    tickets = result(
        report, "tickets_summary.tickets_without_opened_at:expect_column_max_to_be_between"
    )
    assert tickets.observed_value == "0"


def test_missing_tables_and_drifted_columns_are_critical(
    built: Settings, now: datetime, tmp_path: Path
) -> None:
    connection = corrupted(
        built,
        tmp_path / "w",
        [
            "drop table marts.kpi_productivity",
            "alter table raw.ticket_activities drop column assignee",
        ],
    )
    marts = validate_marts(connection, tmp_path / "docs", "run-drift", now=now)
    raw = validate_raw(connection, tmp_path / "docs", "run-drift", now=now)
    connection.close()
    reconciliation = result(
        marts, "mart_reconciliation.relative_difference:expect_column_values_to_be_between"
    )
    assert not reconciliation.success and "query failed" in reconciliation.details
    assert "kpi_productivity" in reconciliation.details
    assert failed(raw) == {
        "columns.column_spec:expect_column_distinct_values_to_contain_set": "critical"
    }
    assert "ticket_activities.assignee VARCHAR" in raw.failures[0].details
    assert raw.failures[0].suite == "imported_tickets"


def test_importing_the_module_does_not_import_great_expectations() -> None:
    code = (
        "import sys, pipelines.quality; "
        "print(sorted(m for m in ('great_expectations', 'sklearn', 'pandas') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def dbt_column_tests(folder: str, model: str) -> dict[str, set[str]]:
    """The data tests dbt runs on each column of a model, from its folder's YAML."""
    tests: dict[str, set[str]] = {}
    for path in (PROJECT_ROOT / "dbt" / "models" / folder).glob("_*.yml"):
        for node in yaml.safe_load(path.read_text()).get("models", []):
            if node["name"] == model:
                for column in node.get("columns", []):
                    names = {
                        t if isinstance(t, str) else next(iter(t))
                        for t in column.get("data_tests", [])
                    }
                    tests[column["name"]] = names
    return tests


def test_checks_left_to_dbt_are_dbt_tests_and_not_repeated() -> None:
    from pipelines.quality.marts import RATES
    from pipelines.quality.raw import event_values

    events = dbt_column_tests("staging/unticket", "stg_unticket__events")
    for column in ("event_type", "outcome", "feedback"):
        assert "accepted_values" in events[column]
    assert {c.subset for c in event_values().checks}.isdisjoint(
        {"event_type", "outcome", "feedback"}
    )
    # That their accepted values are the vocabulary's: tests/vocabulary/test_vocabulary.py.
    for model, columns in {
        "kpi_deflection_daily": ("strict_deflection_rate", "auto_resolution_rate"),
        "kpi_deflection_definitions": (
            "strict_deflection_rate",
            "ai_ran_or_positive_rate",
            "bot_effectiveness_rate",
            "lenient_deflection_rate",
        ),
    }.items():
        tested = dbt_column_tests("marts", model)
        for column in columns:
            assert "between_zero_and_one" in tested[column]
            assert column not in RATES.get(model, ())
