"""ServiceNow ticketing over the Table API: Unticket's escalations become incidents.

How a ticket maps onto an incident (`/api/now/table/incident`):

- title → `short_description` (cut to ServiceNow's 160 characters);
- description, the redacted conversation context → `description`;
- requester (an employee id) → `caller_id`: the sys_id of the `sys_user` whose `email` is the
  employee's directory e-mail, or else whose `user_name` is their directory username; left empty
  when neither exists (the description still names the employee);
- priority P1-P4 → `impact`/`urgency` 1/1, 1/2, 2/2, 2/3, which ServiceNow's default priority
  matrix turns into priority 1-4;
- intent → `category` through the configured intent → category map, else `inquiry`;
- `contact_type` → `virtual_agent` (configurable, e.g. `chat`);
- interaction id → `correlation_id` (`outage:<service>` for a major incident), the key that
  finds Unticket's incident again; `correlation_display` → `Unticket`.

Read back: state 1 New → new, 2 In Progress → in_progress, 3 On Hold → on_hold, 6 Resolved →
resolved, 7 Closed and 8 Canceled → closed (a custom state → in_progress while the incident is
active, closed after); priority 1-4 → P1-P4 and 5 Planning → P4; the caller's e-mail → the
employee id. The intent is not kept in ServiceNow (the event log keeps it), so it reads as None.
A resolved or closed incident's resolution: `close_notes` → the note, `close_code` (the
resolution code; else the incident's `category`) → the category, and the assignment group's
name (`assignment_group.name`, its display value) → the group.

Resolving or closing writes `close_code` and `close_notes` (ServiceNow's data policy makes both
mandatory): those of the resolution given, else the configured close code and a note saying
Unticket marked it; a resolution's assignment group is written as the sys_id of the
`sys_user_group` of that name. `changed_since` finds Unticket's incidents (`correlation_display`
= Unticket) by `sys_updated_on`, page by page.

Values are always requested raw (`sysparm_display_value=false`): display values are translated
labels and times in the API user's time zone, raw values are codes and UTC. Credentials (Basic
or an OAuth bearer token) travel only in the Authorization header and never appear in errors.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from resolver.connectors.base import (
    ConnectorError,
    Directory,
    Resolution,
    Ticket,
    TicketRequest,
)
from resolver.connectors.http import Endpoint, request_json
from vocabulary import FINISHED_TICKET_STATUSES

INCIDENTS = "/api/now/table/incident"
USERS = "/api/now/table/sys_user"
GROUPS = "/api/now/table/sys_user_group"
FIELDS = (
    "sys_id,number,short_description,state,active,priority,correlation_id,opened_at,"
    "sys_updated_on,caller_id.email,category,close_code,close_notes,assignment_group.name"
)
MARKER = "Unticket"  # the correlation_display of every incident Unticket opens
PAGE_SIZE = 100
STATES = {
    "1": "new",
    "2": "in_progress",
    "3": "on_hold",
    "6": "resolved",
    "7": "closed",
    "8": "closed",
}
STATE_CODES = {"new": "1", "in_progress": "2", "on_hold": "3", "resolved": "6", "closed": "7"}
PRIORITIES = {"1": "P1", "2": "P2", "3": "P3", "4": "P4", "5": "P4"}
IMPACT_URGENCY = {"P1": ("1", "1"), "P2": ("1", "2"), "P3": ("2", "2"), "P4": ("2", "3")}
HOLD_AWAITING_CALLER = "1"
SHORT_DESCRIPTION_MAX = 160
TIMESTAMP = "%Y-%m-%d %H:%M:%S"
_SYS_ID = re.compile(r"[0-9a-f]{32}")
_NUMBER = re.compile(r"[A-Z]{2,8}\d{4,12}")


class BearerAuth(httpx.Auth):
    """An OAuth 2.0 access token sent as `Authorization: Bearer ...`."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the token to the request."""
        request.headers["Authorization"] = self._header
        yield request


def servicenow_auth(
    user: str | None = None, password: str | None = None, token: str | None = None
) -> httpx.Auth:
    """Basic auth from a user and password, or bearer auth from an OAuth access token."""
    if token:
        return BearerAuth(token)
    if user and password:
        return httpx.BasicAuth(user, password)
    raise ValueError("ServiceNow needs a user and password, or an OAuth token")


def correlation(interaction_id: str | None, service: str | None) -> str | None:
    """The key that identifies Unticket's ticket in ServiceNow: the interaction, or the outage."""
    if interaction_id:
        return interaction_id
    return f"outage:{service}" if service else None


class ServiceNowTicketing:
    """Incidents in a ServiceNow instance behind the `Ticketing` interface."""

    def __init__(
        self,
        instance_url: str,
        auth: httpx.Auth,
        directory: Directory,
        *,
        categories: Mapping[str, str] | None = None,
        default_category: str = "inquiry",
        contact_type: str = "virtual_agent",
        close_code: str = "Solution provided",
        timeout: float = 10.0,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.directory = directory
        self.categories = dict(categories or {})
        self.default_category = default_category
        self.contact_type = contact_type
        self.close_code = close_code
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.instance_url,
            auth=auth,
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
        self._callers: dict[str, str] = {}
        self._groups: dict[str, str] = {}  # group name -> sys_id
        self._endpoint = Endpoint(
            "servicenow",
            self.instance_url,
            timeout,
            "the ServiceNow user and password or token",
            _reason,
        )

    def open_ticket(self, request: TicketRequest, now: datetime) -> Ticket:
        """Create an incident and return it (ServiceNow stamps its own times, not `now`)."""
        impact, urgency = IMPACT_URGENCY[request.priority]
        body = {
            "short_description": request.title[:SHORT_DESCRIPTION_MAX],
            "description": request.description,
            "impact": impact,
            "urgency": urgency,
            "category": self.categories.get(request.intent or "", self.default_category),
            "contact_type": self.contact_type,
            "correlation_display": MARKER,
        }
        key = correlation(request.interaction_id, request.service)
        if key:
            body["correlation_id"] = key
        caller = self._caller(request.requester_id)
        if caller:
            body["caller_id"] = caller
        answer = self._call("POST", INCIDENTS, params=_read_params(), json=body)
        return self._ticket(answer["result"])

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return an incident by number (INC0010001) or sys_id."""
        ref = ticket_id.strip()
        if _SYS_ID.fullmatch(ref.lower()):
            return self._first(f"sys_id={ref.lower()}")
        if _NUMBER.fullmatch(ref.upper()):
            return self._first(f"number={ref.upper()}")
        return None

    def find_by_interaction(self, interaction_id: str) -> Ticket | None:
        """Return the incident opened for an interaction, if there is one."""
        return self._first(f"correlation_id={_quote(interaction_id)}^ORDERBYopened_at")

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return the incidents an employee is the caller of, newest first (at most 20)."""
        caller = self._caller(requester_id)
        if caller is None:
            return []
        query = f"caller_id={caller}^ORDERBYDESCopened_at"
        return [self._ticket(record) for record in self._records(query, limit=20)]

    def set_status(
        self, ticket_id: str, status: str, now: datetime, resolution: Resolution | None = None
    ) -> Ticket:
        """Move an incident to the state for a product status (resolving carries close notes:
        the `resolution`'s, when given)."""
        if status not in STATE_CODES:
            raise ConnectorError(
                f"servicenow: unknown status {status!r}; use one of {tuple(STATE_CODES)}"
            )
        finished = status in FINISHED_TICKET_STATUSES
        if resolution is not None and not finished:
            raise ConnectorError(
                f"servicenow: a resolution goes with resolved or closed, not {status}"
            )
        records = self._records(f"number={_quote(ticket_id.strip().upper())}", limit=1)
        if not records:
            raise ConnectorError(f"servicenow: no incident {ticket_id}")
        body = {"state": STATE_CODES[status]}
        if status == "on_hold":
            body["hold_reason"] = HOLD_AWAITING_CALLER
        if finished:
            body.update(self._closing_fields(status, resolution))
        path = f"{INCIDENTS}/{records[0]['sys_id']}"
        answer = self._call("PATCH", path, params=_read_params(), json=body)
        return self._ticket(answer["result"])

    def changed_since(self, since: datetime) -> list[Ticket]:
        """Return Unticket's incidents updated at or after `since`, oldest update first."""
        stamp = since.astimezone(UTC).strftime(TIMESTAMP)
        query = (
            f"correlation_display={MARKER}^sys_updated_on>={stamp}"
            "^ORDERBYsys_updated_on^ORDERBYnumber"
        )
        tickets: list[Ticket] = []
        while True:
            page = self._records(query, limit=PAGE_SIZE, offset=len(tickets))
            tickets += [self._ticket(record) for record in page]
            if len(page) < PAGE_SIZE:
                return tickets

    def open_outage(self, service: str) -> Ticket | None:
        """Return the active major incident Unticket opened for a service, if there is one."""
        key = correlation(None, service) or ""
        return self._first(f"correlation_id={_quote(key)}^active=true^ORDERBYopened_at")

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _caller(self, requester_id: str | None) -> str | None:
        """The sys_id of the employee's sys_user, found by e-mail, else by username."""
        person = self.directory.get_person(requester_id) if requester_id else None
        if person is None:
            return None
        if person.employee_id not in self._callers:
            query = f"email={_quote(person.email)}^ORuser_name={_quote(person.username)}"
            params = {"sysparm_query": query, "sysparm_fields": "sys_id", "sysparm_limit": "1"}
            users = self._call("GET", USERS, params=params)["result"]
            if not users:
                return None
            self._callers[person.employee_id] = users[0]["sys_id"]
        return self._callers[person.employee_id]

    def _closing_fields(self, status: str, resolution: Resolution | None) -> dict[str, str]:
        """The close code and notes of a resolved or closed incident, and its assignment
        group when the resolution names one."""
        note = resolution.note if resolution else ""
        category = resolution.category if resolution else None
        fields = {
            "close_code": category or self.close_code,
            "close_notes": note or f"Marked {status} through Unticket.",
        }
        if resolution and resolution.assignment_group:
            fields["assignment_group"] = self._group(resolution.assignment_group)
        return fields

    def _group(self, name: str) -> str:
        """The sys_id of the `sys_user_group` called `name`."""
        if name not in self._groups:
            params = {
                "sysparm_query": f"name={_quote(name)}",
                "sysparm_fields": "sys_id",
                "sysparm_limit": "1",
            }
            groups = self._call("GET", GROUPS, params=params)["result"]
            if not groups:
                raise ConnectorError(
                    f"servicenow: no assignment group named {name!r}; use the exact name of a "
                    "group in sys_user_group"
                )
            self._groups[name] = groups[0]["sys_id"]
        return self._groups[name]

    def _first(self, query: str) -> Ticket | None:
        records = self._records(query, limit=1)
        return self._ticket(records[0]) if records else None

    def _records(self, query: str, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        params = {**_read_params(), "sysparm_query": query, "sysparm_limit": str(limit)}
        if offset:
            params["sysparm_offset"] = str(offset)
        return self._call("GET", INCIDENTS, params=params)["result"]

    def _ticket(self, record: Mapping[str, Any]) -> Ticket:
        email = record.get("caller_id.email") or ""
        person = self.directory.find_person(email) if email else None
        key = record.get("correlation_id") or None
        state = record.get("state", "")
        active = record.get("active", "true") == "true"
        status = STATES.get(state, "in_progress" if active else "closed")
        return Ticket(
            ticket_id=record["number"],
            requester_id=person.employee_id if person else None,
            title=record.get("short_description", ""),
            status=status,
            priority=PRIORITIES.get(record.get("priority", ""), "P3"),
            intent=None,
            interaction_id=None if key is None or key.startswith("outage:") else key,
            opened_at=_time(record["opened_at"]),
            updated_at=_time(record.get("sys_updated_on") or record["opened_at"]),
            resolution=_resolution(record) if status in FINISHED_TICKET_STATUSES else None,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One Table API request (see `request_json`)."""
        return request_json(self._http, self._endpoint, method, path, **kwargs)


def _resolution(record: Mapping[str, Any]) -> Resolution | None:
    """A resolved or closed incident's close notes, close code (else category) and assignment
    group name; None when it has none of them."""
    note = record.get("close_notes") or ""
    category = record.get("close_code") or record.get("category") or None
    group = record.get("assignment_group.name") or None
    if not (note or category or group):
        return None
    return Resolution(note, category, group)


def _read_params() -> dict[str, str]:
    """Ask for raw values (codes, UTC times) of the fields a Ticket needs, without links."""
    return {
        "sysparm_fields": FIELDS,
        "sysparm_display_value": "false",
        "sysparm_exclude_reference_link": "true",
    }


def _quote(value: str) -> str:
    """Escape a value for an encoded query, where `^` separates conditions."""
    return value.replace("^", "^^")


def _time(text: str) -> datetime:
    """Parse a raw ServiceNow date-time (UTC)."""
    return datetime.strptime(text, TIMESTAMP).replace(tzinfo=UTC)


def _reason(response: httpx.Response) -> str:
    """ServiceNow's own error message, when the body has one: `{"error": {"message": ...}}`."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    text = " - ".join(str(part) for part in (error.get("message"), error.get("detail")) if part)
    return f": {text[:300]}" if text else ""
