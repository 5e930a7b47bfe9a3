from datetime import UTC, datetime

import pytest

from resolver.events import EventLog, format_time, new_event, parse_time, read_events


def make(event_type: str, day: int, n: int) -> dict:
    return new_event(
        event_type,
        event_id=f"id-{day}-{n}",
        occurred_at=datetime(2026, 3, day, 23, 59, tzinfo=UTC),
        interaction_id="i1",
        employee_id="E000001",
        channel="api",
        n=n,
    )


def test_batches_are_partitioned_by_day_and_read_back(tmp_path) -> None:
    log = EventLog(tmp_path)
    log.append([make("message_received", 1, 1), make("reply_sent", 2, 2)])
    log.append([make("reply_sent", 2, 3)])
    log.close()
    assert sorted(p.parent.name for p in tmp_path.rglob("*.jsonl")) == [
        "date=2026-03-01",
        "date=2026-03-02",
    ]
    assert [e["n"] for e in read_events(tmp_path)] == [1, 2, 3]


def test_two_writers_never_share_a_file(tmp_path) -> None:
    first, second = EventLog(tmp_path, fsync=False), EventLog(tmp_path, fsync=False)
    first.append([make("reply_sent", 1, 1)])
    second.append([make("reply_sent", 1, 2)])
    assert len(list(tmp_path.rglob("*.jsonl"))) == 2


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        make("made_up", 1, 1)


def test_times_round_trip_in_utc() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    assert format_time(moment) == "2026-03-01T12:30:15.123Z"
    assert parse_time(format_time(moment)) == moment
