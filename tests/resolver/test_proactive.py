"""The lock-out watcher: lock-outs are found once, and the offer of a verified unlock reaches the
locked-out employee, and only them, through the engine's conversation machinery."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from resolver.connectors.embedded import LOCKOUT_THRESHOLD, EmbeddedNotifier
from resolver.connectors.ldap import LdapDirectory
from resolver.engine import InboundMessage
from resolver.events import format_time
from resolver.identity import CLI
from resolver.proactive import Lockout, find_new_lockouts, poll_lockouts, reach_out
from resolver.runtime import Runtime
from settings import Settings, get_settings
from tests.conftest import NOW, Chat, events_of, make_runtime
from tests.slapd import (
    PEOPLE,
    SlapdServer,
    binds,
    connector_config,
    lock_out,
    seed_over_ldap,
    slapd_missing,
    start_slapd,
)
from unticket.cli import app

MAX_FAILURE = 3
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """One seeded server for the module."""
    if reason := slapd_missing():
        pytest.fail(reason)
    server = start_slapd(tmp_path_factory.mktemp("slapd"), max_failure=MAX_FAILURE)
    try:
        seed_over_ldap(server)
        yield server
    finally:
        server.stop()


def lock(runtime: Runtime, employee_id: str, at: datetime) -> None:
    """Sign in with wrong passwords until the embedded directory locks the account."""
    for attempt in range(LOCKOUT_THRESHOLD):
        runtime.connectors.directory.sign_in(employee_id, f"wrong-{attempt}", at)  # type: ignore[attr-defined]


def outbox_counts(runtime: Runtime) -> dict[str, int]:
    """Messages delivered so far, per employee."""
    rows = runtime.store.query("select employee_id, count(*) as n from outbox group by 1")
    return {row["employee_id"]: row["n"] for row in rows}


def code_sent_to(runtime: Runtime, employee_id: str) -> str:
    """The latest one-time code on an employee's phone."""
    messages = runtime.connectors.notifier.messages_for(employee_id)  # type: ignore[attr-defined]
    codes = [m["body"] for m in messages if m["subject"] == "Verification code"]
    match = CODE.search(codes[-1])
    assert match
    return match[1]


def other_employee(runtime: Runtime, employee: str) -> str:
    """Another ordinary employee."""
    row = runtime.store.query_one(
        "select employee_id from people where level <= 3 and employee_id <> ? "
        "order by employee_id limit 1",
        employee,
    )
    assert row is not None
    return row["employee_id"]


def test_embedded_lockouts_are_found_once(runtime: Runtime, employee: str) -> None:
    directory = runtime.connectors.directory
    seen: set[Lockout] = set()
    assert find_new_lockouts(directory, seen) == []  # type: ignore[arg-type]
    lock(runtime, employee, NOW)
    assert find_new_lockouts(directory, seen) == [Lockout(NOW, employee)]  # type: ignore[arg-type]
    assert find_new_lockouts(directory, seen) == []  # type: ignore[arg-type]
    directory.unlock_account(employee)
    assert find_new_lockouts(directory, seen) == [] and seen == set()  # type: ignore[arg-type]
    later = NOW + timedelta(hours=1)
    lock(runtime, employee, later)  # locked again: a new lock-out
    assert find_new_lockouts(directory, seen) == [Lockout(later, employee)]  # type: ignore[arg-type]


def test_the_offer_reaches_the_locked_out_employee_only_and_unlocks_after_a_code(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    lock(runtime, employee, NOW)
    before = outbox_counts(runtime)
    [lockout] = find_new_lockouts(runtime.connectors.directory, set())  # type: ignore[arg-type]
    offer = reach_out(runtime.engine, lockout, NOW + timedelta(minutes=4))
    assert offer is not None and offer.employee_id == employee
    assert offer.state == "verify" and offer.intent == "account_unlock"
    assert "locked 4 minutes ago" in offer.reply and "code" in offer.reply
    after = outbox_counts(runtime)
    assert {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k)} == {
        employee: 2  # the one-time code and the offer
    }
    messages = runtime.connectors.notifier.messages_for(employee)  # type: ignore[attr-defined]
    assert messages[-1]["body"] == offer.reply

    chat = Chat(runtime, employee, channel="proactive")
    chat.now = NOW + timedelta(minutes=6)
    code = code_sent_to(runtime, employee)
    answer = chat.say(code)
    assert answer.interaction_id == offer.interaction_id
    assert answer.outcome == "auto_resolved" and answer.state == "feedback"
    assert not runtime.connectors.directory.is_locked(employee)

    events = events_of(settings, offer.interaction_id)
    assert {(e["channel"], e["employee_id"]) for e in events} == {("proactive", employee)}
    assert events[0]["event_type"] == "interaction_started"
    assert events[0]["trigger"] == {"type": "account_locked", "locked_at": format_time(NOW)}
    detected = next(e for e in events if e["event_type"] == "intent_detected")
    assert detected["source"] == "proactive" and detected["intent"] == "account_unlock"
    assert [e["result"] for e in events if e["event_type"] == "verification_checked"] == ["passed"]
    assert any(
        e["event_type"] == "action_executed"
        and e["action"] == "directory.unlock_account"
        and e["result"] == "success"
        for e in events
    )
    assert code not in json.dumps(events)


def test_the_offer_is_written_in_the_language_the_employee_last_wrote_in(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    earlier = Chat(runtime, employee)
    earlier.say("Mein Drucker im zweiten Stock druckt nicht mehr")
    earlier.say("tschüss")
    lock(runtime, employee, NOW + timedelta(hours=1))
    [lockout] = find_new_lockouts(runtime.connectors.directory, set())  # type: ignore[arg-type]
    offer = reach_out(runtime.engine, lockout, NOW + timedelta(hours=3))
    assert offer is not None and offer.language == "de"
    assert "dein Konto wurde vor 2 Stunden" in offer.reply
    started = events_of(settings, offer.interaction_id)[0]
    assert started["language"] == "de"


def test_no_offer_when_asked_already_offered_or_no_longer_locked(
    runtime: Runtime, employee: str
) -> None:
    engine = runtime.engine
    lock(runtime, employee, NOW)
    chat = Chat(runtime, employee, channel="slack")
    assert chat.say("my account is locked").state == "verify"  # they asked first
    assert reach_out(engine, Lockout(NOW, employee), NOW + timedelta(minutes=1)) is None

    other = other_employee(runtime, employee)
    lock(runtime, other, NOW)
    assert reach_out(engine, Lockout(NOW, other), NOW + timedelta(minutes=1)) is not None
    assert reach_out(engine, Lockout(NOW, other), NOW + timedelta(minutes=2)) is None

    runtime.connectors.directory.unlock_account(employee)
    assert reach_out(engine, Lockout(NOW, employee), NOW + timedelta(minutes=3)) is None


def test_a_restarted_watcher_does_not_offer_the_same_lock_out_again(
    runtime: Runtime, employee: str
) -> None:
    engine, directory = runtime.engine, runtime.connectors.directory
    lock(runtime, employee, NOW)
    assert len(poll_lockouts(engine, directory, set(), NOW)) == 1  # type: ignore[arg-type]
    engine.expire(NOW + timedelta(hours=2))  # the offer went unanswered and closed
    assert directory.is_locked(employee)
    # a new process: its memory of lock-outs starts empty
    assert poll_lockouts(engine, directory, set(), NOW + timedelta(hours=3)) == []  # type: ignore[arg-type]
    directory.unlock_account(employee)
    lock(runtime, employee, NOW + timedelta(hours=4))  # a new lock-out is offered again
    assert len(poll_lockouts(engine, directory, set(), NOW + timedelta(hours=4))) == 1  # type: ignore[arg-type]


def use_directory(runtime: Runtime, directory: LdapDirectory) -> None:
    """Put the engine on an LDAP directory, as the runtime does when one is configured."""
    notifier = EmbeddedNotifier(runtime.store, directory)  # type: ignore[arg-type]
    runtime.connectors.directory = directory
    runtime.connectors.notifier = notifier
    runtime.engine.codes.notifier = notifier


def test_ldap_lockouts_are_found_once_and_unlocked_through_the_engine(
    runtime: Runtime, slapd: SlapdServer
) -> None:
    dee = PEOPLE[3]
    directory = LdapDirectory(connector_config(slapd))
    use_directory(runtime, directory)
    seen: set[Lockout] = set()
    lock_out(slapd, dee.dn, MAX_FAILURE)
    [offer] = poll_lockouts(runtime.engine, directory, seen)
    assert poll_lockouts(runtime.engine, directory, seen) == []
    assert [lockout.employee_id for lockout in seen] == [dee.employee_id]
    assert offer.employee_id == dee.employee_id and offer.state == "verify"
    assert set(outbox_counts(runtime)) == {dee.employee_id}

    code = code_sent_to(runtime, dee.employee_id)
    now = datetime.now(UTC) + timedelta(minutes=1)
    answer = runtime.engine.handle(InboundMessage("dee", code, "proactive", credential=CLI), now)
    assert answer.interaction_id == offer.interaction_id
    assert answer.outcome == "auto_resolved"
    assert binds(slapd, dee.dn, dee.password)
    assert find_new_lockouts(directory, seen) == [] and seen == set()
    directory.close()


def test_watch_lockouts_once_prints_each_offer_and_a_summary(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(settings)
    lock(runtime, "E000020", datetime.now(UTC))
    runtime.close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["watch-lockouts", "--once"])
        again = CliRunner().invoke(app, ["watch-lockouts", "--once"])
        helped = CliRunner().invoke(app, ["watch-lockouts", "--help"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "offered E000020 a verified unlock" in result.output
    assert "1 poll, 1 unlock offer, 1 lock-out in force" in result.output
    assert again.exit_code == 0 and "0 unlock offers" in again.output  # already offered
    assert "Example: unticket watch-lockouts --once" in helped.output
    [offer] = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert (offer["channel"], offer["employee_id"]) == ("proactive", "E000020")
