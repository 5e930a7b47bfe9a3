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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from resolver.connectors.base import ConnectorError, Directory, Ticket, TicketRequest
from resolver.connectors.http import Endpoint, request_json
from vocabulary import TicketStatus

REQUESTS = "/rest/servicedeskapi/request"
SEARCH = "/rest/api/3/search/jql"
USER_SEARCH = "/rest/api/3/user/search"
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
        """Return a request by issue key (IT-42) or issue id."""
        ref = ticket_id.strip().upper()
        if not _KEY.fullmatch(ref):
            return None
        request = self._call("GET", f"{REQUESTS}/{ref}", missing_ok=True)
        return self._ticket(request) if request else None

    def find_by_interaction(self, interaction_id: str) -> Ticket | None:
        """Return the request opened for an interaction, if there is one."""
        return self._find(interaction_id, open_only=False)

    def tickets_of(self, requester_id: str) -> list[Ticket]:
        """Return the requests an employee reported in the project, newest first (at most 20)."""
        account = self._account(requester_id)
        if account is None:
            return []
        jql = f"{self._project()} AND reporter = {_jql_string(account)} ORDER BY created DESC"
        tickets = (self.get_ticket(issue["key"]) for issue in self._search(jql, TICKETS_OF_LIMIT))
        return [ticket for ticket in tickets if ticket is not None]

    def set_status(self, ticket_id: str, status: str, now: datetime) -> Ticket:
        """Move a request, through a workflow transition, to a status that means `status`."""
        if status not in STATUSES:
            raise ConnectorError(f"jira: unknown status {status!r}; use one of {STATUSES}")
        ticket = self.get_ticket(ticket_id)
        if ticket is None:
            raise ConnectorError(f"jira: no request {ticket_id}")
        if ticket.status == status:
            return ticket
        path = f"/rest/api/3/issue/{ticket.ticket_id}/transitions"
        transition = next(
            (
                t
                for t in self._call("GET", path)["transitions"]
                if product_status(t["to"]["name"], t["to"]["statusCategory"]["key"]) == status
            ),
            None,
        )
        if transition is None:
            raise ConnectorError(f"jira: no transition takes {ticket.ticket_id} to {status}")
        self._call("POST", path, json={"transition": {"id": transition["id"]}})
        moved = self.get_ticket(ticket.ticket_id)
        assert moved is not None
        return moved

    def open_outage(self, service: str) -> Ticket | None:
        """Return the unresolved major incident Unticket opened for a service, if there is one."""
        return self._find(correlation(None, service) or "", open_only=True)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

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
