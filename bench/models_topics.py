"""Topic discovery and spike detection on a simulated warehouse.

Simulates a company (default 1,000 employees × 60 days) in a temporary data dir, ingests and
builds its warehouse, then prints the topics of the interactions the engine did not resolve
(size, kind, trend, top terms), and the spikes found against the scenario's incidents
(data/simulation/scenario.yml): precision and recall of the flagged hourly buckets, where a
true bucket is one at the incident's office that overlaps its window, and recall counts the
incident's hourly `vpn_issue` buckets. When the shared Kaggle ticket set is beside the checkout,
topics of 3,000 of its (training) ticket texts are compared with its labels too.

Run: .venv/bin/python bench/models_topics.py [--employees 1000] [--days 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import tempfile
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import yaml
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from models.spikes import detect_spikes, interaction_counts, spike_episodes
from models.topics import Topic, discover_topics, interaction_texts, unmapped_ticket_texts
from pipelines import steps
from resolver.simulation import run_simulation
from settings import PROJECT_ROOT, Settings

START = date(2026, 9, 7)
KAGGLE = (
    PROJECT_ROOT.parent
    / "shared/data/kaggle-it-service-ticket-classification/all_tickets_processed_improved_v3.csv.gz"
)
KAGGLE_ROWS = 3000


def build(data_dir: Path, employees: int, days: int, seed: int) -> Path:
    """Simulate, ingest and build a warehouse in `data_dir`; return the warehouse path."""
    settings = Settings(data_dir=data_dir)
    began = time_module.perf_counter()
    summary = run_simulation(settings, employees=employees, days=days, seed=seed, start=START)
    steps.ingest(settings)
    steps.transform(settings)
    print(
        f"simulated {summary.interactions:,} interactions of {employees:,} employees over "
        f"{days} days and built the warehouse in {time_module.perf_counter() - began:.0f} s"
    )
    return settings.work_warehouse_path


def incident_windows(days: int) -> list[tuple[str, datetime, datetime]]:
    """The scenario's incidents inside the simulated days: office and UTC window (naive)."""
    scenario = yaml.safe_load((PROJECT_ROOT / "data/simulation/scenario.yml").read_text())
    enterprise = yaml.safe_load((PROJECT_ROOT / "data/catalogue/enterprise.yml").read_text())
    zones = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in enterprise["locations"]}
    windows = []
    for incident in scenario["incidents"]:
        if incident["day"] >= days:
            continue
        office = incident["gateway"].removeprefix("gw-")
        local = datetime.combine(START + timedelta(days=incident["day"]), time(), zones[office])
        begin = (local + timedelta(hours=incident["local_start_hour"])).astimezone(UTC)
        begin = begin.replace(tzinfo=None)
        windows.append((office, begin, begin + timedelta(hours=incident["hours"])))
    return windows


def print_topics(title: str, topics: list[Topic]) -> None:
    """One line per topic."""
    print(f"\n{title}: {len(topics)} topics")
    for topic in topics:
        print(
            f"  {topic.topic_id:>2} {topic.size:>5} {topic.kind:<20} {topic.trend:<7} "
            f"gap {topic.knowledge_gap_share:4.0%}  {', '.join(topic.top_terms)}"
        )
        print(f"     e.g. {topic.examples[0][:90]!r}")


def topic_figures(connection: duckdb.DuckDBPyConnection) -> dict:
    """Discover and print the topics of unresolved interactions and of unmapped tickets."""
    texts = interaction_texts(connection)
    began = time_module.perf_counter()
    topics = discover_topics(texts, seed=0)
    seconds = time_module.perf_counter() - began
    print_topics(f"unresolved interactions ({texts.height:,} texts, {seconds:.1f} s)", topics)
    tickets = unmapped_ticket_texts(connection)
    print(f"\nunmapped tickets: {tickets.height} (a simulated warehouse imports none)")
    return {
        "interaction_texts": texts.height,
        "interaction_topics": len(topics),
        "knowledge_gap_topics": sum(t.kind == "knowledge_gap" for t in topics),
        "topics_seconds": round(seconds, 2),
        "unmapped_tickets": tickets.height,
    }


def spike_figures(connection: duckdb.DuckDBPyConnection, days: int) -> dict:
    """Detect spikes hourly and daily; compare the flagged buckets with the incidents."""
    counts = interaction_counts(connection)
    began = time_module.perf_counter()
    spikes = detect_spikes(counts)
    seconds = time_module.perf_counter() - began
    windows = incident_windows(days)
    during = pl.lit(False)
    for office, begin, end in windows:
        during = during | (
            (pl.col("location_id") == office)
            & (pl.col("bucket_start") < end)
            & (pl.col("bucket_end") > begin)
        )
    spikes = spikes.with_columns(during.alias("during"))
    flagged = spikes.filter("is_spike")
    true_flags = flagged.filter("during").height
    incident = spikes.filter(pl.col("during") & (pl.col("intent") == "vpn_issue"))
    episodes = spike_episodes(spikes)
    daily = spike_episodes(detect_spikes(counts, bucket="day"))
    found = sum(
        episodes.filter(
            (pl.col("location_id") == office)
            & (pl.col("intent") == "vpn_issue")
            & (pl.col("started_at") < end)
            & (pl.col("ended_at") > begin)
        ).height
        == 1
        for office, begin, end in windows
    )
    print(f"\nspikes: {spikes.height:,} hourly buckets scored in {seconds:.2f} s")
    for office, begin, end in windows:
        print(f"  incident: VPN gateway at {office}, {begin:%Y-%m-%d %H:%M}-{end:%H:%M} UTC")
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_width_chars=140):
        print(episodes)
        print("daily buckets:", daily.select("intent", "location_id", "started_at").rows())
    figures = {
        "incidents": len(windows),
        "incidents_found_as_one_episode": found,
        "episodes": episodes.height,
        "daily_episodes": daily.height,
        "flagged_buckets": flagged.height,
        "bucket_precision": round(true_flags / flagged.height, 3) if flagged.height else None,
        "bucket_recall": round(incident["is_spike"].sum() / incident.height, 3)
        if incident.height
        else None,
        "spikes_seconds": round(seconds, 2),
    }
    print(
        f"  flagged buckets {figures['flagged_buckets']}, precision {figures['bucket_precision']}"
        f", recall {figures['bucket_recall']}; incidents found {found}/{len(windows)}"
    )
    return figures


def kaggle_figures() -> dict:
    """Topics of real ticket texts against their labels (skipped without the shared data)."""
    if not KAGGLE.exists():
        return {}
    with gzip.open(KAGGLE, "rt", encoding="utf-8", newline="") as handle:
        rows = [row for number, row in enumerate(csv.DictReader(handle)) if number % 5 != 4]
    rows = rows[:KAGGLE_ROWS]  # the training part only: the hold-out stays unseen
    frame = pl.DataFrame(
        {
            "id": [f"k{number:05d}" for number in range(len(rows))],
            "text": [row["Document"] for row in rows],
            "at": [None] * len(rows),
        }
    )
    began = time_module.perf_counter()
    topics = discover_topics(frame, seed=0)
    seconds = time_module.perf_counter() - began
    topic_of = {member: topic.topic_id for topic in topics for member in topic.member_ids}
    labels = [row["Topic_group"] for row in rows]
    found = [topic_of[identifier] for identifier in frame["id"]]
    print_topics(f"\nKaggle ticket texts ({len(rows):,} texts, {seconds:.1f} s)", topics)
    figures = {
        "kaggle_texts": len(rows),
        "kaggle_topics": len(topics),
        "kaggle_nmi": round(normalized_mutual_info_score(labels, found), 3),
        "kaggle_ari": round(adjusted_rand_score(labels, found), 3),
        "kaggle_seconds": round(seconds, 2),
    }
    print(f"  against the 8 labels: NMI {figures['kaggle_nmi']}, ARI {figures['kaggle_ari']}")
    return figures


def run(employees: int = 1000, days: int = 60, seed: int = 7, keep: Path | None = None) -> dict:
    """Build a simulated warehouse, print topics and spikes; return the figures."""
    data_dir = keep or Path(tempfile.mkdtemp(prefix="unticket-bench-topics-"))
    try:
        warehouse = build(data_dir, employees, days, seed)
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            figures = topic_figures(connection) | spike_figures(connection, days)
    finally:
        if keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return figures | kaggle_figures()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the data dir here")
    args = parser.parse_args()
    print(run(args.employees, args.days, args.seed, args.keep))


if __name__ == "__main__":
    main()
