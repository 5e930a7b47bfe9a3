"""API keys for trusted integrations: created and revoked by an operator, checked per request.

A key is shown once, when it is created; the store keeps only its SHA-256 hash (a key is 256
random bits, so a fast hash is as safe as a slow one and costs microseconds per request). A
server keeps the active keys' hashes in memory and reads them again once they are a second old:
a request costs a dictionary look-up rather than a query, a key created from the command line
works on a running server at once (an unknown key is looked up), and a revoked one is refused
within a second. The file is private to its owner (mode 0600).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from resolver.connectors.embedded import open_sqlite
from resolver.events import format_time, parse_time
from resolver.identity import SCOPES

KEY_PREFIX = "utk_"
RELOAD_SECONDS = 1.0
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SCHEMA = """
create table if not exists api_keys (
    name text primary key, key_hash text unique not null, scopes text not null,
    created_at text not null, revoked_at text
);
"""


class ApiKeyError(ValueError):
    """A key that cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """An integration's key, as the store knows it (never the key itself)."""

    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None


def looks_like_api_key(token: str) -> bool:
    """Whether a bearer token is one of ours (an API key) rather than an identity token."""
    return token.startswith(KEY_PREFIX)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The store of API keys (`settings.api_keys_db`)."""

    def __init__(self, path: Path) -> None:
        self.db = open_sqlite(path, synchronous="full")
        self.db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._active: dict[str, ApiKey] = {}  # by hash
        self._loaded_at = -RELOAD_SECONDS

    def create(self, name: str, scopes: list[str], now: datetime) -> str:
        """Create a key called `name` with `scopes`; return the key (shown only now)."""
        if not NAME.match(name):
            raise ApiKeyError(
                f"{name!r} is not a key name: use 1-64 lower-case letters, digits, '.', '_' or "
                "'-', e.g. intranet-portal"
            )
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ApiKeyError(
                f"unknown scope {', '.join(unknown)}; use one or more of {', '.join(SCOPES)}"
                if unknown
                else f"a key needs at least one scope: {', '.join(SCOPES)}"
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            active = self.db.execute(
                "select 1 from api_keys where name = ? and revoked_at is null", (name,)
            ).fetchone()
            if active:
                raise ApiKeyError(f"a key called {name!r} exists: revoke it first, or pick a name")
            self.db.execute(
                "insert or replace into api_keys values (?, ?, ?, ?, null)",
                (name, _hash(key), json.dumps(sorted(set(scopes))), format_time(now)),
            )
            self._loaded_at = -RELOAD_SECONDS
        return key

    def revoke(self, name: str, now: datetime) -> None:
        """Revoke the key called `name`; requests with it fail from now on."""
        with self._lock:
            changed = self.db.execute(
                "update api_keys set revoked_at = ? where name = ? and revoked_at is null",
                (format_time(now), name),
            ).rowcount
            self._loaded_at = -RELOAD_SECONDS
        if not changed:
            raise ApiKeyError(f"no active key called {name!r}: `unticket apikey list` shows them")

    def list(self) -> list[ApiKey]:
        """Every key, active and revoked, by name."""
        with self._lock:
            rows = self.db.execute("select * from api_keys order by name").fetchall()
        return [_api_key(row) for row in rows]

    def verify(self, key: str) -> ApiKey | None:
        """The active key `key` is, or None (revocations count from a second after)."""
        digest = _hash(key)
        with self._lock:
            if time.monotonic() - self._loaded_at >= RELOAD_SECONDS:
                rows = self.db.execute("select * from api_keys where revoked_at is null")
                self._active = {row["key_hash"]: _api_key(row) for row in rows}
                self._loaded_at = time.monotonic()
            if digest not in self._active:  # perhaps created since: look it up
                row = self.db.execute(
                    "select * from api_keys where key_hash = ? and revoked_at is null", (digest,)
                ).fetchone()
                if row is None:
                    return None
                self._active[digest] = _api_key(row)
            return self._active[digest]

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            self.db.close()


def _api_key(row: dict) -> ApiKey:
    return ApiKey(
        name=row["name"],
        scopes=frozenset(json.loads(row["scopes"])),
        created_at=parse_time(row["created_at"]),
        revoked_at=parse_time(row["revoked_at"]) if row["revoked_at"] else None,
    )
