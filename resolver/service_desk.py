"""The service desk's side of the engine: approvers' decisions, ticket status changes (made
through the engine, or found in the ticketing system by the sync), the tickets queued while
the ITSM was down, and conversations nobody answered in time.

None of these answers an employee's message; each is a turn of its own, recorded as durably as
one (through the engine's `Recorder`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from catalogue import Catalogue
from redaction import redact
from resolver.connectors.base import Approval, Person, Resolution, Ticket
from resolver.connectors.queued import QueuedTicket, QueuedTicketing
from resolver.conversation import ConversationStore
from resolver.events import Event, IdFactory, new_event
from resolver.identity import Credential
from resolver.known_outages import KnownOutages
from resolver.messages import APPROVER_LANGUAGE
from resolver.playbooks import Connectors, PlaybookRunner
from resolver.recorder import Recorder
from resolver.ticket_sync import TicketSyncState
from resolver.turn import RequestError, Turn
from vocabulary import FILED, FINISHED_TICKET_STATUSES, SERVICE_DESK

# The first sync asks the ticketing system for changes this far back.
FIRST_SYNC_LOOKBACK = timedelta(days=30)
# Each sync asks again from this long before the previous one ran, so a change the ticketing
# system stamped with a clock a little behind ours is not missed (none is recorded twice).
SYNC_OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class ApprovalResult:
    """What became of an approver's decision."""

    approval_id: str
    status: str
    message: str


@dataclass(frozen=True)
class SyncSummary:
    """What a ticket sync found: the tickets the ticketing system reported changed since
    `since`, and the status changes recorded (status -> tickets)."""

    since: datetime
    tickets_checked: int
    recorded: dict[str, int]

    @property
    def changes(self) -> int:
        """How many status changes were recorded."""
        return sum(self.recorded.values())


class ServiceDesk:
    """Decides approvals, moves tickets, files queued tickets and expires conversations."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        connectors: Connectors,
        conversations: ConversationStore,
        playbooks: PlaybookRunner,
        outages: KnownOutages,
        recorder: Recorder,
        ids: IdFactory,
    ) -> None:
        self.catalogue = catalogue
        self.connectors = connectors
        self.conversations = conversations
        self.playbooks = playbooks
        self.outages = outages
        self.recorder = recorder
        self.ids = ids
        self.sync_state = TicketSyncState(conversations.store)

    def decide_approval(
        self,
        approver_ref: str,
        approval_id: str,
        decision: str,
        credential: Credential,
        now: datetime | None = None,
    ) -> ApprovalResult:
        """Record an approver's decision; grant once every named approver said yes.

        `approver_ref` is who `credential` proved is deciding; an integration's key that speaks
        for others counts only with `approvals:act_as`."""
        now = now or datetime.now(UTC)
        if decision not in ("approved", "denied"):
            raise RequestError("decision must be 'approved' or 'denied'")
        with self.recorder.durably():
            approver = self.connectors.directory.find_person(approver_ref)
            approval = self.connectors.approvals.get(approval_id)
            if approval is None:
                raise RequestError(f"no approval {approval_id}", status=404)
            convo = self.conversations.get(approval.interaction_id)
            assert convo is not None
            turn = Turn(convo, now, self.ids, credential=credential)
            refusal = _approval_refusal(approval, approver, credential)
            if refusal is not None:
                reason, message = refusal
                turn.emit(
                    "request_refused",
                    reason=reason,
                    approval_id=approval.approval_id,
                    approver_ref=approver.employee_id if approver else "unknown",
                    auth_method=credential.method,
                )
                self.recorder.commit(turn, keep_activity=True)
                raise RequestError(message, status=403)
            if approval.status != "pending":
                raise RequestError(
                    f"{approval.approval_id} is already {approval.status}", status=409
                )
            return self._apply_decision(turn, approval, approver.employee_id, decision)

    def update_ticket(
        self,
        ticket_id: str,
        status: str,
        now: datetime | None = None,
        resolution: Resolution | None = None,
    ) -> None:
        """Record a service-desk status change on a ticket (resolved, closed, ...), with how
        it was fixed when a `resolution` is given; resolving a known outage's incident ends
        the outage."""
        now = now or datetime.now(UTC)
        if resolution is not None and status not in FINISHED_TICKET_STATUSES:
            raise RequestError(f"a resolution goes with resolved or closed, not {status}")
        with self.recorder.durably():
            ticket = self.connectors.ticketing.set_status(ticket_id, status, now, resolution)
            if status in FINISHED_TICKET_STATUSES:
                self.outages.end_for_ticket({ticket_id, ticket.ticket_id}, now)
            event = self._status_event(
                now,
                ticket.interaction_id,
                ticket.requester_id,
                ticket.ticket_id,
                status,
                **_resolution_fields(status, resolution or ticket.resolution),
            )
            self.sync_state.remember(ticket.ticket_id, status, now)
            self.recorder.write([event])

    def sync_tickets(self, now: datetime | None = None) -> SyncSummary:
        """Record one `ticket_status_changed` (with the resolution of a resolved or closed
        ticket) for every ticket whose status in the ticketing system differs from the last
        one the log recorded, among those changed since the last sync (the first looks back
        FIRST_SYNC_LOOKBACK); a re-run records nothing twice. Each event is stamped when the
        ticketing system last updated the ticket (never later than `now`).

        The ticketing system is asked outside the engine lock: turns go on while it answers."""
        now = now or datetime.now(UTC)
        since = self.sync_state.watermark() or now - FIRST_SYNC_LOOKBACK
        tickets = self.connectors.ticketing.changed_since(since)
        recorded: Counter[str] = Counter()
        with self.recorder.durably():
            events = []
            for ticket in tickets:
                if ticket.status == self.sync_state.last_status(ticket.ticket_id):
                    continue
                events.append(self._synced_event(ticket, now))
                self.sync_state.remember(ticket.ticket_id, ticket.status, now)
                if ticket.status in FINISHED_TICKET_STATUSES:
                    self.outages.end_for_ticket({ticket.ticket_id}, now)
                recorded[ticket.status] += 1
            self.sync_state.advance(max(since, now - SYNC_OVERLAP))
            self.recorder.write(events)
        return SyncSummary(since, len(tickets), dict(recorded))

    def file_queued_tickets(self, now: datetime | None = None) -> list[QueuedTicket]:
        """File the tickets queued while the ITSM was unreachable (when it sits behind a queue)
        and log each as `ticket_status_changed` with status `filed`, the real ticket id and the
        provisional id it was known by; return the tickets filed.

        The ITSM is called outside the engine lock: turns go on while it answers."""
        now = now or datetime.now(UTC)
        ticketing = self.connectors.ticketing
        if not isinstance(ticketing, QueuedTicketing):
            return []
        filed = ticketing.retry_pending(now)
        events = [
            self._status_event(
                now,
                item.request.interaction_id,
                item.request.requester_id,
                item.real_id,
                FILED,
                provisional_ticket_id=item.provisional_id,
            )
            for item in filed
        ]
        if events:
            with self.recorder.durably():
                self.recorder.write(events)
        return filed

    def expire(self, now: datetime | None = None) -> int:
        """Close conversations nobody answered in time and expire stale approvals."""
        now = now or datetime.now(UTC)
        closed = 0
        with self.recorder.durably():
            for convo in self.conversations.due(now):
                turn = Turn(convo, now, self.ids)
                if convo.state == "approval":
                    self.expire_approval(turn)
                else:
                    turn.close("feedback_window" if convo.state == "feedback" else "idle_timeout")
                self.recorder.commit(turn, keep_activity=True)
                closed += 1
        return closed

    def expire_approval(self, turn: Turn) -> None:
        """The conversation's approval ran out of time: mark it expired and escalate."""
        approval = self.connectors.approvals.get(turn.convo.approval_id or "")
        if approval is not None and approval.status == "pending":
            self.connectors.approvals.save(_with_status(approval, "expired"))
        self.playbooks.messages.say(turn, "approval.expired")
        self.playbooks.escalate(turn, "approval_expired")

    def _apply_decision(
        self, turn: Turn, approval: Approval, approver_id: str, decision: str
    ) -> ApprovalResult:
        approval_id = approval.approval_id
        approval.decisions[approver_id] = decision
        turn.emit(
            "approval_decided",
            approval_id=approval.approval_id,
            approver_id=approver_id,
            decision=decision,
            auth_method=turn.credential.method if turn.credential else None,
        )
        convo = turn.convo
        messages = self.playbooks.messages
        if decision == "denied":
            approval = _with_status(approval, "denied")
            messages.say(turn, "approval.denied", approval_id=approval.approval_id)
            turn.record_outcome("answered")
            turn.close("approval_denied")
        elif set(approval.approvers.values()) <= {
            a for a, d in approval.decisions.items() if d == "approved"
        }:
            approval = _with_status(approval, "approved")
            convo.state = "new"
            self.playbooks.execute(turn, self.catalogue.playbooks[convo.playbook or ""])
        self.connectors.approvals.save(approval)
        if turn.says:
            self.connectors.notifier.deliver(
                convo.employee_id or "",
                messages.text("approval.update.subject", convo.language, approval_id=approval_id),
                "\n\n".join(turn.says),
                turn.now,
            )
        self.recorder.commit(turn)
        message = messages.text(
            "approval.recorded",
            APPROVER_LANGUAGE,
            approval_id=approval.approval_id,
            decision=decision,
            status=approval.status,
        )
        return ApprovalResult(approval.approval_id, approval.status, message)

    def _synced_event(self, ticket: Ticket, now: datetime) -> Event:
        """The `ticket_status_changed` of a change the sync found in the ticketing system."""
        return self._status_event(
            min(ticket.updated_at, now),
            ticket.interaction_id,
            ticket.requester_id,
            ticket.ticket_id,
            ticket.status,
            **_resolution_fields(ticket.status, ticket.resolution),
        )

    def _status_event(
        self,
        now: datetime,
        interaction_id: str | None,
        requester_id: str | None,
        ticket_id: str,
        status: str,
        **fields: Any,
    ) -> Event:
        """A service-desk `ticket_status_changed` event."""
        return new_event(
            "ticket_status_changed", event_id=self.ids(), occurred_at=now,
            interaction_id=interaction_id, employee_id=requester_id, channel=SERVICE_DESK,
            ticket_id=ticket_id, status=status, **fields,
        )  # fmt: skip


def _resolution_fields(status: str, resolution: Resolution | None) -> dict[str, str]:
    """The resolution a `ticket_status_changed` on a resolved or closed ticket carries: the
    note (redacted: agents paste passwords too), the category and the assignment group, each
    when known."""
    if resolution is None or status not in FINISHED_TICKET_STATUSES:
        return {}
    fields = {
        "resolution_note": redact(resolution.note) if resolution.note else None,
        "resolution_category": resolution.category,
        "assignment_group": resolution.assignment_group,
    }
    return {name: value for name, value in fields.items() if value}


def _approval_refusal(
    approval: Approval, approver: Person | None, credential: Credential
) -> tuple[str, str] | None:
    """Why a decision on `approval` is refused, as (event reason, message), or None."""
    if not credential.may_decide_approvals:
        return (
            "approver_not_authenticated",
            f"this credential ({credential.method}) may not decide approvals for someone else: "
            "the approver must sign in themselves, or the integration's key needs the "
            "approvals:act_as scope",
        )
    if approver is None or approver.employee_id not in approval.approvers.values():
        return "not_an_approver", f"you are not an approver of {approval.approval_id}"
    return None


def _with_status(approval: Approval, status: str) -> Approval:
    return replace(approval, status=status)
