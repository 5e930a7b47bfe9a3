"""Jira Service Management ticketing against a local JSM stub: request shapes, mapping, failures."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from resolver.connectors.base import ConnectorError, Person, Resolution, Ticket, TicketRequest
from resolver.connectors.embedded import EmbeddedDirectory
from resolver.connectors.jira import (
    JiraServiceManagementTicketing,
    product_status,
    split_marker,
    summary_with_marker,
)
from tests.conftest import NOW
from tests.stubs.jira import JiraStub

INTERACTION = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CONTEXT = (
    "Requester: E000042 (channel teams)\nEntities: {'application': 'figma'}\n"
    "Conversation (secrets redacted):\nemployee: figma keeps crashing on launch"
)


@pytest.fixture
def stub() -> Iterator[JiraStub]:
    """A running JSM stub."""
    with JiraStub() as running:
        yield running


def client(
    stub: JiraStub, directory: EmbeddedDirectory, **options: object
) -> JiraServiceManagementTicketing:
    """A client of the stub's service desk."""
    settings = {"service_desk_id": "1", "request_type_id": "10", "project_key": "IT", **options}
    return JiraServiceManagementTicketing(
        stub.url, stub.email, stub.api_token, directory, **settings
    )  # type: ignore[arg-type]


def open_one(jira: JiraServiceManagementTicketing, person: Person, **changes: object) -> Ticket:
    """Open a ticket for the person with typical escalation arguments."""
    arguments = {
        "requester_id": person.employee_id,
        "title": "Software issue: figma keeps crashing on launch",
        "description": CONTEXT,
        "intent": "software_issue",
        "priority": "P3",
        "interaction_id": INTERACTION,
        **changes,
    }
    return jira.open_ticket(TicketRequest(**arguments), NOW)  # type: ignore[arg-type]


def test_create_raises_a_request_on_behalf_of_the_employee_and_get_reads_it_back(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    account = stub.add_customer(person.email, person.name)
    jira = client(stub, directory)

    ticket = open_one(jira, person)

    assert not stub.problems
    create = next(r for r in stub.requests if r.path == "/rest/servicedeskapi/request")
    assert create.method == "POST"
    assert create.headers["accept"] == "application/json"
    assert create.headers["content-type"] == "application/json"
    token = base64.b64encode(f"{stub.email}:{stub.api_token}".encode()).decode()
    assert create.headers["authorization"] == f"Basic {token}"
    assert create.body == {
        "serviceDeskId": "1",
        "requestTypeId": "10",
        "requestFieldValues": {
            "summary": f"Software issue: figma keeps crashing on launch [unticket:{INTERACTION}]",
            "description": "{noformat}\n" + CONTEXT + "\n{noformat}",
        },
        "raiseOnBehalfOf": account,
    }
    assert "employee: figma keeps crashing on launch" in stub.issue("IT-1")["fields"]["description"]
    assert ticket == Ticket(
        ticket_id="IT-1",
        requester_id=person.employee_id,
        title="Software issue: figma keeps crashing on launch",
        status="new",
        priority="P3",
        intent=None,
        interaction_id=INTERACTION,
        opened_at=ticket.opened_at,
        updated_at=ticket.updated_at,
    )
    assert jira.get_ticket("it-1") == ticket
    assert jira.get_ticket(stub.issue("IT-1")["id"]) == ticket
    assert jira.tickets_of(person.employee_id) == [ticket]
    assert jira.find_by_interaction(INTERACTION) == ticket
    assert jira.find_by_interaction("ffffffffffffffffffffffffffffffff") is None


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("Waiting for support", "new"),
        ("In progress", "in_progress"),
        ("Waiting for customer", "on_hold"),
        ("Resolved", "resolved"),
        ("Closed", "closed"),
        ("Canceled", "closed"),
    ],
)
def test_request_statuses_map_to_the_product_statuses(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person, name: str, status: str
) -> None:
    jira = client(stub, directory)
    ticket = open_one(jira, person)
    stub.set_status(ticket.ticket_id, name)
    assert jira.get_ticket(ticket.ticket_id).status == status


def test_unknown_status_names_fall_back_to_the_status_category() -> None:
    assert product_status("Awaiting vendor", "INDETERMINATE") == "in_progress"
    assert product_status("Shipped", "DONE") == "resolved"
    assert product_status("Triage", "NEW") == "new"


def test_request_types_per_intent_and_priority_when_the_request_type_has_it(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    jira = client(stub, directory, request_types={"software_issue": "11"}, send_priority=True)
    ticket = open_one(jira, person, priority="P2")
    assert not stub.problems
    assert stub.issue(ticket.ticket_id)["request_type"] == "11"
    assert ticket.priority == "P2"

    refused = client(stub, directory, send_priority=True)  # request type 10 has no priority
    with pytest.raises(ConnectorError, match="Field 'priority' is not valid for this request type"):
        open_one(refused, person, interaction_id="another")


def test_status_changes_go_through_workflow_transitions(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    jira = client(stub, directory)
    ticket = open_one(jira, person)
    assert jira.set_status(ticket.ticket_id, "in_progress", NOW).status == "in_progress"
    assert jira.set_status(ticket.ticket_id, "in_progress", NOW).status == "in_progress"
    assert jira.set_status(ticket.ticket_id, "resolved", NOW).status == "resolved"
    assert stub.issue(ticket.ticket_id)["status"] == "Resolved"
    with pytest.raises(ConnectorError, match="no request IT-99"):
        jira.set_status("IT-99", "closed", NOW)


def test_an_outage_request_is_found_while_unresolved(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    jira = client(stub, directory)
    open_one(jira, person)  # an unrelated request
    assert jira.open_outage("vpn:gw-lon") is None
    incident = open_one(
        jira,
        person,
        requester_id=None,
        interaction_id=None,
        priority="P1",
        service="vpn:gw-lon",
        title="Major incident: VPN gateway gw-lon is down",
    )
    assert stub.issue(incident.ticket_id)["reporter"] is None
    assert incident.interaction_id is None and incident.title.startswith("Major incident")
    assert jira.open_outage("vpn:gw-lon") == incident
    assert jira.open_outage("vpn:gw") is None  # the marker must match exactly
    stub.set_status(incident.ticket_id, "Resolved")
    assert jira.open_outage("vpn:gw-lon") is None


def test_summary_marker_round_trip() -> None:
    summary = summary_with_marker("x" * 400, INTERACTION)
    assert len(summary) == 255
    assert split_marker(summary) == ("x" * (255 - len(f" [unticket:{INTERACTION}]")), INTERACTION)
    assert split_marker("A plain summary") == ("A plain summary", None)


def test_unknown_requests_and_employees_without_an_account(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    jira = client(stub, directory)
    assert jira.get_ticket("IT-404") is None
    assert jira.get_ticket("../../rest/api/3/myself") is None
    ticket = open_one(jira, person)  # no customer account: raised by the integration account
    assert "raiseOnBehalfOf" not in stub.requests[-1].body
    assert ticket.requester_id is None
    assert jira.tickets_of(person.employee_id) == []


def test_wrong_api_token_fails_clearly_without_the_secret(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    secret = "ATATT-wrong-but-secret-3107"
    jira = JiraServiceManagementTicketing(
        stub.url,
        stub.email,
        secret,
        directory,
        service_desk_id="1",
        request_type_id="10",
        project_key="IT",
    )
    with pytest.raises(ConnectorError) as failure:
        open_one(jira, person)
    message = str(failure.value)
    assert "rejected the configured credentials" in message and "HTTP 401" in message
    assert secret not in message and stub.api_token not in message


def test_server_errors_and_timeouts(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.fail_status = 500
    with pytest.raises(ConnectorError, match="HTTP 500: Service Unavailable"):
        open_one(client(stub, directory), person)
    stub.fail_status, stub.delays = None, {"GET": 0.5}
    with pytest.raises(
        ConnectorError, match=r"did not answer GET /rest/servicedeskapi/request/IT-1 within 0\.2 s"
    ):
        client(stub, directory, timeout=0.2).get_ticket("IT-1")


def test_a_resolved_request_reads_back_its_resolution_comment_and_team(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    jira = client(stub, directory)
    ticket = open_one(jira, person)
    stub.add_comment(ticket.ticket_id, "Can you try reinstalling figma?")
    assert jira.get_ticket(ticket.ticket_id).resolution is None  # open: not resolved yet
    stub.add_comment(ticket.ticket_id, "Cleared figma cache on LT-4821, launches fine.", False)
    stub.set_team(ticket.ticket_id, "Endpoint")
    stub.set_status(ticket.ticket_id, "Resolved", "Done")
    stub.add_comment(ticket.ticket_id, "Thanks, all good!", later_ms=60_000)  # not the note

    resolved = jira.get_ticket(ticket.ticket_id)

    assert not stub.problems
    assert resolved.resolution == Resolution(
        "Cleared figma cache on LT-4821, launches fine.", "Done", "Endpoint"
    )
    issue = next(r for r in stub.requests if r.path == f"/rest/api/3/issue/{ticket.ticket_id}")
    assert issue.params["fields"] == "resolution,customfield_10001"
    # a site without a Team field: the resolution still reads, without a group
    stub.set_team(ticket.ticket_id, "Endpoint")
    plain = client(stub, directory)
    plain.__dict__["_team_field"] = None
    assert plain.get_ticket(ticket.ticket_id).resolution.assignment_group is None


def test_resolving_with_a_resolution_comments_then_transitions_with_it(
    stub: JiraStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.resolutions.append("Known Error")
    jira = client(stub, directory)
    ticket = open_one(jira, person)
    fix = Resolution("Rolled back figma 124.3 on LT-4821.", "known error", "Endpoint")

    resolved = jira.set_status(ticket.ticket_id, "resolved", NOW, fix)

    assert not stub.problems
    comment = next(r for r in stub.requests if r.path.endswith("/comment") and r.method == "POST")
    assert comment.body == {"body": "Rolled back figma 124.3 on LT-4821.", "public": False}
    move = [r for r in stub.requests if r.path.endswith("/transitions")]
    assert move[0].params == {"expand": "transitions.fields"}
    assert move[1].body["fields"] == {"resolution": {"name": "Known Error"}}
    assert resolved.resolution == Resolution("Rolled back figma 124.3 on LT-4821.", "Known Error")

    # a category the site has no resolution for: the workflow's own (Done) is kept
    other = open_one(jira, person, interaction_id="1" * 32)
    closed = jira.set_status(other.ticket_id, "closed", NOW, Resolution("Dup.", "Duplicate of X"))
    last_move = [r for r in stub.requests if r.path.endswith("/transitions") and r.body][-1]
    assert last_move.body == {"transition": {"id": "15"}}
    assert closed.resolution == Resolution("Dup.", "Done")
    with pytest.raises(ConnectorError, match="goes with resolved or closed"):
        jira.set_status(other.ticket_id, "in_progress", NOW, fix)


def test_changed_since_finds_unticket_s_requests_by_marker_and_time(
    stub: JiraStub,
    directory: EmbeddedDirectory,
    person: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("resolver.connectors.jira.PAGE_SIZE", 2)
    jira = client(stub, directory)
    tickets = [open_one(jira, person, interaction_id=f"{n}" * 32) for n in range(3)]
    foreign = open_one(jira, person, interaction_id=None)  # no marker: not found by a sync
    an_hour_ago = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
    for issue in stub.issues:
        issue["updated"] = an_hour_ago
    stub.set_status(tickets[2].ticket_id, "Resolved")
    stub.issue(tickets[0].ticket_id)["updated"] = an_hour_ago + 20 * 60_000
    stub.issue(foreign.ticket_id)["updated"] = an_hour_ago + 30 * 60_000

    changed = jira.changed_since(datetime.now(UTC) - timedelta(minutes=45))

    assert not stub.problems
    assert [t.ticket_id for t in changed] == [tickets[0].ticket_id, tickets[2].ticket_id]
    assert changed[1].status == "resolved" and changed[1].resolution == Resolution("", "Done")
    search = next(r for r in stub.requests if r.path == "/rest/api/3/search/jql")
    assert search.body["jql"] == (
        'project = "IT" AND summary ~ "unticket" AND updated >= "-47m" ORDER BY updated ASC'
    )
    everything = jira.changed_since(datetime.now(UTC) - timedelta(hours=2))
    assert [t.ticket_id for t in everything] == [
        tickets[1].ticket_id,
        tickets[0].ticket_id,
        tickets[2].ticket_id,
    ]
    pages = [r.body for r in stub.requests if r.path == "/rest/api/3/search/jql"][-2:]
    assert "nextPageToken" not in pages[0] and pages[1]["nextPageToken"] == "2"
