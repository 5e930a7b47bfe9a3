"""Proactive help: notice an account lock-out and offer the fix before the employee asks.

The watcher polls the directory for accounts locked by failed sign-ins (`locked_accounts`: the
embedded directory's `locked_at`, LDAP's `pwdAccountLockedTime`) and reports each lock-out once.
For each, `reach_out` starts an interaction on the `proactive` channel through the engine's own
conversation machinery: the interaction's intent is `account_unlock`, its playbook asks for a
one-time code (identity is verified exactly as when the employee asks), and the offer goes to
the employee's registered phone. When the employee answers with the code on the `proactive`
channel, the engine unlocks the account and records `auto_resolved`.

In the event log such an interaction has `channel = 'proactive'`, `interaction_started.trigger`
names the lock-out and `intent_detected.source` is `proactive`. It is *resolved before reported*
when its outcome is `auto_resolved`: the unlock was executed in it, so the account was still
locked then and the employee had not had it unlocked through a request of their own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from resolver.connectors.base import ConnectorError
from resolver.engine import CHANNELS, Engine, InboundMessage
from resolver.events import format_time
from resolver.turn import Reply, Turn

log = logging.getLogger(__name__)

PROACTIVE = "proactive"
UNLOCK_INTENT = "account_unlock"
_OFFER = (
    "Hi {first_name}, your account was locked {ago} after too many wrong passwords. "
    'I can unlock it for you right now. If that wasn\'t you, reply "talk to a human".'
)


@dataclass(frozen=True, order=True)
class Lockout:
    """One lock-out of one account: a new lock of the same account is a new lock-out."""

    locked_at: datetime
    employee_id: str


class LockoutSource(Protocol):
    """A directory that can list its locked accounts (embedded and LDAP both can)."""

    def locked_accounts(self) -> list[tuple[str, datetime]]:
        """Return (employee id, locked at) of every account locked by failed sign-ins."""


def find_new_lockouts(directory: LockoutSource, seen: set[Lockout]) -> list[Lockout]:
    """Return the lock-outs not in `seen`, oldest first, and remember them there.

    `seen` keeps only lock-outs still in force, so it stays small; a lock-out is reported
    once however often this runs.
    """
    current = {
        Lockout(locked_at, employee_id) for employee_id, locked_at in directory.locked_accounts()
    }
    new = sorted(current - seen)
    seen.intersection_update(current)
    seen.update(new)
    return new


def start_proactive(
    engine: Engine,
    employee_id: str,
    intent: str,
    opener: str,
    trigger: dict[str, str],
    now: datetime,
) -> Reply:
    """Start an interaction on the system's initiative, on the `proactive` channel.

    `trigger` (what prompted it) is logged with `interaction_started`. The interaction runs
    the intent's playbook as if the employee had asked (identity checks included) and its first
    message, `opener` followed by the playbook's words, is delivered to the employee through
    the notifier. Their answers come back as ordinary messages on the `proactive` channel.
    This is the engine entry point `Engine.start_proactive`, kept here until it moves into the
    engine (it uses the engine's private turn helpers)."""
    with engine._durably():
        message = InboundMessage(employee_id, opener, PROACTIVE)
        convo = engine._new_conversation(employee_id, employee_id, message, now)
        turn = Turn(convo, now, engine.ids)
        turn.emit("interaction_started", user_ref=employee_id, trigger=trigger)
        turn.emit(
            "intent_detected",
            intent=intent,
            confidence=1.0,
            alternatives=[],
            entities={},
            source=PROACTIVE,
        )
        turn.set_intent(intent, 1.0)
        turn.say(opener)
        playbook = engine.catalogue.intent(intent).playbook_id or ""
        engine.playbooks.run(turn, playbook, "", check_target=False)
        reply = engine._commit(turn)
        subject = engine.catalogue.intent(intent).label.capitalize()
        engine.c.notifier.deliver(employee_id, subject, reply.reply, now)
        return reply


def _already_handled(engine: Engine, employee_id: str) -> bool:
    """Whether the employee has an open proactive interaction, or an open one of their own
    about an unlock (they asked first)."""
    for channel in sorted(CHANNELS):
        convo = engine.conversations.open_for(employee_id, channel)
        if convo is not None and (channel == PROACTIVE or convo.intent == UNLOCK_INTENT):
            return True
    return False


def _ago(then: datetime, now: datetime) -> str:
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 2:
        return "just now"
    return f"{minutes} minutes ago" if minutes < 120 else f"{minutes // 60} hours ago"


def reach_out(engine: Engine, lockout: Lockout, now: datetime | None = None) -> Reply | None:
    """Offer a verified unlock to a locked-out employee; None when there is nothing to offer:
    the account is no longer locked, the employee is unknown, or is already being helped."""
    now = now or datetime.now(UTC)
    person = engine.c.directory.get_person(lockout.employee_id)
    if person is None or not engine.c.directory.is_locked(person.employee_id):
        return None
    if _already_handled(engine, person.employee_id):
        return None
    opener = _OFFER.format(first_name=person.name.split()[0], ago=_ago(lockout.locked_at, now))
    reply = start_proactive(
        engine,
        person.employee_id,
        UNLOCK_INTENT,
        opener,
        {"type": "account_locked", "locked_at": format_time(lockout.locked_at)},
        now,
    )
    log.info("proactive: offered %s an unlock (%s)", person.employee_id, reply.interaction_id)
    return reply


def poll_lockouts(
    engine: Engine, directory: LockoutSource, seen: set[Lockout], now: datetime | None = None
) -> list[Reply]:
    """Look for new lock-outs once and reach out about each; return the offers made."""
    offers = []
    for lockout in find_new_lockouts(directory, seen):
        try:
            reply = reach_out(engine, lockout, now)
        except ConnectorError as error:
            seen.discard(lockout)  # try again at the next poll
            log.warning("proactive: could not reach %s: %s", lockout.employee_id, error)
            continue
        if reply is not None:
            offers.append(reply)
    return offers


def watch_lockouts(
    engine: Engine, directory: LockoutSource, interval_seconds: float, stop: threading.Event
) -> None:
    """Poll every `interval_seconds` until `stop` is set; a failed poll is logged and retried."""
    seen: set[Lockout] = set()
    while not stop.is_set():
        try:
            offers = poll_lockouts(engine, directory, seen)
            if offers:
                log.info("proactive: %d unlock offers sent", len(offers))
        except Exception:
            log.exception("proactive: polling for lock-outs failed; retrying")
        stop.wait(interval_seconds)
