"""Warehouse scale: ingest and build time, and peak memory, for 1 M and 10 M interactions.

Generates interactions directly in the event format (for this benchmark only; the product's
events come from the engine) with DuckDB, about 5.8 events per interaction over 90 days, then
times `unticket ingest` and `unticket build` in a child process each and reports its peak memory
(max RSS). Then three times appends about 100 k new events and times the incremental ingest,
build and publish (the first two publishes fill the two slots publishing alternates between).

With `--engine spark` (default size 1 M) it builds the same ingested data on DuckDB, then on
Spark in the build's process with `local[1]` and `local[2]` (each a full build), and prints the
three times and the speed-up the second core gives Spark.

Run: .venv/bin/python bench/warehouse.py [--sizes 1000000 10000000] [--keep DIR]
     .venv/bin/python bench/warehouse.py --engine spark [--sizes 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb

from settings import PROJECT_ROOT

INTENTS = [
    "password_reset",
    "account_unlock",
    "mfa_reset",
    "vpn_issue",
    "access_request",
    "software_request",
    "email_issue",
    "printer_issue",
    "wifi_issue",
    "hardware_issue",
    "ticket_status",
    "it_question",
    "human_handoff",
    "greeting",
]
CHANNELS = ["slack", "teams", "web", "api"]
# Publishing alternates between two slot files and patches the changed blocks of the one readers
# are not using; the full build's publish and the first incremental one fill the two slots with
# whole copies, so the third load shows the steady state.
INCREMENTAL_LOADS = 3

GENERATE = """
create or replace temp table interactions as
select
    i,
    md5('bench-' || ?::varchar || '-' || i::varchar) as interaction_id,
    'E' || lpad((1 + hash(i * 31) % 2000)::varchar, 6, '0') as employee_id,
    timestamp '2026-06-01' + to_seconds(i * (90 * 86400.0 / ?) + hash(i) % 600) as started_at,
    list_extract(?::varchar[], 1 + (hash(i * 7) % 14)::integer) as intent,
    list_extract(?::varchar[], 1 + (hash(i * 11) % 4)::integer) as channel,
    case
        when hash(i * 13) % 100 < 45 then 'auto_resolved'
        when hash(i * 13) % 100 < 75 then 'answered'
        when hash(i * 13) % 100 < 93 then 'escalated'
        when hash(i * 13) % 100 < 97 then 'abandoned'
        else 'unrecognized'
    end as outcome,
    hash(i * 17) % 100 < 45 as gives_feedback,
    hash(i * 19) % 100 < 8 as rejects,
    to_seconds(5 + hash(i * 23) % 300) as answer_delay,
    to_seconds(1800 + hash(i * 29) % (5 * 86400)) as ticket_delay
from range(?, ?) as r(i)
"""

EVENTS = """
create or replace temp table bench_events as
with events as (
    select interaction_id || '-s' as event_id, 'interaction_started' as event_type,
           started_at as happened, * from interactions
    union all
    select interaction_id || '-m', 'message_received', started_at, * from interactions
    union all
    select interaction_id || '-d', 'intent_detected', started_at + interval 1 second, *
    from interactions
    union all
    select interaction_id || '-t', 'ticket_opened', started_at + interval 2 second, *
    from interactions where outcome = 'escalated'
    union all
    select interaction_id || '-o', 'outcome_recorded', started_at + answer_delay, *
    from interactions
    union all
    select interaction_id || '-f', 'feedback_received',
        started_at + answer_delay + interval 300 second, *
    from interactions where gives_feedback and outcome in ('auto_resolved', 'answered')
    union all
    select interaction_id || '-c', 'interaction_closed',
        started_at + answer_delay + interval 900 second, *
    from interactions
    union all
    select interaction_id || '-r', 'ticket_status_changed', started_at + ticket_delay, *
    from interactions where outcome = 'escalated'
)
select
    event_id,
    1 as schema_version,
    event_type,
    strftime(happened, '%Y-%m-%dT%H:%M:%S.000Z') as occurred_at,
    interaction_id,
    employee_id,
    channel,
    case when event_type in ('intent_detected', 'outcome_recorded', 'interaction_closed')
        then intent end as intent,
    case when event_type = 'intent_detected' then 0.93 end as confidence,
    case when event_type in ('outcome_recorded', 'interaction_closed') then outcome end as outcome,
    case when event_type = 'feedback_received'
        then case when rejects then 'rejected' else 'confirmed' end end as feedback,
    case when event_type in ('ticket_opened', 'ticket_status_changed')
        or (event_type = 'outcome_recorded' and outcome = 'escalated')
        then 'INC' || interaction_id[1:10] end as ticket_id,
    case when event_type = 'ticket_status_changed' then 'resolved' end as status,
    case when event_type = 'ticket_opened' then 'P3' end as priority,
    cast(happened as date) as date
from events
order by happened  -- the engine appends events as they happen
"""


def _generate(events_dir: Path, first: int, last: int, total: int, tag: str) -> int:
    connection = duckdb.connect()
    connection.execute("set enable_progress_bar = false")
    connection.execute(GENERATE, [tag, total, INTENTS, CHANNELS, first, last])
    connection.execute(EVENTS)
    count = connection.execute("select count(*) from bench_events").fetchone()[0]
    connection.execute(
        f"copy bench_events to '{events_dir}' (format json, partition_by (date), "
        f"file_extension 'jsonl', filename_pattern 'events-bench-{tag}-{{i}}', overwrite_or_ignore)"
    )
    connection.close()
    return count


def generate(events_dir: Path, first: int, last: int, total: int, tag: str) -> int:
    """Write interactions [first, last) as JSON Lines partitioned by date; return events written.

    Runs in a process of its own: a child's peak memory includes its parent's pages up to the
    moment it starts its program, so generating here would inflate the commands' figures."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_generate, events_dir, first, last, total, tag).result()


def timed_command(arguments: list[str], data_dir: Path, **variables: str) -> tuple[float, float]:
    """Run a `unticket` command in a child (with more environment `variables`); return its
    seconds and peak memory (GB: the child's own, not a JVM it starts). The command's own
    timings (`in N s`: the build's dbt and publish parts) are printed."""
    env = {**os.environ, "UNTICKET_DATA_DIR": str(data_dir), "COLUMNS": "200", **variables}
    command = [sys.executable, "-m", "unticket", *arguments]
    began = time.perf_counter()
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command, output)
    for line in output.splitlines():
        if " in " in line and line.rstrip().endswith(" s"):
            print(f"    {arguments[0]}: {line.strip()}")
    return seconds, usage.ru_maxrss / 1024 / 1024


def generated_data_dir(size: int, keep: Path | None) -> Path:
    """A fresh data dir with an enterprise and the event log of `size` interactions."""
    data_dir = keep or Path(tempfile.mkdtemp(prefix=f"unticket-bench-{size}-"))
    events_dir = data_dir / "events"
    shutil.rmtree(data_dir, ignore_errors=True)
    events_dir.mkdir(parents=True)
    timed_command(["enterprise", "init", "--employees", "2000"], data_dir)
    began = time.perf_counter()
    events = generate(events_dir, 0, size, size, "base")
    size_gb = sum(p.stat().st_size for p in events_dir.rglob("*.jsonl")) / 1e9
    print(
        f"{size:,} interactions: {events:,} events, {size_gb:.1f} GB generated in "
        f"{time.perf_counter() - began:.0f} s"
    )
    return data_dir


def measure(size: int, keep: Path | None) -> float:
    """Generate `size` interactions, ingest and build; print and return the total seconds."""
    data_dir = generated_data_dir(size, keep)
    events_dir = data_dir / "events"
    ingest_s, ingest_gb = timed_command(["ingest"], data_dir)
    build_s, build_gb = timed_command(["build"], data_dir)
    total = ingest_s + build_s
    print(
        f"  ingest {ingest_s:.1f} s, build {build_s:.1f} s, total {total:.1f} s; "
        f"peak memory {max(ingest_gb, build_gb):.1f} GB"
    )
    for load in range(1, INCREMENTAL_LOADS + 1):
        first = size + (load - 1) * 17_000
        extra = generate(events_dir, first, first + 17_000, size, f"increment{load}")
        inc_ingest_s, _ = timed_command(["ingest"], data_dir)
        inc_build_s, _ = timed_command(["build"], data_dir)
        print(
            f"  incremental load {load}: {extra:,} new events ingested in {inc_ingest_s:.1f} s, "
            f"built and published in {inc_build_s:.1f} s (total {inc_ingest_s + inc_build_s:.1f} s)"
        )
    if keep is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return total


def measure_spark(size: int, keep: Path | None) -> None:
    """Build `size` ingested interactions on DuckDB, then on Spark with one and two cores
    (each a full build: the Spark folder is removed first); print the times and the speed-up."""
    data_dir = generated_data_dir(size, keep)
    timed_command(["ingest"], data_dir)
    duckdb_s, _ = timed_command(["build", "--engine", "duckdb"], data_dir)
    print(f"  DuckDB build {duckdb_s:.1f} s")
    spark_s = {}
    for cores in (1, 2):
        shutil.rmtree(data_dir / "spark", ignore_errors=True)
        spark_s[cores], _ = timed_command(
            ["build", "--engine", "spark"], data_dir,
            UNTICKET_SPARK_MASTER=f"local[{cores}]", UNTICKET_SPARK_DRIVER_MEMORY="6g",
        )  # fmt: skip
        print(f"  Spark build, local[{cores}]: {spark_s[cores]:.1f} s")
    print(
        f"{size:,} interactions: DuckDB {duckdb_s:.0f} s, Spark local[1] {spark_s[1]:.0f} s, "
        f"local[2] {spark_s[2]:.0f} s; speed-up from the second core {spark_s[1] / spark_s[2]:.2f}"
    )
    if keep is None:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    """Measure each size and the growth ratio between the first two, or the two engines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--keep", type=Path, help="keep the data dir of the last size here")
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    args = parser.parse_args()
    if args.engine == "spark":
        for size in args.sizes or [1_000_000]:
            measure_spark(size, args.keep)
        return
    args.sizes = args.sizes or [1_000_000, 10_000_000]
    totals = [measure(size, args.keep) for size in args.sizes]
    if len(totals) >= 2:
        ratio = totals[1] / totals[0]
        print(f"time ratio {args.sizes[1]:,} / {args.sizes[0]:,}: {ratio:.1f} (goal <= 10)")


if __name__ == "__main__":
    main()
