"""Embedded connectors: a working enterprise on one local SQLite file.

These are not fakes. They keep real state (accounts, lock-outs, groups, licences, tickets,
approvals, an outbox of delivered messages), enforce the same policies a real system would
(passwords hashed and salted, change forced after a reset, lock-out after repeated failures,
licence seats run out) and fail the same ways, so the product runs with no external system.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sqlite3
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from resolver.connectors.base import (
    Approval,
    ConnectorError,
    Directory,
    NoLicenceError,
    Person,
    Resolution,
    Resource,
    ResourceType,
    Ticket,
    TicketRequest,
)
from resolver.events import format_time, parse_time
from vocabulary import FINISHED_TICKET_STATUSES, TicketStatus

SCHEMA = """
create table if not exists people (
    employee_id text primary key, username text unique not null, email text unique not null,
    name text not null, department text not null, location text not null, title text not null,
    level integer not null, manager_id text, hourly_cost real not null, mobile text not null
);
create table if not exists accounts (
    employee_id text primary key references people, password_hash text not null,
    must_change integer not null default 0, locked_at text, failed_attempts integer not null
    default 0, mfa_enrolled integer not null default 1
);
create table if not exists resources (
    type text not null, id text not null, name text not null, privilege text not null,
    owner_id text, installable integer not null default 0, seats integer,
    primary key (type, id)
);
create table if not exists aliases (alias text primary key, type text not null, id text not null);
create table if not exists memberships (
    employee_id text not null, group_id text not null, primary key (employee_id, group_id)
);
create table if not exists installs (
    employee_id text not null, application_id text not null, device text not null,
    installed_at text not null, primary key (employee_id, application_id)
);
create table if not exists vpn_clients (employee_id text primary key, version text not null);
create table if not exists gateways (
    name text primary key, location text not null, healthy integer not null default 1
);
create table if not exists tickets (
    seq integer primary key autoincrement, ticket_id text unique, requester_id text,
    title text not null, description text not null, status text not null, priority text not null,
    intent text, interaction_id text, service text, opened_at text not null,
    updated_at text not null
);
create table if not exists approvals (
    approval_id text primary key, interaction_id text not null, requester_id text not null,
    resource_type text not null, resource_id text not null, approvers text not null,
    decisions text not null, status text not null, created_at text not null
);
create table if not exists outbox (
    id integer primary key autoincrement, employee_id text not null, destination text not null,
    subject text not null, body text not null, created_at text not null
);
create table if not exists otps (
    employee_id text primary key, code_hash text not null, expires_at text not null,
    attempts integer not null default 0
);
create table if not exists otp_activity (
    employee_id text not null, kind text not null, at text not null
);
create index if not exists otp_activity_employee on otp_activity (employee_id, kind, at);
create table if not exists otp_holds (
    employee_id text primary key, reason text not null, began_at text not null,
    until text not null
);
create table if not exists conversations (
    interaction_id text primary key, user_key text not null, channel text not null,
    status text not null, due_at text not null, state text not null
);
create index if not exists conversations_open on conversations (user_key, channel, status, due_at);
create index if not exists accounts_locked on accounts (locked_at) where locked_at is not null;
create index if not exists conversations_due on conversations (status, due_at);
create index if not exists outbox_employee on outbox (employee_id);
create index if not exists tickets_requester on tickets (requester_id);
create index if not exists tickets_updated on tickets (updated_at);
create table if not exists meta (key text primary key, value text not null);
create table if not exists proactive_offers (
    employee_id text not null, locked_at text not null, interaction_id text not null,
    offered_at text not null, primary key (employee_id, locked_at)
);
"""

# Columns added to tables after stores were created: (table, column, declaration). Opening a
# store adds those it lacks, so a store file from an earlier version keeps working.
ADDED_COLUMNS = (
    ("tickets", "resolution_note", "text"),
    ("tickets", "resolution_category", "text"),
    ("tickets", "assignment_group", "text"),
)

LOCKOUT_THRESHOLD = 5
CHECKPOINT_INTERVAL_SECONDS = 0.25
SAFETY_NET_CHECKPOINT_PAGES = 20_000
VPN_REQUIRED_VERSION_KEY = "vpn_required_version"


def hash_password(password: str) -> str:
    """Hash a password as salted SHA-256, the way an LDAP server's {SSHA} scheme stores it."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha256(password.encode("utf-8") + salt).digest()
    return "{SSHA256}" + base64.b64encode(digest + salt).decode("ascii")


def password_matches(password: str, stored: str) -> bool:
    """Check a password against a stored {SSHA256} hash."""
    raw = base64.b64decode(stored.removeprefix("{SSHA256}"))
    digest, salt = raw[:32], raw[32:]
    return secrets.compare_digest(hashlib.sha256(password.encode("utf-8") + salt).digest(), digest)


def temporary_password() -> str:
    """Return a random 16-character password with every character class."""
    alphabet = string.ascii_letters + string.digits + "!#%+=?@"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        classes = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
        if all(any(test(c) for c in candidate) for test in classes):
            return candidate


def mask_phone(number: str) -> str:
    """Show only the last two digits of a phone number."""
    return "the phone number ending " + number[-2:]


class Checkpointer:
    """Copies a database's write-ahead log back into the database file on a thread of its
    own, every `interval` seconds, so the fsyncs a checkpoint needs are not paid by whichever
    commit happens to fill the log."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            while not self._stopping.wait(self.interval):
                db.execute("pragma wal_checkpoint(passive)")
        finally:
            db.close()

    def stop(self) -> None:
        """Stop checkpointing and close the thread's connection."""
        self._stopping.set()
        self._thread.join()


def private_file(path: Path) -> Path:
    """Create `path` readable and writable by its owner only (mode 0600), or narrow an
    existing file to that mode: every file holding secrets, keys or people's data is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path


def add_missing_columns(db: sqlite3.Connection, columns: tuple[tuple[str, str, str], ...]) -> None:
    """Add each (table, column, declaration) a table lacks; another process adding the same
    column at the same moment is no error."""
    for table, column, declaration in columns:
        present = {row[1] for row in db.execute(f"pragma table_info({table})")}
        if column in present:
            continue
        try:
            db.execute(f"alter table {table} add column {column} {declaration}")
        except sqlite3.OperationalError as error:
            if "duplicate column" not in str(error):
                raise


def open_sqlite(path: Path, synchronous: str) -> sqlite3.Connection:
    """A SQLite connection threads may share, in autocommit mode (transactions are explicit),
    with write-ahead logging, rows as `sqlite3.Row`, and up to 5 s of waiting for another
    writer. `synchronous` is SQLite's durability level: `normal` or `full` (every commit
    reaches the disk). The file is private to its owner (SQLite gives its write-ahead log and
    shared-memory files the same mode)."""
    db = sqlite3.connect(private_file(path), check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("pragma journal_mode=wal")
    db.execute(f"pragma synchronous={synchronous}")
    db.execute("pragma busy_timeout=5000")
    return db


class EnterpriseStore:
    """The local SQLite store that every embedded connector shares.

    Checkpoints run in the background (`Checkpointer`); the connection's own automatic
    checkpoint is kept, much less often, as a safety net should the background fall behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = open_sqlite(path, synchronous="normal")
        self.db.execute(f"pragma wal_autocheckpoint={SAFETY_NET_CHECKPOINT_PAGES}")
        self.db.executescript(SCHEMA)
        add_missing_columns(self.db, ADDED_COLUMNS)
        self.lock = threading.RLock()
        self._checkpointer = Checkpointer(path, CHECKPOINT_INTERVAL_SECONDS)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically (as a savepoint when inside a `batch`)."""
        with self.lock:
            nested = self.db.in_transaction
            self.db.execute("savepoint nested" if nested else "begin immediate")
            try:
                yield self.db
            except BaseException:
                self.db.execute("rollback to nested" if nested else "rollback")
                if nested:
                    self.db.execute("release nested")
                raise
            self.db.execute("release nested" if nested else "commit")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the store and run the statements inside in one transaction, which `commit` or
        the end of the block commits: a page that several statements change reaches the WAL
        once. Statements keep their autocommit meaning: what ran is committed even if the block
        raises; any after a `commit` commit one by one."""
        with self.lock:
            self.db.execute("begin immediate")
            try:
                yield
            finally:
                self.commit()

    def commit(self) -> None:
        """Commit the open transaction, if there is one."""
        with self.lock:
            if self.db.in_transaction:
                self.db.execute("commit")

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Return all rows of a query."""
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def query_one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        """Return the first row of a query, or None."""
        with self.lock:
            return self.db.execute(sql, params).fetchone()

    def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; return the number of rows it changed."""
        with self.lock:
            return self.db.execute(sql, params).rowcount

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Return a stored setting of the embedded enterprise."""
        row = self.query_one("select value from meta where key = ?", key)
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting of the embedded enterprise."""
        self.execute("insert or replace into meta values (?, ?)", key, value)

    def is_empty(self) -> bool:
        """Tell whether no enterprise has been generated into this store yet."""
        return self.query_one("select 1 from people limit 1") is None

    def close(self) -> None:
        """Stop the background checkpoints and close the database."""
        self._checkpointer.stop()
        with self.lock:
            self.db.close()


def _person(row: sqlite3.Row | None) -> Person | None:
    if row is None:
        return None
    return Person(
        employee_id=row["employee_id"],
        username=row["username"],
        email=row["email"],
        name=row["name"],
        department=row["department"],
        location=row["location"],
        title=row["title"],
        manager_id=row["manager_id"],
        hourly_cost=row["hourly_cost"],
        mobile=row["mobile"],
    )


class EmbeddedDirectory:
    """A directory with hashed passwords, forced change after reset, lock-out and groups.

    People's records are read-only here (the generator or an HR feed writes them), so look-ups
    are cached for the life of the process.
    """

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store
        self._people_by_ref: dict[str, Person | None] = {}

    def find_person(self, ref: str) -> Person | None:
        """Find a person by employee id, username or e-mail (case-insensitive)."""
        key = ref.strip().lower()
        if key not in self._people_by_ref:
            row = self.store.query_one(
                "select * from people where employee_id = ? or username = ? or email = ?",
                key.upper(),
                key,
                key,
            )
            self._people_by_ref[key] = _person(row)
        return self._people_by_ref[key]

    def get_person(self, employee_id: str) -> Person | None:
        """Return one person by employee id."""
        return self.find_person(employee_id)

    def _require_account(self, employee_id: str) -> None:
        if (
            self.store.query_one("select 1 from accounts where employee_id = ?", employee_id)
            is None
        ):
            raise ConnectorError(f"directory: no account for {employee_id}")

    def reset_password(self, employee_id: str) -> str:
        """Set a temporary password that must be changed at next sign-in; return it."""
        self._require_account(employee_id)
        password = temporary_password()
        self.store.execute(
            "update accounts set password_hash = ?, must_change = 1, failed_attempts = 0 "
            "where employee_id = ?",
            hash_password(password),
            employee_id,
        )
        return password

    def sign_in(self, employee_id: str, password: str, now: datetime) -> str:
        """Try a sign-in: `ok`, `change_required`, `wrong_password` or `locked`."""
        self._require_account(employee_id)
        with self.store.transaction() as db:
            account = db.execute(
                "select * from accounts where employee_id = ?", (employee_id,)
            ).fetchone()
            if account["locked_at"]:
                return "locked"
            if password_matches(password, account["password_hash"]):
                db.execute(
                    "update accounts set failed_attempts = 0 where employee_id = ?", (employee_id,)
                )
                return "change_required" if account["must_change"] else "ok"
            attempts = account["failed_attempts"] + 1
            locked_at = format_time(now) if attempts >= LOCKOUT_THRESHOLD else None
            db.execute(
                "update accounts set failed_attempts = ?, locked_at = ? where employee_id = ?",
                (attempts, locked_at, employee_id),
            )
            return "locked" if locked_at else "wrong_password"

    def unlock_account(self, employee_id: str) -> bool:
        """Clear a lock-out; return whether the account was locked."""
        self._require_account(employee_id)
        changed = self.store.execute(
            "update accounts set locked_at = null, failed_attempts = 0 "
            "where employee_id = ? and locked_at is not null",
            employee_id,
        )
        return changed > 0

    def is_locked(self, employee_id: str) -> bool:
        """Tell whether the account is locked out."""
        row = self.store.query_one(
            "select locked_at from accounts where employee_id = ?", employee_id
        )
        return bool(row and row["locked_at"])

    def locked_accounts(self) -> list[tuple[str, datetime]]:
        """Return every locked account with the time it locked."""
        rows = self.store.query(
            "select employee_id, locked_at from accounts where locked_at is not null"
        )
        return [(row["employee_id"], parse_time(row["locked_at"])) for row in rows]

    def reset_mfa(self, employee_id: str) -> None:
        """Remove the MFA enrolment so a new device can be enrolled."""
        self._require_account(employee_id)
        self.store.execute(
            "update accounts set mfa_enrolled = 0 where employee_id = ?", employee_id
        )

    def add_to_group(self, employee_id: str, group_id: str) -> bool:
        """Add a member; return False if they already were one."""
        if (
            self.store.query_one("select 1 from resources where type='group' and id=?", group_id)
            is None
        ):
            raise ConnectorError(f"directory: no group {group_id}")
        changed = self.store.execute(
            "insert or ignore into memberships values (?, ?)", employee_id, group_id
        )
        return changed > 0

    def groups_of(self, employee_id: str) -> list[str]:
        """Return the ids of the groups a person belongs to."""
        rows = self.store.query(
            "select group_id from memberships where employee_id = ?", employee_id
        )
        return [row["group_id"] for row in rows]


class EmbeddedResources:
    """Groups and applications with owners, privilege and licence seats."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store

    def get_resource(self, resource_type: ResourceType, resource_id: str) -> Resource | None:
        """Return one group or application."""
        row = self.store.query_one(
            "select * from resources where type = ? and id = ?", resource_type, resource_id
        )
        if row is None:
            return None
        return Resource(
            type=row["type"],
            id=row["id"],
            name=row["name"],
            privilege=row["privilege"],
            owner_id=row["owner_id"],
            installable=bool(row["installable"]),
        )

    def aliases(self) -> list[tuple[str, str, str]]:
        """Return (type, id, alias) for every name a resource may be called by."""
        return [(r["type"], r["id"], r["alias"]) for r in self.store.query("select * from aliases")]


class EmbeddedSoftware:
    """Software deployment with licence seats that run out."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store

    def install(self, employee_id: str, application_id: str, device: str) -> None:
        """Take a licence seat and install; raise NoLicenceError when none is free."""
        with self.store.transaction() as db:
            app = db.execute(
                "select * from resources where type = 'application' and id = ?", (application_id,)
            ).fetchone()
            if app is None or not app["installable"]:
                raise ConnectorError(
                    f"software: {application_id} cannot be installed by self-service"
                )
            already = db.execute(
                "select 1 from installs where employee_id = ? and application_id = ?",
                (employee_id, application_id),
            ).fetchone()
            if already:
                return
            used = db.execute(
                "select count(*) from installs where application_id = ?", (application_id,)
            ).fetchone()[0]
            if app["seats"] is not None and used >= app["seats"]:
                raise NoLicenceError(f"all {app['seats']} {app['name']} licences are in use")
            db.execute(
                "insert into installs values (?, ?, ?, datetime('now'))",
                (employee_id, application_id, device),
            )


class EmbeddedVpn:
    """VPN clients per employee and gateway health per location."""

    def __init__(self, store: EnterpriseStore, directory: Directory) -> None:
        self.store = store
        self.directory = directory

    def required_version(self) -> str:
        """The oldest client version the gateways accept."""
        return self.store.get_meta(VPN_REQUIRED_VERSION_KEY, "6.2.1") or "6.2.1"

    def diagnose(self, employee_id: str) -> dict[str, object]:
        """Return client version, required version, account state and gateway health."""
        person = self.directory.get_person(employee_id)
        if person is None:
            raise ConnectorError(f"vpn: no such employee {employee_id}")
        client = self.store.query_one(
            "select version from vpn_clients where employee_id = ?", employee_id
        )
        gateway = self.store.query_one("select * from gateways where location = ?", person.location)
        version = client["version"] if client else "not installed"
        required = self.required_version()
        return {
            "client_version": version,
            "required_version": required,
            "client_outdated": client is None or _version(version) < _version(required),
            "account_locked": self.directory.is_locked(employee_id),
            "gateway": gateway["name"] if gateway else "none",
            "gateway_down": bool(gateway and not gateway["healthy"]),
        }

    def update_client(self, employee_id: str) -> str:
        """Push the current client to the employee's device; return the new version."""
        version = self.required_version()
        self.store.execute("insert or replace into vpn_clients values (?, ?)", employee_id, version)
        return version

    def set_gateway_health(self, name: str, healthy: bool) -> None:
        """Mark a gateway up or down (an outage in the simulated enterprise)."""
        if (
            self.store.execute("update gateways set healthy = ? where name = ?", int(healthy), name)
            == 0
        ):
            raise ConnectorError(f"vpn: no gateway {name}")


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


def _ticket(row: sqlite3.Row) -> Ticket:
    note = row["resolution_note"]
    return Ticket(
        ticket_id=row["ticket_id"],
        requester_id=row["requester_id"],
        title=row["title"],
        status=row["status"],
        priority=row["priority"],
        intent=row["intent"],
        interaction_id=row["interaction_id"],
        opened_at=parse_time(row["opened_at"]),
        updated_at=parse_time(row["updated_at"]),
        resolution=None
        if note is None
        else Resolution(note, row["resolution_category"], row["assignment_group"]),
    )


def _resolution_values(resolution: Resolution | None) -> tuple[str | None, ...]:
    """A resolution's note, category and group as stored (all null: no resolution)."""
    if resolution is None:
        return (None, None, None)
    return (resolution.note, resolution.category, resolution.assignment_group)


TICKET_STATUSES = tuple(status.value for status in TicketStatus)
RESOLUTION_ASSIGNMENTS = ", resolution_note = ?, resolution_category = ?, assignment_group = ?"
# Selects the tickets still in the service desk's queue.
UNFINISHED = "status not in ({})".format(
    ", ".join(f"'{status}'" for status in sorted(FINISHED_TICKET_STATUSES))
)


class EmbeddedTicketing:
    """A ticket queue with numbered tickets and a status life cycle."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store

    def open_ticket(self, request: TicketRequest, now: datetime) -> Ticket:
        """Open a ticket and return it."""
        stamp = format_time(now)
        with self.store.transaction() as db:
            cursor = db.execute(
                "insert into tickets (requester_id, title, description, status, priority, intent,"
                " interaction_id, service, opened_at, updated_at) values (?,?,?,?,?,?,?,?,?,?)",
                (
                    request.requester_id,
                    request.title,
                    request.description,
                    "new",
                    request.priority,
                    request.intent,
                    request.interaction_id,
                    request.service,
                    stamp,
                    stamp,
                ),
            )
            ticket_id = f"INC{cursor.lastrowid:07d}"
            db.execute(
                "update tickets set ticket_id = ? where seq = ?", (ticket_id, cursor.lastrowid)
            )
        ticket = self.get_ticket(ticket_id)
        assert ticket is not None
        return ticket

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return one ticket."""
        row = self.store.query_one("select * from tickets where ticket_id = ?", ticket_id.upper())
        return _ticket(row) if row else None

    def description(self, ticket_id: str) -> str:
        """Return a ticket's full description (the context handed to the service desk)."""
        row = self.store.query_one("select description from tickets where ticket_id = ?", ticket_id)
        if row is None:
            raise ConnectorError(f"ticketing: no ticket {ticket_id}")
        return row["description"]

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return a requester's tickets, newest first."""
        rows = self.store.query(
            "select * from tickets where requester_id = ? order by seq desc", requester_id
        )
        return [_ticket(row) for row in rows]

    def open_tickets(self) -> list[Ticket]:
        """Return every ticket that is not resolved or closed, oldest first."""
        rows = self.store.query(f"select * from tickets where {UNFINISHED} order by seq")
        return [_ticket(row) for row in rows]

    def latest_tickets(self, limit: int, open_only: bool = False) -> list[Ticket]:
        """Return the `limit` newest tickets (only those not resolved or closed, if asked)."""
        where = f"where {UNFINISHED}" if open_only else ""
        rows = self.store.query(f"select * from tickets {where} order by seq desc limit ?", limit)
        return [_ticket(row) for row in rows]

    def set_status(
        self, ticket_id: str, status: str, now: datetime, resolution: Resolution | None = None
    ) -> Ticket:
        """Move a ticket to a new status. Resolving or closing it with a `resolution` stores
        that (without one, a resolution it has is kept); reopening it clears its resolution."""
        if status not in TICKET_STATUSES:
            raise ConnectorError(
                f"ticketing: unknown status {status!r}; use one of {TICKET_STATUSES}"
            )
        finished = status in FINISHED_TICKET_STATUSES
        if resolution is not None and not finished:
            raise ConnectorError(
                f"ticketing: a resolution goes with resolved or closed, not {status}"
            )
        keep = resolution is None and finished
        columns = "" if keep else RESOLUTION_ASSIGNMENTS
        changed = self.store.execute(
            f"update tickets set status = ?, updated_at = ?{columns} where ticket_id = ?",
            status,
            format_time(now),
            *(() if keep else _resolution_values(resolution)),
            ticket_id,
        )
        if not changed:
            raise ConnectorError(f"ticketing: no ticket {ticket_id}")
        ticket = self.get_ticket(ticket_id)
        assert ticket is not None
        return ticket

    def changed_since(self, since: datetime) -> list[Ticket]:
        """Return the tickets updated at or after `since`, oldest update first."""
        rows = self.store.query(
            "select * from tickets where updated_at >= ? order by updated_at, seq",
            format_time(since),
        )
        return [_ticket(row) for row in rows]

    def open_outage(self, service: str) -> Ticket | None:
        """Return the open major-incident ticket for a service, if there is one."""
        row = self.store.query_one(
            f"select * from tickets where service = ? and {UNFINISHED} order by seq limit 1",
            service,
        )
        return _ticket(row) if row else None


class EmbeddedNotifier:
    """Delivers messages to an outbox, standing in for SMS and e-mail delivery."""

    def __init__(self, store: EnterpriseStore, directory: Directory) -> None:
        self.store = store
        self.directory = directory

    def deliver(self, employee_id: str, subject: str, body: str, now: datetime) -> str:
        """Deliver a message to the employee's registered phone; return where it went, masked."""
        person = self.directory.get_person(employee_id)
        if person is None:
            raise ConnectorError(f"notifier: no such employee {employee_id}")
        self.store.execute(
            "insert into outbox (employee_id, destination, subject, body, created_at) "
            "values (?,?,?,?,?)",
            employee_id,
            person.mobile,
            subject,
            body,
            format_time(now),
        )
        return mask_phone(person.mobile)

    def messages_for(self, employee_id: str) -> list[dict[str, str]]:
        """Return the messages delivered to an employee, oldest first."""
        rows = self.store.query(
            "select subject, body, created_at from outbox where employee_id = ? order by id",
            employee_id,
        )
        return [dict(row) for row in rows]


class EmbeddedApprovals:
    """Pending approvals, kept in the store so they survive a restart."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store

    def create(self, approval: Approval) -> None:
        """Record a new pending approval."""
        self.store.execute(
            "insert into approvals values (?,?,?,?,?,?,?,?,?)",
            approval.approval_id,
            approval.interaction_id,
            approval.requester_id,
            approval.resource_type,
            approval.resource_id,
            json.dumps(approval.approvers),
            json.dumps(approval.decisions),
            approval.status,
            format_time(approval.created_at),
        )

    def get(self, approval_id: str) -> Approval | None:
        """Return one approval."""
        row = self.store.query_one(
            "select * from approvals where approval_id = ?", approval_id.upper()
        )
        return _approval(row) if row else None

    def save(self, approval: Approval) -> None:
        """Store an approval's decisions and status."""
        self.store.execute(
            "update approvals set decisions = ?, status = ? where approval_id = ?",
            json.dumps(approval.decisions),
            approval.status,
            approval.approval_id,
        )

    def pending(self) -> list[Approval]:
        """Return every pending approval, oldest first."""
        rows = self.store.query(
            "select * from approvals where status = 'pending' order by created_at"
        )
        return [_approval(row) for row in rows]

    def pending_for(self, approver_id: str) -> list[Approval]:
        """Return the pending approvals waiting on one approver's decision."""
        return [
            a
            for a in self.pending()
            if approver_id in a.approvers.values() and approver_id not in a.decisions
        ]


def _approval(row: sqlite3.Row) -> Approval:
    return Approval(
        approval_id=row["approval_id"],
        interaction_id=row["interaction_id"],
        requester_id=row["requester_id"],
        resource_type=row["resource_type"],
        resource_id=row["resource_id"],
        approvers=json.loads(row["approvers"]),
        decisions=json.loads(row["decisions"]),
        status=row["status"],
        created_at=parse_time(row["created_at"]),
    )
