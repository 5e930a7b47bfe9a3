"""Event ingest: incremental, idempotent, quarantining, and safe across crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from pipelines import ingest
from pipelines.ingest import STALE_AFTER_SECONDS, Segment, ingest_events
from pipelines.warehouse import connect
from resolver.events import EventLog, new_event
from settings import PROJECT_ROOT

START = datetime(2026, 10, 5, 9, tzinfo=UTC)


def write_events(events_dir: Path, count: int, offset: int = 0, days: int = 3) -> None:
    log = EventLog(events_dir, fsync=False)
    batch = [
        new_event(
            "message_received",
            event_id=f"ev{offset + n:07d}",
            occurred_at=START + timedelta(hours=n % (24 * days)),
            interaction_id=f"i{(offset + n) // 3}",
            employee_id="E000010",
            channel="slack",
            text="hello",
            turn=1,
        )
        for n in range(count)
    ]
    log.append(batch)
    log.close()


def counts(connection) -> tuple[int, int]:
    events = connection.execute("select count(*) from raw.events").fetchone()[0]
    quarantined = connection.execute("select count(*) from raw.event_quarantine").fetchone()[0]
    return events, quarantined


def test_loads_new_events_once(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 300)
    assert ingest_events(events_dir, connection).rows_loaded == 300
    assert ingest_events(events_dir, connection).rows_loaded == 0
    write_events(events_dir, 120, offset=300)
    summary = ingest_events(events_dir, connection)
    assert (summary.rows_read, summary.rows_loaded) == (120, 120)
    assert counts(connection) == (420, 0)
    row = connection.execute(
        "select text, turn, occurred_at from raw.events where event_id = 'ev0000001'"
    ).fetchone()
    assert row == ("hello", 1, datetime(2026, 10, 5, 10))


def test_a_whole_file_repeating_ids_loads_each_event_once(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 30)
    lines = next(events_dir.rglob("*.jsonl")).read_bytes().splitlines(keepends=True)
    assert ingest_events(events_dir, connection).rows_loaded == 30
    copy = events_dir / "date=2026-10-05" / "events-copied.jsonl"
    copy.write_bytes(b"".join(lines[:10]) + lines[0])  # ten loaded events, one twice
    summary = ingest_events(events_dir, connection)
    assert (summary.rows_read, summary.rows_loaded) == (11, 0)
    assert summary.notes == ["11 events were already loaded (same event_id)"]
    repeated = events_dir / "date=2026-10-06" / "events-repeated.jsonl"
    new_line = lines[0].replace(b"ev0000000", b"ev9999999")
    repeated.write_bytes(new_line + new_line)
    assert ingest_events(events_dir, connection).rows_loaded == 1
    assert counts(connection) == (31, 0)


def test_malformed_lines_are_quarantined_with_file_line_and_reason(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 5)
    good = orjson.loads(next(events_dir.rglob("*.jsonl")).read_text().splitlines()[0])
    bad_lines = [
        b"{not json",
        b"[1, 2]",
        orjson.dumps({**good, "event_id": ""}),
        orjson.dumps({**good, "event_id": "x1", "schema_version": 99}),
        orjson.dumps({**good, "event_id": "x2", "event_type": "teleported"}),
        orjson.dumps({**good, "event_id": "x3", "occurred_at": "yesterday"}),
        orjson.dumps({**good, "event_id": "x4", "employee_id": 42}),
        orjson.dumps({**good, "event_id": "x5", "interaction_id": None}),
        orjson.dumps({**good, "event_id": "x7", "confidence": "high"}),
        orjson.dumps({**good, "event_id": "x8", "occurred_at": "3026-10-05T10:00:00Z"}),
        orjson.dumps({**good, "event_id": "x6"}),
    ]
    path = events_dir / "date=2026-10-05" / "events-manual.jsonl"
    path.write_bytes(b"\n".join(bad_lines) + b"\n")
    summary = ingest_events(events_dir, connection)
    assert summary.rows_loaded == 6 and summary.rows_quarantined == 10
    reasons = dict(
        connection.execute(
            "select source_line, reason from raw.event_quarantine where source_file = ?",
            [str(path)],
        ).fetchall()
    )
    assert reasons[1] == "not valid JSON"
    assert reasons[2] == "not a JSON object"
    assert reasons[3] == "missing event_id"
    assert reasons[4].startswith("unknown schema_version")
    assert reasons[5].startswith("unknown event_type")
    assert reasons[6].startswith("occurred_at is not")
    assert reasons[7] == "employee_id is not a string"
    assert reasons[8] == "missing interaction_id"
    assert reasons[9] == "confidence is not a double"
    assert reasons[10].startswith("occurred_at out of range")
    assert 11 not in reasons


def test_a_line_being_written_waits_and_a_dead_writers_tail_is_quarantined(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 10)
    path = next(events_dir.rglob("*.jsonl"))
    with path.open("ab") as handle:
        handle.write(b'{"event_id": "half-writ')
    assert ingest_events(events_dir, connection).rows_loaded == 10
    assert counts(connection) == (10, 0)
    old = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(path, (old, old))
    summary = ingest_events(events_dir, connection)
    assert summary.rows_quarantined == 1 and counts(connection) == (10, 1)
    assert ingest_events(events_dir, connection).rows_read == 0


def test_a_failure_mid_run_keeps_whole_batches_and_a_rerun_loads_the_rest(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 600, days=3)
    seen: list[Path] = []

    def crash_on_third_file(path: Path) -> None:
        seen.append(path)
        if len(seen) == 3:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        ingest_events(events_dir, connection, on_file=crash_on_third_file, batch_bytes=1)
    loaded_before_crash = counts(connection)[0]
    assert 0 < loaded_before_crash < 600  # the batches before the crash, each whole
    assert ingest_events(events_dir, connection).rows_loaded == 600 - loaded_before_crash
    assert counts(connection) == (600, 0)
    assert (
        connection.execute("select count(distinct event_id) from raw.events").fetchone()[0] == 600
    )


def test_kill_9_during_ingest_then_rerun(tmp_path: Path) -> None:
    events_dir, database = tmp_path / "events", tmp_path / "w.duckdb"
    write_events(events_dir, 30000, days=30)
    script = (
        "import sys, time; from pathlib import Path\n"
        "from pipelines.ingest import ingest_events; from pipelines.warehouse import connect\n"
        "c = connect(Path(sys.argv[1]))\n"
        "ingest_events(Path(sys.argv[2]), c, on_file=lambda p: time.sleep(0.05), batch_bytes=200_000)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(database), str(events_dir)], cwd=PROJECT_ROOT
    )
    time.sleep(1.5)
    process.kill()
    process.wait()
    connection = connect(database)
    ingest_events(events_dir, connection)
    assert counts(connection) == (30000, 0)
    assert (
        connection.execute("select count(distinct event_id) from raw.events").fetchone()[0] == 30000
    )


def test_a_line_over_the_size_limit_is_quarantined_unread_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 5)
    good = orjson.loads(next(events_dir.rglob("*.jsonl")).read_text().splitlines()[0])
    huge_event = orjson.dumps({**good, "event_id": "huge", "text": "A" * (3 << 20)})
    path = events_dir / "date=2026-10-05" / "events-huge.jsonl"
    lines = [
        orjson.dumps({**good, "event_id": "before"}),
        b"\x1b[31m" + b"B" * (4 << 20),  # not even JSON, with a terminal escape in front
        huge_event,  # a valid event, but 3 MB
        orjson.dumps({**good, "event_id": "after"}),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = ingest_events(events_dir, connection)
    assert (summary.rows_loaded, summary.rows_quarantined) == (7, 2)
    quarantined = connection.execute(
        "select source_line, reason, raw_line from raw.event_quarantine order by source_line"
    ).fetchall()
    assert [(line, reason) for line, reason, _ in quarantined] == [
        (2, f"line of {len(lines[1]):,} bytes, over the 1,048,576-byte limit"),
        (3, f"line of {len(huge_event):,} bytes, over the 1,048,576-byte limit"),
    ]
    assert all(len(raw) <= 80 and "\x1b" not in raw for _, _, raw in quarantined)
    loaded = {row[0] for row in connection.execute("select event_id from raw.events").fetchall()}
    assert {"before", "after"} <= loaded and "huge" not in loaded
    assert ingest_events(events_dir, connection).rows_read == 0


def test_long_lines_are_found_wherever_they_fall(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [b"x" * 100, b"y" * 1500, b"z" * 999, b"w" * 1001, b"v" * 3000, b"u" * 10]
    path.write_bytes(b"\n".join(lines) + b"\n" + b"t" * 2500)  # a partial last line, too
    spans = ingest._long_lines(Segment(path, 0, path.stat().st_size, False), limit=1000)
    found = [path.read_bytes()[start:end][:1] for start, end in spans]
    assert found == [b"y", b"w", b"v", b"t"]
    assert all(end - start in (1500, 1001, 3000, 2500) for start, end in spans)


def test_symbolic_links_in_the_event_log_are_refused_unread(tmp_path: Path) -> None:
    events_dir, connection = tmp_path / "events", connect(tmp_path / "w.duckdb")
    write_events(events_dir, 5)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.jsonl"
    secret.write_text("root:$6$s3cr3tHash:19000:0:99999:7:::\n")
    (events_dir / "date=2026-10-05" / "events-link.jsonl").symlink_to(secret)
    (events_dir / "date=2026-10-07").symlink_to(outside, target_is_directory=True)
    summary = ingest_events(events_dir, connection)
    assert (summary.rows_loaded, summary.rows_quarantined) == (5, 2)
    rows = connection.execute(
        "select source_line, reason, raw_line from raw.event_quarantine"
    ).fetchall()
    assert rows == [(0, "symbolic link refused", None)] * 2
    everything = connection.execute(
        "select string_agg(e::varchar) from raw.events as e"
    ).fetchone()[0]
    assert "s3cr3t" not in everything
    assert ingest_events(events_dir, connection).rows_quarantined == 0  # not counted again
