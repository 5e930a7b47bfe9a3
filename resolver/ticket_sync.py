"""What the ticket sync remembers between runs, in the enterprise store: the status the event
log last recorded for each ticket, and the sync's watermark (from when to ask the ticketing
system for changes next time). `ServiceDesk.sync_tickets` reads and advances both.

A ticket without a row was last recorded as `new`: its `ticket_opened` (or, for a ticket
queued while the ITSM was down, its `filed`) says so. The embedded ticketing moved tickets only
through the service desk, which logged every move, so when a store from before the sync gets
the table, the statuses its tickets have are the ones last recorded.
"""

from __future__ import annotations

from datetime import datetime

from resolver.connectors.embedded import EnterpriseStore
from resolver.events import format_time, parse_time
from vocabulary import TicketStatus

TABLE = "recorded_ticket_statuses"
SCHEMA = (
    f"create table {TABLE} (ticket_id text primary key, status text not null, "
    "recorded_at text not null)"
)
WATERMARK_KEY = "ticket_sync_watermark"
OPENED_STATUS = TicketStatus.NEW.value


class TicketSyncState:
    """The last recorded status of each ticket and the sync's watermark."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store
        with store.transaction() as db:
            exists = db.execute(
                "select 1 from sqlite_master where type = 'table' and name = ?", (TABLE,)
            ).fetchone()
            if not exists:
                db.execute(SCHEMA)
                db.execute(
                    f"insert into {TABLE} select ticket_id, status, updated_at from tickets "
                    "where ticket_id is not null and status <> ?",
                    (OPENED_STATUS,),
                )

    def last_status(self, ticket_id: str) -> str:
        """The status the event log last recorded for a ticket (`new` if none was)."""
        row = self.store.query_one(f"select status from {TABLE} where ticket_id = ?", ticket_id)
        return row["status"] if row else OPENED_STATUS

    def remember(self, ticket_id: str, status: str, now: datetime) -> None:
        """Note that the event log recorded `status` for a ticket."""
        self.store.execute(
            f"insert or replace into {TABLE} values (?, ?, ?)", ticket_id, status, format_time(now)
        )

    def watermark(self) -> datetime | None:
        """From when the next sync asks for changes (None before the first sync)."""
        value = self.store.get_meta(WATERMARK_KEY)
        return parse_time(value) if value else None

    def advance(self, to: datetime) -> None:
        """Move the watermark."""
        self.store.set_meta(WATERMARK_KEY, format_time(to))
