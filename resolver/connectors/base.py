"""The small interfaces the engine talks to. Embedded implementations live in `embedded.py`;
real systems (OpenLDAP, ServiceNow, Jira, ...) plug in behind the same methods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Privilege = Literal["standard", "sensitive", "privileged"]
ResourceType = Literal["group", "application"]


class ConnectorError(RuntimeError):
    """A connected system failed or refused; the message says which and why."""


class NoLicenceError(ConnectorError):
    """Every licence seat of an application is taken."""


@dataclass(frozen=True)
class Person:
    """An employee as the directory knows them."""

    employee_id: str
    username: str
    email: str
    name: str
    department: str
    location: str
    title: str
    manager_id: str | None
    hourly_cost: float
    mobile: str


@dataclass(frozen=True)
class Resource:
    """Something access can be granted to: a directory group or an application."""

    type: ResourceType
    id: str
    name: str
    privilege: Privilege
    owner_id: str | None
    installable: bool = False


@dataclass(frozen=True)
class Resolution:
    """How a ticket was fixed, as the service desk recorded it: the agent's `note` (free text,
    which may hold a pasted secret: redact it before it is logged), the resolution `category`
    (a resolution code) and the `assignment_group` that resolved it, each when known."""

    note: str
    category: str | None = None
    assignment_group: str | None = None


@dataclass(frozen=True)
class Ticket:
    """A ticket in the ticketing system; `resolution` is known once it is resolved or closed."""

    ticket_id: str
    requester_id: str | None
    title: str
    status: str
    priority: str
    intent: str | None
    interaction_id: str | None
    opened_at: datetime
    updated_at: datetime
    resolution: Resolution | None = None


@dataclass(frozen=True)
class TicketRequest:
    """What a new ticket says: who it is for, its words, its intent and priority, the
    interaction it comes from and, for a major incident, the `service` it is about."""

    requester_id: str | None
    title: str
    description: str
    intent: str | None
    priority: str
    interaction_id: str | None
    service: str | None = None


@dataclass(frozen=True)
class Approval:
    """A request for access that waits on named approvers."""

    approval_id: str
    interaction_id: str
    requester_id: str
    resource_type: ResourceType
    resource_id: str
    approvers: dict[str, str]  # role -> employee id
    decisions: dict[str, str]  # employee id -> approved | denied
    status: Literal["pending", "approved", "denied", "expired"]
    created_at: datetime


class Directory(Protocol):
    """Identity: people, credentials and group membership."""

    def find_person(self, ref: str) -> Person | None:
        """Find a person by employee id, username or e-mail."""

    def get_person(self, employee_id: str) -> Person | None:
        """Return one person by employee id."""

    def reset_password(self, employee_id: str) -> str:
        """Set a temporary password that must be changed at next sign-in; return it."""

    def unlock_account(self, employee_id: str) -> bool:
        """Clear a lock-out; return whether the account was locked."""

    def is_locked(self, employee_id: str) -> bool:
        """Tell whether the account is locked out."""

    def reset_mfa(self, employee_id: str) -> None:
        """Remove the MFA enrolment so a new device can be enrolled."""

    def add_to_group(self, employee_id: str, group_id: str) -> bool:
        """Add a member; return False if they already were one."""

    def groups_of(self, employee_id: str) -> list[str]:
        """Return the ids of the groups a person belongs to."""


class Resources(Protocol):
    """The catalogue of groups and applications, with owners and privilege."""

    def get_resource(self, resource_type: ResourceType, resource_id: str) -> Resource | None:
        """Return one group or application."""


class Software(Protocol):
    """Software catalogue: licences and installation."""

    def install(self, employee_id: str, application_id: str, device: str) -> None:
        """Take a licence seat and install; raise NoLicenceError when none is free."""


class Vpn(Protocol):
    """VPN diagnostics and remediation."""

    def diagnose(self, employee_id: str) -> dict[str, object]:
        """Return client version, required version, account state and gateway health."""

    def update_client(self, employee_id: str) -> str:
        """Push the current client to the employee's device; return the new version."""


class Ticketing(Protocol):
    """A ticket queue with status."""

    def open_ticket(self, request: TicketRequest, now: datetime) -> Ticket:
        """Open a ticket as `request` says and return it."""

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return one ticket."""

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return a requester's tickets, newest first."""

    def set_status(
        self, ticket_id: str, status: str, now: datetime, resolution: Resolution | None = None
    ) -> Ticket:
        """Move a ticket to a new status; a `resolution` goes with resolved or closed."""

    def changed_since(self, since: datetime) -> list[Ticket]:
        """Return the tickets Unticket opened that changed at or after `since`, oldest change
        first."""

    def open_outage(self, service: str) -> Ticket | None:
        """Return the open major-incident ticket for a service, if there is one."""


class Notifier(Protocol):
    """Delivers messages to an employee's registered channel (SMS, e-mail, chat)."""

    def deliver(self, employee_id: str, subject: str, body: str, now: datetime) -> str:
        """Deliver a message; return a masked description of where it went."""
