"""One-time codes: prove the person in chat owns the account before anything changes on it.

A six-digit code goes to the employee's registered phone through the notifier. Only an HMAC of
the code is stored; it expires, and too many wrong tries burn it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal

from resolver.connectors.base import Notifier
from resolver.connectors.embedded import EnterpriseStore
from resolver.events import format_time, parse_time

CheckResult = Literal["passed", "wrong", "expired", "locked", "none"]
_KEY = "otp_hmac_key"


class OneTimeCodes:
    """Issues and checks one-time codes."""

    def __init__(
        self, store: EnterpriseStore, notifier: Notifier, ttl_seconds: int, max_attempts: int
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_attempts = max_attempts
        key = store.get_meta(_KEY)
        if key is None:
            key = secrets.token_hex(32)
            store.set_meta(_KEY, key)
        self._key = bytes.fromhex(key)

    def _digest(self, employee_id: str, code: str) -> str:
        return hmac.new(self._key, f"{employee_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def issue(self, employee_id: str, now: datetime) -> str:
        """Send a fresh code to the employee; return where it went, masked."""
        code = f"{secrets.randbelow(10**6):06d}"
        self.store.execute(
            "insert or replace into otps values (?, ?, ?, 0)",
            employee_id,
            self._digest(employee_id, code),
            format_time(now + self.ttl),
        )
        minutes = self.ttl.seconds // 60
        body = f"Your Unticket verification code is {code}. It expires in {minutes} minutes."
        return self.notifier.deliver(employee_id, "Verification code", body, now)

    def check(self, employee_id: str, code: str, now: datetime) -> CheckResult:
        """Check a code; a passed, expired or burnt code cannot be used again."""
        row = self.store.query_one("select * from otps where employee_id = ?", employee_id)
        if row is None:
            return "none"
        if parse_time(row["expires_at"]) < now:
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            return "expired"
        if hmac.compare_digest(row["code_hash"], self._digest(employee_id, code)):
            self.store.execute("delete from otps where employee_id = ?", employee_id)
            return "passed"
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
