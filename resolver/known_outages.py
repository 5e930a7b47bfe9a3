"""The known outages: one problem at one office, handled as one incident until it is resolved.

`OutageDetector` (in `outage.py`) declares them; the engine links new reports to them and the
service desk ends them when their incident is resolved or closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from resolver.connectors.embedded import EnterpriseStore
from resolver.events import format_time, parse_time

SCHEMA = (
    "create table if not exists known_outages ("
    " outage_id text primary key, intent text not null, location text not null,"
    " ticket_id text not null, detected_at text not null, actual integer not null,"
    " expected real not null, score real not null, ended_at text)",
    "create index if not exists known_outages_series on known_outages (intent, location, ended_at)",
)


@dataclass(frozen=True)
class KnownOutage:
    """An outage the engine knows of: one intent at one office, handled as one incident."""

    outage_id: str
    intent: str
    location: str
    ticket_id: str
    detected_at: datetime
    actual: int
    expected: float
    score: float
    ended_at: datetime | None = None


class KnownOutages:
    """The known outages, kept in the enterprise store so that every engine process links
    requests to them."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store
        for statement in SCHEMA:
            store.execute(statement)

    def record(self, outage: KnownOutage) -> None:
        """Store a newly known outage."""
        self.store.execute(
            "insert into known_outages values (?, ?, ?, ?, ?, ?, ?, ?, null)",
            outage.outage_id,
            outage.intent,
            outage.location,
            outage.ticket_id,
            format_time(outage.detected_at),
            outage.actual,
            outage.expected,
            outage.score,
        )

    def open_for(self, intent: str, location: str) -> KnownOutage | None:
        """The open outage of an intent at an office, if there is one."""
        row = self.store.query_one(
            "select * from known_outages where intent = ? and location = ? and ended_at is null "
            "order by detected_at limit 1",
            intent,
            location,
        )
        return _outage(row) if row else None

    def open_outages(self) -> list[KnownOutage]:
        """Every open outage, oldest first."""
        rows = self.store.query(
            "select * from known_outages where ended_at is null order by detected_at"
        )
        return [_outage(row) for row in rows]

    def last_ends(self) -> dict[tuple[str, str], datetime]:
        """When the latest ended outage of each intent × office ended."""
        rows = self.store.query(
            "select intent, location, max(ended_at) as ended_at from known_outages "
            "where ended_at is not null group by intent, location"
        )
        return {(r["intent"], r["location"]): parse_time(r["ended_at"]) for r in rows}

    def end_for_ticket(self, ticket_ids: set[str], now: datetime) -> int:
        """End the open outages handled as one of these tickets; return how many ended."""
        marks = ", ".join("?" for _ in ticket_ids)
        return self.store.execute(
            f"update known_outages set ended_at = ? where ended_at is null and ticket_id in "
            f"({marks})",
            format_time(now),
            *sorted(ticket_ids),
        )


def _outage(row: Any) -> KnownOutage:
    return KnownOutage(
        outage_id=row["outage_id"],
        intent=row["intent"],
        location=row["location"],
        ticket_id=row["ticket_id"],
        detected_at=parse_time(row["detected_at"]),
        actual=row["actual"],
        expected=row["expected"],
        score=row["score"],
        ended_at=parse_time(row["ended_at"]) if row["ended_at"] else None,
    )
