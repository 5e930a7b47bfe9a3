"""A Jira Service Management Cloud stand-in: a threaded HTTP server on loopback with one service
desk, its customers and requests in memory, answering like JSM and the Jira platform API do.

    with JiraStub() as jira:
        account = jira.add_customer("ada@example.com", "Ada")
        client = JiraServiceManagementTicketing(jira.url, jira.email, jira.api_token, ...)

Endpoints: `POST /rest/servicedeskapi/request`, `GET /rest/servicedeskapi/request/{key}`,
`GET`/`POST /rest/servicedeskapi/request/{key}/comment` (plain-text comments, `public` or
internal, paged by `start` and `limit`), `GET /rest/api/3/user/search?query=`,
`POST /rest/api/3/search/jql` (the clauses the client writes: `project = "X"`, `reporter =
"id"`, `summary ~ "words"`, `statusCategory != Done`, `updated >= "-<n>m"`, `ORDER BY created
ASC|DESC` or `updated ASC`; paged by `nextPageToken`), `GET /rest/api/3/field` (the site's
fields, with the Team field `customfield_10001`), `GET /rest/api/3/issue/{key}?fields=` (the
platform's issue: `resolution`, `updated`, the team), and `GET`/`POST
/rest/api/3/issue/{key}/transitions` (with `expand=transitions.fields`, a transition to a done
status offers the site's resolutions; posting one sets it, as the workflow's "Done" does when
none is posted; leaving done clears it).

It checks Basic auth with the account e-mail and API token (401 otherwise),
`Accept: application/json`, a JSON body with `Content-Type: application/json`, the service desk
and request type ids, the request fields the request type has (JSM refuses others with 400),
and that `raiseOnBehalfOf` is a known accountId (Cloud takes no e-mails there).

`fail_status` makes every request answer that HTTP error; `delays` holds the answers to a method
(`{"POST": 0.5}`) that many seconds after the work is done, so a client that times out on a create
has still created it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stubs.server import LocalServer

WORKFLOW = {
    "Waiting for support": "NEW",
    "In progress": "INDETERMINATE",
    "Waiting for customer": "INDETERMINATE",
    "Resolved": "DONE",
    "Closed": "DONE",
    "Canceled": "DONE",
}
REQUEST_KEYS = {"serviceDeskId", "requestTypeId", "requestFieldValues", "raiseOnBehalfOf"}
COMMENT_KEYS = {"body", "public"}
TEAM_FIELD = "customfield_10001"
SITE_FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {"id": "resolution", "name": "Resolution", "custom": False, "schema": {"type": "resolution"}},
    {
        "id": "customfield_10010",
        "name": "Request Type",
        "custom": True,
        "schema": {"type": "sd-customerrequesttype", "custom": "com.atlassian.servicedesk"},
    },
    {
        "id": TEAM_FIELD,
        "name": "Team",
        "custom": True,
        "schema": {"type": "team", "custom": "com.atlassian.teams:rm-teams-custom-field-team"},
    },
]
_CLAUSES = {
    "project": re.compile(r'project = "(?P<value>[^"]+)"'),
    "reporter": re.compile(r'reporter = "(?P<value>[^"]+)"'),
    "summary": re.compile(r'summary ~ "(?P<value>[^"]+)"'),
    "open": re.compile(r"statusCategory != Done"),
    "updated": re.compile(r'updated >= "-(?P<value>\d+)m"'),
}


@dataclass(frozen=True)
class Seen:
    """One request the stub received."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


def _now() -> int:
    return int(time.time() * 1000)


def _date(millis: int) -> dict[str, Any]:
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return {
        "iso8601": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "jira": moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "friendly": moment.strftime("%d/%b/%y %I:%M %p"),
        "epochMillis": millis,
    }


class JiraStub(LocalServer):
    """One JSM service desk (`1`, project `IT`) on 127.0.0.1 (a free port).

    Request type `10` ("Get IT help") has summary and description; `11` ("Report a system
    problem") has a priority field as well.
    """

    def __init__(
        self, email: str = "unticket@acme.example", api_token: str = "ATATT-not-for-logs-5521"
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.service_desk_id = "1"
        self.project_key = "IT"
        self.request_types = {
            "10": {"summary", "description"},
            "11": {"summary", "description", "priority"},
        }
        self.fail_status: int | None = None
        self.delays: dict[str, float] = {}
        self.resolutions = ["Done", "Won't Do", "Duplicate", "Declined", "Cannot Reproduce"]
        self.customers: list[dict[str, str]] = []
        self.issues: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._serve(self._handler())

    @property
    def url(self) -> str:
        """The site URL to configure (like https://acme.atlassian.net)."""
        return self.origin

    # -- what tests set up and inspect -------------------------------------------------------

    def add_customer(self, email: str, name: str) -> str:
        """Add a customer account; return its accountId."""
        account = f"qm:{uuid.uuid4()}:{uuid.uuid4().hex[:24]}"
        self.customers.append({"accountId": account, "emailAddress": email, "displayName": name})
        return account

    def issue(self, key: str) -> dict[str, Any]:
        """Return the stored issue with a key."""
        return next(i for i in self.issues if i["key"] == key)

    def set_status(self, key: str, status: str, resolution: str | None = None) -> None:
        """Move an issue as an agent would (to a done status with `resolution`, else Done)."""
        self._move(self.issue(key), status, resolution)

    def add_comment(self, key: str, body: str, public: bool = True, later_ms: int = 0) -> None:
        """Comment on an issue as an agent would (`later_ms` after now)."""
        self._comment(self.issue(key), body, public, later_ms)

    def set_team(self, key: str, name: str) -> None:
        """Set an issue's Team field to a team called `name`."""
        team = {"id": str(uuid.uuid4()), "name": name, "avatarUrl": "", "isVisible": True}
        self.issue(key).update(team={**team, "title": name, "isShared": True}, updated=_now())

    # -- the API ----------------------------------------------------------------------------

    def answer(self, seen: Seen) -> tuple[int, Any]:
        """The status and JSON body Jira would answer to a request."""
        if self.fail_status:
            return self.fail_status, {"errorMessages": ["Service Unavailable"]}
        if not self._authorised(seen.headers.get("authorization", "")):
            return 401, {"errorMessages": ["You are not authenticated."]}
        if "application/json" not in seen.headers.get("accept", ""):
            self.problems.append(f"{seen.method} {seen.path} without Accept: application/json")
            return 406, {"errorMessages": ["Not acceptable"]}
        if seen.method == "POST" and not seen.headers.get("content-type", "").startswith(
            "application/json"
        ):
            self.problems.append(f"{seen.method} {seen.path} without a JSON content type")
            return 415, {"errorMessages": ["Unsupported Media Type"]}
        with self._lock:
            return self._route(seen)

    def _route(self, seen: Seen) -> tuple[int, Any]:
        path, method = seen.path, seen.method
        if path == "/rest/servicedeskapi/request" and method == "POST":
            return self._create(seen.body)
        if match := re.fullmatch(r"/rest/servicedeskapi/request/([^/]+)", path):
            issue = self._find(match[1])
            if method != "GET" or issue is None:
                return 404, _jsm_error(
                    "The request either does not exist or you do not have permission to view it."
                )
            return 200, self._request(issue)
        if path == "/rest/api/3/user/search" and method == "GET":
            query = seen.params.get("query", "").lower()
            return 200, [
                {**c, "accountType": "customer", "active": True}
                for c in self.customers
                if query in c["emailAddress"].lower()
            ]
        if match := re.fullmatch(r"/rest/servicedeskapi/request/([^/]+)/comment", path):
            issue = self._find(match[1])
            if issue is None or method not in ("GET", "POST"):
                return 404, _jsm_error("The request does not exist.")
            return self._comments(issue, seen)
        if path == "/rest/api/3/search/jql" and method == "POST":
            return self._search(seen.body)
        if path == "/rest/api/3/field" and method == "GET":
            return 200, SITE_FIELDS
        if match := re.fullmatch(r"/rest/api/3/issue/([^/]+)", path):
            issue = self._find(match[1])
            if method != "GET" or issue is None:
                return 404, {"errorMessages": ["Issue does not exist."]}
            return 200, self._platform_issue(issue, seen.params.get("fields", ""))
        if match := re.fullmatch(r"/rest/api/3/issue/([^/]+)/transitions", path):
            issue = self._find(match[1])
            if issue is None:
                return 404, {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ]
                }
            return (
                self._transitions(issue, seen)
                if method == "POST"
                else (200, {"transitions": self._available(issue, seen.params.get("expand"))})
            )
        return 404, {"errorMessages": [f"No {method} {path}"]}

    def _authorised(self, header: str) -> bool:
        basic = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return header == f"Basic {basic}"

    def _find(self, ref: str) -> dict[str, Any] | None:
        return next((i for i in self.issues if ref in (i["key"], i["id"])), None)

    def _create(self, body: Any) -> tuple[int, Any]:
        problems = self._create_problems(body)
        if problems:
            self.problems.extend(problems)
            return 400, _jsm_error("; ".join(problems))
        now = _now()
        reporter = body.get("raiseOnBehalfOf")
        issue = {
            "id": str(10000 + len(self.issues)),
            "key": f"{self.project_key}-{len(self.issues) + 1}",
            "request_type": body["requestTypeId"],
            "fields": dict(body["requestFieldValues"]),
            "reporter": reporter,
            "status": "Waiting for support",
            "created": now,
            "status_date": now,
            "updated": now,
            "resolution": None,
            "team": None,
            "comments": [],
        }
        self.issues.append(issue)
        return 201, self._request(issue)

    def _create_problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["the body is not a JSON object"]
        problems = [f"unknown key {key!r}" for key in body if key not in REQUEST_KEYS]
        if body.get("serviceDeskId") != self.service_desk_id:
            problems.append(f"no service desk {body.get('serviceDeskId')!r}")
        fields_allowed = self.request_types.get(body.get("requestTypeId"))
        if fields_allowed is None:
            return [*problems, f"no request type {body.get('requestTypeId')!r}"]
        values = body.get("requestFieldValues")
        if not isinstance(values, dict):
            return [*problems, "requestFieldValues is not an object"]
        problems += [
            f"Field '{f}' is not valid for this request type"
            for f in values
            if f not in fields_allowed
        ]
        summary = values.get("summary")
        if not isinstance(summary, str) or not 0 < len(summary) <= 255:
            problems.append("summary must be 1-255 characters")
        if not isinstance(values.get("description", ""), str):
            problems.append("description must be text")
        reporter = body.get("raiseOnBehalfOf")
        if reporter is not None and reporter not in {c["accountId"] for c in self.customers}:
            problems.append(f"raiseOnBehalfOf {reporter!r} is not a customer accountId")
        return problems

    def _request(self, issue: dict[str, Any]) -> dict[str, Any]:
        """The JSM customer-request representation of an issue."""
        customer = next((c for c in self.customers if c["accountId"] == issue["reporter"]), None)
        reporter = customer or {
            "accountId": "integration",
            "emailAddress": self.email,
            "displayName": "Unticket",
        }
        values = [
            {"fieldId": field, "label": field.capitalize(), "value": value}
            for field, value in issue["fields"].items()
        ]
        return {
            "_expands": ["participant", "status", "sla", "requestType", "serviceDesk"],
            "issueId": issue["id"],
            "issueKey": issue["key"],
            "requestTypeId": issue["request_type"],
            "serviceDeskId": self.service_desk_id,
            "createdDate": _date(issue["created"]),
            "reporter": {**reporter, "active": True, "timeZone": "Etc/UTC"},
            "requestFieldValues": values,
            "currentStatus": {
                "status": issue["status"],
                "statusCategory": WORKFLOW[issue["status"]],
                "statusDate": _date(issue["status_date"]),
            },
            "_links": {"web": f"{self.url}/servicedesk/customer/portal/1/{issue['key']}"},
        }

    def _comments(self, issue: dict[str, Any], seen: Seen) -> tuple[int, Any]:
        """A request's comments, a page of them (GET), or a new one (POST)."""
        if seen.method == "POST":
            body = seen.body
            problems = (
                ["the body is not a JSON object"]
                if not isinstance(body, dict)
                else [f"unknown key {key!r}" for key in body if key not in COMMENT_KEYS]
                + ([] if isinstance(body.get("body"), str) and body["body"] else ["no body"])
            )
            if problems:
                self.problems.extend(problems)
                return 400, _jsm_error("; ".join(problems))
            return 201, self._comment(issue, body["body"], bool(body.get("public", True)))
        start = int(seen.params.get("start", "0"))
        limit = int(seen.params.get("limit", "50"))
        page = issue["comments"][start : start + limit]
        return 200, {
            "size": len(page),
            "start": start,
            "limit": limit,
            "isLastPage": start + limit >= len(issue["comments"]),
            "values": page,
        }

    def _comment(
        self, issue: dict[str, Any], body: str, public: bool, later_ms: int = 0
    ) -> dict[str, Any]:
        now = _now() + later_ms
        comment = {
            "id": str(20000 + sum(len(i["comments"]) for i in self.issues)),
            "body": body,
            "public": public,
            "author": {"accountId": "agent", "displayName": "Service Desk Agent"},
            "created": _date(now),
        }
        issue["comments"].append(comment)
        issue["updated"] = now
        return comment

    def _platform_issue(self, issue: dict[str, Any], wanted: str) -> dict[str, Any]:
        """The platform API's issue with the `fields` asked for."""
        resolution = next(
            (
                {"id": str(10000 + index), "name": name, "description": name}
                for index, name in enumerate(self.resolutions)
                if name == issue["resolution"]
            ),
            None,
        )
        updated = datetime.fromtimestamp(issue["updated"] / 1000, UTC)
        values = {
            "summary": issue["fields"]["summary"],
            "resolution": resolution,
            "updated": updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            TEAM_FIELD: issue["team"],
        }
        names = [name for name in wanted.split(",") if name] or list(values)
        return {
            "id": issue["id"],
            "key": issue["key"],
            "fields": {name: values[name] for name in names if name in values},
        }

    def _search(self, body: Any) -> tuple[int, Any]:
        jql = body.get("jql", "") if isinstance(body, dict) else ""
        where, _, order = jql.partition(" ORDER BY ")
        found = list(self.issues)
        for clause in where.split(" AND "):
            kind, match = next(
                ((k, m) for k, p in _CLAUSES.items() if (m := p.fullmatch(clause.strip()))),
                (None, None),
            )
            if match is None:
                self.problems.append(f"unsupported JQL clause {clause!r}")
                return 400, {"errorMessages": [f"Error in the JQL Query: {clause}"]}
            found = [i for i in found if self._satisfies(i, kind, match)]
        column, _, direction = order.strip().partition(" ")
        found.sort(key=lambda i: i[column or "created"], reverse=direction == "DESC")
        start = int(body.get("nextPageToken") or 0)
        limit = int(body.get("maxResults", 50))
        issues = [
            {"id": i["id"], "key": i["key"], "fields": {"summary": i["fields"]["summary"]}}
            for i in found[start : start + limit]
        ]
        page: dict[str, Any] = {"issues": issues, "isLast": len(found) <= start + limit}
        if not page["isLast"]:
            page["nextPageToken"] = str(start + limit)
        return 200, page

    def _satisfies(self, issue: dict[str, Any], kind: str, match: re.Match[str]) -> bool:
        if kind == "project":
            return match["value"] == self.project_key
        if kind == "reporter":
            return issue["reporter"] == match["value"]
        if kind == "summary":
            words = set(re.findall(r"[a-z0-9]+", issue["fields"]["summary"].lower()))
            return set(match["value"].lower().split()) <= words
        if kind == "updated":
            return issue["updated"] >= _now() - int(match["value"]) * 60_000
        return WORKFLOW[issue["status"]] != "DONE"

    def _available(self, issue: dict[str, Any], expand: str | None = None) -> list[dict]:
        transitions = []
        for index, (status, category) in enumerate(WORKFLOW.items()):
            if status == issue["status"]:
                continue
            transition: dict[str, Any] = {
                "id": str(11 + index),
                "name": f"Move to {status}",
                "to": {"name": status, "statusCategory": {"key": category.lower()}},
            }
            if expand == "transitions.fields":
                transition["fields"] = self._screen(category)
            transitions.append(transition)
        return transitions

    def _screen(self, category: str) -> dict[str, Any]:
        """The fields of a transition's screen: the resolution on the way to a done status."""
        if category != "DONE":
            return {}
        allowed = [{"id": str(10000 + i), "name": n} for i, n in enumerate(self.resolutions)]
        return {
            "resolution": {
                "required": False,
                "schema": {"type": "resolution", "system": "resolution"},
                "name": "Resolution",
                "key": "resolution",
                "operations": ["set"],
                "allowedValues": allowed,
            }
        }

    def _transitions(self, issue: dict[str, Any], seen: Seen) -> tuple[int, Any]:
        body = seen.body if isinstance(seen.body, dict) else {}
        wanted = body.get("transition", {}).get("id")
        target = next((t for t in self._available(issue) if t["id"] == wanted), None)
        if target is None:
            return 400, {
                "errorMessages": [f"Transition id '{wanted}' is not valid for this issue."]
            }
        unknown = [
            f
            for f in body.get("fields", {})
            if f not in self._screen(WORKFLOW[target["to"]["name"]])
        ]
        resolution = body.get("fields", {}).get("resolution", {}).get("name")
        if unknown or (resolution is not None and resolution not in self.resolutions):
            problem = f"Field {(unknown or ['resolution'])[0]!r} cannot be set to that here"
            self.problems.append(problem)
            return 400, {"errorMessages": [], "errors": {"resolution": problem}}
        self._move(issue, target["to"]["name"], resolution)
        return 204, None

    def _move(self, issue: dict[str, Any], status: str, resolution: str | None) -> None:
        """Move an issue; the workflow sets the resolution (Done unless one was given) on the
        way into a done status and clears it on the way out."""
        done = WORKFLOW[status] == "DONE"
        now = _now()
        issue.update(
            status=status,
            status_date=now,
            updated=now,
            resolution=(resolution or issue["resolution"] or "Done") if done else None,
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                seen = Seen(
                    method=self.command,
                    path=url.path,
                    params={k: v[0] for k, v in parse_qs(url.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                stub.requests.append(seen)
                status, payload = stub.answer(seen)
                time.sleep(stub.delays.get(seen.method, 0.0))
                data = b"" if payload is None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    if data:
                        self.send_header("content-type", "application/json;charset=UTF-8")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) before the answer

            def log_message(self, *args: object) -> None:
                """Stay quiet (the default logs every request to stderr)."""

        return Handler


def _jsm_error(message: str) -> dict[str, Any]:
    return {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.error", "parameters": []}}
