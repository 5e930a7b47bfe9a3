"""Proactive help: notice an account lock-out and offer the fix before the employee asks.

The watcher polls the directory for accounts locked by failed sign-ins (`locked_accounts`: the
embedded directory's `locked_at`, LDAP's `pwdAccountLockedTime`) and reports each lock-out once.
`unticket serve` polls every `lockout_poll_seconds` (when `watch_lockouts` is on), and
`unticket watch-lockouts` runs the watcher on its own. For each lock-out, `reach_out` starts an
interaction on the `proactive` channel (`Engine.start_proactive`): its intent is
`account_unlock`, its playbook asks for a one-time code (identity is verified exactly as when
the employee asks), and the offer goes to the employee's registered phone. When the employee
answers with the code on the `proactive` channel, the engine unlocks the account and records
`auto_resolved`.

In the event log such an interaction has `channel = 'proactive'`, `interaction_started.trigger`
names the lock-out and `intent_detected.source` is `proactive`. It is *resolved before reported*
when its outcome is `auto_resolved`: the unlock was executed in it, so the account was still
locked then and the employee had not had it unlocked through a request of their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from resolver.connectors.base import ConnectorError
from resolver.engine import CHANNELS, PROACTIVE, Engine
from resolver.events import format_time
from resolver.turn import Reply

log = logging.getLogger(__name__)

UNLOCK_INTENT = "account_unlock"


@dataclass(frozen=True, order=True)
class Lockout:
    """One lock-out of one account: a new lock of the same account is a new lock-out."""

    locked_at: datetime
    employee_id: str


@runtime_checkable
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


def _offered_before(engine: Engine, lockout: Lockout) -> bool:
    """Whether this lock-out was offered an unlock already, by this process or one before it
    (the record outlives a restart, when the watcher's memory of lock-outs starts empty)."""
    row = engine.conversations.store.query_one(
        "select 1 from proactive_offers where employee_id = ? and locked_at = ?",
        lockout.employee_id,
        format_time(lockout.locked_at),
    )
    return row is not None


def _remember_offer(engine: Engine, lockout: Lockout, reply: Reply, now: datetime) -> None:
    engine.conversations.store.execute(
        "insert or ignore into proactive_offers values (?, ?, ?, ?)",
        lockout.employee_id,
        format_time(lockout.locked_at),
        reply.interaction_id,
        format_time(now),
    )


def _already_handled(engine: Engine, employee_id: str) -> bool:
    """Whether the employee has an open proactive interaction, or an open one of their own
    about an unlock (they asked first)."""
    for channel in sorted(CHANNELS):
        convo = engine.conversations.open_for(employee_id, channel)
        if convo is not None and (channel == PROACTIVE or convo.intent == UNLOCK_INTENT):
            return True
    return False


def _ago(engine: Engine, then: datetime, now: datetime, language: str) -> str:
    """How long ago `then` was, in words of `language` ("12 minutes ago", "vor 2 Stunden")."""
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 2:
        return engine.messages.text("proactive.ago.now", language)
    if minutes < 120:
        return engine.messages.text("proactive.ago.minutes", language, count=minutes)
    return engine.messages.text("proactive.ago.hours", language, count=minutes // 60)


def reach_out(engine: Engine, lockout: Lockout, now: datetime | None = None) -> Reply | None:
    """Offer a verified unlock to a locked-out employee; None when there is nothing to offer:
    the account is no longer locked, the employee is unknown, is already being helped, or was
    offered an unlock for this lock-out before."""
    now = now or datetime.now(UTC)
    person = engine.connectors.directory.get_person(lockout.employee_id)
    if person is None or not engine.connectors.directory.is_locked(person.employee_id):
        return None
    if _already_handled(engine, person.employee_id) or _offered_before(engine, lockout):
        return None
    language = engine.conversations.language_of(person.employee_id)
    opener = engine.messages.text(
        "proactive.unlock_offer",
        language,
        first_name=person.name.split()[0],
        ago=_ago(engine, lockout.locked_at, now, language),
    )
    reply = engine.start_proactive(
        person.employee_id,
        UNLOCK_INTENT,
        opener,
        {"type": "account_locked", "locked_at": format_time(lockout.locked_at)},
        now,
        language,
    )
    _remember_offer(engine, lockout, reply, now)
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
