"""The IT-leader report on a real warehouse: simulate 6 weeks → ingest → dbt build → report."""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

from models.pipeline import MART_SCHEMAS, write_mart
from pipelines.report import (
    DeliveryError,
    build_report,
    change_tone,
    compare,
    default_as_of,
    format_change,
    format_value,
    period_bounds,
    period_label,
    post_to_slack,
    render_html,
    report_summary,
    slack_message,
    summarise,
    write_report,
)
from pipelines.warehouse import connect
from settings import Settings, get_settings
from tests.conftest import build_published_warehouse, make_settings
from tests.hostile import PHISHING, live_plotly_markup, strings
from tests.stubs.slack_webhook import PATH, SlackWebhookStub, shape_problems
from unticket.cli import app
from vocabulary.names import named

# Data from Monday 24 Aug to Sunday 4 Oct 2026 (UTC: from the evening of 23 Aug).
FIRST_DAY = date(2026, 8, 24)
AS_OF = date(2026, 10, 5)  # a Monday: the report covers 28 Sep – 4 Oct, against 21 – 27 Sep
SECRET = PATH.rsplit("/", 1)[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("report") / "data", trained_models)
    build_published_warehouse(settings, employees=200, days=42, seed=3, start=FIRST_DAY)
    return settings


@pytest.fixture
def warehouse(built: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built warehouse."""
    connection = connect(built.warehouse_path, read_only=True)
    yield connection
    connection.close()


@pytest.fixture
def writable(built: Settings, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the warehouse, for tables later work will add."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(built.warehouse_path, copy)
    connection = duckdb.connect(str(copy))
    yield connection
    connection.close()


@pytest.fixture
def bare(writable) -> duckdb.DuckDBPyConnection:
    """The warehouse as it is before the automation model and data-quality checks have run."""
    writable.execute("drop table if exists marts.automation_priorities")
    writable.execute("drop table if exists ops.dq_results")
    return writable


@pytest.fixture
def cli_env(built: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI pointed at the built warehouse, with no webhook unless a test sets one."""
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(built.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("UNTICKET_REPORT_SLACK_WEBHOOK_URL", raising=False)
    get_settings.cache_clear()
    yield built
    get_settings.cache_clear()


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 10, 5), (date(2026, 9, 28), date(2026, 10, 4))),  # Monday: the week just ended
        (date(2026, 10, 4), (date(2026, 9, 21), date(2026, 9, 27))),  # Sunday: its week is not over
        (date(2026, 10, 7), (date(2026, 9, 28), date(2026, 10, 4))),  # mid-week
        (date(2027, 1, 4), (date(2026, 12, 28), date(2027, 1, 3))),  # across the new year
        (date(2026, 1, 1), (date(2025, 12, 22), date(2025, 12, 28))),
    ],
)
def test_week_is_the_last_complete_iso_week_before_as_of(as_of, expected) -> None:
    start, end = period_bounds("week", as_of)
    assert (start, end) == expected
    assert start.isoweekday() == 1 and end.isoweekday() == 7 and end < as_of


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 10, 1), (date(2026, 9, 1), date(2026, 9, 30))),  # first day of a month
        (date(2026, 10, 31), (date(2026, 9, 1), date(2026, 9, 30))),  # last day: not complete
        (date(2026, 9, 30), (date(2026, 8, 1), date(2026, 8, 31))),
        (date(2024, 3, 1), (date(2024, 2, 1), date(2024, 2, 29))),  # leap year
        (date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31))),  # across the new year
    ],
)
def test_month_is_the_last_complete_calendar_month_before_as_of(as_of, expected) -> None:
    assert period_bounds("month", as_of) == expected


def test_the_previous_period_is_the_one_before() -> None:
    assert period_bounds("week", date(2026, 9, 28)) == (date(2026, 9, 21), date(2026, 9, 27))
    assert period_bounds("month", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_label("week", date(2026, 12, 28), date(2027, 1, 3)).startswith("Week 2026-W53")
    assert period_label("month", date(2026, 9, 1), date(2026, 9, 30)) == "September 2026"
    with pytest.raises(ValueError, match="week, month"):
        period_bounds("quarter", date(2026, 10, 5))


def test_default_as_of_is_today_unless_the_data_ends_earlier(warehouse) -> None:
    # The data ends on Sunday 4 Oct: a later "today" reports the week ending that Sunday.
    assert default_as_of(warehouse, today=date(2026, 11, 27)) == AS_OF
    assert default_as_of(warehouse, today=date(2026, 9, 30)) == date(2026, 9, 30)
    report = build_report(warehouse, "week", today=date(2026, 11, 27))
    assert (report.start, report.end, report.as_of) == (date(2026, 9, 28), date(2026, 10, 4), AS_OF)
    assert report.as_of_rule.startswith("default")


# --- figures -----------------------------------------------------------------------------------

# The DESIGN.md definitions, re-derived from the facts' base columns (not the mart's flags).
INDEPENDENT_SQL = """
with
period as (
    select * from marts.fct_interactions
    where outcome <> 'pending' and started_at >= $start and started_at < $stop
),
support as (
    select
        *,
        -- what resolving it saved against the baseline ticket, within [0, baseline]
        greatest(
            least(
                baseline_lost_hours
                    - working_seconds_to_resolution / 3600.0 * blocking_factor,
                baseline_lost_hours
            ),
            0
        ) as credit,
        outcome in ('auto_resolved', 'answered')
            and feedback is distinct from 'rejected' and not has_recontact as resolved_for_good
    from period
    where intent not in (select intent from marts.dim_intents where not is_support)
        and (channel <> 'proactive' or employee_messages > 0)  -- offers nobody answered
),
verified as (
    select * from support
    where resolved_for_good and (outcome = 'auto_resolved' or feedback = 'confirmed')
),
self_help as (
    select cost_usd from staging.stg_catalogue__support_costs where support_tier = 'self_help'
),
-- unconfirmed answers to needs the system can resolve, at the intent's confirmation rate
answers as (
    select
        intent,
        sum(case when outcome = 'answered' and feedback is null and resolved_for_good
            and is_automatable_intent then credit else 0 end) as unconfirmed,
        count(*) filter (where outcome = 'answered' and feedback = 'confirmed')
            / nullif(count(*) filter (where was_answered and feedback is not null), 0)
            as confirmation
    from support
    group by intent
),
counted as (
    select
        (select count(*) from period) as interactions,
        (select count(*) from support) as support,
        (select count(*) from support
            where outcome in ('auto_resolved', 'answered')
                and feedback is distinct from 'rejected' and not has_recontact) as deflected,
        (select count(*) from support where outcome = 'auto_resolved') as auto_resolved,
        (select count(*) from support where outcome in ('auto_resolved', 'answered')) as resolved,
        (select count(*) from support
            where outcome in ('auto_resolved', 'answered') and has_recontact) as false_deflected,
        (select count(*) from support where outcome = 'escalated') as escalations,
        (select median(seconds_to_resolution) / 60.0 from support where resolved_at is not null)
            as median_minutes,
        (select coalesce(sum(credit), 0) from verified) as hours_saved,
        (
            select coalesce(sum(
                credit * loaded_hourly_cost + ticket_cost_usd - (select cost_usd from self_help)
            ), 0)
            from verified
        ) as cost_saved,
        (select coalesce(sum(credit), 0) from verified)
            + (select coalesce(sum(unconfirmed * confirmation), 0) from answers)
            as expected_hours_saved,
)
select
    interactions,
    deflected / support,
    auto_resolved / support,
    median_minutes,
    hours_saved,
    cost_saved,
    false_deflected / resolved,
    escalations,
    expected_hours_saved,
from counted
"""
HEADLINE = [
    "interactions",
    "strict_deflection_rate",
    "auto_resolution_rate",
    "median_minutes_to_resolution",
    "hours_saved",
    "cost_saved_usd",
    "false_deflection_rate",
    "escalations",
    "expected_hours_saved",
]


def independent(connection, start: date, end: date) -> dict:
    row = connection.execute(
        INDEPENDENT_SQL, {"start": start, "stop": end + timedelta(days=1)}
    ).fetchone()
    return dict(zip(HEADLINE, row, strict=True))


@pytest.mark.parametrize("period", ["week", "month"])
def test_json_kpis_equal_an_independent_computation_on_the_facts(
    warehouse, tmp_path, period
) -> None:
    report = build_report(warehouse, period, AS_OF)
    summary = json.loads(write_report(report, tmp_path).json.read_text())
    expected = independent(warehouse, report.start, report.end)
    previous = independent(warehouse, report.previous_start, report.previous_end)
    assert expected["interactions"] > 50 and 0 < expected["strict_deflection_rate"] < 1
    assert expected["escalations"] > 0 and expected["false_deflection_rate"] > 0
    for key in HEADLINE:
        assert summary["kpis"][key]["value"] == pytest.approx(expected[key]), key
        assert summary["kpis"][key]["previous"] == pytest.approx(previous[key]), key
    assert summary["start"] == report.start.isoformat() and summary["period"] == period


def test_small_talk_counts_as_an_interaction_but_not_in_the_deflection_denominator(
    writable,
) -> None:
    start, end = period_bounds("week", AS_OF)
    before = summarise(writable, start, end)
    writable.execute(
        """
        insert into marts.fct_interactions
        select * replace (
            'small-talk-1' as interaction_id, 'thanks' as intent, 'answered' as outcome,
            false as is_support, false as is_deflected, 0.0 as hours_saved, 0.0 as cost_saved_usd
        )
        from marts.fct_interactions
        where started_at >= $start and outcome = 'answered' limit 1
        """,
        {"start": start},
    )
    writable.execute(
        """
        insert into marts.kpi_deflection_daily by name
        select $start as day, 'slack' as channel, 'thanks' as intent, 'Sales' as department,
            1 as interactions, 0 as support_interactions
        """,
        {"start": start},
    )
    after = summarise(writable, start, end)
    assert after["interactions"] == before["interactions"] + 1
    assert after["support_interactions"] == before["support_interactions"]
    assert after["strict_deflection_rate"] == before["strict_deflection_rate"]


def test_changes_against_the_previous_period() -> None:
    current = {"interactions": 120, "strict_deflection_rate": 0.62, "escalations": 4}
    previous = {"interactions": 100, "strict_deflection_rate": 0.5, "escalations": 0}
    changes = compare(current | {"hours_saved": None}, previous | {"hours_saved": 10.0})
    assert changes["interactions"]["change"] == 20
    assert changes["interactions"]["relative_change"] == pytest.approx(0.2)
    assert changes["strict_deflection_rate"]["change"] == pytest.approx(0.12)
    assert changes["escalations"]["relative_change"] is None  # nothing to grow from
    assert changes["hours_saved"]["change"] is None
    assert format_change(changes["interactions"]) == "+20 (+20%)"
    assert format_change(changes["strict_deflection_rate"]) == "+12.0 pp"
    assert format_change(changes["hours_saved"]) == "n/a"
    assert change_tone(changes["strict_deflection_rate"]) == "good"
    assert change_tone(changes["escalations"]) == "bad"  # more escalations is worse
    assert change_tone(changes["interactions"]) == "flat"  # volume is neither


def test_report_changes_are_current_minus_previous(warehouse) -> None:
    report = build_report(warehouse, "week", AS_OF)
    assert (report.previous_start, report.previous_end) == (date(2026, 9, 21), date(2026, 9, 27))
    previous = summarise(warehouse, report.previous_start, report.previous_end)
    for key, kpi in report.kpis.items():
        assert kpi["previous"] == previous[key], key
        assert kpi["change"] == pytest.approx(kpi["value"] - kpi["previous"]), key
        if kpi["previous"]:
            assert kpi["relative_change"] == pytest.approx(kpi["change"] / kpi["previous"]), key


def test_sections_reconcile_with_the_headline(warehouse) -> None:
    report = build_report(warehouse, "month", AS_OF)
    kpis = {key: kpi["value"] for key, kpi in report.kpis.items()}
    for rows in (report.deflection_by_intent, report.deflection_by_channel):
        assert sum(r["support_interactions"] for r in rows) == kpis["support_interactions"]
        deflected = sum(r["deflected"] for r in rows)
        assert deflected / kpis["support_interactions"] == pytest.approx(
            kpis["strict_deflection_rate"]
        )
    assert sum(r["hours_saved"] for r in report.savings_by_intent) == pytest.approx(
        kpis["hours_saved"]
    )
    assert sum(r["cost_saved_usd"] for r in report.savings_by_intent) == pytest.approx(
        kpis["cost_saved_usd"]
    )
    total, *by_intent = report.resolution_speed
    assert total["is_total"] and total["p50_hours"] * 60 == pytest.approx(
        kpis["median_minutes_to_resolution"]
    )
    assert all(r["p50_hours"] <= r["p90_hours"] for r in report.resolution_speed)
    assert any(r["baseline_working_hours"] for r in by_intent)
    # August is only partly in the warehouse: the report says so rather than boast of growth.
    assert any("previous period" in note and "partly" in note for note in report.notes)


def test_priorities_fall_back_to_lost_hours_and_say_so(bare) -> None:
    report = build_report(bare, "week", AS_OF)
    assert report.priorities.source == "lost_hours"
    assert "the automation model has not run yet" in report.priorities.note
    expected = bare.execute(
        """
        select intent, sum(coalesce(lost_hours, 0)) from marts.fct_interactions
        where is_support and outcome <> 'pending' and started_at >= $start and started_at < $stop
        group by intent order by 2 desc, intent limit 10
        """,
        {"start": report.start, "stop": report.end + timedelta(days=1)},
    ).fetchall()
    ranked = [(r["issue_type"], r["lost_hours"]) for r in report.priorities.rows]
    assert [intent for intent, _ in ranked] == [intent for intent, _ in expected]
    assert [hours for _, hours in ranked] == pytest.approx([hours for _, hours in expected])
    assert [r["rank"] for r in report.priorities.rows] == list(range(1, len(ranked) + 1))
    assert report.data_quality == {"status": "none", "message": "No data-quality results yet."}


def declared_frame(mart: str, values: dict[str, list[Any]]) -> pl.DataFrame:
    """Rows of a model-written mart in its declared schema: the values given, every other
    declared column filled with ones (numbers) or its name (text)."""
    schema = pl.Schema(MART_SCHEMAS[mart])
    rows = len(next(iter(values.values())))
    filler = {name: [name if dtype == pl.String else 1] * rows for name, dtype in schema.items()}
    return pl.DataFrame(filler | values).cast(dict(schema))


def test_priorities_and_data_quality_come_from_their_tables_once_they_exist(writable) -> None:
    ranked = {"issue_type": ["vpn_issue", "printer_issue", "wifi_issue"], "rank": [2, 1, 3]}
    ranked |= {"expected_hours_saved_per_month": [40.0, 55.5, 12.0]}
    write_mart(writable, "automation_priorities", declared_frame("automation_priorities", ranked))
    writable.execute(
        """
        create schema if not exists ops;
        create or replace table ops.dq_results (
            run_id varchar, suite varchar, expectation varchar, severity varchar,
            success boolean, checked_at timestamp
        );
        insert into ops.dq_results values
            ('run-1', 'events', 'event_id unique', 'critical', false, '2026-10-04 06:00'),
            ('run-2', 'events', 'event_id unique', 'critical', true, '2026-10-05 06:00'),
            ('run-2', 'events', 'channel known', 'critical', true, '2026-10-05 06:00'),
            ('run-2', 'tickets', 'opened before resolved', 'critical', true, '2026-10-05 06:01'),
            ('run-2', 'tickets', 'priority present', 'warning', false, '2026-10-05 06:01');
        """
    )
    report = build_report(writable, "week", AS_OF)
    assert report.priorities.source == "automation_model"
    assert [r["issue_type"] for r in report.priorities.rows] == [
        "printer_issue",
        "vpn_issue",
        "wifi_issue",
    ]
    assert "not run yet" not in report.priorities.note
    quality = report.data_quality
    assert (quality["status"], quality["run_id"]) == ("warning", "run-2")  # the latest run only
    assert (quality["passed"], quality["warnings"], quality["critical"]) == (3, 1, 0)
    assert quality["failures"] == [
        {"suite": "tickets", "expectation": "priority present", "severity": "warning"}
    ]
    html = render_html(report)
    assert "hours saved a month" in html and "priority present" in html
    assert "55.5 h" in html
    assert "not run yet" not in html and "No data-quality results yet" not in html
    writable.execute(
        "insert into ops.dq_results values "
        "('run-3', 'events', 'event_id unique', 'critical', false, '2026-10-06 06:00')"
    )
    assert build_report(writable, "week", AS_OF).data_quality["status"] == "critical"


# --- rendering ---------------------------------------------------------------------------------


class Scripts(HTMLParser):
    """Collects what an HTML page would fetch: script, link, img and iframe sources."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("src", "href") and tag in ("script", "link", "img", "iframe"):
                self.fetches.append(f"{tag} {value}")


def test_the_report_names_intents_and_baseline_sources_and_its_json_keeps_the_ids(
    warehouse, tmp_path
) -> None:
    report = build_report(warehouse, "week", AS_OF)
    page = render_html(report)
    assert "Catalogue assumption" in page and "catalogue_assumption" not in page
    assert "Reset your password" in page and "password_reset" not in page
    summary = json.loads(write_report(report, tmp_path).json.read_text())
    assert "password_reset" in {row["intent"] for row in summary["deflection_by_intent"]}


def test_html_is_self_contained_with_plotly_inlined(bare) -> None:
    html = render_html(build_report(bare, "week", AS_OF))
    assert get_plotlyjs() in html  # the whole library, once
    assert html.count("plotly.js v") == 1
    assert '<script src="http' not in html and "cdn.plot.ly" not in html.split("/**", 1)[0]
    parser = Scripts()
    parser.feed(html)
    assert parser.fetches == []
    for chart in ("intent", "channel", "speed", "savings", "priorities"):
        assert f'id="chart-{chart}"' in html, chart
    for heading in (
        "Deflection by intent",
        "Deflection by channel",
        "Resolution speed against the baseline",
        "Hours and cost saved",
        "Top automation priorities",
        "Data quality",
        "Ranked by lost hours in the period; the automation model has not run yet.",
        "No data-quality results yet.",
        "Week 2026-W40",
    ):
        assert heading in html, heading


HOSTILE_RUN = "<!channel> <https://evil.example/sso|re-verify> @here"


@pytest.fixture
def hostile(writable) -> duckdb.DuckDBPyConnection:
    """The warehouse with hostile text wherever the report shows some: the period's busiest
    intent and a channel are a phishing link, and so are an issue type to automate and a
    failed expectation; the latest data-quality run's id mentions @channel."""
    for column in ("intent", "channel"):
        busiest = writable.execute(
            f"select {column} from marts.kpi_deflection_daily where day >= $start "
            f"group by 1 order by sum(support_interactions) desc limit 1",
            {"start": AS_OF - timedelta(days=7)},
        ).fetchone()[0]
        for table in ("marts.kpi_deflection_daily", "marts.fct_interactions"):
            writable.execute(
                f"update {table} set {column} = $text where {column} = $busiest",
                {"text": PHISHING, "busiest": busiest},
            )
    ranked = {"issue_type": [PHISHING], "rank": [1], "expected_hours_saved_per_month": [40.0]}
    write_mart(writable, "automation_priorities", declared_frame("automation_priorities", ranked))
    writable.execute("create schema if not exists ops")
    writable.execute(
        "create or replace table ops.dq_results as select $run as run_id, 'events' as suite, "
        "$text as expectation, 'warning' as severity, false as success, "
        "timestamp '2026-10-05 06:00' as checked_at",
        {"text": PHISHING, "run": HOSTILE_RUN},
    )
    return writable


def plotted(page: str) -> list[dict[str, Any]]:
    """The data and layout of every chart of a report page (`Plotly.newPlot(id, data, layout,
    config)`), as plotly.js receives them."""
    decoder = json.JSONDecoder()
    figures = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"chart-[a-z]+",\s*', page):
        data, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, re.compile(r"\s*,\s*").match(page, end).end())
        figures.append({"data": data, "layout": layout})
    return figures


class Links(HTMLParser):
    """Collects the links of an HTML page and the elements in its body."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value or "" for name, value in attrs if name in ("href", "src")]


def test_hostile_text_is_shown_as_typed_in_the_report(hostile) -> None:
    page = render_html(build_report(hostile, "week", AS_OF))
    parsed = Links()
    parsed.feed(page)
    assert parsed.links == [] and "a" not in parsed.tags and "img" not in parsed.tags
    assert "&lt;a href=&#34;https://evil.example/sso&#34;&gt;" in page  # in the tables, escaped
    figures = plotted(page)
    assert len(figures) == 5
    assert live_plotly_markup(figures) == []  # plotly would draw the link in axes and hovers
    shown = strings(figures)
    for chart in ("intent", "channel", "speed", "savings", "priorities"):
        assert f'id="chart-{chart}"' in page
    assert sum(html.escape(PHISHING, quote=False) in text for text in shown) >= 5


def test_hostile_text_in_the_slack_summary_links_and_mentions_nothing(hostile, tmp_path) -> None:
    report = build_report(hostile, "week", AS_OF)
    message = slack_message(report_summary(report, write_report(report, tmp_path)))
    assert shape_problems(message) == []
    assert not any("<" in text or ">" in text for text in strings(message))
    texts = [message["blocks"][1]["text"], *message["blocks"][1]["fields"]]
    texts += message["blocks"][2]["elements"]
    assert all(text["type"] == "mrkdwn" and text["verbatim"] for text in texts)  # no auto-links
    assert "&lt;!channel&gt; &lt;https://evil.example/sso|re-verify&gt;" in texts[-1]["text"]


def test_a_period_after_one_without_data_shows_no_change(warehouse) -> None:
    first_month = build_report(warehouse, "month", date(2026, 9, 1))  # August; July is empty
    assert first_month.kpis["interactions"]["value"] > 0
    for kpi in first_month.kpis.values():
        assert kpi["previous"] is None and kpi["change"] is None, kpi["key"]
        assert format_change(kpi) == "n/a" and change_tone(kpi) == "flat", kpi["key"]
    page = render_html(first_month)
    assert "vs 0" not in page and "vs n/a" not in page
    assert page.count("no data in the previous period") == sum(
        kpi["headline"] for kpi in first_month.kpis.values()
    )


def test_an_empty_period_renders_without_charts(warehouse, tmp_path) -> None:
    report = build_report(warehouse, "week", date(2026, 6, 1))
    assert report.kpis["interactions"]["value"] == 0
    assert any("no data" in note for note in report.notes)
    paths = write_report(report, tmp_path)
    html = paths.html.read_text()
    assert "No data in this period." in html and 'id="chart-' not in html
    assert json.loads(paths.json.read_text())["kpis"]["strict_deflection_rate"]["value"] is None


# --- the command -------------------------------------------------------------------------------


def test_cli_writes_both_files_and_prints_a_summary(cli_env, tmp_path) -> None:
    result = runner.invoke(
        app, ["report", "--period", "week", "--as-of", "2026-10-05", "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    html = tmp_path / "unticket-report-week-2026-W40.html"
    summary = json.loads((tmp_path / "unticket-report-week-2026-W40.json").read_text())
    assert html.exists() and summary["files"] == {
        "html": html.name,
        "json": "unticket-report-week-2026-W40.json",
    }
    rate = summary["kpis"]["strict_deflection_rate"]["value"]
    assert "Deflection rate (strict)" in result.output and f"{rate:.1%}" in result.output
    assert "Data quality:" in result.output and str(html) in result.output
    assert "Slack" not in result.output


def test_cli_defaults_to_the_reports_folder(cli_env) -> None:
    result = runner.invoke(app, ["report", "--period", "month", "--as-of", "2026-10-05"])
    assert result.exit_code == 0, result.output
    assert (cli_env.reports_dir / "unticket-report-month-2026-09.html").exists()
    assert (cli_env.reports_dir / "unticket-report-month-2026-09.json").exists()


def test_cli_rejects_bad_options_clearly(cli_env) -> None:
    assert "Example:" in runner.invoke(app, ["report", "--help"]).output
    result = runner.invoke(app, ["report", "--period", "quarter"])
    assert result.exit_code == 2 and "--period must be week or month" in result.output
    result = runner.invoke(app, ["report", "--as-of", "2026-13-01"])
    assert result.exit_code == 2 and "is not a date" in result.output


def test_cli_says_to_build_when_the_marts_are_missing(tmp_path, monkeypatch) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    connect(settings.warehouse_path).close()  # raw tables only: ingested, never built
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["report"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "run `unticket build`" in result.output
    assert not settings.reports_dir.exists()


# --- Slack -------------------------------------------------------------------------------------


@pytest.fixture
def summary(warehouse, tmp_path) -> dict:
    report = build_report(warehouse, "week", AS_OF)
    return report_summary(report, write_report(report, tmp_path))


def test_slack_gets_block_kit_with_the_headline_and_file_name(summary, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with SlackWebhookStub() as slack:
        post_to_slack(summary, slack.url)
    assert slack.problems == [] and len(slack.received) == 1
    assert slack.content_types == ["application/json"]
    message = slack.received[0]
    rate = summary["kpis"]["strict_deflection_rate"]["value"]
    fields = next(b for b in message["blocks"] if b["type"] == "section")["fields"]
    assert any(f"*Deflection rate (strict)*\n{rate:.1%}" in f["text"] for f in fields)
    assert len(fields) == 8
    assert "unticket-report-week-2026-W40.html" in json.dumps(message)
    assert "Week 2026-W40" in message["text"]
    assert SECRET not in caplog.text  # the webhook URL is a secret


def test_slack_error_status_is_a_clear_error_without_the_url(summary) -> None:
    with (
        SlackWebhookStub(status=500, body="internal_error") as slack,
        pytest.raises(DeliveryError) as caught,
    ):
        post_to_slack(summary, slack.url)
    assert str(caught.value) == (
        "Slack delivery failed: the webhook answered HTTP 500 (internal_error)"
    )
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError, match="could not reach the webhook") as caught:
        post_to_slack(summary, f"http://127.0.0.1:{port}{PATH}")
    assert SECRET not in str(caught.value)


def test_cli_posts_to_slack_when_configured(cli_env, tmp_path, monkeypatch) -> None:
    with SlackWebhookStub() as slack:
        monkeypatch.setenv("UNTICKET_REPORT_SLACK_WEBHOOK_URL", slack.url)
        get_settings.cache_clear()
        result = runner.invoke(app, ["report", "--as-of", "2026-10-05", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Posted the summary to Slack." in result.output
    assert slack.problems == [] and len(slack.received) == 1
    assert SECRET not in result.output


def test_cli_slack_failure_is_clear_and_keeps_the_report(cli_env, tmp_path, monkeypatch) -> None:
    with SlackWebhookStub(status=404, body="no_service") as slack:
        monkeypatch.setenv("UNTICKET_REPORT_SLACK_WEBHOOK_URL", slack.url)
        get_settings.cache_clear()
        result = runner.invoke(app, ["report", "--as-of", "2026-10-05", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # a message, not a crash
    assert "Traceback" not in result.output
    assert "Slack delivery failed: the webhook answered HTTP 404 (no_service)" in result.output
    assert "The report is written" in result.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["unticket-report-week-2026-W40.html", "unticket-report-week-2026-W40.json"]
    assert SECRET not in result.output
    assert all(SECRET not in (tmp_path / name).read_text() for name in files)


# --- one definition per rate ---------------------------------------------------------------------


def test_every_consumer_reads_each_rate_from_its_one_definition(cli_env, warehouse) -> None:
    from dashboards import queries
    from pipelines import kpis, metrics, report

    start, end = FIRST_DAY + timedelta(days=7), FIRST_DAY + timedelta(days=20)
    definition = dict(
        zip(
            kpis.HEADLINE_RATES,
            warehouse.execute(
                f"select {metrics.rate_columns(*kpis.HEADLINE_RATES)} "
                "from marts.kpi_deflection_daily where day between ? and ?",
                [start, end],
            ).fetchone(),
            strict=True,
        )
    )
    headline = kpis.headline(warehouse, start, end)
    summary = report.summarise(warehouse, start, end)
    tiles = {
        tile["key"]: tile["value"] for tile in queries.overview(queries.Filters(start, end))[0]
    }
    for key, value in definition.items():
        assert value is not None and getattr(headline, key) == pytest.approx(value), key
        for consumer in (summary, tiles):
            assert consumer.get(key, value) == pytest.approx(value), key
    assert {"strict_deflection_rate", "false_deflection_rate"} <= set(tiles)

    strict = metrics.rate("strict_deflection_rate")
    for row in report.deflection_by(warehouse, "intent", start, end):
        by_definition = warehouse.execute(
            f"select {strict.over_rows()} from marts.kpi_deflection_daily "
            "where intent = ? and day between ? and ?",
            [row["intent"], start, end],
        ).fetchone()[0]
        assert row["strict_deflection_rate"] == pytest.approx(by_definition)


def test_kpis_prints_every_headline_figure_as_the_report_names_and_formats_it(
    cli_env, warehouse
) -> None:
    from pipelines.kpis import ALL_TIME_KPIS, headline

    result = runner.invoke(app, ["kpis"])
    assert result.exit_code == 0, result.output
    figures = headline(warehouse)
    lines = {line.strip("│ ").split("│")[0].strip(): line for line in result.output.splitlines()}
    for kpi in ALL_TIME_KPIS:
        assert kpi.label in lines, kpi.label
        assert format_value(getattr(figures, kpi.key), kpi.unit) in lines[kpi.label], kpi.key
    assert "Deflection rate (strict)" in lines  # the label `vars.kpi_rates` gives it


def _drawn(html: str, div_id: str) -> list[dict[str, Any]]:
    """The traces the report page draws in one chart's div (the data of its `Plotly.newPlot`)."""
    call = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*', html)
    assert call, div_id
    return json.JSONDecoder().raw_decode(html, call.end())[0]


def test_the_report_and_the_dashboards_draw_a_figure_with_one_builder(cli_env, warehouse) -> None:
    import charts
    from dashboards import queries

    built = build_report(warehouse, "week", AS_OF)
    html = render_html(built)
    period = queries.Filters(built.start, built.end)
    by_intent = queries.deflection(period).by_intent
    speed = queries.resolution_speed(period, "intent").percentiles
    ranking = queries.priorities(period)
    labels = built.intent_labels
    dashboards = {  # as the dashboards' pages draw them: ids shown by their names
        "chart-intent": charts.deflection_chart(named(by_intent, labels), "intent"),
        "chart-speed": charts.percentiles_chart(named(speed, labels), "intent"),
        "chart-priorities": charts.priorities_chart(named(ranking.rows, labels), ranking.source),
    }
    for div_id, figure in dashboards.items():
        expected = json.loads(figure.to_json())["data"]
        assert _drawn(html, div_id) == expected, div_id


@pytest.mark.parametrize(
    ("mart", "grain"),
    [
        ("kpi_deflection_daily", "day, channel, intent, department, language"),
        ("kpi_deflection_definitions", "week"),
    ],
)
def test_every_rate_a_mart_holds_is_its_one_definition(warehouse, mart: str, grain: str) -> None:
    from pipelines import metrics

    columns = {row[0] for row in warehouse.execute(f"describe marts.{mart}").fetchall()}
    held = [key for key in metrics.rates() if key in columns]
    assert "strict_deflection_rate" in held and len(held) >= 4
    for key in held:
        differing = warehouse.execute(
            f"select count(*) from (select {grain}, any_value({key}) as held, "
            f"{metrics.rate(key).over_rows()} as defined from marts.{mart} group by {grain}) "
            "where held is distinct from defined"
        ).fetchone()[0]
        assert differing == 0, key
