"""Known outages: a burst of one problem from one office becomes one incident.

Detection (`OutageDetector.poll`, every minute under `unticket serve`). The engine's own
conversation store is the history: every interaction it started at an employee's request (not
the proactive ones) with its intent and the employee's office (`Person.location`, from the
directory). A poll counts the interactions of the last hour per intent × office and scores each
count with the spike rule of `models.spikes` (`detect_spikes`, the rule and defaults of the
nightly `marts.spikes`):

- the expected count is that of the hour of the week the window's middle falls in, learnt from
  the previous four weeks of the engine's own interactions up to the start of that day (counted
  once a day): the series' median weekly volume × its share of the week in that hour, shrunk
  towards its office's weekly shape;
- the count is a spike when it is improbable under a Poisson law with that mean (a tail
  probability of at most 1e-6), at least 5 and at least twice the expected count.

The window is one hour, the width of the baseline's buckets, so that the count and the expected
count measure the same span. Nothing is scored until the store holds two weeks of history, so a
new installation raises no alarm for its first two weeks. Only spikes of the intents in
`settings.outage_intents` (problems of shared services: VPN, e-mail, Wi-Fi, printers) are
acted on.

Response, to a spike of an intent at an office that has no open known outage:

1. one incident (P1, service `spike:<intent>:<office>`) is opened through the ticketing
   connector, carrying the evidence: actual and expected counts, the score, the reports and the
   tickets they already opened. If the reports are already linked to one open incident (the VPN
   playbook links reports to the gateway's incident when it diagnoses the gateway as down),
   that incident is adopted instead: one that several reports share, or a major incident that
   even one report is linked to;
2. it is recorded as a known outage in the enterprise store (`KnownOutages`);
3. while it is open, the engine links new requests of that intent from that office to the
   incident instead of handling each on its own (`Engine._act`, which uses the VPN playbook's
   `PlaybookRunner.link_to_incident`);
4. each employee who reported it in the window, and whose report is not linked to the incident
   yet, is told once: a proactive interaction of the same intent (`Engine.start_proactive`),
   which the engine links to the incident like any later request.

A known outage ends when its incident is resolved or closed (through `Engine.update_ticket`, or
as seen at the next poll when an external ITSM resolves it); reports from before its end do not
count towards a new one.

In the event log a notice is an interaction with `channel = 'proactive'`,
`interaction_started.trigger.type = 'outage_detected'`, `intent_detected.source =
'proactive'`, outcome `escalated` with the incident's `ticket_id`, and `interaction_closed.reason
= 'linked_to_incident'`: the events of a report linked to a VPN gateway's incident, so the
warehouse counts notices and linked requests as interactions linked to one incident.
"""

from __future__ import annotations

import fcntl
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from models.spikes import SpikeParameters, count_interactions, detect_spikes
from resolver.connectors.base import ConnectorError, Ticket
from resolver.events import format_time, parse_time
from resolver.known_outages import KnownOutage
from resolver.playbooks import open_major_incident
from vocabulary import TicketStatus

if TYPE_CHECKING:
    from resolver.engine import Engine

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
CLOSED_STATUSES = frozenset({TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value})
# Interactions started since the first bound, up to the second, at an employee's request (the
# system starts the proactive ones). A conversation is never due before it started (it times out
# after its last activity), so the index on (status, due_at) narrows the scan to those active
# since the first bound.
_REPORTS_SQL = """
    select
        interaction_id,
        json_extract(state, '$.employee_id') as employee_id,
        coalesce(json_extract(state, '$.intent'), 'unknown') as intent,
        json_extract(state, '$.started_at') as started_at,
        json_extract(state, '$.ticket_id') as ticket_id
    from conversations
    where status in ('open', 'closed') and due_at >= ?1 and channel <> 'proactive'
        and json_extract(state, '$.employee_id') is not null
        and json_extract(state, '$.started_at') >= ?1
        and json_extract(state, '$.started_at') < ?2
"""
_EVIDENCE = (
    "Opened by Unticket's outage detector: {actual} interactions about '{label}' ({intent}) "
    "from employees at {office} between {start:%Y-%m-%d %H:%M} and {end:%H:%M} UTC, against "
    "{expected:.2f} expected for this hour of the week from the engine's interactions of the "
    "previous weeks: a chance of 1 in 10^{score:.1f} under a Poisson law (rule: "
    "models/spikes.py). New reports of it from {office} are linked to this incident.\nReports:"
)


@dataclass(frozen=True)
class Report:
    """An interaction started at an employee's request, as the detector counts it."""

    interaction_id: str
    employee_id: str
    intent: str
    location: str
    started_at: datetime  # naive UTC, as models.spikes counts
    ticket_id: str | None


class OutageDetector:
    """Turns a spike of one problem at one office into one known outage (see the module doc).

    Keeps the baseline's hourly counts for the day being scored and the offices of the
    employees it has seen. Engine processes sharing a store (several `serve` processes) take
    turns: a poll that finds another one running on the store skips, so one spike never
    becomes two incidents or two notices."""

    def __init__(self, engine: Engine, parameters: SpikeParameters | None = None) -> None:
        self.engine = engine
        self.parameters = parameters or SpikeParameters()
        self._history_day: datetime | None = None
        self._history = count_interactions(_frame([]), "hour")
        self._offices: dict[str, str | None] = {}

    def poll(self, now: datetime | None = None) -> list[KnownOutage]:
        """End the outages whose incident is resolved, score the last hour and declare an
        outage for each new spike; return the outages declared (none while another process
        polls the same store)."""
        with _sole_poller(self.engine.outages.store.path) as sole:
            if not sole:
                log.info("outage: another process is polling this store; skipped")
                return []
            return self._poll(now or datetime.now(UTC))

    def _poll(self, now: datetime) -> list[KnownOutage]:
        self._end_resolved(now)
        reports = self._after_last_outage(self.reports(now - WINDOW, now))
        declared = []
        for spike in self.spikes(reports, now):
            intent, location = spike["intent"], spike["location_id"]
            if self.engine.outages.open_for(intent, location) is not None:
                continue
            series = [r for r in reports if (r.intent, r.location) == (intent, location)]
            try:
                declared.append(self._declare(spike, series, now))
            except ConnectorError as error:
                log.warning("outage: no incident for %s at %s yet: %s", intent, location, error)
        return declared

    def reports(self, since: datetime, until: datetime) -> list[Report]:
        """The interactions started at employees' requests in [since, until), oldest first."""
        rows = self.engine.conversations.store.query(
            _REPORTS_SQL, format_time(since), format_time(until)
        )
        reports = [
            Report(
                interaction_id=row["interaction_id"],
                employee_id=row["employee_id"],
                intent=row["intent"],
                location=office,
                started_at=parse_time(row["started_at"]).astimezone(UTC).replace(tzinfo=None),
                ticket_id=row["ticket_id"],
            )
            for row in rows
            if (office := self._office(row["employee_id"])) is not None
        ]
        return sorted(reports, key=lambda report: report.started_at)

    def spikes(self, reports: list[Report], now: datetime) -> list[dict[str, Any]]:
        """The spikes among the window's counts of the outage intents, as `detect_spikes` rows
        (intent, location_id, actual, expected, score, ...).

        Nothing is scored while no series of the outage intents without an open outage has
        `min_count` reports in the window: none could be a new spike (this keeps a poll of a
        quiet hour, or of an outage already known, to a query)."""
        if not self._could_spike(reports):
            return []
        bucket = (
            (now - WINDOW / 2)
            .astimezone(UTC)
            .replace(tzinfo=None, minute=0, second=0, microsecond=0)
        )
        window = (
            _frame(reports)
            .group_by("intent", "location_id")
            .agg(pl.len().cast(pl.Int64).alias("interactions"))
            .select(
                "intent",
                "location_id",
                pl.lit(bucket).cast(pl.Datetime("us")).alias("bucket_start"),
                "interactions",
            )
        )
        history = self._history_before(bucket.replace(hour=0))
        scored = detect_spikes(pl.concat([history, window]), "hour", self.parameters)
        wanted = pl.col("intent").is_in(self.engine.settings.outage_intents)
        current = (pl.col("bucket_start") == bucket) & pl.col("is_spike")
        return scored.filter(current & wanted).to_dicts()

    def _could_spike(self, reports: list[Report]) -> bool:
        """Whether some intent × office of the outage intents with no open outage has
        `min_count` reports."""
        wanted = set(self.engine.settings.outage_intents)
        counts = Counter((r.intent, r.location) for r in reports if r.intent in wanted)
        return any(
            count >= self.parameters.min_count
            and self.engine.outages.open_for(intent, location) is None
            for (intent, location), count in counts.items()
        )

    def _history_before(self, day: datetime) -> pl.DataFrame:
        """Hourly counts per intent × office over the baseline's weeks before `day`."""
        if self._history_day != day:
            start = day - timedelta(weeks=self.parameters.history_weeks)
            self._offices.clear()  # people move; refreshed once a day
            reports = self.reports(start.replace(tzinfo=UTC), day.replace(tzinfo=UTC))
            self._history = count_interactions(_frame(reports), "hour")
            self._history_day = day
        return self._history

    def _office(self, employee_id: str) -> str | None:
        if employee_id not in self._offices:
            person = self.engine.connectors.directory.get_person(employee_id)
            self._offices[employee_id] = person.location if person else None
        return self._offices[employee_id]

    def _after_last_outage(self, reports: list[Report]) -> list[Report]:
        """Leave out the reports of an intent × office from before its last outage ended."""
        ends = {
            key: end.astimezone(UTC).replace(tzinfo=None)
            for key, end in self.engine.outages.last_ends().items()
        }
        return [
            r
            for r in reports
            if (r.intent, r.location) not in ends or r.started_at >= ends[r.intent, r.location]
        ]

    def _end_resolved(self, now: datetime) -> None:
        """End the open outages whose incident the ticketing system has resolved or closed."""
        for outage in self.engine.outages.open_outages():
            try:
                ticket = self.engine.connectors.ticketing.get_ticket(outage.ticket_id)
            except ConnectorError as error:
                log.warning("outage: cannot read incident %s: %s", outage.ticket_id, error)
                continue
            if ticket is None or ticket.status in CLOSED_STATUSES:
                self.engine.outages.end_for_ticket({outage.ticket_id}, now)
                log.info("outage: %s at %s is over", outage.intent, outage.location)

    def _declare(self, spike: dict[str, Any], reports: list[Report], now: datetime) -> KnownOutage:
        """Open (or adopt) the incident, record the outage and tell the employees who reported
        it."""
        incident = self._adopted(reports) or self._open_incident(spike, reports, now)
        outage = KnownOutage(
            outage_id=self.engine.ids(),
            intent=spike["intent"],
            location=spike["location_id"],
            ticket_id=incident.ticket_id,
            detected_at=now,
            actual=spike["actual"],
            expected=round(spike["expected"], 4),
            score=round(spike["score"], 2),
        )
        self.engine.outages.record(outage)
        log.warning(
            "outage: %d %s reports from %s in an hour (%.2f expected): incident %s",
            outage.actual,
            outage.intent,
            outage.location,
            outage.expected,
            outage.ticket_id,
        )
        self._notify(outage, reports, now)
        return outage

    def _adopted(self, reports: list[Report]) -> Ticket | None:
        """An open incident the reports are already linked to: one that several of them share,
        or a major incident (P1, opened for an outage rather than for one employee) that one of
        them is linked to, as when a gateway's probe saw it down just before this poll."""
        shared = Counter(report.ticket_id for report in reports if report.ticket_id)
        for ticket_id, links in shared.most_common():
            ticket = self.engine.connectors.ticketing.get_ticket(ticket_id)
            if ticket is None or ticket.status in CLOSED_STATUSES:
                continue
            if links >= 2 or (ticket.priority == "P1" and ticket.requester_id is None):
                return ticket
        return None

    def _open_incident(self, spike: dict[str, Any], reports: list[Report], now: datetime) -> Ticket:
        intent, location = spike["intent"], spike["location_id"]
        office = self._office_name(location)
        evidence = _EVIDENCE.format(
            actual=spike["actual"],
            label=self.engine.catalogue.intent(intent).label,
            intent=intent,
            office=office,
            start=(now - WINDOW).astimezone(UTC),
            end=now.astimezone(UTC),
            expected=spike["expected"],
            score=spike["score"],
        )
        lines = [
            f"- {r.started_at:%H:%M} {r.employee_id}, interaction {r.interaction_id}"
            + (f", ticket {r.ticket_id}" if r.ticket_id else "")
            for r in reports
        ]
        return open_major_incident(
            self.engine.connectors.ticketing,
            service=f"spike:{intent}:{location}",
            title=f"Major incident: {spike['actual']} reports in an hour from {office} ({intent})",
            description="\n".join([evidence, *lines]),
            intent=intent,
            now=now,
        )

    def _office_name(self, location: str) -> str:
        offices = self.engine.catalogue.enterprise.get("locations", [])
        return next((o["name"] for o in offices if o["id"] == location), location)

    def _notify(self, outage: KnownOutage, reports: list[Report], now: datetime) -> None:
        """Tell each employee who reported the outage, once, unless their report is linked to
        its incident already."""
        told = {r.employee_id for r in reports if r.ticket_id == outage.ticket_id}
        trigger = {
            "type": "outage_detected",
            "outage_id": outage.outage_id,
            "ticket_id": outage.ticket_id,
            "location": outage.location,
        }
        for report in reports:
            if report.employee_id in told:
                continue
            told.add(report.employee_id)
            person = self.engine.connectors.directory.get_person(report.employee_id)
            first_name = person.name.split()[0] if person else "there"
            language = self.engine.conversations.language_of(report.employee_id)
            label = self.engine.messages.label(outage.intent, language)
            opener = self.engine.messages.text(
                "proactive.outage_notice", language, first_name=first_name, label=label
            )
            try:
                self.engine.start_proactive(
                    report.employee_id, outage.intent, opener, trigger, now, language
                )
            except ConnectorError as error:
                log.warning("outage: could not tell %s: %s", report.employee_id, error)


def poll_lock_path(store: Path) -> Path:
    """The lock file beside an enterprise store that outage polls take turns on."""
    return store.with_name(store.name + ".outage-poll.lock")


@contextmanager
def _sole_poller(store: Path) -> Iterator[bool]:
    """Whether this is the only poll running on the store, across processes and threads (its
    lock file, held for the poll); False when another poll holds it."""
    with poll_lock_path(store).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _frame(reports: list[Report]) -> pl.DataFrame:
    """Reports as the rows `models.spikes.count_interactions` counts."""
    return pl.DataFrame(
        {
            "intent": [r.intent for r in reports],
            "location_id": [r.location for r in reports],
            "started_at": [r.started_at for r in reports],
        },
        schema={"intent": pl.String, "location_id": pl.String, "started_at": pl.Datetime("us")},
    )
