"""One-time codes: prove the person in chat owns the account before anything changes on it.

A six-digit code goes to the employee's registered phone through the notifier. Only an HMAC of
the code is stored; it expires, and too many wrong tries burn it.

Codes are also limited per employee, across every interaction and channel: at most
`max_issued_per_hour` codes sent and `max_failures_per_hour` wrong codes entered in any rolling
hour. Reaching either limit puts codes on hold for that employee for an hour: no code is sent or
accepted, however many new conversations are started, so neither guessing nor flooding the
victim's phone scales.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from resolver.connectors.base import Notifier
from resolver.connectors.embedded import EnterpriseStore
from resolver.events import format_time, parse_time

CheckResult = Literal["passed", "wrong", "expired", "locked", "none"]
HoldReason = Literal["codes_issued", "failed_checks"]
HOLD = timedelta(hours=1)
_KEY = "otp_hmac_key"
# The message carrying a code: (code, minutes it is valid) -> (subject, body).
Wording = Callable[[str, int], tuple[str, str]]


def english_wording(code: str, minutes: int) -> tuple[str, str]:
    """The code's message in English, the code last so no full stop can pass for part of it."""
    unit = "minute" if minutes == 1 else "minutes"
    body = f"Your Unticket verification code, valid for {minutes} {unit}: {code}"
    return "Verification code", body


@dataclass(frozen=True)
class Hold:
    """Codes on hold for one employee: why, until when, and whether this call began it."""

    reason: HoldReason
    until: datetime
    began: bool


class CodesOnHoldError(Exception):
    """No code may be sent to (or accepted from) this employee until the hold ends."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(f"one-time codes are on hold until {format_time(hold.until)}")
        self.hold = hold


@dataclass(frozen=True)
class Limits:
    """How many codes one employee may be sent, and may get wrong, per rolling hour."""

    issued_per_hour: int = 5
    failures_per_hour: int = 6


class OneTimeCodes:
    """Issues and checks one-time codes, within each employee's hourly limits."""

    def __init__(
        self,
        store: EnterpriseStore,
        notifier: Notifier,
        ttl_seconds: int,
        max_attempts: int,
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_attempts = max_attempts
        self.limits = limits or Limits()
        key = store.get_meta(_KEY)
        if key is None:
            key = secrets.token_hex(32)
            store.set_meta(_KEY, key)
        self._key = bytes.fromhex(key)

    def _digest(self, employee_id: str, code: str) -> str:
        return hmac.new(self._key, f"{employee_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def issue(self, employee_id: str, now: datetime, wording: Wording = english_wording) -> str:
        """Send a fresh code to the employee, in the words `wording` gives it; return where it
        went, masked. Raises `CodesOnHoldError` when codes are on hold for them, or this one
        would exceed the limit."""
        hold = self.hold_on(employee_id, now)
        if hold is None and self._count(employee_id, "issued", now) >= self.limits.issued_per_hour:
            hold = self._begin_hold(employee_id, "codes_issued", now)
        if hold is not None:
            raise CodesOnHoldError(hold)
        code = f"{secrets.randbelow(10**6):06d}"
        self.store.execute(
            "insert or replace into otps values (?, ?, ?, 0)",
            employee_id,
            self._digest(employee_id, code),
            format_time(now + self.ttl),
        )
        self._record(employee_id, "issued", now)
        subject, body = wording(code, self.ttl.seconds // 60)
        return self.notifier.deliver(employee_id, subject, body, now)

    def check(self, employee_id: str, code: str, now: datetime) -> CheckResult:
        """Check a code; a passed, expired or burnt code cannot be used again. Raises
        `CodesOnHoldError` while codes are on hold, and when this wrong code reaches the limit."""
        hold = self.hold_on(employee_id, now)
        if hold is not None:
            raise CodesOnHoldError(hold)
        row = self.store.query_one("select * from otps where employee_id = ?", employee_id)
        if row is None:
            return "none"
        if parse_time(row["expires_at"]) < now:
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            return "expired"
        if hmac.compare_digest(row["code_hash"], self._digest(employee_id, code)):
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            return "passed"
        self._record(employee_id, "failed", now)
        if self._count(employee_id, "failed", now) >= self.limits.failures_per_hour:
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            raise CodesOnHoldError(self._begin_hold(employee_id, "failed_checks", now))
        attempts = row["attempts"] + 1
        if attempts >= self.max_attempts:
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            return "locked"
        self.store.execute(
            "update otps set attempts = ? where employee_id = ?", attempts, employee_id
        )
        return "wrong"

    def tries_left(self, employee_id: str) -> int:
        """Wrong codes the employee may still enter."""
        row = self.store.query_one("select attempts from otps where employee_id = ?", employee_id)
        return self.max_attempts - (row["attempts"] if row else 0)

    def hold_on(self, employee_id: str, now: datetime) -> Hold | None:
        """The hold in force for the employee, if there is one (`began` is False)."""
        row = self.store.query_one(
            "select reason, until from otp_holds where employee_id = ? and until > ?",
            employee_id,
            format_time(now),
        )
        return Hold(row["reason"], parse_time(row["until"]), began=False) if row else None

    def _begin_hold(self, employee_id: str, reason: HoldReason, now: datetime) -> Hold:
        until = now + HOLD
        self.store.execute(
            "insert or replace into otp_holds values (?, ?, ?, ?)",
            employee_id,
            reason,
            format_time(now),
            format_time(until),
        )
        return Hold(reason, until, began=True)

    def _record(self, employee_id: str, kind: str, now: datetime) -> None:
        """Count a code sent or a wrong code entered; forget what fell out of the window."""
        self.store.execute(
            "delete from otp_activity where employee_id = ? and at <= ?",
            employee_id,
            format_time(now - HOLD),
        )
        self.store.execute(
            "insert into otp_activity values (?, ?, ?)", employee_id, kind, format_time(now)
        )

    def _count(self, employee_id: str, kind: str, now: datetime) -> int:
        row = self.store.query_one(
            "select count(*) as n from otp_activity where employee_id = ? and kind = ? and at > ?",
            employee_id,
            kind,
            format_time(now - HOLD),
        )
        return row["n"] if row else 0
