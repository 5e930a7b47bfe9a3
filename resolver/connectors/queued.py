"""A ticket outbox: a failing ITSM never loses an escalation.

`QueuedTicketing` wraps any `Ticketing` (ServiceNow, Jira, ...). When the system cannot take a
new ticket (a `ConnectorError`: down, timing out, refusing), the ticket is written to a small
SQLite file (`outbox-tickets.sqlite`) before the employee is answered, and comes back as a
provisional ticket `Q-0000001` with status `queued`. `retry_pending` later files queued tickets
in the order they were queued, with exponential backoff per ticket, and never files one twice
(the engine's `file_queued_tickets` calls it and logs each filing as an event):

- each ticket is claimed with a lease before it is sent, so concurrent retries (threads or
  processes sharing the file) skip it;
- before a ticket is created again, the system is asked whether it already has it (an earlier
  attempt may have reached it and only the answer was lost): by interaction id when the
  system can look that up (`find_by_interaction`), by service for a major incident.

While a queued ticket is backing off, new tickets join the queue at once instead of waiting
for the system to time out again. A provisional id keeps working: it answers from the queue
while the ticket waits, and from the system once it is filed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from resolver.connectors.base import ConnectorError, Resolution, Ticket, Ticketing, TicketRequest
from resolver.connectors.embedded import open_sqlite
from resolver.events import format_time, parse_time

log = logging.getLogger(__name__)

QUEUED = "queued"
PROVISIONAL_PREFIX = "Q-"
FIELDS = ("requester_id", "title", "description", "intent", "priority", "interaction_id", "service")
SCHEMA = """
create table if not exists queued_tickets (
    seq integer primary key autoincrement, provisional_id text unique, requester_id text,
    title text not null, description text not null, intent text, priority text not null,
    interaction_id text, service text, opened_at text not null,
    attempts integer not null default 0, last_error text not null default '',
    next_attempt_at text not null, lease_until text, real_id text, filed_at text
);
create index if not exists queued_tickets_pending on queued_tickets (real_id, next_attempt_at);
create index if not exists queued_tickets_requester on queued_tickets (requester_id);
"""


@runtime_checkable
class FindsByInteraction(Protocol):
    """A ticketing system that can find the ticket it holds for an interaction."""

    def find_by_interaction(self, interaction_id: str) -> Ticket | None:
        """Return the ticket opened for an interaction, if there is one."""


@dataclass(frozen=True)
class QueuedTicket:
    """A ticket in the outbox, waiting to be filed (`real_id` None) or filed."""

    provisional_id: str
    request: TicketRequest
    opened_at: datetime
    attempts: int
    last_error: str
    next_attempt_at: datetime
    real_id: str | None
    filed_at: datetime | None

    def ticket(self) -> Ticket:
        """The provisional ticket an employee sees while it waits."""
        return Ticket(
            ticket_id=self.provisional_id,
            requester_id=self.request.requester_id,
            title=self.request.title,
            status=QUEUED,
            priority=self.request.priority,
            intent=self.request.intent,
            interaction_id=self.request.interaction_id,
            opened_at=self.opened_at,
            updated_at=self.opened_at,
        )


class QueuedTicketing:
    """Any `Ticketing`, with new tickets queued durably while it fails and filed later."""

    def __init__(
        self,
        inner: Ticketing,
        path: Path,
        *,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(minutes=15),
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.inner = inner
        self.path = path
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self._db = open_sqlite(path, synchronous="full")  # a queued ticket must survive a crash
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def open_ticket(self, request: TicketRequest, now: datetime) -> Ticket:
        """Open the ticket in the system; if it fails (or is backing off), queue it instead."""
        if self._backing_off(now):
            return self._enqueue(request, now, attempts=0, error="queued behind earlier tickets")
        try:
            return self.inner.open_ticket(request, now)
        except ConnectorError as error:
            return self._enqueue(request, now, attempts=1, error=str(error))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return a ticket; a provisional id answers from the queue until it is filed."""
        item = self.queued(ticket_id)
        if item is None:
            return self.inner.get_ticket(ticket_id)
        return item.ticket() if item.real_id is None else self.inner.get_ticket(item.real_id)

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return a requester's tickets, queued ones included, newest first.

        While the system is unreachable, the queued tickets alone are returned (if there are
        any), so an employee can still hear that their request is waiting.
        """
        waiting = [
            item.ticket() for item in self.pending() if item.request.requester_id == requester_id
        ]
        try:
            filed = self.inner.tickets_of(requester_id)
        except ConnectorError:
            if not waiting:
                raise
            filed = []
        return sorted([*waiting, *filed], key=lambda t: t.opened_at, reverse=True)

    def set_status(
        self, ticket_id: str, status: str, now: datetime, resolution: Resolution | None = None
    ) -> Ticket:
        """Move a ticket to a new status in the system (a queued ticket cannot move yet)."""
        item = self.queued(ticket_id)
        if item is None:
            return self.inner.set_status(ticket_id, status, now, resolution)
        if item.real_id is None:
            raise ConnectorError(
                f"ticketing: {item.provisional_id} is still queued; it can change status "
                "once it is filed"
            )
        return self.inner.set_status(item.real_id, status, now, resolution)

    def changed_since(self, since: datetime) -> list[Ticket]:
        """Return the system's tickets that changed at or after `since` (queued tickets have
        not changed: they wait, `queued`, until they are filed)."""
        return self.inner.changed_since(since)

    def open_outage(self, service: str) -> Ticket | None:
        """Return the open major incident of a service: a queued one, or the system's.

        When the system cannot be asked, None: the caller then opens a ticket, which is queued,
        and filing it later finds an incident the system already has.
        """
        waiting = [item for item in self.pending() if item.request.service == service]
        if waiting:
            return waiting[0].ticket()
        try:
            return self.inner.open_outage(service)
        except ConnectorError:
            return None

    def retry_pending(self, now: datetime | None = None) -> list[QueuedTicket]:
        """File the queued tickets that are due, oldest first; return them as filed (with
        `real_id` and `filed_at`).

        Stops at the first failure (the system is probably still down), which backs that ticket
        off: 30 s, 1 min, 2 min, ... up to 15 min by default.
        """
        now = now or datetime.now(UTC)
        filed: list[QueuedTicket] = []
        for item in self._due(now):
            if not self._claim(item, now):
                continue
            try:
                ticket = self._existing(item.request) or self.inner.open_ticket(item.request, now)
            except ConnectorError as error:
                self._back_off(item, str(error), now)
                break
            self._mark_filed(item, ticket.ticket_id, now)
            log.info("queued ticket %s filed as %s", item.provisional_id, ticket.ticket_id)
            filed.append(replace(item, real_id=ticket.ticket_id, filed_at=now))
        return filed

    def queued(self, provisional_id: str) -> QueuedTicket | None:
        """Return a ticket of the outbox by provisional id (waiting or filed)."""
        ref = provisional_id.strip().upper()
        if not ref.startswith(PROVISIONAL_PREFIX):
            return None
        rows = self._query("select * from queued_tickets where provisional_id = ?", ref)
        return _queued(rows[0]) if rows else None

    def pending(self) -> list[QueuedTicket]:
        """Return the tickets still waiting to be filed, oldest first."""
        rows = self._query("select * from queued_tickets where real_id is null order by seq")
        return [_queued(row) for row in rows]

    def close(self) -> None:
        """Close the outbox file (not the wrapped system)."""
        with self._lock:
            self._db.close()

    def _query(self, sql: str, *params: object) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _execute(self, sql: str, *params: object) -> int:
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def _backing_off(self, now: datetime) -> bool:
        rows = self._query(
            "select 1 from queued_tickets where real_id is null and next_attempt_at > ? limit 1",
            format_time(now),
        )
        return bool(rows)

    def _enqueue(self, request: TicketRequest, now: datetime, attempts: int, error: str) -> Ticket:
        """Write the ticket to the outbox (one per interaction) and return it as queued."""
        interaction_id = request.interaction_id
        if interaction_id:
            same = [
                item for item in self.pending() if item.request.interaction_id == interaction_id
            ]
            if same:
                return same[0].ticket()
        stamp = format_time(now)
        next_at = format_time(now + self._delay(attempts)) if attempts else stamp
        with self._lock:
            self._db.execute("begin immediate")
            try:
                cursor = self._db.execute(
                    f"insert into queued_tickets ({', '.join(FIELDS)}, opened_at, attempts, "
                    "last_error, next_attempt_at) values (?,?,?,?,?,?,?,?,?,?,?)",
                    (*(getattr(request, name) for name in FIELDS), stamp, attempts, error, next_at),
                )
                provisional_id = f"{PROVISIONAL_PREFIX}{cursor.lastrowid:07d}"
                self._db.execute(
                    "update queued_tickets set provisional_id = ? where seq = ?",
                    (provisional_id, cursor.lastrowid),
                )
            except BaseException:
                self._db.execute("rollback")
                raise
            self._db.execute("commit")
        item = self.queued(provisional_id)
        assert item is not None
        return item.ticket()

    def _delay(self, attempts: int) -> timedelta:
        return min(self.base_delay * 2 ** (attempts - 1), self.max_delay)

    def _due(self, now: datetime) -> list[QueuedTicket]:
        rows = self._query(
            "select * from queued_tickets where real_id is null and next_attempt_at <= ? "
            "order by seq",
            format_time(now),
        )
        return [_queued(row) for row in rows]

    def _claim(self, item: QueuedTicket, now: datetime) -> bool:
        """Take the ticket for this attempt unless another retry holds it or filed it."""
        return bool(
            self._execute(
                "update queued_tickets set lease_until = ? where seq = ? and real_id is null "
                "and (lease_until is null or lease_until <= ?)",
                format_time(now + self.lease),
                _seq(item),
                format_time(now),
            )
        )

    def _existing(self, request: TicketRequest) -> Ticket | None:
        """The ticket the system already holds for this one (an earlier attempt got through)."""
        if request.interaction_id and isinstance(self.inner, FindsByInteraction):
            return self.inner.find_by_interaction(request.interaction_id)
        if request.service:
            return self.inner.open_outage(request.service)
        return None

    def _back_off(self, item: QueuedTicket, error: str, now: datetime) -> None:
        attempts = item.attempts + 1
        self._execute(
            "update queued_tickets set attempts = ?, last_error = ?, next_attempt_at = ?, "
            "lease_until = null where seq = ?",
            attempts,
            error,
            format_time(now + self._delay(attempts)),
            _seq(item),
        )

    def _mark_filed(self, item: QueuedTicket, real_id: str, now: datetime) -> None:
        self._execute(
            "update queued_tickets set real_id = ?, filed_at = ?, lease_until = null where seq = ?",
            real_id,
            format_time(now),
            _seq(item),
        )


def _seq(item: QueuedTicket) -> int:
    return int(item.provisional_id.removeprefix(PROVISIONAL_PREFIX))


def _queued(row: sqlite3.Row) -> QueuedTicket:
    return QueuedTicket(
        provisional_id=row["provisional_id"],
        request=TicketRequest(**{name: row[name] for name in FIELDS}),
        opened_at=parse_time(row["opened_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=parse_time(row["next_attempt_at"]),
        real_id=row["real_id"],
        filed_at=parse_time(row["filed_at"]) if row["filed_at"] else None,
    )
