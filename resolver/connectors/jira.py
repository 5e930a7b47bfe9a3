"""Jira Service Management ticketing (Cloud): Unticket's escalations become customer requests.

Requests are created and read through the JSM REST API (`/rest/servicedeskapi/request`); the
few things it cannot do (search by reporter or text, workflow transitions, finding a user's
accountId) go through the Jira platform REST API v3. Authentication is Basic with the
integration account's e-mail and an API token; the token never appears in an error.

How a ticket maps onto a request:

- title → `summary`, followed by a marker `[unticket:<key>]`;
- description, the redacted conversation context → `description`, inside `{noformat}` so that
  Jira's wiki markup leaves it verbatim;
- requester (an employee id) → `raiseOnBehalfOf`: the accountId `/rest/api/3/user/search`
  finds for the employee's directory e-mail (Cloud takes accountIds only there); left out when
  there is none, so the integration account reports it (the description still names them);
- intent → `requestTypeId` through the configured intent → request type map, else the default;
- priority P1-P4 → `priority` Highest/High/Medium/Low, only with `send_priority` (the request
  type must have the Priority field, or JSM refuses the request);
- interaction id → `<key>` of the summary marker (`outage:<service>` for a major incident).
  JSM has no correlation field, so the marker is the key that finds Unticket's request again:
  a JQL text search finds candidates and the marker is then compared exactly.

Read back: the current status by name (Waiting for support/Open → new; In progress, Work in
progress, Escalated → in_progress; Waiting for customer, Pending → on_hold; Resolved, Done,
Completed → resolved; Closed, Canceled, Declined → closed), else by status category (NEW → new,
INDETERMINATE → in_progress, DONE → resolved); priority Highest → P1, High → P2, Medium or none
→ P3 (Jira's default), Low and Lowest → P4; the reporter → the employee id (by the accountId
looked up, or by the reporter's e-mail when Jira shows it). The intent reads as None.

A resolved or closed request's resolution (JSM's request API has none, so the platform API is
asked): the issue's `resolution.name` → the category; the resolution comment, the last comment
(JSM's plain-text comments, public or internal) made when its status changed or before → the
note; the name of its Team (the site's Atlassian Team field, found once by its type in
`/rest/api/3/field`) → the group. Resolving or closing with a resolution first adds its note as
an internal comment, then transitions with `fields.resolution` set to the category when the
transition's screen offers a resolution of that name (a site's resolutions are its own list;
otherwise its workflow sets one). The team is not written: it names who works the request,
which the service desk decides. `changed_since` searches the project for the marker's word
(`summary ~ "unticket"`, then the marker is checked) with `updated >= "-<n>m"`, a time relative
to Jira's own clock, which no time zone of the integration account can shift.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
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
from vocabulary import FINISHED_TICKET_STATUSES, TicketStatus

REQUESTS = "/rest/servicedeskapi/request"
SEARCH = "/rest/api/3/search/jql"
USER_SEARCH = "/rest/api/3/user/search"
ISSUE_FIELDS = "/rest/api/3/field"
TEAM_FIELD_TYPE = "com.atlassian.teams:rm-teams-custom-field-team"
MARKER_WORD = "unticket"
PAGE_SIZE = 100
STATUS_NAMES = {
    "open": "new",
    "new": "new",
    "waiting for support": "new",
    "reopened": "new",
    "in progress": "in_progress",
    "work in progress": "in_progress",
    "escalated": "in_progress",
    "waiting for customer": "on_hold",
    "pending": "on_hold",
    "resolved": "resolved",
    "done": "resolved",
    "completed": "resolved",
    "closed": "closed",
    "canceled": "closed",
    "cancelled": "closed",
    "declined": "closed",
}
STATUS_CATEGORIES = {"new": "new", "indeterminate": "in_progress", "done": "resolved"}
STATUSES = tuple(status.value for status in TicketStatus)
PRIORITIES = {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"}
PRIORITY_NAMES = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
SUMMARY_MAX = 255
TICKETS_OF_LIMIT = 20
_MARKER = re.compile(r"^(?P<title>.*?)\s*\[unticket:(?P<key>[^\]]+)\]$", re.DOTALL)
_KEY = re.compile(r"[A-Z][A-Z0-9_]*-\d+|\d+")


def correlation(interaction_id: str | None, service: str | None) -> str | None:
    """The key that identifies Unticket's request in Jira: the interaction, or the outage."""
    if interaction_id:
        return interaction_id
    return f"outage:{service}" if service else None


def summary_with_marker(title: str, key: str | None) -> str:
    """The request summary: the title, then `[unticket:<key>]` when there is a key."""
    if key is None:
        return title[:SUMMARY_MAX]
    marker = f" [unticket:{key}]"
    return title[: SUMMARY_MAX - len(marker)] + marker


def split_marker(summary: str) -> tuple[str, str | None]:
    """Split a summary into the title and the correlation key of its marker (None if none)."""
    match = _MARKER.match(summary)
    return (match["title"], match["key"]) if match else (summary, None)


def product_status(name: str, category: str) -> str:
    """The product's status for a Jira status name and status category."""
    return STATUS_NAMES.get(name.strip().lower()) or STATUS_CATEGORIES.get(
        category.strip().lower(), "new"
    )


class JiraServiceManagementTicketing:
    """Customer requests in one JSM service desk behind the `Ticketing` interface."""

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        directory: Directory,
        *,
        service_desk_id: str,
        request_type_id: str,
        project_key: str,
        request_types: Mapping[str, str] | None = None,
        send_priority: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.directory = directory
        self.service_desk_id = service_desk_id
        self.request_type_id = request_type_id
        self.project_key = project_key
        self.request_types = dict(request_types or {})
        self.send_priority = send_priority
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(email, api_token),
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
        self._accounts: dict[str, str] = {}  # employee id -> accountId
        self._employees: dict[str, str] = {}  # accountId -> employee id
        self._endpoint = Endpoint(
            "jira", self.base_url, timeout, "the Jira account e-mail and API token", _reason
        )

    def open_ticket(self, request: TicketRequest, now: datetime) -> Ticket:
        """Create a customer request and return it (Jira stamps its own times, not `now`)."""
        fields: dict[str, Any] = {
            "summary": summary_with_marker(
                request.title, correlation(request.interaction_id, request.service)
            ),
            "description": "{noformat}\n" + request.description + "\n{noformat}",
        }
        if self.send_priority:
            fields["priority"] = {"name": PRIORITY_NAMES[request.priority]}
        body: dict[str, Any] = {
            "serviceDeskId": self.service_desk_id,
            "requestTypeId": self.request_types.get(request.intent or "", self.request_type_id),
            "requestFieldValues": fields,
        }
        account = self._account(request.requester_id)
        if account:
            body["raiseOnBehalfOf"] = account
        return self._ticket(self._call("POST", REQUESTS, json=body))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return a request by issue key (IT-42) or issue id, with its resolution once it is
        resolved or closed."""
        return self._request(ticket_id, with_resolution=True)

    def find_by_interaction(self, interaction_id: str) -> Ticket | None:
        """Return the request opened for an interaction, if there is one."""
        return self._find(interaction_id, open_only=False)

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return the requests an employee reported in the project, newest first (at most 20),
        without their resolutions (each would cost two more requests while the employee
        waits)."""
        account = self._account(requester_id)
        if account is None:
            return []
        jql = f"{self._project()} AND reporter = {_jql_string(account)} ORDER BY created DESC"
        tickets = (
            self._request(issue["key"], with_resolution=False)
            for issue in self._search(jql, TICKETS_OF_LIMIT)
        )
        return [ticket for ticket in tickets if ticket is not None]

    def set_status(
        self, ticket_id: str, status: str, now: datetime, resolution: Resolution | None = None
    ) -> Ticket:
        """Move a request, through a workflow transition, to a status that means `status`;
        a `resolution`'s note becomes an internal comment first, its category the
        transition's resolution when the transition offers one of that name."""
        if status not in STATUSES:
            raise ConnectorError(f"jira: unknown status {status!r}; use one of {STATUSES}")
        if resolution is not None and status not in FINISHED_TICKET_STATUSES:
            raise ConnectorError(f"jira: a resolution goes with resolved or closed, not {status}")
        ticket = self._request(ticket_id, with_resolution=False)
        if ticket is None:
            raise ConnectorError(f"jira: no request {ticket_id}")
        if resolution is not None and resolution.note:
            comment = {"body": resolution.note, "public": False}
            self._call("POST", f"{REQUESTS}/{ticket.ticket_id}/comment", json=comment)
        if ticket.status == status:
            return self.get_ticket(ticket.ticket_id) or ticket
        path = f"/rest/api/3/issue/{ticket.ticket_id}/transitions"
        offered = self._call("GET", path, params={"expand": "transitions.fields"})
        transition = next(
            (
                t
                for t in offered["transitions"]
                if product_status(t["to"]["name"], t["to"]["statusCategory"]["key"]) == status
            ),
            None,
        )
        if transition is None:
            raise ConnectorError(f"jira: no transition takes {ticket.ticket_id} to {status}")
        body: dict[str, Any] = {"transition": {"id": transition["id"]}}
        name = _offered_resolution(transition, resolution)
        if name is not None:
            body["fields"] = {"resolution": {"name": name}}
        self._call("POST", path, json=body)
        moved = self.get_ticket(ticket.ticket_id)
        assert moved is not None
        return moved

    def changed_since(self, since: datetime) -> list[Ticket]:
        """Return Unticket's requests updated at or after `since` (a minute earlier, to
        allow for the clocks), oldest update first."""
        minutes = math.ceil((datetime.now(UTC) - since).total_seconds() / 60) + 1
        jql = (
            f"{self._project()} AND summary ~ {_jql_string(MARKER_WORD)} "
            f'AND updated >= "-{max(minutes, 1)}m" ORDER BY updated ASC'
        )
        keys = [
            issue["key"]
            for issue in self._search_pages(jql)
            if split_marker(issue["fields"]["summary"])[1] is not None
        ]
        tickets = (self.get_ticket(key) for key in keys)
        return [ticket for ticket in tickets if ticket is not None]

    def open_outage(self, service: str) -> Ticket | None:
        """Return the unresolved major incident Unticket opened for a service, if there is one."""
        return self._find(correlation(None, service) or "", open_only=True)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _request(self, ticket_id: str, with_resolution: bool) -> Ticket | None:
        """A request by issue key or id; a finished one with its resolution, if asked."""
        ref = ticket_id.strip().upper()
        if not _KEY.fullmatch(ref):
            return None
        request = self._call("GET", f"{REQUESTS}/{ref}", missing_ok=True)
        if not request:
            return None
        ticket = self._ticket(request)
        if not with_resolution or ticket.status not in FINISHED_TICKET_STATUSES:
            return ticket
        return replace(ticket, resolution=self._resolution(ticket))

    def _project(self) -> str:
        return f"project = {_jql_string(self.project_key)}"

    def _find(self, key: str, open_only: bool) -> Ticket | None:
        """The oldest request whose summary marker is exactly `key`."""
        words = " ".join(re.findall(r"[A-Za-z0-9]+", key))
        jql = f"{self._project()} AND summary ~ {_jql_string(words)}"
        if open_only:
            jql += " AND statusCategory != Done"
        for issue in self._search(jql + " ORDER BY created ASC", 50):
            if split_marker(issue["fields"]["summary"])[1] == key:
                return self.get_ticket(issue["key"])
        return None

    def _search(self, jql: str, limit: int) -> list[dict[str, Any]]:
        body = {"jql": jql, "fields": ["summary"], "maxResults": limit}
        return self._call("POST", SEARCH, json=body)["issues"]

    def _search_pages(self, jql: str) -> Iterator[dict[str, Any]]:
        """Every issue a search finds, page by page (`nextPageToken`)."""
        body: dict[str, Any] = {"jql": jql, "fields": ["summary"], "maxResults": PAGE_SIZE}
        while True:
            page = self._call("POST", SEARCH, json=body)
            yield from page["issues"]
            if page.get("isLast", True) or not page.get("nextPageToken"):
                return
            body["nextPageToken"] = page["nextPageToken"]

    def _resolution(self, ticket: Ticket) -> Resolution | None:
        """A finished request's resolution name, resolution comment and team; None when it
        has none of them."""
        team_field = self._team_field
        wanted = ",".join(["resolution", *([team_field] if team_field else [])])
        fields = self._call(
            "GET", f"/rest/api/3/issue/{ticket.ticket_id}", params={"fields": wanted}
        )["fields"]
        category = (fields.get("resolution") or {}).get("name")
        team = (fields.get(team_field) or {}) if team_field else {}
        group = team.get("name") or team.get("title")
        note = self._comment_before(ticket.ticket_id, ticket.updated_at)
        if not (note or category or group):
            return None
        return Resolution(note, category, group)

    def _comment_before(self, key: str, moment: datetime) -> str:
        """The text of the last comment on a request made at or before `moment` ("" if none)."""
        latest: tuple[datetime, str] | None = None
        start = 0
        while True:
            params = {"start": str(start), "limit": str(PAGE_SIZE)}
            page = self._call("GET", f"{REQUESTS}/{key}/comment", params=params)
            for comment in page["values"]:
                created = _millis(comment["created"])
                if created <= moment and (latest is None or created >= latest[0]):
                    latest = (created, comment.get("body") or "")
            if page.get("isLastPage", True) or not page["values"]:
                return latest[1] if latest else ""
            start += len(page["values"])

    @cached_property
    def _team_field(self) -> str | None:
        """The id of the site's Team field (`customfield_…`), or None when it has none."""
        fields = self._call("GET", ISSUE_FIELDS)
        return next(
            (f["id"] for f in fields if (f.get("schema") or {}).get("custom") == TEAM_FIELD_TYPE),
            None,
        )

    def _account(self, requester_id: str | None) -> str | None:
        """The accountId of the employee's Atlassian account, found by directory e-mail."""
        person = self.directory.get_person(requester_id) if requester_id else None
        if person is None:
            return None
        if person.employee_id not in self._accounts:
            users = self._call("GET", USER_SEARCH, params={"query": person.email})
            exact = [u for u in users if u.get("emailAddress", "").lower() == person.email.lower()]
            found = exact or (users if len(users) == 1 else [])
            if not found:
                return None
            self._accounts[person.employee_id] = found[0]["accountId"]
            self._employees[found[0]["accountId"]] = person.employee_id
        return self._accounts[person.employee_id]

    def _requester(self, reporter: Mapping[str, Any]) -> str | None:
        account = reporter.get("accountId", "")
        if account in self._employees:
            return self._employees[account]
        email = reporter.get("emailAddress")
        person = self.directory.find_person(email) if email else None
        return person.employee_id if person else None

    def _ticket(self, request: Mapping[str, Any]) -> Ticket:
        fields = {f["fieldId"]: f.get("value") for f in request.get("requestFieldValues", [])}
        title, key = split_marker(fields.get("summary") or "")
        status = request["currentStatus"]
        opened_at = _millis(request["createdDate"])
        priority = fields.get("priority") or {}
        return Ticket(
            ticket_id=request["issueKey"],
            requester_id=self._requester(request.get("reporter") or {}),
            title=title,
            status=product_status(status["status"], status.get("statusCategory", "")),
            priority=PRIORITIES.get(priority.get("name", ""), "P3"),
            intent=None,
            interaction_id=None if key is None or key.startswith("outage:") else key,
            opened_at=opened_at,
            updated_at=_millis(status["statusDate"]) if "statusDate" in status else opened_at,
        )

    def _call(self, method: str, path: str, missing_ok: bool = False, **kwargs: Any) -> Any:
        """One REST request (see `request_json`)."""
        return request_json(self._http, self._endpoint, method, path, missing_ok, **kwargs)


def _offered_resolution(transition: Mapping[str, Any], resolution: Resolution | None) -> str | None:
    """The resolution name a transition's screen offers for the resolution's category
    (case-insensitive), or None."""
    if resolution is None or not resolution.category:
        return None
    offered = ((transition.get("fields") or {}).get("resolution") or {}).get("allowedValues", [])
    wanted = resolution.category.strip().lower()
    return next((v["name"] for v in offered if v.get("name", "").lower() == wanted), None)


def _jql_string(value: str) -> str:
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _millis(date: Mapping[str, Any]) -> datetime:
    """A JSM date object (`{"epochMillis": ..., "iso8601": ...}`) as a UTC time."""
    return datetime.fromtimestamp(date["epochMillis"] / 1000, UTC)


def _reason(response: httpx.Response) -> str:
    """Jira's own error text: JSM's `errorMessage`, or the platform's `errorMessages`/`errors`."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [
        body.get("errorMessage"),
        *body.get("errorMessages", []),
        *body.get("errors", {}).values(),
    ]
    text = "; ".join(str(part) for part in parts if part)
    return f": {text[:300]}" if text else ""
