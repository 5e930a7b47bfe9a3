"""The append-only event log: the source of truth the warehouse is built from.

Events are JSON Lines under `events/date=YYYY-MM-DD/`, one file per writing process, so writers
never interleave. A batch is written with one `write` on an `O_APPEND` descriptor and, by default,
fsynced before `append` returns: the engine replies only after that, so an acknowledged message
is never lost. The schema is documented in `docs/events.md`.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1

EVENT_TYPES = frozenset(
    {
        "interaction_started",
        "message_received",
        "intent_detected",
        "clarification_requested",
        "verification_requested",
        "verification_checked",
        "request_refused",
        "action_executed",
        "approval_requested",
        "approval_decided",
        "knowledge_answered",
        "ticket_opened",
        "ticket_status_changed",
        "reply_sent",
        "feedback_received",
        "outcome_recorded",
        "interaction_closed",
    }
)

Event = dict[str, Any]


def format_time(moment: datetime) -> str:
    """Format a time as ISO 8601 in UTC with milliseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    """Parse a time written by `format_time`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_event(
    event_type: str,
    *,
    event_id: str,
    occurred_at: datetime | str,
    interaction_id: str | None,
    employee_id: str | None,
    channel: str,
    **fields: Any,
) -> Event:
    """Build one event with the common fields every event carries, then its own fields.

    `occurred_at` may be given already formatted, to format a turn's time once.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event: Event = {
        "event_id": event_id,
        "schema_version": SCHEMA_VERSION,
        "event_type": event_type,
        "occurred_at": occurred_at if isinstance(occurred_at, str) else format_time(occurred_at),
        "interaction_id": interaction_id,
        "employee_id": employee_id,
        "channel": channel,
    }
    event.update(fields)
    return event


class EventLog:
    """Appends batches of events durably; safe to share between threads of one process."""

    def __init__(self, directory: Path, *, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        self._writer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._descriptors: dict[str, int] = {}
        self._lock = threading.Lock()

    def _descriptor(self, day: str) -> int:
        descriptor = self._descriptors.get(day)
        if descriptor is None:
            folder = self.directory / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"events-{self._writer_id}.jsonl"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            self._descriptors[day] = descriptor
        return descriptor

    def append(self, events: Iterable[Event]) -> None:
        """Write a batch durably: on return it is on disk (in the OS at least, if fsync is off)."""
        by_day: dict[str, list[bytes]] = {}
        for event in events:
            line = orjson.dumps(event) + b"\n"
            by_day.setdefault(event["occurred_at"][:10], []).append(line)
        with self._lock:
            for day, lines in by_day.items():
                descriptor = self._descriptor(day)
                os.write(descriptor, b"".join(lines))
                if self.fsync:
                    os.fsync(descriptor)

    def close(self) -> None:
        """Close every open file."""
        with self._lock:
            for descriptor in self._descriptors.values():
                os.close(descriptor)
            self._descriptors.clear()


def event_files(directory: Path) -> list[Path]:
    """Return every event file under the log folder, oldest partition first."""
    return sorted(directory.glob("date=*/*.jsonl"))


def read_events(directory: Path) -> Iterator[Event]:
    """Yield every well-formed event in the log (for tests, tools and small reads)."""
    for path in event_files(directory):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield orjson.loads(line)


IdFactory = Callable[[], str]


def random_ids() -> str:
    """Return a random 32-character hex id."""
    return uuid.uuid4().hex
