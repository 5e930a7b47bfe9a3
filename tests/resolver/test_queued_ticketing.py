"""The ticket outbox: an unreachable ITSM never loses an escalation, and nothing is filed twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from resolver.connectors.base import ConnectorError, Person, Ticket, TicketRequest
from resolver.connectors.embedded import EmbeddedDirectory
from resolver.connectors.jira import JiraServiceManagementTicketing
from resolver.connectors.queued import QueuedTicket, QueuedTicketing
from resolver.connectors.servicenow import ServiceNowTicketing, servicenow_auth
from resolver.events import format_time
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import NOW, Chat, events_of
from tests.stubs.jira import JiraStub
from tests.stubs.servicenow import ServiceNowStub

CONTEXT = "Requester: E000007\nConversation (secrets redacted):\nemployee: the printer ate my badge"


@pytest.fixture
def stub(person: Person) -> Iterator[ServiceNowStub]:
    """A running ServiceNow stub that knows the employee."""
    with ServiceNowStub() as running:
        running.add_user(person.email, person.username)
        yield running


def servicenow(
    stub: ServiceNowStub, directory: EmbeddedDirectory, timeout: float = 2.0
) -> ServiceNowTicketing:
    """A ServiceNow client of the stub."""
    return ServiceNowTicketing(
        stub.url, servicenow_auth(stub.user, stub.password), directory, timeout=timeout
    )


def filed_ids(filed: list[QueuedTicket]) -> list[tuple[str, str | None]]:
    """(provisional id, real id) of the tickets a retry filed."""
    return [(item.provisional_id, item.real_id) for item in filed]


def escalate(
    queue: QueuedTicketing, person: Person, interaction: str, seconds: int = 0, **changes: object
) -> Ticket:
    """Open a ticket as the playbook's escalation does."""
    arguments = {
        "requester_id": person.employee_id,
        "title": "Other: the printer ate my badge",
        "description": CONTEXT,
        "intent": "hardware_issue",
        "priority": "P3",
        "interaction_id": interaction,
        **changes,
    }
    now = NOW + timedelta(seconds=seconds)
    return queue.open_ticket(TicketRequest(**arguments), now)  # type: ignore[arg-type]


def test_itsm_down_queues_the_ticket_and_nothing_is_lost_across_a_restart(
    tmp_path: Path, stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    path = tmp_path / "outbox-tickets.sqlite"
    stub.fail_status = 503
    queue = QueuedTicketing(servicenow(stub, directory), path)

    ticket = escalate(queue, person, "a" * 32)

    assert (ticket.ticket_id, ticket.status) == ("Q-0000001", "queued")
    assert stub.incidents == []
    assert queue.get_ticket("q-0000001") == ticket
    assert queue.tickets_of(person.employee_id) == [ticket]  # answered while ServiceNow is down
    [waiting] = queue.pending()
    assert waiting.attempts == 1 and "HTTP 503" in waiting.last_error
    assert waiting.next_attempt_at == NOW + timedelta(seconds=30)
    with pytest.raises(ConnectorError, match="Q-0000001 is still queued"):
        queue.set_status("Q-0000001", "resolved", NOW)
    queue.close()

    reopened = QueuedTicketing(servicenow(stub, directory), path)  # a restart
    assert [item.provisional_id for item in reopened.pending()] == ["Q-0000001"]
    asked = len(stub.requests)
    assert filed_ids(reopened.retry_pending(NOW + timedelta(seconds=10))) == []  # not due yet
    assert len(stub.requests) == asked

    stub.fail_status = None
    assert filed_ids(reopened.retry_pending(NOW + timedelta(seconds=31))) == [
        ("Q-0000001", "INC0010001")
    ]
    assert len(stub.incidents) == 1
    assert stub.incidents[0]["description"] == CONTEXT
    assert stub.incidents[0]["correlation_id"] == "a" * 32
    assert filed_ids(reopened.retry_pending(NOW + timedelta(hours=1))) == []
    assert len(stub.incidents) == 1

    filed = reopened.get_ticket("Q-0000001")
    assert (filed.ticket_id, filed.status, filed.requester_id) == (
        "INC0010001",
        "new",
        person.employee_id,
    )
    assert reopened.set_status("Q-0000001", "in_progress", NOW).status == "in_progress"
    assert reopened.pending() == [] and reopened.queued("Q-0000001").real_id == "INC0010001"
    reopened.close()


def test_backoff_grows_and_new_tickets_queue_behind_without_calling_the_itsm(
    tmp_path: Path, stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.fail_status = 503
    queue = QueuedTicketing(servicenow(stub, directory), tmp_path / "outbox-tickets.sqlite")
    escalate(queue, person, "1" * 32)
    asked = len(stub.requests)

    second = escalate(queue, person, "2" * 32, seconds=5)
    assert second.ticket_id == "Q-0000002" and len(stub.requests) == asked
    assert escalate(queue, person, "2" * 32, seconds=6) == second  # one ticket per interaction

    assert filed_ids(queue.retry_pending(NOW + timedelta(seconds=31))) == []
    first, waiting = queue.pending()
    assert (first.attempts, first.next_attempt_at) == (2, NOW + timedelta(seconds=31 + 60))
    assert waiting.attempts == 0  # the round stopped at the first failure
    assert filed_ids(queue.retry_pending(NOW + timedelta(seconds=40))) == []
    assert queue.pending()[1].attempts == 1

    stub.fail_status = None
    filed = filed_ids(queue.retry_pending(NOW + timedelta(minutes=5)))
    assert filed == [("Q-0000001", "INC0010001"), ("Q-0000002", "INC0010002")]
    assert [i["correlation_id"] for i in stub.incidents] == ["1" * 32, "2" * 32]
    queue.close()


def test_a_create_that_reached_servicenow_before_timing_out_is_not_filed_twice(
    tmp_path: Path, stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.delays = {"POST": 1.0}
    queue = QueuedTicketing(servicenow(stub, directory, timeout=0.5), tmp_path / "outbox.sqlite")
    ticket = escalate(queue, person, "b" * 32)
    assert ticket.status == "queued" and "did not answer" in queue.pending()[0].last_error
    assert len(stub.incidents) == 1  # it got there; only the answer was lost

    stub.delays = {}
    assert filed_ids(queue.retry_pending(NOW + timedelta(minutes=1))) == [
        ("Q-0000001", "INC0010001")
    ]
    assert len(stub.incidents) == 1
    queue.close()


def test_a_jsm_request_that_timed_out_is_found_by_its_marker_not_raised_twice(
    tmp_path: Path, directory: EmbeddedDirectory, person: Person
) -> None:
    with JiraStub() as jira:
        jira.add_customer(person.email, person.name)
        jsm = JiraServiceManagementTicketing(
            jira.url,
            jira.email,
            jira.api_token,
            directory,
            service_desk_id="1",
            request_type_id="10",
            project_key="IT",
            timeout=0.5,
        )
        jira.delays = {"POST": 1.0}
        queue = QueuedTicketing(jsm, tmp_path / "outbox-tickets.sqlite")
        assert escalate(queue, person, "c" * 32).status == "queued"
        jira.delays = {}
        assert filed_ids(queue.retry_pending(NOW + timedelta(minutes=1))) == [("Q-0000001", "IT-1")]
        assert filed_ids(queue.retry_pending(NOW + timedelta(minutes=2))) == []
        assert len(jira.issues) == 1
        assert queue.get_ticket("Q-0000001").requester_id == person.employee_id
        queue.close()


def test_concurrent_retries_file_each_ticket_once(
    tmp_path: Path, stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    path = tmp_path / "outbox-tickets.sqlite"
    stub.fail_status = 503
    first = QueuedTicketing(servicenow(stub, directory), path)
    escalate(first, person, "d" * 32)
    second = QueuedTicketing(servicenow(stub, directory), path)  # another process on the file
    stub.fail_status, stub.delays = None, {"GET": 0.2}
    results: list[list[tuple[str, str | None]]] = []
    workers = [
        threading.Thread(
            target=lambda q=q: results.append(
                filed_ids(q.retry_pending(NOW + timedelta(minutes=1)))
            )
        )
        for q in (first, second)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results) == [[], [("Q-0000001", "INC0010001")]]
    assert len(stub.incidents) == 1
    first.close()
    second.close()


def test_an_outage_reported_while_the_itsm_is_down_stays_one_incident(
    tmp_path: Path, stub: ServiceNowStub, directory: EmbeddedDirectory, person: Person
) -> None:
    stub.fail_status = 503
    queue = QueuedTicketing(servicenow(stub, directory), tmp_path / "outbox-tickets.sqlite")
    assert queue.open_outage("vpn:gw-lon") is None
    outage = escalate(queue, person, None, requester_id=None, priority="P1", service="vpn:gw-lon")
    assert queue.open_outage("vpn:gw-lon") == outage
    stub.fail_status = None
    assert filed_ids(queue.retry_pending(NOW + timedelta(minutes=1))) == [
        ("Q-0000001", "INC0010001")
    ]
    assert queue.open_outage("vpn:gw-lon").ticket_id == "INC0010001"
    assert len(stub.incidents) == 1
    queue.close()


def test_the_employee_hears_their_request_is_queued_and_it_is_filed_later(
    runtime: Runtime, settings: Settings, employee: str, tmp_path: Path
) -> None:
    person = runtime.connectors.directory.get_person(employee)
    with ServiceNowStub() as stub:
        stub.add_user(person.email, person.username)
        stub.fail_status = 503
        queue = QueuedTicketing(
            servicenow(stub, runtime.connectors.directory),  # type: ignore[arg-type]
            settings.data_dir / "outbox-tickets.sqlite",
        )
        runtime.connectors.ticketing = queue
        chat = Chat(runtime, employee)

        escalated = chat.say("can I speak to a person")
        assert (escalated.outcome, escalated.ticket_id) == ("escalated", "Q-0000001")
        assert "unreachable" in escalated.reply and "queued" in escalated.reply
        opened = [
            e
            for e in events_of(settings, escalated.interaction_id)
            if e["event_type"] == "ticket_opened"
        ]
        assert opened[0]["ticket_id"] == "Q-0000001"
        assert "Q-0000001 (queued)" in chat.say("what's the status of my ticket?").reply

        stub.fail_status = None
        filed_at = chat.now + timedelta(minutes=1)
        assert filed_ids(runtime.engine.file_queued_tickets(filed_at)) == [
            ("Q-0000001", "INC0010001")
        ]
        assert runtime.engine.file_queued_tickets(filed_at + timedelta(minutes=1)) == []
        assert "can I speak to a person" in stub.incident("INC0010001")["description"]
        [filed] = [e for e in events_of(settings) if e["event_type"] == "ticket_status_changed"]
        assert filed == {
            **filed,
            "occurred_at": format_time(filed_at),
            "interaction_id": escalated.interaction_id,
            "employee_id": employee,
            "channel": "service_desk",
            "ticket_id": "INC0010001",
            "status": "filed",
            "provisional_ticket_id": "Q-0000001",
        }
        assert (
            "INC0010001 (new)"
            in chat.say("what's the status of my ticket?", after_seconds=120).reply
        )
        queue.close()
