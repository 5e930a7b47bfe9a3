"""The Streamlit dashboards on a small published warehouse: every page through AppTest, the
query and chart functions on their own, empty states, who sees what (demo mode, sign-in and
roles), and the `unticket dashboard` command."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options
from typer.testing import CliRunner

from catalogue import load_catalogue
from dashboards import access, filters, queries, ui
from dashboards.queries import published
from models.pipeline import (
    SEED,
    occurrences,
    train_and_score,
    warehouse_priorities,
    write_mart,
)
from models.priorities import PRIORITY_COLUMNS, what_if
from models.spikes import detect_spikes, interaction_counts, spike_episodes
from models.topics import DRAFT_STATUS, topics_table
from pipelines.publish import publish_warehouse
from pipelines.report import format_value, summarise
from pipelines.transform import build_warehouse
from pipelines.warehouse import connect
from settings import PROJECT_ROOT, Settings, get_settings
from tests.conftest import build_published_warehouse, copy_data_dir, make_settings
from tests.hostile import FORMULA, LIVE_MARKDOWN, PHISHING, live_plotly_markup, strings
from unticket.cli import app
from vocabulary.names import CHANNEL_NAMES

APP = str(PROJECT_ROOT / "dashboards" / "app.py")
FIRST_DAY = date(2026, 9, 7)
LAST_DAY = date(2026, 9, 27)
PAGES = [
    "overview",
    "deflection",
    "resolution_speed",
    "productivity",
    "priorities",
    "topics",
    "health",
    "ask_it",
]


def published_data_dir(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Path:
    """A data dir with a published warehouse (150 employees, 21 days from 7 Sep 2026) whose
    unrecognised requests are a phishing link (`plant_phishing`), and a recorded pipeline run
    with data-quality results; built once per test session and shared with the browser tests."""
    data_dir = tmp_path_factory.getbasetemp() / "dashboards-data"
    if not (data_dir / "ops.duckdb").exists():
        settings = make_settings(data_dir, trained_models)
        build_published_warehouse(settings, employees=150, days=21, seed=3, start=FIRST_DAY)
        plant_phishing(settings)
        record_pipeline_run(settings)
    return data_dir


def plant_phishing(settings: Settings) -> None:
    """What an attacker test did: several employees (up to four) wrote the phishing link
    `PHISHING`, which the engine did not understand. It becomes the first message of up to four
    unrecognised interactions of as many employees, so it tops the Knowledge gaps chart (the
    simulation leaves only a few requests unrecognised now that replies in every language are
    understood)."""
    connection = duckdb.connect(str(settings.warehouse_path))
    planted = connection.execute(
        """
        update raw.events set text = $text where event_id in (
            select arg_min(event_id, occurred_at) from raw.events
            where event_type = 'message_received' and interaction_id in (
                select any_value(interaction_id) from marts.fct_interactions
                where outcome = 'unrecognized' group by employee_id limit 4
            )
            group by interaction_id
        )
        """,
        {"text": PHISHING},
    ).fetchone()[0]
    connection.close()
    assert planted >= 3


def record_pipeline_run(settings: Settings) -> None:
    """Record a nightly run that checked the data (two data-quality results) and published
    the warehouse, and publish ops.duckdb."""
    from pipelines.quality import DQ_RESULTS_DDL
    from pipelines.steps import StepOutcome, recorded_run

    with recorded_run("nightly", settings) as run:
        run.add(StepOutcome("transform", rows_out=83, summary="83 nodes", seconds=7.2))
        connection = connect(settings.work_warehouse_path)
        connection.execute(DQ_RESULTS_DDL)
        for expectation, severity, success in (
            ("events.event_id:expect_column_values_to_be_unique", "critical", True),
            ("events_summary.hours:expect_column_max_to_be_between", "warning", False),
        ):
            connection.execute(
                "insert into ops.dq_results (run_id, suite, expectation, dataset, "
                "expectation_type, column_name, description, severity, success, evaluated_by, "
                "checked_at) values (?, 'raw_events', ?, 'events', 'expect', 'c', 'd', ?, ?, "
                "'test', ?)",
                [run.run_id, expectation, severity, success, datetime.now(UTC)],
            )
        connection.close()
        run.published = True


@pytest.fixture(autouse=True)
def loopback() -> Iterator[None]:
    """The app runs as `unticket dashboard` starts it: on 127.0.0.1 (demo mode refuses to show
    anything on a server listening beyond loopback)."""
    with patch_config_options({"server.address": "127.0.0.1"}):
        yield


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Path:
    return published_data_dir(tmp_path_factory, trained_models)


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Settings]]:
    """Point every query, page and command at a data dir (UNTICKET_DATA_DIR)."""

    def point(data_dir: Path) -> Settings:
        monkeypatch.setenv("UNTICKET_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        return get_settings()

    yield point
    get_settings.cache_clear()


@pytest.fixture
def settings(point_at: Callable[[Path], Settings], data_dir: Path) -> Settings:
    """Settings on the fixture data dir."""
    return point_at(data_dir)


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def extended_dir(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path, data_dir: Path
) -> Path:
    """A copy of the data dir whose warehouse also has the marts the models write, written by
    the pipeline's own train-and-score step (`models.pipeline.train_and_score`): topics with
    their draft articles (the unrecognised requests include the planted phishing link), then
    automation priorities and spikes by their producers on inputs the small fixture lacks."""
    target = tmp_path_factory.mktemp("extended") / "data"
    settings = make_settings(target, trained_models)
    shutil.copy(data_dir / "warehouse.duckdb", target / "warehouse.duckdb")
    for produce in (
        lambda connection: train_and_score(settings, connection, "dashboards-test"),
        lambda connection: score_priorities(settings, connection),
        score_spikes_with_an_outage,
    ):
        connection = duckdb.connect(str(target / "warehouse.duckdb"))
        try:
            produce(connection)
        finally:
            connection.close()
    return target


def score_priorities(settings: Settings, connection: duckdb.DuckDBPyConnection) -> None:
    """Write `marts.automation_priorities` as the train-and-score step does
    (`warehouse_priorities`), without its floor of 50 occurrences (the fixture has fewer)."""
    assert 0 < occurrences(connection).height < 50  # else train_and_score has written it already
    ranked = warehouse_priorities(connection, load_catalogue(settings.catalogue_dir))
    write_mart(connection, "automation_priorities", ranked)


def score_spikes_with_an_outage(connection: duckdb.DuckDBPyConnection) -> None:
    """Write `marts.spikes` as the train-and-score step does, from the warehouse's hourly
    counts plus a VPN outage in London on the last morning (40 requests in one hour)."""
    counts = interaction_counts(connection)
    outage = pl.DataFrame(
        {
            "intent": ["vpn_issue"],
            "location_id": ["lon"],
            "bucket_start": [datetime(2026, 9, 27, 9)],
            "interactions": [40],
        },
        schema=counts.schema,
    )
    episodes = spike_episodes(detect_spikes(pl.concat([counts, outage])))
    assert episodes.height >= 1
    write_mart(connection, "spikes", episodes)


# A third of the interactions started in German, a third in French, and the rest were logged
# before the engine recorded languages (no `language`: English); reloaded now, so the next
# build rebuilds them.
LANGUAGES_SQL = """
update raw.events as events
set language = chosen.language, loaded_at = now()
from (
    select
        event_id,
        case row_number() over (order by interaction_id) % 3 when 1 then 'de' when 2 then 'fr'
        end as language
    from raw.events
    where event_type = 'interaction_started'
) as chosen
where events.event_id = chosen.event_id
"""


@pytest.fixture(scope="module")
def multilingual_dir(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path, data_dir: Path
) -> Path:
    """A copy of the data dir whose interactions started in English, German and French: the
    languages written into its log, the warehouse built again (by the pipeline's own build)
    and published."""
    target = tmp_path_factory.mktemp("multilingual") / "data"
    copy_data_dir(data_dir, target)
    settings = make_settings(target, trained_models)
    for copy in target.glob("*warehouse.duckdb*"):  # not the working copy (work/)
        copy.unlink()
    connection = connect(settings.work_warehouse_path)
    connection.execute(LANGUAGES_SQL)
    connection.close()
    result = build_warehouse(settings)
    assert result.success, result.failures
    publish_warehouse(settings.work_warehouse_path, settings.warehouse_path)
    return target


def mart(data_dir: Path, name: str) -> pl.DataFrame:
    """A mart of a data dir's published warehouse, as the producer wrote it."""
    connection = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return connection.sql(f"select * from marts.{name}").pl()
    finally:
        connection.close()


def page(name: str, user: dict[str, object] | None = None) -> AppTest:
    """The app, switched to one page and run (as `user`, the claims `st.user` holds)."""
    test = AppTest.from_file(APP, default_timeout=60)
    if user is not None:
        test.user = user
    test.switch_page(f"views/{name}.py").run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def texts(test: AppTest) -> str:
    """All the markdown, captions and info text on the page."""
    elements = [*test.markdown, *test.caption, *test.info, *test.subheader, *test.title]
    return "\n".join(str(e.value) for e in elements)


def spec(test: AppTest, index: int) -> dict:
    """The plotly figure of the page's index-th chart."""
    return json.loads(test.get("plotly_chart")[index].proto.spec)


# --- every page ------------------------------------------------------------------------------

KEY_ELEMENTS = {
    "overview": (
        "Overview",
        3,
        ["Deflection rate (strict)", "Cost saved", "Resolved before reported", "Tickets avoided"],
    ),
    "deflection": ("Deflection", 6, ["The definitions side by side", "Drill down"]),
    "resolution_speed": ("Resolution speed", 2, ["p50 and p90 by intent"]),
    "productivity": ("Productivity impact", 4, ["cause 80 % of lost time", "Cost of lost time"]),
    "priorities": ("Automation priorities", 1, ["automation model has not run yet"]),
    "topics": ("Knowledge gaps and topics", 1, ["Topic discovery has not run yet"]),
    "health": ("Pipeline and data health", 2, ["Data quality", "Pipeline runs"]),
    "ask_it": ("Ask IT", 0, ["Your phone"]),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_its_key_elements_and_says_demo_mode(
    settings: Settings, name: str
) -> None:
    title, charts_shown, phrases = KEY_ELEMENTS[name]
    test = page(name)
    assert [t.value for t in test.title] == [title]
    assert "demo mode" in test.warning[0].value.lower()
    assert "Demo mode" in test.sidebar.caption[0].value
    assert not test.error
    assert len(test.get("plotly_chart")) >= charts_shown
    shown = texts(test) + "\n".join(m.label for m in test.metric)
    for phrase in phrases:
        assert phrase in shown, phrase
    assert len(test.get("download_button")) >= charts_shown


def test_overview_tiles_compare_with_the_previous_period(settings: Settings, warehouse) -> None:
    last = warehouse.execute("select max(day) from marts.kpi_deflection_daily").fetchone()[0]
    test = page("overview")
    test.date_input(key=filters.PERIOD).set_value((date(2026, 9, 21), last)).run()
    tiles = {m.label: m for m in test.metric}
    current = summarise(warehouse, date(2026, 9, 21), last)
    previous = summarise(warehouse, *queries.Filters(date(2026, 9, 21), last).previous)
    assert tiles["Interactions"].value == f"{current['interactions']:,}"
    change = current["interactions"] - previous["interactions"]
    assert tiles["Interactions"].delta.startswith("+" if change >= 0 else "-")
    assert tiles["Deflection rate (strict)"].value == f"{current['strict_deflection_rate']:.1%}"
    assert tiles["Deflection rate (strict)"].delta.endswith(" pp")


def test_overview_shows_what_was_resolved_before_anyone_asked(
    settings: Settings, warehouse
) -> None:
    acted = queries.overview(queries.Filters(FIRST_DAY, LAST_DAY)).proactive
    offers, early = warehouse.execute(
        "select count(*), count(*) filter (where outcome = 'auto_resolved') "
        "from marts.fct_interactions where channel = 'proactive' and intent = 'account_unlock'"
    ).fetchone()
    assert acted["unlock_offers"] == offers
    assert acted["resolved_before_reported"] == early
    asked = warehouse.execute(
        "select count(*) from marts.fct_interactions where channel <> 'proactive' "
        "and intent = 'account_unlock' and outcome <> 'pending'"
    ).fetchone()[0]
    assert asked > 0
    assert acted["share_of_unlocks_before_reported"] == pytest.approx(early / (early + asked))
    figures = {m.label: m.value for m in page("overview").metric}
    assert figures["Unlocked before asked"] == f"{early:,}"


def test_overview_without_a_previous_period_shows_no_change(settings: Settings) -> None:
    test = page("overview")
    assert all(not m.delta for m in test.metric)


def test_filters_apply_and_persist_across_pages(settings: Settings, warehouse) -> None:
    test = page("overview")
    test.multiselect(key="filter_departments").set_value(["eng"]).run()
    test.multiselect(key="filter_channels").set_value(["slack", "teams"]).run()
    expected = warehouse.execute(
        "select count(*) from marts.fct_interactions where department = 'eng' "
        "and channel in ('slack', 'teams') and outcome <> 'pending'"
    ).fetchone()[0]
    assert {m.label: m.value for m in test.metric}["Interactions"] == f"{expected:,}"

    for name in ("deflection", "ask_it", "productivity"):
        test.switch_page(f"views/{name}.py").run()
        assert not test.exception
    assert test.multiselect(key="filter_departments").value == ["eng"]
    assert test.multiselect(key="filter_channels").value == ["slack", "teams"]
    by_department = spec(test, 0)["data"][0]
    assert set(by_department["y"]) == {"eng"}


def test_the_language_filter_narrows_every_deflection_figure(
    point_at, multilingual_dir: Path
) -> None:
    settings = point_at(multilingual_dir)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        facts = {
            row[0]: row[1:]
            for row in warehouse.execute(
                "select language, count(*), count(*) filter (where is_support), "
                "count(*) filter (where is_deflected), "
                "count(*) filter (where is_support and is_false_deflection) "
                "from marts.fct_interactions where outcome <> 'pending' group by 1"
            ).fetchall()
        }
    assert set(facts) == {"en", "de", "fr"}
    interactions, support, deflected, false_deflections = facts["de"]
    assert 0 < interactions < sum(figures[0] for figures in facts.values())

    test = page("overview")
    languages = test.multiselect(key="filter_languages")
    assert languages.options == ["English", "French", "German"]  # shown by name
    languages.set_value(["de"]).run()  # filtered by code
    assert {m.label: m.value for m in test.metric}["Interactions"] == f"{interactions:,}"
    test.switch_page("views/deflection.py").run()
    assert not test.exception
    assert test.multiselect(key="filter_languages").value == ["de"]
    by_language = spec(test, 3)
    assert by_language["layout"]["title"]["text"] == "Deflection by language"
    assert [list(bars["y"]) for bars in by_language["data"]] == [["German"], ["German"]]
    assert set(test.dataframe[-1].value["language"]) == {"German"}

    data = queries.deflection(queries.Filters(FIRST_DAY, LAST_DAY, languages=("de",)))
    for frame in (data.by_intent, data.by_channel, data.by_department, data.by_language):
        assert (frame["support_interactions"].sum(), frame["deflected"].sum()) == (
            support,
            deflected,
        )
    assert data.false_deflections["false_deflections"].sum() == false_deflections
    everyone = queries.deflection(queries.Filters(FIRST_DAY, LAST_DAY)).by_language
    assert everyone["language"].sort().to_list() == ["de", "en", "fr"]
    assert everyone["support_interactions"].sum() == sum(f[1] for f in facts.values())


def test_the_language_filter_applies_to_the_marts_split_by_language() -> None:
    chosen = queries.Filters(date(2026, 9, 1), date(2026, 9, 2), languages=("de", "fr"))
    condition = "coalesce(language, 'unknown') in ('de', 'fr')"
    for mart in ("fct_interactions", "kpi_deflection_daily"):
        assert published.filter_condition(chosen, published.FILTERED_MARTS[mart]) == condition
    assert published.filter_condition(chosen, published.FILTERED_MARTS["kpi_productivity"]) == (
        "true"
    )


def test_reset_forgets_the_filters(settings: Settings) -> None:
    test = page("deflection")
    test.multiselect(key="filter_intents").set_value(["password_reset"]).run()
    test.button(key="filter_reset").click().run()
    assert test.multiselect(key="filter_intents").value == []


def test_deflection_drills_down_to_interactions(settings: Settings, warehouse) -> None:
    test = page("deflection")
    test.selectbox(key="drill_intent").set_value("password_reset").run()
    test.multiselect(key="drill_outcomes").set_value(["auto_resolved"]).run()
    rows = test.dataframe[-1].value
    expected = warehouse.execute(
        "select count(*) from marts.fct_interactions where intent = 'password_reset' "
        "and outcome = 'auto_resolved' and started_at >= date '2026-09-07'"
    ).fetchone()[0]
    assert len(rows) == expected > 0
    assert set(rows["intent"]) == {"Reset your password"} and set(rows["outcome"]) == {
        "Auto-resolved"
    }


def test_pareto_marks_the_80_percent_point(settings: Settings, warehouse) -> None:
    test = page("productivity")
    share = warehouse.execute(
        "select min(share_of_items_driving_80pct) from marts.kpi_impact_pareto "
        "where level = 'ticket'"
    ).fetchone()[0]
    assert f"{share:.0%} of tickets cause 80 % of lost time" in texts(test)
    figure = spec(test, 3)
    assert figure["data"][1]["x"] == [share] and figure["data"][1]["y"] == [0.8]


TICKET_LOST_HOURS_SQL = """
select tickets.ticket_id, lost.lost_hours
from marts.fct_tickets as tickets
inner join marts.kpi_impact_pareto as lost
    on lost.level = 'ticket' and lost.item = tickets.ticket_key
where tickets.opened_at >= ? and tickets.opened_at < ?
"""


def share_driving_80pct(lost_hours: list[float]) -> float:
    """The smallest share of items, largest first, whose lost hours reach 80 % of the total."""
    ranked = sorted(lost_hours, reverse=True)
    running = 0.0
    for rank, hours in enumerate(ranked, 1):
        running += hours
        if running / sum(ranked) >= 0.8:
            return rank / len(ranked)
    raise AssertionError("no lost time")


def test_the_pareto_curve_follows_the_period(settings: Settings, warehouse) -> None:
    last = warehouse.execute("select max(day) from marts.kpi_deflection_daily").fetchone()[0]
    start = last - timedelta(days=6)
    rows = warehouse.execute(TICKET_LOST_HOURS_SQL, [start, last + timedelta(days=1)])
    week = [hours for _, hours in rows.fetchall()]
    all_time = warehouse.execute(
        "select count(*) from marts.kpi_impact_pareto where level = 'ticket'"
    ).fetchone()[0]
    assert 0 < len(week) < all_time
    share = share_driving_80pct(week)
    test = page("productivity")
    test.date_input(key=filters.PERIOD).set_value((start, last)).run()
    assert f"{share:.0%} of tickets cause 80 % of lost time" in texts(test)
    assert f"All {len(week)} tickets opened {start} – {last} and resolved" in texts(test)
    figure = spec(test, 3)
    assert figure["data"][1]["x"] == [pytest.approx(share)]


def test_the_pareto_curve_follows_the_intent_department_and_channel_filters(
    settings: Settings, warehouse
) -> None:
    period = (FIRST_DAY, LAST_DAY + timedelta(days=1))
    tickets = dict(warehouse.execute(TICKET_LOST_HOURS_SQL, period).fetchall())
    interactions = [
        row
        for row in warehouse.execute(
            "select ticket_id, intent, department, channel from marts.fct_interactions"
        ).fetchall()
        if row[0] in tickets  # the tickets resolved, whose working time is known
    ]
    for column, chosen in enumerate(
        ({"intents": ("vpn_issue",)}, {"departments": ("eng",)}, {"channels": ("slack",)}), 1
    ):
        ((value,),) = chosen.values()
        expected = [tickets[row[0]] for row in interactions if row[column] == value]
        assert 0 < len(expected) < len(tickets)
        curve = queries.pareto(queries.Filters(FIRST_DAY, LAST_DAY, **chosen), "ticket")
        assert curve["items"][0] == len(expected)
        assert curve["share_of_items_driving_80pct"][0] == pytest.approx(
            share_driving_80pct(expected)
        )


def test_p50_bars_of_no_working_time_read_0_s(settings: Settings) -> None:
    speed = queries.resolution_speed(queries.Filters(FIRST_DAY, LAST_DAY)).percentiles
    instant = speed.filter(pl.col("p50_working_hours") == 0)["intent"].to_list()
    assert instant  # answered in 0 s of working time: a bar of no length
    p50 = spec(page("resolution_speed"), 1)["data"][0]
    labels = dict(zip(p50["y"], p50["text"], strict=True))
    names = ui.name_of("intent")
    assert {labels[names(intent)] for intent in instant} == {"0 s"}
    assert p50["textposition"] == "outside"


def test_the_partial_last_day_is_no_spike(point_at, tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy(data_dir / "warehouse.duckdb", copy / "warehouse.duckdb")
    connection = duckdb.connect(str(copy / "warehouse.duckdb"))
    through = connection.execute("select max(started_at) from marts.fct_interactions").fetchone()[0]
    # published mid-day: the log runs through the newest interaction's first message
    connection.execute("delete from raw.events where occurred_at > ?", [through])
    connection.close()
    point_at(copy)
    test = page("overview")
    volume, rates = spec(test, 0), spec(test, 1)
    partial = str(through.date())
    for line in rates["data"]:
        assert partial not in {day[:10] for day in line["x"]}
    for bars in volume["data"]:
        assert [day[:10] for day in bars["x"]][-1] == partial
        shapes = bars["marker"]["pattern"]["shape"]
        assert shapes[-1] == "/" and set(shapes[:-1]) == {""}
    for figure, note in ((volume, "partial day: data so far"), (rates, "partial day: left out")):
        assert [shape["x0"][:10] for shape in figure["layout"]["shapes"]] == [
            str(through.date() - timedelta(days=1))  # the column from noon before
        ]
        assert [annotation["text"] for annotation in figure["layout"]["annotations"]] == [note]


def test_pages_show_names_and_downloads_keep_the_ids(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads: dict[str, pl.DataFrame] = {}  # the latest frame offered under each name
    offer = ui.download

    def keep(frame: pl.DataFrame, name: str) -> None:
        downloads[name] = frame
        offer(frame, name)

    monkeypatch.setattr(ui, "download", keep)
    test = page("deflection")
    by_intent, by_channel = spec(test, 0)["data"][0]["y"], spec(test, 1)["data"][0]["y"]
    assert "Fix a VPN connection problem" in by_intent and "vpn_issue" not in by_intent
    assert "Microsoft Teams" in by_channel and "teams" not in by_channel
    assert "vpn_issue" in downloads["deflection-by-intent"]["intent"].to_list()
    assert "teams" in downloads["deflection-by-channel"]["channel"].to_list()

    intents = test.multiselect(key="filter_intents")
    assert "Fix a VPN connection problem" in intents.options and "vpn_issue" not in intents.options
    intents.set_value(["vpn_issue"]).run()  # shown by name, filtered by id
    assert spec(test, 0)["data"][0]["y"] == ["Fix a VPN connection problem"]
    drill = test.multiselect(key="drill_outcomes")
    assert drill.options[:2] == ["Auto-resolved", "Answered"]
    drill.set_value(["auto_resolved"]).run()
    rows = test.dataframe[-1].value
    assert set(rows["intent"]) == {"Fix a VPN connection problem"}
    assert set(rows["outcome"]) == {"Auto-resolved"}
    assert set(rows["channel"]) <= set(CHANNEL_NAMES.values())
    shown = downloads["interactions"]
    assert set(shown["intent"]) == {"vpn_issue"} and set(shown["outcome"]) == {"auto_resolved"}

    speed = page("resolution_speed")
    assert {bars["name"] for bars in spec(speed, 0)["data"]} >= {"Auto-resolved", "Answered"}
    baseline = spec(speed, 1)["data"][2]
    assert set(baseline["customdata"]) == {"Catalogue assumption"}  # no history imported
    assert set(downloads["speed-by-intent"]["baseline_source"]) == {"catalogue_assumption"}


def test_ask_it_chats_with_the_engine_over_several_turns(settings: Settings) -> None:
    test = page("ask_it")
    user = test.selectbox(key="ask_user").value
    test.chat_input[0].set_value("I forgot my password").run()
    assert not test.exception
    first = test.session_state["ask_interaction"]
    assert "6-digit code" in test.chat_message[-1].markdown[0].value
    assert "intent password_reset" in test.chat_message[-1].caption[0].value
    code = re.search(r"\b(\d{6})\b", test.sidebar.markdown[0].value)[1]

    test.chat_input[0].set_value(code).run()
    reply = test.chat_message[-1]
    assert "outcome auto_resolved" in reply.caption[0].value
    assert test.session_state["ask_interaction"] == first
    assert first[:8] in reply.caption[0].value
    assert len(test.chat_message) == 4

    test.chat_input[0].set_value("yes").run()
    assert test.session_state["ask_interaction"] is None  # closed: the next message starts anew

    events = duckdb.sql(
        f"select distinct channel, employee_id from read_json_auto('{settings.events_dir}/**/*.jsonl') "
        f"where interaction_id = '{first}'"
    ).fetchall()
    assert events == [("web", user)]


def test_ask_it_keeps_the_sentence_after_a_menu_out_of_its_last_item(settings: Settings) -> None:
    test = page("ask_it")
    menu = "Which one?\n1. unlock your account\n2. reset your password\nReply with a number."
    test.session_state["ask_history"] = [{"role": "assistant", "text": menu, "details": ""}]
    test.run()
    shown = test.chat_message[0].markdown[0].value
    assert shown.endswith("2. reset your password\n\nReply with a number.")


def test_priorities_show_inputs_and_a_what_if(point_at, extended_dir: Path) -> None:
    point_at(extended_dir)
    ranked = mart(extended_dir, "automation_priorities").sort("rank")
    test = page("priorities")
    assert tuple(test.dataframe[0].value.columns) == PRIORITY_COLUMNS
    assert spec(test, 0)["data"][0]["y"] == ranked["issue_type"].to_list()
    top = ranked.row(0, named=True)
    test.selectbox(key="what_if_issue").set_value(top["issue_type"]).run()
    # the rate starts where comparable automated intents stand, not at 100 %
    assert test.slider[0].value == round(100 * top["comparable_success"]) < 100
    assert top["observed_success"] < 0.9
    test.slider[0].set_value(90).run()
    projected = {m.label: m.value for m in test.metric}
    # what is left × the share of it that resolving 90 % of the requests would add; × the
    # requesters' loaded hourly cost
    share = (0.9 - top["observed_success"]) / (1 - top["observed_success"])
    hours = top["remaining_lost_hours_per_month"] * share
    assert projected["Projected hours saved per month"] == format_value(hours, "hours")
    cost = format_value(hours * top["loaded_hourly_cost"], "usd")
    assert projected["Projected cost saved per month"] == cost
    assert what_if(top, top["issue_type"], 0.9).hours_saved_per_month == pytest.approx(hours)


def test_priorities_price_hours_at_the_rosters_cost_and_rank_what_is_left(
    extended_dir: Path,
) -> None:
    ranked = mart(extended_dir, "automation_priorities")
    connection = duckdb.connect(str(extended_dir / "warehouse.duckdb"), read_only=True)
    try:
        interactions = connection.sql(
            "select intent as issue_type, loaded_hourly_cost, is_deflected "
            "from marts.fct_interactions where is_support and outcome <> 'pending'"
        ).pl()
        categorised = connection.sql(
            "select count(*) from marts.ticket_categories where is_confident"
        ).fetchall()[0][0]
    finally:
        connection.close()
    assert categorised == 0  # so an interaction's issue type is its intent
    by_type = interactions.group_by("issue_type").agg(
        pl.col("loaded_hourly_cost").mean().alias("roster"),
        (~pl.col("is_deflected")).sum().alias("left"),
    )
    joined = ranked.join(by_type, on="issue_type")
    assert joined.height == ranked.height
    assert (joined["loaded_hourly_cost"] - joined["roster"]).abs().max() < 1e-9
    assert (joined["remaining_occurrences"] == joined["left"]).all()
    catalogue = load_catalogue(PROJECT_ROOT / "data" / "catalogue")
    assert (joined["loaded_hourly_cost"] != catalogue.costs["default_loaded_hourly_cost"]).all()


def by_size(topics: pl.DataFrame) -> pl.DataFrame:
    """Topics in the order the page shows them: largest first, the mart's order on ties."""
    return topics.sort("size", descending=True, maintain_order=True)


def test_topics_show_the_producers_clusters_drafts_and_spikes(point_at, extended_dir: Path) -> None:
    point_at(extended_dir)
    topics = by_size(mart(extended_dir, "topics"))
    test = page("topics")
    labels = [", ".join(terms) for terms in topics["top_terms"].head(20)]
    assert spec(test, 0)["data"][0]["y"] == labels
    assert [e.label for e in test.expander] == [ui.inert(t) for t in topics["draft_title"].head(5)]
    shown = [e.markdown[0].value for e in test.expander]
    assert shown == [ui.inert(m).strip() for m in topics["draft_markdown"].head(5)]
    assert len(test.dataframe) == 3  # topics, unrecognised requests, spikes
    spikes = test.dataframe[2].value
    assert ("Fix a VPN connection problem", "lon") in zip(
        spikes["intent"], spikes["location_id"], strict=True
    )


def test_the_topics_page_renders_the_draft_article_the_producer_writes(
    point_at, extended_dir: Path
) -> None:
    """The first draft on the page is the article `models.topics` drafts for the largest topic
    of the warehouse's unresolved requests (recomputed here from the same rows and seed)."""
    point_at(extended_dir)
    connection = duckdb.connect(str(extended_dir / "warehouse.duckdb"), read_only=True)
    try:
        produced = by_size(topics_table(connection, seed=SEED)).row(0, named=True)
    finally:
        connection.close()
    test = page("topics")
    assert "Draft knowledge articles" in texts(test)
    assert test.expander[0].label == ui.inert(produced["draft_title"])
    draft = test.expander[0].markdown[0].value
    assert draft == ui.inert(produced["draft_markdown"]).strip()
    assert f"status: {DRAFT_STATUS}" in draft and "## Symptoms" in draft
    assert ui.inert(produced["examples"][0]) in draft  # its most representative request


HOSTILE_DEPARTMENT = '<a href="https://evil.example/dept">Finance</a> [x](https://evil.example)'
HOSTILE_REQUEST = "[here](https://evil.example) <img src=x onerror=alert(1)> www.x.example"


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory, extended_dir: Path) -> Path:
    """A copy of the extended data dir in which text from employees and imports is hostile
    wherever the pages show it: the requests the engine did not resolve (the unrecognised
    phishing link, and markdown with a link, an image and a bare URL that five employees wrote
    in escalated interactions), hence the topics and their draft articles (the topics producer
    rerun on them), a department's name (from an imported
    roster) and an issue type (a row of the declared priorities schema)."""
    target = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(extended_dir, target)
    connection = duckdb.connect(str(target / "warehouse.duckdb"))
    for table in (
        "raw.employees",
        "marts.dim_employees",
        "marts.fct_interactions",
        "marts.kpi_deflection_daily",
        "marts.kpi_productivity",
    ):
        connection.execute(
            f"update {table} set department = $name where department = 'finance'",
            {"name": HOSTILE_DEPARTMENT},
        )
    planted = connection.execute(
        """
        update raw.events set text = $text where event_id in (
            select arg_min(event_id, occurred_at) from raw.events
            where event_type = 'message_received' and interaction_id in (
                select any_value(interaction_id) from marts.fct_interactions
                where outcome = 'escalated'
                group by employee_id order by employee_id limit 5
            )
            group by interaction_id
        )
        """,
        {"text": HOSTILE_REQUEST},
    ).fetchone()[0]
    assert planted == 5
    write_mart(connection, "topics", topics_table(connection, seed=SEED))
    connection.execute(
        "update marts.automation_priorities set issue_type = $issue where rank = 1",
        {"issue": PHISHING},
    )
    connection.close()
    return target


def shown_texts(test: AppTest) -> list[str]:
    """Every text the page renders as markdown: titles, markdown, captions, alerts, expander
    titles, metric labels and values."""
    elements = [*test.title, *test.subheader, *test.markdown, *test.caption]
    elements += [*test.info, *test.warning, *test.error, *test.success]
    return [str(e.value) for e in elements] + [
        text for e in [*test.expander, *test.metric] for text in (e.label, getattr(e, "value", ""))
    ]


@pytest.mark.parametrize("name", PAGES[:-1])
def test_no_page_draws_hostile_text_as_links_or_markup(
    point_at, hostile_dir: Path, name: str
) -> None:
    point_at(hostile_dir)
    test = page(name)
    figures = [json.loads(chart.proto.spec) for chart in test.get("plotly_chart")]
    assert live_plotly_markup(figures) == []
    assert [text for text in shown_texts(test) if LIVE_MARKDOWN.search(text)] == []


def test_hostile_text_is_shown_as_typed(point_at, hostile_dir: Path) -> None:
    point_at(hostile_dir)
    department = html.escape(HOSTILE_DEPARTMENT, quote=False)
    deflection = strings([json.loads(c.proto.spec) for c in page("deflection").get("plotly_chart")])
    assert department in deflection
    topics = by_size(mart(hostile_dir, "topics")).head(5)
    test = page("topics")
    labels = [e.label for e in test.expander]
    drafts = [e.markdown[0].value for e in test.expander]
    assert labels == [ui.inert(title) for title in topics["draft_title"]]
    assert drafts == [ui.inert(markdown).strip() for markdown in topics["draft_markdown"]]
    assert any(ui.inert(PHISHING) in label for label in labels)
    assert any(ui.inert(HOSTILE_REQUEST) in draft for draft in drafts)


@pytest.mark.parametrize("state", ["no warehouse", "no marts"])
def test_empty_states_say_what_to_run(
    point_at, tmp_path: Path, trained_models: Path, state: str
) -> None:
    data_dir = tmp_path / "data"
    make_settings(data_dir, trained_models)
    if state == "no marts":
        duckdb.connect(str(data_dir / "warehouse.duckdb")).close()
    expected = ui.NO_WAREHOUSE if state == "no warehouse" else ui.NO_MARTS
    point_at(data_dir)
    for name in PAGES[:-2]:  # not health (below) nor Ask IT, which reads no warehouse
        test = page(name)
        assert not test.error, name
        assert [i.value for i in test.info] == [expected], name
    health = page("health")
    assert {m.label: m.value for m in health.metric}["Last pipeline run"] == "none yet"
    assert "No pipeline runs recorded yet" in texts(health)


# --- queries on their own --------------------------------------------------------------------


def test_filters_previous_period_and_span() -> None:
    period = queries.Filters(date(2026, 9, 21), date(2026, 9, 27))
    assert period.previous == (date(2026, 9, 14), date(2026, 9, 20))
    assert period.span == {"start": date(2026, 9, 21), "stop": date(2026, 9, 28)}


def test_filter_values_are_quoted() -> None:
    chosen = queries.Filters(date(2026, 9, 1), date(2026, 9, 2), departments=("o'brien",))
    assert published.filter_condition(chosen, ("department", "intent")) == (
        "coalesce(department, 'unknown') in ('o''brien')"
    )
    assert published.filter_condition(None, ("department",)) == "true"


def test_the_verified_savings_tiles_show_the_expected_figure_beside_them(
    settings: Settings, warehouse
) -> None:
    period = queries.Filters(FIRST_DAY, LAST_DAY)
    tiles = {tile["key"]: tile for tile in queries.overview(period).tiles}
    expected = summarise(warehouse, FIRST_DAY, LAST_DAY)
    assert tiles["hours_saved"]["beside_kpi"]["value"] == expected["expected_hours_saved"]
    assert expected["expected_hours_saved"] >= expected["hours_saved"] > 0
    test = page("overview")
    test.date_input(key=filters.PERIOD).set_value((FIRST_DAY, LAST_DAY)).run()
    shown = format_value(expected["expected_cost_saved_usd"], "usd")
    assert f"expected: {shown}" in [caption.value for caption in test.caption]
    assert "100.0% of the verified hours saved rest on assumed baselines" in texts(test)


def test_productivity_says_what_the_savings_rest_on(settings: Settings, warehouse) -> None:
    basis = queries.savings_basis(queries.Filters(FIRST_DAY, LAST_DAY))
    expected = summarise(warehouse, FIRST_DAY, LAST_DAY)
    assert basis.figures["assumed_baseline_share"] == expected["assumed_baseline_share"] == 1.0
    assert basis.costs["default_hourly_cost"] == 65.0
    test = page("productivity")
    test.date_input(key=filters.PERIOD).set_value((FIRST_DAY, LAST_DAY)).run()
    assert "What the savings rest on" in texts(test)
    figures = {metric.label: metric.value for metric in test.metric}
    assert figures["Verified hours on assumed baselines"] == "100.0%"
    table = next(frame.value for frame in test.dataframe if "baseline_source" in frame.value)
    assert set(table["baseline_source"]) == {"Catalogue assumption"}  # named, not the id
    assert "Fix a VPN connection problem" in set(table["intent"])


def test_overview_tiles_are_the_reports_headline(settings: Settings, warehouse) -> None:
    tiles, trend, _ = queries.overview(queries.Filters(FIRST_DAY, LAST_DAY))
    expected = summarise(warehouse, FIRST_DAY, LAST_DAY)
    assert {tile["key"]: tile["value"] for tile in tiles} == {k: expected[k] for k in queries.TILES}
    assert all(tile["change"] is None for tile in tiles)  # no data before the first day
    assert trend["interactions"].sum() == expected["interactions"]
    assert trend["hours_saved"].sum() == pytest.approx(expected["hours_saved"])


def test_deflection_by_department_reconciles_with_the_facts(settings: Settings, warehouse) -> None:
    data = queries.deflection(queries.Filters(FIRST_DAY, LAST_DAY, channels=("slack",)))
    support, deflected, false_deflections = warehouse.execute(
        "select count(*), count(*) filter (where is_deflected), "
        "count(*) filter (where is_false_deflection) from marts.fct_interactions "
        "where is_support and outcome <> 'pending' and channel = 'slack'"
    ).fetchone()
    for frame in (data.by_department, data.by_intent, data.by_channel):
        assert (frame["support_interactions"].sum(), frame["deflected"].sum()) == (
            support,
            deflected,
        )
    assert data.by_channel["channel"].to_list() == ["slack"]
    assert data.false_deflections["false_deflections"].sum() == false_deflections
    assert data.definitions["week"].to_list() == [
        date(2026, 9, 7),
        date(2026, 9, 14),
        date(2026, 9, 21),
    ]


def test_resolution_speed_counts_every_resolved_interaction(settings: Settings, warehouse) -> None:
    resolved = warehouse.execute(
        "select count(*) from marts.fct_interactions where is_support "
        "and resolved_at is not null and outcome <> 'pending'"
    ).fetchone()[0]
    for dimension in queries.SPEED_DIMENSIONS:
        speed = queries.resolution_speed(queries.Filters(FIRST_DAY, LAST_DAY), dimension)
        assert speed.distribution["interactions"].sum() == resolved
        assert speed.distribution["bucket"].null_count() == 0
        assert speed.percentiles["resolved_interactions"].sum() == resolved, dimension
        assert speed.percentiles.columns[0] == dimension
    by_intent = queries.resolution_speed(queries.Filters(FIRST_DAY, LAST_DAY)).percentiles
    assert {"p50_working_hours", "p90_working_hours", "baseline_working_hours"} <= set(
        by_intent.columns
    )
    with pytest.raises(ValueError, match="dimension must be one of"):
        queries.resolution_speed(queries.Filters(FIRST_DAY, LAST_DAY), "department; drop")


def test_productivity_sums_lost_hours_and_their_cost(settings: Settings, warehouse) -> None:
    data = queries.productivity(queries.Filters(FIRST_DAY, LAST_DAY, intents=("vpn_issue",)))
    lost, cost = warehouse.execute(
        "select sum(lost_hours), sum(lost_hours * loaded_hourly_cost) from marts.fct_interactions "
        "where is_support and outcome <> 'pending' and intent = 'vpn_issue'"
    ).fetchone()
    for frame in data:
        assert frame["lost_hours"].sum() == pytest.approx(lost)
        assert frame["lost_cost_usd"].sum() == pytest.approx(cost)
    assert data.by_intent["intent"].to_list() == ["vpn_issue"]


def test_pareto_curve_keeps_its_ends_and_the_80_percent_point(settings: Settings) -> None:
    curve = queries.pareto(queries.Filters(FIRST_DAY, LAST_DAY), "issue_type")
    share = curve["share_of_items_driving_80pct"][0]
    assert curve["cumulative_share_of_lost_time"][-1] == pytest.approx(1.0)
    assert share in curve["cumulative_share_of_items"].to_list()
    with pytest.raises(ValueError, match="level"):
        queries.pareto(queries.Filters(FIRST_DAY, LAST_DAY), "department")


def test_interactions_drill_down_filters(settings: Settings) -> None:
    period = queries.Filters(FIRST_DAY, LAST_DAY)
    false_only = queries.interactions(period, None, (), True)
    assert false_only.height > 0 and false_only["is_false_deflection"].all()
    assert queries.interactions(period, None, (), False, 5).height == 5


def test_knowledge_reads_unrecognised_requests(settings: Settings) -> None:
    topics, requests, spikes = queries.knowledge(queries.Filters(FIRST_DAY, LAST_DAY))
    assert topics is None and spikes is None  # the models have not written them
    assert requests.height > 0 and requests["request"].null_count() == 0


def test_health_reads_the_ops_file(settings: Settings) -> None:
    runs, published, checks, latest, builds, _ = queries.health()
    assert runs["status"].to_list() == ["succeeded"]
    assert queries.steps_of(runs, runs["run_id"][0])["step"].to_list() == ["transform"]
    assert published["run_id"].to_list() == runs["run_id"].to_list()  # the nightly run
    assert checks.height == 2 and checks["success"].to_list() == [False, True]
    assert checks.equals(latest) and set(checks["flow"]) == {"nightly"}
    assert builds.height >= 1


def test_health_shows_the_checks_of_the_run_that_published(settings: Settings) -> None:
    test = page("health")
    run = queries.health().published_run["run_id"][0]
    assert {m.label: m.value for m in test.metric}["Checks of this warehouse"] == "1 of 2 failed"
    shown = texts(test)
    assert f"The warehouse now published comes from run {run[:8]} (nightly)" in shown
    assert f"The checks of the warehouse now published: run {run[:8]} (nightly)" in shown
    assert not test.warning[1:]  # the demo-mode notice only


def test_health_says_plainly_that_the_published_warehouse_ran_no_checks(
    point_at, tmp_path: Path, data_dir: Path
) -> None:
    from pipelines.steps import recorded_run

    point_at(data_dir)
    nightly = queries.health().published_run["run_id"][0]  # it checked the data
    copy = tmp_path / "data"
    copy_data_dir(data_dir, copy)
    with recorded_run("cli:build", point_at(copy)) as build:  # `unticket build`: no checks
        build.published = True
    test = page("health")
    assert {m.label: m.value for m in test.metric}["Checks of this warehouse"] == "none ran"
    assert f"comes from run {build.run_id[:8]} (cli:build)" in texts(test)
    assert (
        f"(run {build.run_id[:8]} (cli:build)) ran no data-quality checks" in test.warning[1].value
    )
    checked = queries.health().latest_checks["checked_at"][0]
    older = (
        f"Older checks, of an earlier warehouse, not the one now published: run "
        f"{nightly[:8]} (nightly), checked {checked:%Y-%m-%d %H:%M} UTC."
    )
    assert older in texts(test)
    title = spec(test, 1)["layout"]["title"]["text"]
    assert title.startswith(f"Older checks, run {nightly[:8]} (nightly), {checked:%Y-%m-%d}")


def test_a_new_publish_is_picked_up(point_at, tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy(data_dir / "warehouse.duckdb", copy / "warehouse.duckdb")
    point_at(copy)
    assert queries.warehouse_status().ready
    fresh = tmp_path / "fresh.duckdb"
    duckdb.connect(str(fresh)).close()
    fresh.replace(copy / "warehouse.duckdb")  # what publishing does: an atomic rename
    status = queries.warehouse_status()
    assert status.exists and not status.ready and status.marts == frozenset()


def test_period_choices_are_clipped_to_the_data() -> None:
    status = queries.WarehouseStatus(True, first_day=FIRST_DAY, last_day=LAST_DAY)
    assert filters.default_period(status) == (FIRST_DAY, LAST_DAY)
    assert filters.period_of((date(2026, 9, 10),), status) == (date(2026, 9, 10),) * 2
    assert filters.period_of((date(2026, 1, 1), date(2027, 1, 1)), status) == (
        FIRST_DAY,
        LAST_DAY,
    )
    assert filters.period_of((), status) == (FIRST_DAY, LAST_DAY)


def test_the_knowledge_gaps_chart_shows_the_phishing_link_as_typed(settings: Settings) -> None:
    _, requests, _ = queries.knowledge(queries.Filters(FIRST_DAY, LAST_DAY))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        writers = warehouse.execute(
            "select count(distinct employee_id) from raw.events where text = ?", [PHISHING]
        ).fetchone()[0]
    assert writers >= 3 and requests.row(0)[:2] == (PHISHING.lower(), writers)
    chart = spec(page("topics"), 0)  # the most frequent unrecognised requests
    assert chart["data"][0]["y"][0] == html.escape(PHISHING.lower(), quote=False)
    assert live_plotly_markup(chart) == []


def test_csv_download_writes_nested_columns_as_json() -> None:
    frame = pl.DataFrame({"terms": [["vpn", "gateway"]], "size": [3]})
    assert ui.csv_bytes(frame).decode().splitlines() == ["terms,size", '"[""vpn"", ""gateway""]",3']


def test_csv_download_cells_cannot_run_as_formulas() -> None:
    cells = [FORMULA, "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a = b", None]
    frame = pl.DataFrame(
        {
            "request": cells,
            "kind": pl.Series(["-x", *["x"] * 7], dtype=pl.Categorical),
            "change": [-1.5, *range(7)],
        }
    )
    rows = list(csv.reader(io.StringIO(ui.csv_bytes(frame).decode(), newline="")))
    assert rows[1] == ["'" + FORMULA, "'-x", "-1.5"]  # a negative number stays a number
    assert [row[0] for row in rows[2:]] == ["'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "a = b", ""]
    assert ui.csv_bytes(frame).startswith(b"request,kind,change\n\"'=HYPERLINK(")


# --- who sees what --------------------------------------------------------------------------

ISSUER = "http://localhost:9"  # never reached: AppTest seeds the signed-in user's claims


@pytest.fixture
def sign_in(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """The fixture data dir with OpenID Connect sign-in configured."""
    for name, value in {
        "OIDC_ISSUER": ISSUER,
        "OIDC_CLIENT_ID": "unticket",
        "OIDC_CLIENT_SECRET": "secret",
    }.items():
        monkeypatch.setenv(f"UNTICKET_{name}", value)
    get_settings.cache_clear()
    return get_settings()


def employees(settings: Settings, count: int) -> list[tuple[str, str]]:
    """(employee id, e-mail) of the first ordinary employees of the data dir's directory."""
    import sqlite3

    connection = sqlite3.connect(f"file:{settings.state_db}?mode=ro", uri=True)
    try:
        return connection.execute(
            "select employee_id, email from people where level <= 3 order by employee_id limit ?",
            [count],
        ).fetchall()
    finally:
        connection.close()


def signed_in(email: str, roles: object = ()) -> dict[str, object]:
    """The claims `st.user` holds for someone the provider signed in."""
    return {"is_logged_in": True, "email": email, "name": email, "roles": roles}


def shows_data(test: AppTest) -> bool:
    """Whether the page shows anything from the warehouse or the engine."""
    kinds = ("plotly_chart", "metric", "dataframe", "chat_input", "selectbox", "multiselect")
    return any(len(test.get(kind)) for kind in kinds) or len(test.sidebar.markdown) > 0


def test_demo_mode_shows_nothing_on_a_server_beyond_loopback(settings: Settings) -> None:
    with patch_config_options({"server.address": "0.0.0.0"}):  # a bare `streamlit run`
        test = page("overview")
    assert "Demo mode serves this machine only" in test.error[0].value
    assert not test.title and not shows_data(test)


@pytest.mark.parametrize("name", PAGES)
def test_before_sign_in_no_page_shows_data(sign_in: Settings, name: str) -> None:
    test = page(name, {"is_logged_in": False})
    assert [t.value for t in test.title] == ["Unticket"]
    assert [b.label for b in test.button] == ["Sign in"]
    assert not shows_data(test) and not test.warning  # no demo-mode notice either


@pytest.mark.parametrize(
    ("roles", "analytics"),
    [
        (["it_leader"], True),
        ("analyst", True),
        ("employee, analyst", True),
        ([], False),
        ("admin", False),
    ],
)
def test_roles_decide_who_sees_the_analytics(
    sign_in: Settings, roles: object, analytics: bool
) -> None:
    ((_, email),) = employees(sign_in, 1)
    test = page("overview", signed_in(email, roles))
    assert [t.value for t in test.title] == ["Overview" if analytics else "Ask IT"]
    assert bool(test.get("plotly_chart")) is analytics
    assert not test.warning  # no demo-mode notice
    assert "Sign out" in [button.label for button in test.sidebar.button]


def test_the_viewer_comes_from_the_claims(sign_in: Settings) -> None:
    assert access.viewer_of(sign_in, {"is_logged_in": False}) == access.Viewer(demo=False)
    viewer = access.viewer_of(sign_in, signed_in("a@example.com", "analyst it_leader"))
    assert (viewer.signed_in, viewer.identity, viewer.sees_analytics) == (
        True,
        "a@example.com",
        True,
    )
    assert viewer.roles == {access.ANALYST, access.IT_LEADER}
    employee = access.viewer_of(sign_in, signed_in("b@example.com", ["employee"]))
    assert employee.may_chat and not employee.sees_analytics
    assert access.roles_of(None) == frozenset()
    unverified = {**signed_in("c@example.com", "analyst"), "email_verified": False}
    assert access.viewer_of(sign_in, unverified).identity == ""
    demo = access.viewer_of(sign_in.model_copy(update={"oidc_client_id": ""}), signed_in("x"))
    assert demo == access.Viewer(demo=True) and demo.sees_analytics and demo.may_chat


def test_ask_it_as_an_analyst_acts_only_as_themselves(sign_in: Settings) -> None:
    (employee_id, email), (other, _) = employees(sign_in, 2)
    test = page("ask_it", signed_in(email, ["analyst"]))
    assert not test.selectbox  # nobody else to choose
    assert not test.sidebar.subheader  # no simulated phone
    assert employee_id in test.main.text[0].value
    test.session_state["ask_user"] = other  # state of a widget that is not there changes nothing
    test.chat_input[0].set_value("How do I connect to the office wifi?").run()
    assert test.chat_message[0].text[0].value == "How do I connect to the office wifi?"
    interaction = test.session_state["ask_interaction"] or ""
    started = duckdb.sql(
        f"select employee_id, auth_method from read_json_auto('{sign_in.events_dir}/**/*.jsonl', "
        "union_by_name = true) where event_type = 'interaction_started' "
        f"and interaction_id = '{interaction}'"
    ).fetchall()
    assert started == [(employee_id, "oidc")]


def test_ask_it_refuses_someone_the_directory_does_not_know(sign_in: Settings) -> None:
    test = page("ask_it", signed_in("stranger@elsewhere.example", ["analyst"]))
    assert "has no employee with that identity" in test.warning[0].value
    assert not test.chat_input


def test_demo_mode_on_a_real_directory_acts_as_nobody(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards import assistant

    monkeypatch.setattr(assistant, "has_phone", lambda: False)  # e.g. codes go out by e-mail
    test = page("ask_it")
    assert test.selectbox(key="ask_user") and not test.sidebar.subheader  # no phone
    monkeypatch.setattr(assistant, "simulated_enterprise", lambda: False)  # e.g. OpenLDAP
    test = page("ask_it")
    assert "acts only as employees of the simulated enterprise" in test.info[0].value
    assert not test.selectbox and not test.chat_input


def test_chat_text_cannot_inject_links() -> None:
    text = "[click](http://evil.example) <a href=x>y</a> www.evil.example"
    shown = ui.inert(text + " **bold**")
    assert shown.startswith(r"\[click\](http\://evil.example) \<a href=x\>y\</a\> www\.evil")
    assert shown.endswith("**bold**")


# --- the command -----------------------------------------------------------------------------


def test_cli_dashboard_runs_streamlit_on_the_app(monkeypatch, point_at, tmp_path: Path) -> None:
    import subprocess

    calls = []

    class Started:
        """Stands in for the Streamlit process `serve` starts and waits for."""

        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            calls.append((command, env))

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Started)
    point_at(tmp_path)
    result = CliRunner().invoke(app, ["dashboard", "--port", "8599", "--headless"])
    assert result.exit_code == 0, result.output
    command, env = calls[0]
    assert command[1:5] == ["-m", "dashboards.server", "run", APP]
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.port"] == "8599" and options["--server.headless"] == "true"
    assert options["--server.address"] == "127.0.0.1"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--server.showEmailPrompt"] == "false"
    assert "--secrets.files" not in options  # demo mode: no sign-in
    assert env["UNTICKET_DATA_DIR"] == str(tmp_path)
    assert "http://localhost:8599" in result.output and "demo mode" in result.output
    assert "Example: unticket dashboard" in CliRunner().invoke(app, ["dashboard", "--help"]).output


def test_cli_dashboard_in_demo_mode_refuses_other_addresses(
    monkeypatch, point_at, tmp_path: Path
) -> None:
    import subprocess

    from unticket.cli import analytics

    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server started"))
    monkeypatch.setattr(
        analytics, "open_runtime", lambda *a: pytest.fail("the engine was prepared")
    )
    point_at(tmp_path)
    result = CliRunner().invoke(app, ["dashboard", "--address", "0.0.0.0"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "demo mode" in message and "listen on 127.0.0.1 only, not 0.0.0.0" in message
    assert "UNTICKET_OIDC_ISSUER, UNTICKET_OIDC_CLIENT_ID, UNTICKET_OIDC_CLIENT_SECRET" in message
