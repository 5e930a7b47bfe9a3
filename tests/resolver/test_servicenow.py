"""ServiceNow ticketing against a local Table API stub: request shapes, mapping, failures."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from resolver.connectors.base import ConnectorError, Person, Resolution, TicketRequest
from resolver.connectors.embedded import EmbeddedDirectory
from resolver.connectors.servicenow import ServiceNowTicketing, servicenow_auth
from resolver.runtime import Runtime
from tests.conftest import NOW, Chat
from tests.stubs.servicenow import ServiceNowStub

CONTEXT = (
    "Requester: E000042 (channel slack)\nEscalation reason: user_asked\n"
    "Conversation (secrets redacted):\nemployee: my laptop fan is screaming\n"
    "unticket: I'll pass this to the service desk."
)


@pytest.fixture
def stub() -> Iterator[ServiceNowStub]:
    """A running ServiceNow stub."""
    with ServiceNowStub() as running:
        yield running


def client(
    stub: ServiceNowStub, directory: EmbeddedDirectory, **options: object
) -> ServiceNowTicketing:
    """A client of the stub with Basic auth."""
    auth = servicenow_auth(stub.user, stub.password)
    return ServiceNowTicketing(stub.url, auth, directory, **options)  # type: ignore[arg-type]


def open_one(snow: ServiceNowTicketing, person: Person, **changes: object) -> object:
    """Open a ticket for the person with typical escalation arguments."""
    arguments = {
        "requester_id": person.employee_id,
        "title": "Hardware issue: my laptop fan is screaming",
        "description": CONTEXT,
        "intent": "hardware_issue",
        "priority": "P2",
        "interaction_id": "9f1c2e3d4b5a69788796a5b4c3d2e1f0",
        **changes,
    }
    return snow.open_ticket(TicketRequest(**arguments), NOW)  # type: ignore[arg-type]


def test_create_sends_a_complete_incident_and_get_reads_it_back(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    caller = stub.add_user(person.email, person.username)
    snow = client(stub, directory, categories={"hardware_issue": "hardware"}, contact_type="chat")

    ticket = open_one(snow, person)

    assert not stub.problems
    create = next(r for r in stub.requests if r.method == "POST")
    assert create.path == "/api/now/table/incident"
    assert create.headers["accept"] == "application/json"
    assert create.headers["content-type"] == "application/json"
    expected = base64.b64encode(f"{stub.user}:{stub.password}".encode()).decode()
    assert create.headers["authorization"] == f"Basic {expected}"
    assert create.body == {
        "short_description": "Hardware issue: my laptop fan is screaming",
        "description": CONTEXT,
        "impact": "1",
        "urgency": "2",
        "category": "hardware",
        "contact_type": "chat",
        "correlation_display": "Unticket",
        "correlation_id": "9f1c2e3d4b5a69788796a5b4c3d2e1f0",
        "caller_id": caller,
    }
    stored = stub.incident(ticket.ticket_id)
    assert "employee: my laptop fan is screaming" in stored["description"]
    assert stored["priority"] == "2"
    assert (ticket.ticket_id, ticket.status, ticket.priority) == ("INC0010001", "new", "P2")
    assert ticket.requester_id == person.employee_id
    assert ticket.interaction_id == "9f1c2e3d4b5a69788796a5b4c3d2e1f0"

    again = snow.get_ticket("inc0010001")
    assert again == ticket
    assert snow.get_ticket(stored["sys_id"]) == ticket
    lookup = stub.requests[-1]
    assert lookup.params["sysparm_display_value"] == "false"
    assert lookup.params["sysparm_limit"] == "1"
    assert snow.tickets_of(person.employee_id) == [ticket]
    assert snow.find_by_interaction("9f1c2e3d4b5a69788796a5b4c3d2e1f0") == ticket


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("1", "new"),
        ("2", "in_progress"),
        ("3", "on_hold"),
        ("6", "resolved"),
        ("7", "closed"),
        ("8", "closed"),
    ],
)
def test_incident_states_map_to_the_product_statuses(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person, state: str, status: str
) -> None:
    snow = client(stub, directory)
    ticket = open_one(snow, person)
    stub.set_state(ticket.ticket_id, state)
    assert snow.get_ticket(ticket.ticket_id).status == status


@pytest.mark.parametrize(
    ("priority", "levels"), [("P1", ("1", "1")), ("P3", ("2", "2")), ("P4", ("2", "3"))]
)
def test_priorities_round_trip_through_impact_and_urgency(
    stub: ServiceNowStub,
    directory: EmbeddedDirectory,
    person: Person,
    priority: str,
    levels: tuple[str, str],
) -> None:
    ticket = open_one(client(stub, directory), person, priority=priority)
    stored = stub.incident(ticket.ticket_id)
    assert (stored["impact"], stored["urgency"]) == levels
    assert ticket.priority == priority


def test_status_changes_carry_the_fields_servicenow_requires(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    snow = client(stub, directory)
    ticket = open_one(snow, person)
    assert snow.set_status(ticket.ticket_id, "on_hold", NOW).status == "on_hold"
    resolved = snow.set_status(ticket.ticket_id, "resolved", NOW)
    assert resolved.status == "resolved" and not stub.problems
    assert stub.incident(ticket.ticket_id)["close_code"] == "Solution provided"
    with pytest.raises(ConnectorError, match="unknown status"):
        snow.set_status(ticket.ticket_id, "canceled", NOW)


def test_an_outage_incident_is_found_while_active(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    snow = client(stub, directory)
    assert snow.open_outage("vpn:gw-lon") is None
    incident = open_one(
        snow, person, requester_id=None, interaction_id=None, priority="P1", service="vpn:gw-lon"
    )
    assert stub.incident(incident.ticket_id)["correlation_id"] == "outage:vpn:gw-lon"
    assert incident.interaction_id is None and "caller_id" not in stub.incident(incident.ticket_id)
    assert snow.open_outage("vpn:gw-lon") == incident
    stub.set_state(incident.ticket_id, "6")
    assert snow.open_outage("vpn:gw-lon") is None


def test_unknown_tickets_and_unknown_callers(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    snow = client(stub, directory)
    assert snow.get_ticket("INC9999999") is None
    assert snow.get_ticket("INC0000001^ORnumber!=x") is None  # not a number: never reaches a query
    ticket = open_one(snow, person)  # no sys_user for this employee
    assert "caller_id" not in stub.incident(ticket.ticket_id)
    assert snow.tickets_of(person.employee_id) == []


def test_an_oauth_bearer_token_is_sent(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.token = "oauth-token-xyz"
    snow = ServiceNowTicketing(stub.url, servicenow_auth(token="oauth-token-xyz"), directory)
    assert open_one(snow, person).status == "new"
    assert stub.requests[-1].headers["authorization"] == "Bearer oauth-token-xyz"
    with pytest.raises(ValueError, match="user and password, or an OAuth token"):
        servicenow_auth(user="only-a-user")


def test_wrong_credentials_fail_clearly_without_the_secret(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    secret = "Wrong-But-Secret-9921"
    snow = ServiceNowTicketing(stub.url, servicenow_auth(stub.user, secret), directory)
    with pytest.raises(ConnectorError) as failure:
        open_one(snow, person)
    message = str(failure.value)
    assert "rejected the configured credentials" in message and "HTTP 401" in message
    assert secret not in message and stub.password not in message
    assert base64.b64encode(f"{stub.user}:{secret}".encode()).decode() not in message


def test_server_errors_timeouts_and_unreachable_instances(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.fail_status = 503
    with pytest.raises(ConnectorError, match="HTTP 503: Service Unavailable"):
        open_one(client(stub, directory), person)

    stub.fail_status, stub.delays = None, {"GET": 0.5}
    with pytest.raises(
        ConnectorError, match=r"did not answer GET /api/now/table/incident within 0\.2 s"
    ):
        client(stub, directory, timeout=0.2).get_ticket("INC0010001")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = ServiceNowTicketing(closed, httpx.BasicAuth("u", "p"), directory, timeout=1)
    with pytest.raises(ConnectorError, match="could not reach"):
        unreachable.get_ticket("INC0010001")


def test_an_escalation_from_chat_reaches_servicenow_with_the_conversation(
    runtime: Runtime, employee: str
) -> None:
    person = runtime.connectors.directory.get_person(employee)
    with ServiceNowStub() as stub:
        stub.add_user(person.email, person.username)
        snow = client(stub, runtime.connectors.directory)  # type: ignore[arg-type]
        runtime.connectors.ticketing = snow
        chat = Chat(runtime, employee)
        chat.say("my account is locked")
        reply = chat.say("actually can I talk to a human please")
        assert (reply.outcome, reply.ticket_id) == ("escalated", "INC0010001")
        incident = stub.incident("INC0010001")
        assert "my account is locked" in incident["description"]
        assert "account_unlock" in incident["description"]
        assert incident["correlation_id"] == reply.interaction_id
        status = chat.say("what's the status of my ticket?")
        assert "INC0010001 (new)" in status.reply
        snow.close()


def test_a_resolved_incident_reads_back_its_close_notes_code_and_group(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    snow = client(stub, directory)
    ticket = open_one(snow, person)
    network = stub.add_group("Network")
    assert snow.get_ticket(ticket.ticket_id).resolution is None  # open: not resolved yet
    stub.set_state(
        ticket.ticket_id,
        "6",
        close_code="Solved (Permanently)",
        close_notes="Split tunnel route added on gw-lon, CHG0031842.",
        assignment_group=network,
    )
    assert snow.get_ticket(ticket.ticket_id).resolution == Resolution(
        "Split tunnel route added on gw-lon, CHG0031842.", "Solved (Permanently)", "Network"
    )
    lookup = stub.requests[-1]
    assert "assignment_group.name" in lookup.params["sysparm_fields"]
    assert lookup.params["sysparm_display_value"] == "false"
    # no close code: the incident's category stands in; no group: none
    stub.set_state(ticket.ticket_id, "7", close_code="", assignment_group="")
    closed = snow.get_ticket(ticket.ticket_id)
    assert closed.resolution == Resolution(
        "Split tunnel route added on gw-lon, CHG0031842.", "inquiry", None
    )


def test_resolving_with_a_resolution_writes_close_code_notes_and_group(
    stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    snow = client(stub, directory)
    ticket = open_one(snow, person)
    group = stub.add_group("Identity & Access")
    fix = Resolution("Reset MFA, user re-enrolled.", "Access / MFA", "Identity & Access")

    resolved = snow.set_status(ticket.ticket_id, "resolved", NOW, fix)

    assert not stub.problems
    patch = stub.requests[-1]
    assert patch.method == "PATCH"
    assert patch.body == {
        "state": "6",
        "close_code": "Access / MFA",
        "close_notes": "Reset MFA, user re-enrolled.",
        "assignment_group": group,
    }
    assert (resolved.status, resolved.resolution) == ("resolved", fix)
    with pytest.raises(ConnectorError, match="no assignment group named 'Nobody'"):
        snow.set_status(ticket.ticket_id, "closed", NOW, Resolution("x", None, "Nobody"))
    with pytest.raises(ConnectorError, match="goes with resolved or closed"):
        snow.set_status(ticket.ticket_id, "in_progress", NOW, fix)


def test_changed_since_pages_through_unticket_s_incidents_updated_from_then(
    stub: ServiceNowStub,
    directory: EmbeddedDirectory,
    person: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("resolver.connectors.servicenow.PAGE_SIZE", 2)
    snow = client(stub, directory)
    tickets = [open_one(snow, person, interaction_id=f"i-{n}") for n in range(3)]
    stub.incidents.append(  # an incident someone else opened: not Unticket's
        {**stub.incident(tickets[0].ticket_id), "number": "INC0099999", "sys_id": "f" * 32}
    )
    stub.incidents[-1]["correlation_display"] = ""
    for record in stub.incidents:
        record["sys_updated_on"] = "2026-11-02 08:00:00"
    stub.set_state(tickets[2].ticket_id, "6", close_code="Solved", close_notes="Fixed.")
    stub.incident(tickets[1].ticket_id)["sys_updated_on"] = "2026-11-02 09:30:00"

    changed = snow.changed_since(NOW)  # 09:30 UTC

    assert [t.ticket_id for t in changed] == [tickets[1].ticket_id, tickets[2].ticket_id]
    assert changed[1].resolution == Resolution("Fixed.", "Solved", None)
    everything = snow.changed_since(NOW - timedelta(days=1))
    assert [t.ticket_id for t in everything] == [t.ticket_id for t in tickets]
    queries = [
        r.params
        for r in stub.requests
        if r.params.get("sysparm_query", "").startswith("correlation_display")
    ]
    assert queries[-1]["sysparm_query"] == (
        "correlation_display=Unticket^sys_updated_on>=2026-11-01 09:30:00"
        "^ORDERBYsys_updated_on^ORDERBYnumber"
    )
    assert [q.get("sysparm_offset") for q in queries[-2:]] == [None, "2"]
