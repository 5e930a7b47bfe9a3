"""Spike detection: a seasonal synthetic series with an injected outage, and the simulator's
VPN gateway outage in a small simulated warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from models.spikes import (
    SpikeParameters,
    count_interactions,
    detect_spikes,
    interaction_counts,
    spike_episodes,
)
from settings import PROJECT_ROOT, Settings
from tests.conftest import build_published_warehouse, make_settings

START = datetime(2026, 9, 7)  # a Monday
WEEKS = 6
HOUR_WEIGHT = np.array([0.1] * 7 + [1.5, 3.5, 4.5, 4, 3, 2, 3, 3, 3, 2.5, 1.5] + [0.3] * 6)
WEEKDAY_FACTOR = np.array([1.25, 1.1, 1.0, 0.95, 0.8, 0.1, 0.1])
OUTAGE_START = START + timedelta(weeks=4, days=2, hours=9)  # a Wednesday, 09:00
OUTAGE_HOURS = 3


def seasonal_counts(seed: int = 7, outage_per_hour: int = 20) -> pl.DataFrame:
    """Hourly counts for two intents at one office: a weekday × hour rhythm, password resets
    three times as frequent on Monday mornings, and a VPN outage on one Wednesday morning."""
    rng = np.random.default_rng(seed)
    hours = np.arange(WEEKS * 168)
    weekday, hour = (hours // 24) % 7, hours % 24
    rhythm = WEEKDAY_FACTOR[weekday] * HOUR_WEIGHT[hour] / HOUR_WEIGHT.sum()
    monday_morning = (weekday == 0) & (hour >= 7) & (hour < 11)
    means = {
        "password_reset": 40 * rhythm * np.where(monday_morning, 3.0, 1.0),
        "vpn_issue": 15 * rhythm,
    }
    rows = []
    for intent, mean in means.items():
        counts = rng.poisson(mean)
        if intent == "vpn_issue":
            first = (OUTAGE_START - START) // timedelta(hours=1)
            counts[first : first + OUTAGE_HOURS] += outage_per_hour
        rows += [
            (intent, "lon", START + timedelta(hours=int(h)), int(c))
            for h, c in zip(hours, counts, strict=True)
            if c
        ]
    return pl.DataFrame(
        rows, schema=["intent", "location_id", "bucket_start", "interactions"], orient="row"
    )


def test_the_outage_is_flagged_exactly_and_makes_one_episode() -> None:
    spikes = detect_spikes(seasonal_counts())
    flagged = spikes.filter("is_spike")
    outage = [OUTAGE_START + timedelta(hours=h) for h in range(OUTAGE_HOURS)]
    assert flagged.select("intent", "location_id").unique().rows() == [("vpn_issue", "lon")]
    assert flagged["bucket_start"].to_list() == outage
    assert (flagged["actual"] > 5 * flagged["expected"]).all()

    episodes = spike_episodes(spikes)
    assert episodes.height == 1
    episode = episodes.row(0, named=True)
    assert (episode["intent"], episode["location_id"]) == ("vpn_issue", "lon")
    assert episode["started_at"] == OUTAGE_START
    assert episode["ended_at"] == OUTAGE_START + timedelta(hours=OUTAGE_HOURS)
    assert episode["interactions"] == flagged["actual"].sum()
    assert episode["peak_ratio"] > 5


def test_monday_morning_peaks_are_expected_not_spikes() -> None:
    counts = seasonal_counts()
    spikes = detect_spikes(counts)
    mondays = spikes.filter(
        (pl.col("intent") == "password_reset")
        & (pl.col("bucket_start").dt.weekday() == 1)
        & pl.col("bucket_start").dt.hour().is_between(7, 10)
    )
    # The peaks are real and large: far above the series' average hour...
    average = counts.filter(intent="password_reset")["interactions"].sum() / (WEEKS * 168)
    assert mondays["actual"].mean() > 8 * average
    # ...yet expected, because the baseline knows the hour of the week.
    assert not mondays["is_spike"].any()
    assert mondays["expected"].sum() > 0.7 * mondays["actual"].sum()
    assert not spikes.filter(intent="password_reset")["is_spike"].any()


def test_daily_buckets_flag_the_outage_day() -> None:
    spikes = detect_spikes(seasonal_counts(), bucket="day")
    flagged = spikes.filter("is_spike")
    assert flagged.select("intent", "bucket_start").rows() == [
        ("vpn_issue", OUTAGE_START.replace(hour=0))
    ]
    assert spikes["bucket_end"].to_list() == [
        start + timedelta(days=1) for start in spikes["bucket_start"]
    ]


def test_nothing_is_scored_without_enough_history_and_results_are_deterministic() -> None:
    counts = seasonal_counts()
    first = detect_spikes(counts)
    assert first.equals(detect_spikes(counts.sample(fraction=1.0, shuffle=True, seed=3)))
    assert first["bucket_start"].min() == START + timedelta(weeks=2)
    assert first["expected"].min() >= SpikeParameters().min_expected
    assert detect_spikes(
        counts.filter(pl.col("bucket_start") < START + timedelta(days=10))
    ).is_empty()
    empty = detect_spikes(counts.clear())
    assert empty.is_empty() and spike_episodes(empty).is_empty()


def test_the_rule_follows_its_parameters() -> None:
    counts = seasonal_counts()
    assert not detect_spikes(counts, parameters=SpikeParameters(min_count=30))["is_spike"].any()
    assert not detect_spikes(counts, parameters=SpikeParameters(min_score=400))["is_spike"].any()
    later = detect_spikes(counts, parameters=SpikeParameters(min_history_weeks=3))
    assert later["bucket_start"].min() == START + timedelta(weeks=3)


def test_counting_buckets_interactions_per_intent_and_location() -> None:
    at = datetime(2026, 9, 7, 9, 15)
    interactions = pl.DataFrame(
        {
            "intent": ["vpn_issue", "vpn_issue", "vpn_issue", None],
            "location_id": ["lon", "lon", "lon", None],
            "started_at": [at, at + timedelta(minutes=30), at + timedelta(hours=1), at],
        }
    )
    assert count_interactions(interactions).rows() == [
        ("unknown", "unknown", datetime(2026, 9, 7, 9), 1),
        ("vpn_issue", "lon", datetime(2026, 9, 7, 9), 2),
        ("vpn_issue", "lon", datetime(2026, 9, 7, 10), 1),
    ]
    assert count_interactions(interactions, "day")["interactions"].to_list() == [1, 3]


# -- the simulator's VPN gateway outage -------------------------------------------------------

SIM_START = date(2026, 9, 7)


def outage_window(start: date) -> tuple[str, datetime, datetime]:
    """The first incident of the scenario: its office and UTC window (naive, as in marts)."""
    scenario = yaml.safe_load((PROJECT_ROOT / "data/simulation/scenario.yml").read_text())
    enterprise = yaml.safe_load((PROJECT_ROOT / "data/catalogue/enterprise.yml").read_text())
    incident = scenario["incidents"][0]
    office = incident["gateway"].removeprefix("gw-")
    zone = next(loc["timezone"] for loc in enterprise["locations"] if loc["id"] == office)
    local = datetime.combine(start + timedelta(days=incident["day"]), time(), ZoneInfo(zone))
    begin = (local + timedelta(hours=incident["local_start_hour"])).astimezone(UTC)
    begin = begin.replace(tzinfo=None)
    return office, begin, begin + timedelta(hours=incident["hours"])


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("spikes") / "data", trained_models)
    build_published_warehouse(settings, employees=400, days=40, seed=5, start=SIM_START)
    return settings


def test_the_simulated_vpn_gateway_outage_is_one_episode_and_the_only_one(
    simulated: Settings,
) -> None:
    office, begin, end = outage_window(SIM_START)
    with duckdb.connect(str(simulated.work_warehouse_path), read_only=True) as connection:
        counts = interaction_counts(connection)
        rows = connection.sql("select intent, location_id, started_at from marts.fct_interactions")
        assert counts.equals(count_interactions(rows.pl()))
    spikes = detect_spikes(counts)
    episodes = spike_episodes(spikes)
    vpn = episodes.filter(intent="vpn_issue", location_id=office)
    assert vpn.height == 1
    assert vpn["started_at"][0] < end and vpn["ended_at"][0] > begin
    assert vpn["interactions"][0] > 10 * vpn["expected"][0]
    outside = episodes.filter(
        (pl.col("location_id") != office)
        | (pl.col("ended_at") <= begin)
        | (pl.col("started_at") >= end)
    )
    assert outside.is_empty()
