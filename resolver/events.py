"""The append-only event log: the source of truth the warehouse is built from.

Events are JSON Lines under `events/date=YYYY-MM-DD/`, one file per writing process, so writers
never interleave. A batch is written with one `write` on an `O_APPEND` descriptor and, by default,
fsynced before the engine replies, so an acknowledged message is never lost. Concurrent turns
share one fsync (group commit). The schema is documented in `docs/events.md`.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from vocabulary import EventType

SCHEMA_VERSION = 1

EVENT_TYPES = frozenset(event_type.value for event_type in EventType)

Event = dict[str, Any]


def format_time(moment: datetime) -> str:
    """Format a time as ISO 8601 in UTC with milliseconds and a `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


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
    """Appends batches of events; safe to share between threads of one process.

    `append` writes a batch with one `write` (enough to survive a killed process); `sync`
    makes everything written so far durable with `fsync` and is a group commit: when several
    threads wait, one `fsync` covers them all, so throughput grows with concurrency.
    """

    def __init__(self, directory: Path, *, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        self._writer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._descriptors: dict[str, int] = {}
        self._dirty: set[int] = set()
        self._written = 0
        self._synced = 0
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()

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
        """Write a batch to the OS (it survives a killed process); `sync` makes it durable."""
        by_day: dict[str, list[bytes]] = {}
        for event in events:
            line = orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
            by_day.setdefault(event["occurred_at"][:10], []).append(line)
        if not by_day:
            return
        with self._lock:
            for day, lines in by_day.items():
                descriptor = self._descriptor(day)
                os.write(descriptor, b"".join(lines))
                self._dirty.add(descriptor)
            self._written += 1

    def sync(self) -> None:
        """Return once every batch appended before the call is on disk (no-op if fsync is off)."""
        if not self.fsync:
            return
        with self._lock:
            target = self._written
        with self._sync_lock:
            if self._synced >= target:
                return  # another thread's fsync already covered this batch
            with self._lock:
                covered, dirty = self._written, self._dirty
                self._dirty = set()
            for descriptor in dirty:
                os.fsync(descriptor)
            self._synced = covered

    def append_durably(self, events: Iterable[Event]) -> None:
        """Append a batch and wait until it is durable."""
        self.append(events)
        self.sync()

    def close(self) -> None:
        """Sync and close every open file."""
        self.sync()
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
    """Return a random 32-character hex id (128 random bits)."""
    return secrets.token_hex(16)
