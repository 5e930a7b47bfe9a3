"""The directory on a real LDAP server (OpenLDAP with the ppolicy overlay), through ldap3.

`LdapDirectory` implements `Directory` (see `base.py`) the way an administrator would:

- `reset_password` sets a random temporary password with the Password Modify extended
  operation (RFC 3062), so the server hashes it with its own scheme, then sets
  `pwdReset: TRUE` so the password policy forces a change at the next sign-in. The password is
  returned to the caller only (the playbook sends it to the employee's phone).
- `unlock_account` deletes `pwdAccountLockedTime`; ppolicy then clears `pwdFailureTime` itself.
  A lock by an administrator (`000001010000Z`) is never lifted by self-service.
- `is_locked` and `locked_accounts` read `pwdAccountLockedTime`, an operational attribute that
  is only returned when asked for by name.
- `reset_mfa` removes the MFA enrolment: it calls the `mfa_reset` callback when one is given
  (for an MFA service outside the directory), else deletes the configured `mfa_attributes` and
  `mfa_object_classes` from the person's entry (with OpenLDAP's otp module: `oathTOTPToken`,
  the link to their token, and the auxiliary class `oathTOTPUser` that requires it). With
  neither, it refuses, so the playbook hands the request to the service desk.
- `add_to_group` and `groups_of` use `member` of `groupOfNames` entries under the groups base.

Secrets: the bind password is a `SecretStr` and temporary passwords are only returned, so neither
reaches a log line; every ldap3 error becomes a `ConnectorError` that names the operation and
the server's answer, never a credential. ldap3's own protocol-level logging writes the value of
a Password Modify request, so a reset first caps ldap3's log detail at BASIC.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server
from ldap3.core.exceptions import (
    LDAPAttributeOrValueExistsResult,
    LDAPCommunicationError,
    LDAPException,
    LDAPNoSuchObjectResult,
    LDAPOperationResult,
)
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.log import BASIC, get_library_log_detail_level, set_library_log_detail_level
from pydantic import SecretStr

from resolver.connectors.base import ConnectorError, Person
from resolver.connectors.embedded import temporary_password

log = logging.getLogger(__name__)

LOCKED_TIME = "pwdAccountLockedTime"
ADMIN_LOCK = "000001010000Z"  # ppolicy: locked by an administrator, until one unlocks it
_GENERALIZED_TIME = re.compile(r"(\d{14})(?:[.,](\d{1,6})\d*)?Z")
T = TypeVar("T")


@dataclass(frozen=True)
class LdapAttributes:
    """Which LDAP attribute holds each field of a `Person` (inetOrgPerson by default)."""

    employee_id: str = "employeeNumber"
    username: str = "uid"
    email: str = "mail"
    name: str = "cn"
    department: str = "departmentNumber"
    location: str = "l"
    title: str = "title"
    manager: str = "manager"  # the manager's DN
    mobile: str = "mobile"
    hourly_cost: str | None = None  # unset: every person costs `default_hourly_cost`

    def person_fields(self) -> list[str]:
        """The attributes to read for a `Person`."""
        names = [
            self.employee_id,
            self.username,
            self.email,
            self.name,
            self.department,
            self.location,
            self.title,
            self.manager,
            self.mobile,
        ]
        return names + ([self.hourly_cost] if self.hourly_cost else [])


@dataclass(frozen=True)
class LdapConfig:
    """Where the directory is and how it is laid out."""

    url: str  # ldap://host:389 or ldaps://host:636
    bind_dn: str  # the service account Unticket acts as
    bind_password: SecretStr = field(repr=False)
    people_base: str = ""
    groups_base: str = ""
    attributes: LdapAttributes = field(default_factory=LdapAttributes)
    person_class: str = "inetOrgPerson"
    group_class: str = "groupOfNames"
    group_id_attribute: str = "cn"  # a group's id in the catalogue, e.g. cn=app-zoom
    default_hourly_cost: float = 65.0
    mfa_attributes: tuple[str, ...] = ()
    mfa_object_classes: tuple[str, ...] = ()
    lockout_duration: timedelta | None = None  # the policy's pwdLockoutDuration; None: forever
    start_tls: bool = False
    timeout_seconds: int = 10  # connect and per-answer timeout


def parse_generalized_time(text: str) -> datetime:
    """Parse an LDAP GeneralizedTime in UTC (`20261102093015Z`, optionally with a fraction)."""
    match = _GENERALIZED_TIME.fullmatch(text)
    if match is None:
        raise ConnectorError(f"directory: {text!r} is not a GeneralizedTime in UTC")
    moment = datetime.strptime(match[1], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment + timedelta(microseconds=int((match[2] or "0").ljust(6, "0")))


def generalized_time(moment: datetime) -> str:
    """Format a time as an LDAP GeneralizedTime in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def _first(attributes: dict[str, Any], name: str) -> str | None:
    """The first value of an attribute, as text, or None when the entry has none."""
    values = attributes.get(name)
    if isinstance(values, list):
        values = values[0] if values else None
    if isinstance(values, bytes):
        values = values.decode("utf-8")
    return None if values is None else str(values)


def _describe(what: str, error: LDAPException) -> str:
    """A message for a failed operation: the server's result, never a credential."""
    if isinstance(error, LDAPOperationResult):
        detail = error.description or "error"
        if error.message:
            detail += f": {error.message}"
    else:
        detail = f"{type(error).__name__}: {error}"
    return f"directory: could not {what} ({detail})"


class LdapDirectory:
    """People, credentials and groups on an LDAP server; safe to share between threads."""

    def __init__(
        self, config: LdapConfig, mfa_reset: Callable[[Person], None] | None = None
    ) -> None:
        self.config = config
        self.mfa_reset = mfa_reset
        self._server = Server(config.url, get_info=NONE, connect_timeout=config.timeout_seconds)
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> Connection:
        connection = Connection(
            self._server,
            user=self.config.bind_dn,
            password=self.config.bind_password.get_secret_value(),
            raise_exceptions=True,
            receive_timeout=self.config.timeout_seconds,
        )
        try:
            connection.open()
            if self.config.start_tls:
                connection.start_tls()
            connection.bind()
        except LDAPException:
            with contextlib.suppress(LDAPException):
                connection.unbind()
            raise
        return connection

    def _run(self, what: str, operation: Callable[[Connection], T]) -> T:
        """Run an operation on the shared connection, reconnecting once if it was lost."""
        with self._lock:
            try:
                try:
                    return operation(self._connected())
                except LDAPCommunicationError:  # the server restarted or dropped us: once more
                    self._drop()
                    return operation(self._connected())
            except LDAPException as error:
                raise ConnectorError(_describe(what, error)) from error

    def _connected(self) -> Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(LDAPException):
                self._connection.unbind()
            self._connection = None

    def close(self) -> None:
        """Unbind from the server."""
        with self._lock:
            self._drop()

    def _search(
        self, what: str, base: str, query: str, attributes: list[str], scope: str = SUBTREE
    ) -> list[tuple[str, dict[str, Any]]]:
        """(dn, attributes) of the entries found; a base that does not exist finds none."""

        def search(connection: Connection) -> list[tuple[str, dict[str, Any]]]:
            try:
                connection.search(base, query, search_scope=scope, attributes=attributes)
            except LDAPNoSuchObjectResult:
                return []
            return [
                (item["dn"], item["attributes"])
                for item in connection.response or []
                if item["type"] == "searchResEntry"
            ]

        return self._run(what, search)

    def _modify(self, what: str, dn: str, changes: dict[str, list]) -> None:
        self._run(what, lambda connection: connection.modify(dn, changes))

    # -- people -----------------------------------------------------------------------------

    def _people(self, query: str, attributes: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """People matching an LDAP filter."""
        return self._search(
            "look people up",
            self.config.people_base,
            f"(&(objectClass={self.config.person_class}){query})",
            attributes,
        )

    def _entry(self, employee_id: str, attributes: list[str]) -> tuple[str, dict[str, Any]]:
        """A person's DN and attributes; ConnectorError when nobody has that employee id."""
        key = escape_filter_chars(employee_id.strip())
        found = self._people(f"({self.config.attributes.employee_id}={key})", attributes)
        if len(found) != 1:
            raise ConnectorError(f"directory: no account for {employee_id}")
        return found[0]

    def _person(self, attributes: dict[str, Any]) -> Person:
        fields = self.config.attributes
        manager_dn = _first(attributes, fields.manager)
        return Person(
            employee_id=_first(attributes, fields.employee_id) or "",
            username=_first(attributes, fields.username) or "",
            email=_first(attributes, fields.email) or "",
            name=_first(attributes, fields.name) or "",
            department=_first(attributes, fields.department) or "",
            location=_first(attributes, fields.location) or "",
            title=_first(attributes, fields.title) or "",
            manager_id=self._employee_id_at(manager_dn) if manager_dn else None,
            hourly_cost=self._hourly_cost(attributes),
            mobile=_first(attributes, fields.mobile) or "",
        )

    def _hourly_cost(self, attributes: dict[str, Any]) -> float:
        name = self.config.attributes.hourly_cost
        value = _first(attributes, name) if name else None
        try:
            return float(value) if value else self.config.default_hourly_cost
        except ValueError:
            return self.config.default_hourly_cost

    def _employee_id_at(self, dn: str) -> str | None:
        """The employee id of the person at a DN (a manager), or None if there is none."""
        employee_id = self.config.attributes.employee_id
        found = self._search("look a manager up", dn, "(objectClass=*)", [employee_id], BASE)
        return _first(found[0][1], employee_id) if found else None

    def find_person(self, ref: str) -> Person | None:
        """Find a person by employee id, username or e-mail (case-insensitive, as LDAP
        matches them); when several match, an employee id wins over a username over an
        e-mail, and a tie finds nobody."""
        ref = ref.strip()
        if not ref:
            return None
        fields = self.config.attributes
        key = escape_filter_chars(ref)
        keys = (fields.employee_id, fields.username, fields.email)
        query = "(|" + "".join(f"({name}={key})" for name in keys) + ")"
        found = self._people(query, fields.person_fields())
        for name in keys:
            matches = [a for _, a in found if (_first(a, name) or "").lower() == ref.lower()]
            if len(matches) == 1:
                return self._person(matches[0])
            if matches:
                return None
        return None

    def get_person(self, employee_id: str) -> Person | None:
        """Return one person by employee id."""
        key = escape_filter_chars(employee_id.strip())
        fields = self.config.attributes
        found = self._people(f"({fields.employee_id}={key})", fields.person_fields())
        return self._person(found[0][1]) if len(found) == 1 else None

    def manager_of(self, employee_id: str) -> Person | None:
        """Return a person's manager, if the directory names one."""
        person = self.get_person(employee_id)
        return self.get_person(person.manager_id) if person and person.manager_id else None

    # -- credentials ------------------------------------------------------------------------

    def reset_password(self, employee_id: str) -> str:
        """Set a temporary password that must be changed at next sign-in; return it."""
        dn, _ = self._entry(employee_id, [])
        password = temporary_password()
        if get_library_log_detail_level() > BASIC:
            set_library_log_detail_level(BASIC)
        self._run(
            "set a temporary password",
            lambda connection: connection.extend.standard.modify_password(
                dn, new_password=password
            ),
        )
        self._modify("force a password change", dn, {"pwdReset": [(MODIFY_REPLACE, ["TRUE"])]})
        log.info("directory: temporary password set for %s, change forced", employee_id)
        return password

    def _locked_at(self, value: str | None) -> datetime | None:
        """When a lock-out by failed sign-ins began, if it is still in force (None for no
        lock and for an administrator's lock)."""
        if value is None or value == ADMIN_LOCK:
            return None
        locked_at = parse_generalized_time(value)
        duration = self.config.lockout_duration
        if duration is not None and locked_at + duration <= datetime.now(UTC):
            return None
        return locked_at

    def unlock_account(self, employee_id: str) -> bool:
        """Clear a lock-out; return whether the account was locked. An administrator's lock
        is refused with a ConnectorError (it is deliberate: a person must lift it)."""
        dn, attributes = self._entry(employee_id, [LOCKED_TIME])
        value = _first(attributes, LOCKED_TIME)
        if value is None:
            return False
        if value == ADMIN_LOCK:
            raise ConnectorError(
                f"directory: {employee_id} was locked by an administrator; "
                "self-service does not lift that"
            )
        self._modify("unlock the account", dn, {LOCKED_TIME: [(MODIFY_DELETE, [])]})
        log.info("directory: unlocked %s", employee_id)
        return self._locked_at(value) is not None

    def is_locked(self, employee_id: str) -> bool:
        """Tell whether the account is locked out."""
        _, attributes = self._entry(employee_id, [LOCKED_TIME])
        value = _first(attributes, LOCKED_TIME)
        return value == ADMIN_LOCK or self._locked_at(value) is not None

    def locked_accounts(self, since: datetime | None = None) -> list[tuple[str, datetime]]:
        """Return (employee id, locked at) of every account locked by failed sign-ins (at or
        after `since` when given), oldest first; administrators' locks are left out."""
        employee_id = self.config.attributes.employee_id
        query = f"({LOCKED_TIME}>={generalized_time(since)})" if since else f"({LOCKED_TIME}=*)"
        found = self._people(query, [employee_id, LOCKED_TIME])
        locks = []
        for _, attributes in found:
            who = _first(attributes, employee_id)
            locked_at = self._locked_at(_first(attributes, LOCKED_TIME))
            if who and locked_at:
                locks.append((who, locked_at))
        return sorted(locks, key=lambda lock: (lock[1], lock[0]))

    def reset_mfa(self, employee_id: str) -> None:
        """Remove the MFA enrolment so a new device can be enrolled (see the module doc)."""
        person = self.get_person(employee_id)
        if person is None:
            raise ConnectorError(f"directory: no account for {employee_id}")
        if self.mfa_reset is not None:
            self.mfa_reset(person)
        elif self.config.mfa_attributes:
            self._remove_mfa_attributes(employee_id)
        else:
            raise ConnectorError(
                "directory: MFA reset is not configured (set mfa_attributes or a callback)"
            )
        log.info("directory: MFA enrolment removed for %s", employee_id)

    def _remove_mfa_attributes(self, employee_id: str) -> None:
        config = self.config
        dn, attributes = self._entry(employee_id, ["objectClass", *config.mfa_attributes])
        classes = {value.lower() for value in attributes.get("objectClass", [])}
        changes = {
            name: [(MODIFY_DELETE, [])] for name in config.mfa_attributes if attributes[name]
        }
        dropped = [name for name in config.mfa_object_classes if name.lower() in classes]
        if dropped:
            changes["objectClass"] = [(MODIFY_DELETE, dropped)]
        if changes:
            self._modify("remove the MFA enrolment", dn, changes)

    # -- groups -----------------------------------------------------------------------------

    def _group_dn(self, group_id: str) -> str:
        config = self.config
        query = (
            f"(&(objectClass={config.group_class})"
            f"({config.group_id_attribute}={escape_filter_chars(group_id)}))"
        )
        found = self._search("look a group up", config.groups_base, query, [])
        if len(found) != 1:
            raise ConnectorError(f"directory: no group {group_id}")
        return found[0][0]

    def add_to_group(self, employee_id: str, group_id: str) -> bool:
        """Add a member; return False if they already were one."""
        person_dn, _ = self._entry(employee_id, [])
        group_dn = self._group_dn(group_id)

        def add(connection: Connection) -> bool:
            try:
                return connection.modify(group_dn, {"member": [(MODIFY_ADD, [person_dn])]})
            except LDAPAttributeOrValueExistsResult:
                return False

        added = self._run("add a group member", add)
        if added:
            log.info("directory: added %s to %s", employee_id, group_id)
        return added

    def groups_of(self, employee_id: str) -> list[str]:
        """Return the ids of the groups a person belongs to, sorted."""
        person_dn, _ = self._entry(employee_id, [])
        config = self.config
        query = f"(&(objectClass={config.group_class})(member={escape_filter_chars(person_dn)}))"
        found = self._search("list groups", config.groups_base, query, [config.group_id_attribute])
        return sorted(
            group_id
            for _, attributes in found
            if (group_id := _first(attributes, config.group_id_attribute))
        )
