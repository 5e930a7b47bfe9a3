"""Known outages: a burst of VPN reports from one office becomes one incident, later reports are
linked to it, the employees who reported it are told once, and ordinary traffic raises nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from resolver.conversation import Conversation, ConversationStore
from resolver.engine import InboundMessage
from resolver.events import format_time
from resolver.identity import SLACK
from resolver.outage import OutageDetector, poll_lock_path
from resolver.runtime import Runtime
from resolver.turn import Reply
from settings import Settings
from tests.conftest import NOW, OtherProcess, events_of

HISTORY_DAYS = 21
VPN = "my vpn is not working"


def staff(runtime: Runtime, location: str) -> list[str]:
    """The employees of an office, by id."""
    rows = runtime.store.query(
        "select employee_id from people where location = ? order by employee_id", location
    )
    return [row["employee_id"] for row in rows]


def past_interactions(runtime: Runtime, per_day: dict[str, int]) -> None:
    """Weeks of ordinary traffic before NOW's day, stored as the engine stores conversations:
    every day, `per_day[office]` VPN reports from that office between 09:00 and 09:50."""
    conversations = ConversationStore(runtime.store)
    day = NOW.replace(hour=9, minute=0)
    for back in range(1, HISTORY_DAYS + 1):
        for office, count in per_day.items():
            for n, employee in enumerate(staff(runtime, office)[:count]):
                moment = day - timedelta(days=back) + timedelta(minutes=10 * n)
                started = format_time(moment)
                convo = Conversation(
                    interaction_id=f"past-{office}-{back}-{n}",
                    user_key=employee,
                    channel="slack",
                    employee_id=employee,
                    started_at=started,
                    last_activity=started,
                    state="closed",
                    intent="vpn_issue",
                    outcome="answered",
                )
                conversations.save(convo, moment + timedelta(minutes=30))


def report(runtime: Runtime, employee: str, at: datetime, text: str = VPN) -> Reply:
    """An employee reports a problem on Slack."""
    reply = runtime.engine.handle(InboundMessage(employee, text, "slack", credential=SLACK), at)
    assert reply.intent == "vpn_issue"
    return reply


def ticket_count(runtime: Runtime) -> int:
    """Tickets in the embedded queue."""
    row = runtime.store.query_one("select count(*) as n from tickets")
    return row["n"] if row else 0


def outbox_count(runtime: Runtime) -> int:
    """Messages delivered to any employee."""
    row = runtime.store.query_one("select count(*) as n from outbox")
    return row["n"] if row else 0


@pytest.fixture
def detector(runtime: Runtime) -> OutageDetector:
    """A detector on an engine with three weeks of history: London sees a VPN report a day,
    San Francisco six."""
    past_interactions(runtime, {"lon": 1, "sfo": 6})
    return OutageDetector(runtime.engine)


def test_a_burst_from_one_office_becomes_one_incident_and_ordinary_traffic_nothing(
    runtime: Runtime, settings: Settings, detector: OutageDetector
) -> None:
    london, san_francisco = staff(runtime, "lon"), staff(runtime, "sfo")
    tickets = ticket_count(runtime)
    burst = [
        report(runtime, employee, NOW + timedelta(minutes=n))
        for n, employee in enumerate(london[:8])
    ]
    usual = [  # as many as on any morning
        report(runtime, employee, NOW - timedelta(minutes=45) + timedelta(minutes=10 * n))
        for n, employee in enumerate(san_francisco[:6])
    ]
    assert all(reply.ticket_id is None for reply in burst + usual)
    before = outbox_count(runtime)

    [outage] = detector.poll(NOW + timedelta(minutes=10))

    assert (outage.intent, outage.location, outage.actual) == ("vpn_issue", "lon", 8)
    assert outage.expected < 1 and outage.score >= 6
    assert ticket_count(runtime) == tickets + 1
    incident = runtime.connectors.ticketing.get_ticket(outage.ticket_id)
    assert incident is not None and (incident.priority, incident.requester_id) == ("P1", None)
    description = runtime.connectors.ticketing.description(outage.ticket_id)  # type: ignore[attr-defined]
    assert "8 interactions" in description and f"{outage.expected:.2f} expected" in description
    assert all(reply.interaction_id in description for reply in burst)
    assert runtime.engine.outages.open_for("vpn_issue", "lon") == outage

    assert outbox_count(runtime) == before + 8  # each reporter told once
    notices = [e for e in events_of(settings) if e["channel"] == "proactive"]
    started = [e for e in notices if e["event_type"] == "interaction_started"]
    assert sorted(e["employee_id"] for e in started) == london[:8]
    assert {e["trigger"]["type"] for e in started} == {"outage_detected"}
    closed = [e for e in notices if e["event_type"] == "interaction_closed"]
    assert {(e["outcome"], e["reason"], e["intent"]) for e in closed} == {
        ("escalated", "linked_to_incident", "vpn_issue")
    }
    linked = [e for e in notices if e["event_type"] == "outcome_recorded"]
    assert {e["ticket_id"] for e in linked} == {outage.ticket_id}
    messages = runtime.connectors.notifier.messages_for(london[0])  # type: ignore[attr-defined]
    assert outage.ticket_id in messages[-1]["body"]

    later = report(runtime, london[8], NOW + timedelta(minutes=15))
    assert (later.outcome, later.state, later.ticket_id) == (
        "escalated",
        "closed",
        incident.ticket_id,
    )
    assert "linked your report" in later.reply
    elsewhere = report(runtime, san_francisco[6], NOW + timedelta(minutes=16))
    assert elsewhere.ticket_id is None and elsewhere.state == "feedback"

    assert detector.poll(NOW + timedelta(minutes=20)) == []
    assert ticket_count(runtime) == tickets + 1 and outbox_count(runtime) == before + 8


def test_a_resolved_incident_ends_the_outage_and_its_reports_do_not_raise_it_again(
    runtime: Runtime, detector: OutageDetector
) -> None:
    london = staff(runtime, "lon")
    for n, employee in enumerate(london[:8]):
        report(runtime, employee, NOW + timedelta(minutes=n))
    [outage] = detector.poll(NOW + timedelta(minutes=10))

    runtime.engine.update_ticket(outage.ticket_id, "resolved", NOW + timedelta(minutes=30))

    assert runtime.engine.outages.open_for("vpn_issue", "lon") is None
    after = report(runtime, london[8], NOW + timedelta(minutes=35))
    assert after.ticket_id is None and after.state == "feedback"
    assert detector.poll(NOW + timedelta(minutes=40)) == []


def test_reports_the_vpn_playbook_linked_to_a_gateway_incident_adopt_that_incident(
    runtime: Runtime, detector: OutageDetector
) -> None:
    runtime.connectors.vpn.set_gateway_health("gw-lon", False)  # type: ignore[attr-defined]
    replies = [
        report(runtime, employee, NOW + timedelta(minutes=n))
        for n, employee in enumerate(staff(runtime, "lon")[:8])
    ]
    [gateway_incident] = {reply.ticket_id for reply in replies}
    tickets, messages = ticket_count(runtime), outbox_count(runtime)

    [outage] = detector.poll(NOW + timedelta(minutes=10))

    assert outage.ticket_id == gateway_incident
    assert ticket_count(runtime) == tickets  # no second incident
    assert outbox_count(runtime) == messages  # everyone was told when they reported


def test_no_alarm_before_two_weeks_of_history(runtime: Runtime) -> None:
    for n, employee in enumerate(staff(runtime, "lon")[:8]):
        report(runtime, employee, NOW + timedelta(minutes=n))
    assert OutageDetector(runtime.engine).poll(NOW + timedelta(minutes=10)) == []
    assert runtime.engine.outages.open_outages() == []


HOLD_LOCK = """
import fcntl, sys
with open(sys.argv[1], "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_poll_while_another_process_polls_the_store_does_nothing(
    runtime: Runtime, settings: Settings, detector: OutageDetector
) -> None:
    for n, employee in enumerate(staff(runtime, "lon")[:8]):
        report(runtime, employee, NOW + timedelta(minutes=n))
    tickets, messages = ticket_count(runtime), outbox_count(runtime)
    with OtherProcess(HOLD_LOCK, str(poll_lock_path(settings.state_db))) as other:
        assert other.readline() == "held"
        assert detector.poll(NOW + timedelta(minutes=10)) == []
        assert (ticket_count(runtime), outbox_count(runtime)) == (tickets, messages)
    # the other poll has ended
    [outage] = detector.poll(NOW + timedelta(minutes=11))
    assert ticket_count(runtime) == tickets + 1 and outbox_count(runtime) == messages + 8
    assert runtime.engine.outages.open_outages() == [outage]


def test_a_single_report_linked_to_a_gateway_incident_adopts_it_and_is_not_told_again(
    runtime: Runtime, settings: Settings, detector: OutageDetector
) -> None:
    london = staff(runtime, "lon")
    for n, employee in enumerate(london[:7]):  # before the gateway's probe sees it down
        assert report(runtime, employee, NOW + timedelta(minutes=n)).ticket_id is None
    runtime.connectors.vpn.set_gateway_health("gw-lon", False)  # type: ignore[attr-defined]
    linked = report(runtime, london[7], NOW + timedelta(minutes=8))
    assert linked.ticket_id is not None
    tickets, messages = ticket_count(runtime), outbox_count(runtime)

    [outage] = detector.poll(NOW + timedelta(minutes=10))

    assert outage.ticket_id == linked.ticket_id  # one incident for one outage
    assert ticket_count(runtime) == tickets
    assert outbox_count(runtime) == messages + 7  # the linked reporter was told when reporting
    started = [
        e
        for e in events_of(settings)
        if e["channel"] == "proactive" and e["event_type"] == "interaction_started"
    ]
    assert sorted(e["employee_id"] for e in started) == london[:7]


def test_each_reporter_is_told_in_the_language_they_reported_in(
    runtime: Runtime, settings: Settings, detector: OutageDetector
) -> None:
    london = staff(runtime, "lon")[:8]
    german = "Mein VPN verbindet sich seit heute Morgen nicht mehr"
    for n, employee in enumerate(london):
        report(runtime, employee, NOW + timedelta(minutes=n), german if n % 2 else VPN)
    detector.poll(NOW + timedelta(minutes=10))
    started = {
        e["employee_id"]: e["language"]
        for e in events_of(settings)
        if e["channel"] == "proactive" and e["event_type"] == "interaction_started"
    }
    assert started == {e: "de" if n % 2 else "en" for n, e in enumerate(london)}
    notifier = runtime.connectors.notifier
    assert notifier.messages_for(london[1])[-1]["body"].startswith("Hallo ")  # type: ignore[attr-defined]
    assert notifier.messages_for(london[0])[-1]["body"].startswith("Hi ")  # type: ignore[attr-defined]
