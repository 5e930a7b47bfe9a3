"""The service desk records ticket changes: made through the engine (`update_ticket`, with how
the ticket was fixed) or found in the ticketing system by the sync, each exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resolver.connectors.base import Resolution
from resolver.connectors.embedded import EmbeddedTicketing
from resolver.connectors.servicenow import ServiceNowTicketing, servicenow_auth
from resolver.events import format_time
from resolver.runtime import Runtime
from resolver.turn import RequestError
from settings import Settings
from tests.conftest import NOW, Chat, events_of
from tests.stubs.servicenow import ServiceNowStub

HOUR = timedelta(hours=1)


def escalate(runtime: Runtime, employee: str) -> tuple[str, str]:
    """An employee asks for a person; return the ticket and interaction ids."""
    chat = Chat(runtime, employee)
    chat.say("my laptop fan is screaming")
    reply = chat.say("can I talk to a human please")
    assert reply.ticket_id is not None and reply.interaction_id is not None
    return reply.ticket_id, reply.interaction_id


def status_events(settings: Settings) -> list[dict]:
    """Every ticket_status_changed logged."""
    return [e for e in events_of(settings) if e["event_type"] == "ticket_status_changed"]


def test_the_sync_records_each_change_made_in_the_ticketing_system_once(
    runtime: Runtime, employee: str, settings: Settings
) -> None:
    ticket_id, interaction_id = escalate(runtime, employee)
    itsm = EmbeddedTicketing(runtime.store)  # an agent working the queue directly
    engine = runtime.engine

    itsm.set_status(ticket_id, "in_progress", NOW + HOUR)
    assert engine.sync_tickets(NOW + 2 * HOUR).recorded == {"in_progress": 1}
    fix = Resolution(
        "Replaced fan on LT-4821; BIOS admin pw Winter2024! set back to the standard one.",
        "Hardware / Laptop",
        "Endpoint",
    )
    itsm.set_status(ticket_id, "resolved", NOW + 3 * HOUR, fix)
    synced = engine.sync_tickets(NOW + 4 * HOUR)
    assert (synced.tickets_checked, synced.recorded) == (1, {"resolved": 1})
    assert synced.since == NOW + 2 * HOUR - timedelta(minutes=5)
    assert engine.sync_tickets(NOW + 4 * HOUR).changes == 0  # a re-run records nothing
    assert engine.sync_tickets(NOW + 5 * HOUR).changes == 0

    events = status_events(settings)
    assert [(e["status"], e["occurred_at"]) for e in events] == [
        ("in_progress", format_time(NOW + HOUR)),  # when the ticketing system changed it
        ("resolved", format_time(NOW + 3 * HOUR)),
    ]
    resolved = events[-1]
    assert (resolved["ticket_id"], resolved["interaction_id"]) == (ticket_id, interaction_id)
    assert (resolved["employee_id"], resolved["channel"]) == (employee, "service_desk")
    assert resolved["resolution_note"] == (
        "Replaced fan on LT-4821; BIOS admin pw [REDACTED] set back to the standard one."
    )
    assert resolved["resolution_category"] == "Hardware / Laptop"
    assert resolved["assignment_group"] == "Endpoint"
    assert "resolution_note" not in events[0]
    log = "".join(path.read_text() for path in settings.events_dir.rglob("*.jsonl"))
    assert "Winter2024" not in log


def test_an_update_through_the_engine_records_its_resolution_and_is_not_synced_again(
    runtime: Runtime, employee: str, settings: Settings
) -> None:
    ticket_id, _ = escalate(runtime, employee)
    engine = runtime.engine
    fix = Resolution("Reset pw in AD, temp pw Spring2025 given by phone.", "Access / Password")
    with pytest.raises(RequestError, match="goes with resolved or closed"):
        engine.update_ticket(ticket_id, "in_progress", NOW + HOUR, fix)

    engine.update_ticket(ticket_id, "resolved", NOW + HOUR, fix)
    engine.update_ticket(ticket_id, "closed", NOW + 2 * HOUR)

    assert engine.sync_tickets(NOW + 3 * HOUR).changes == 0
    resolved, closed = status_events(settings)
    assert resolved["resolution_note"] == "Reset pw in AD, temp pw [REDACTED] given by phone."
    assert resolved["resolution_category"] == "Access / Password"
    assert "assignment_group" not in resolved  # not known: not written
    # closed without a resolution: the ticket's own (kept from when it was resolved) goes along
    assert closed["resolution_note"] == resolved["resolution_note"]
    stored = EmbeddedTicketing(runtime.store).get_ticket(ticket_id)
    assert stored is not None and stored.resolution == fix  # the desk's own record is verbatim


def test_the_sync_records_an_incident_resolved_in_servicenow(
    runtime: Runtime, employee: str, settings: Settings
) -> None:
    person = runtime.connectors.directory.get_person(employee)
    with ServiceNowStub() as stub:
        stub.add_user(person.email, person.username)
        auth = servicenow_auth(stub.user, stub.password)
        snow = ServiceNowTicketing(stub.url, auth, runtime.connectors.directory)
        runtime.connectors.ticketing = snow
        ticket_id, interaction_id = escalate(runtime, employee)
        assert runtime.engine.sync_tickets(NOW).changes == 0  # new, as its ticket_opened said
        stub.set_state(
            ticket_id,
            "6",
            close_code="Solved (Permanently)",
            close_notes="Fan replaced under warranty, case 77310.",
            assignment_group=stub.add_group("Endpoint"),
        )
        assert runtime.engine.sync_tickets(NOW + HOUR).recorded == {"resolved": 1}
        assert runtime.engine.sync_tickets(NOW + HOUR).changes == 0
        snow.close()

    [resolved] = status_events(settings)
    assert (resolved["ticket_id"], resolved["interaction_id"]) == (ticket_id, interaction_id)
    assert resolved["resolution_note"] == "Fan replaced under warranty, case 77310."
    assert resolved["resolution_category"] == "Solved (Permanently)"
    assert resolved["assignment_group"] == "Endpoint"
