"""A ServiceNow instance's Table API stand-in: a threaded HTTP server on loopback that keeps
incidents and users in memory and answers like ServiceNow does.

    with ServiceNowStub() as now:
        caller = now.add_user("ada@example.com", "ada")
        client = ServiceNowTicketing(now.url, httpx.BasicAuth(now.user, now.password), ...)

It checks what ServiceNow documents or enforces: Basic or Bearer auth (401 with
`{"error": {...}, "status": "failure"}` otherwise), `Accept: application/json`, a JSON body with
`Content-Type: application/json` on POST and PATCH, known incident fields and choice values
(ServiceNow silently drops unknown fields; here they are a `problem` and a 400), and the data
policies that make close notes mandatory on resolve and a hold reason on hold. Encoded queries
support `a=b`, `a!=b`, `a>=b` (text order, which is time order for raw date-times), `^OR`,
`^ORDERBY`/`^ORDERBYDESC` and dot-walked fields (`caller_id.email`, `assignment_group.name`);
`sysparm_offset` pages. Groups (`sys_user_group`) are kept for `assignment_group` references.

`fail_status` makes every request answer that HTTP error; `delays` holds the answers to a method
(`{"POST": 0.5}`) that many seconds after the work is done, so a client that times out on a create
has still created it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stubs.server import LocalServer

INCIDENT_FIELDS = {
    "short_description",
    "description",
    "caller_id",
    "urgency",
    "impact",
    "category",
    "subcategory",
    "contact_type",
    "correlation_id",
    "correlation_display",
    "state",
    "hold_reason",
    "close_code",
    "close_notes",
    "work_notes",
    "assignment_group",
}
REFERENCES = {"caller_id": "users", "assignment_group": "groups"}  # field -> table it points to
OPERATORS = ("!=", ">=", "=")  # tried in this order
CONTACT_TYPES = {"chat", "virtual_agent", "email", "phone", "self-service", "walk-in"}
LEVELS = {"1", "2", "3"}
PRIORITY_MATRIX = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
INACTIVE_STATES = {"6", "7", "8"}


@dataclass(frozen=True)
class Seen:
    """One request the stub received."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class ServiceNowStub(LocalServer):
    """The Table API of one instance on 127.0.0.1 (a free port)."""

    def __init__(self, user: str = "svc.unticket", password: str = "pw-Not-For-Logs-7731") -> None:
        self.user = user
        self.password = password
        self.token: str | None = None
        self.fail_status: int | None = None
        self.delays: dict[str, float] = {}
        self.incidents: list[dict[str, str]] = []
        self.users: list[dict[str, str]] = []
        self.groups: list[dict[str, str]] = []
        self.requests: list[Seen] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._serve(self._handler())

    @property
    def url(self) -> str:
        """The instance URL to configure (like https://acme.service-now.com)."""
        return self.origin

    # -- what tests set up and inspect -------------------------------------------------------

    def add_user(self, email: str, user_name: str) -> str:
        """Add a sys_user; return its sys_id."""
        sys_id = uuid.uuid4().hex
        self.users.append({"sys_id": sys_id, "email": email, "user_name": user_name})
        return sys_id

    def add_group(self, name: str) -> str:
        """Add a sys_user_group; return its sys_id."""
        sys_id = uuid.uuid4().hex
        self.groups.append({"sys_id": sys_id, "name": name})
        return sys_id

    def incident(self, number: str) -> dict[str, str]:
        """Return the stored incident with a number."""
        return next(i for i in self.incidents if i["number"] == number)

    def set_state(self, number: str, state: str, **fields: str) -> None:
        """Move an incident as an agent would, setting other `fields` too (close_code,
        close_notes, assignment_group as a group's sys_id, ...)."""
        record = self.incident(number)
        record.update(
            fields,
            state=state,
            active=str(state not in INACTIVE_STATES).lower(),
            sys_updated_on=_stamp(),
        )

    # -- the API ----------------------------------------------------------------------------

    def answer(self, seen: Seen) -> tuple[int, Any]:
        """The status and JSON body ServiceNow would answer to a request."""
        if self.fail_status:
            return self.fail_status, _error("Service Unavailable", "the instance is unavailable")
        if not self._authorised(seen.headers.get("authorization", "")):
            return 401, _error("User Not Authenticated", "Required to provide Auth information")
        if "application/json" not in seen.headers.get("accept", ""):
            self.problems.append(f"{seen.method} {seen.path} without Accept: application/json")
            return 406, _error("Unsupported Accept header", seen.headers.get("accept", ""))
        if seen.method in ("POST", "PATCH") and not seen.headers.get("content-type", "").startswith(
            "application/json"
        ):
            self.problems.append(f"{seen.method} {seen.path} without a JSON content type")
            return 415, _error("Unsupported Media Type", "use application/json")
        parts = seen.path.strip("/").split("/")
        if parts[:3] != ["api", "now", "table"] or len(parts) not in (4, 5):
            return 400, _error("Requested URI does not represent any resource", seen.path)
        table, sys_id = parts[3], (parts[4] if len(parts) == 5 else None)
        with self._lock:
            if table == "sys_user" and seen.method == "GET" and sys_id is None:
                return 200, {"result": self._select(self.users, seen.params)}
            if table == "sys_user_group" and seen.method == "GET" and sys_id is None:
                return 200, {"result": self._select(self.groups, seen.params)}
            if table != "incident":
                return 400, _error(f"Invalid table {table}", "")
            if seen.method == "GET" and sys_id is None:
                return 200, {"result": self._select(self.incidents, seen.params)}
            if seen.method == "POST" and sys_id is None:
                return self._create(seen)
            if seen.method == "PATCH" and sys_id:
                return self._update(sys_id, seen)
        return 405, _error("Method not Supported", seen.method)

    def _authorised(self, header: str) -> bool:
        basic = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {basic}" or (
            self.token is not None and header == f"Bearer {self.token}"
        )

    def _create(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        problems = self._field_problems(body)
        if not isinstance(body, dict) or not body.get("short_description"):
            problems.append("no short_description")
        if isinstance(body, dict):
            problems += [
                f"{field} {body.get(field)!r} is not 1, 2 or 3"
                for field in ("impact", "urgency")
                if body.get(field) not in LEVELS
            ]
            if body.get("contact_type") not in CONTACT_TYPES:
                problems.append(f"contact_type {body.get('contact_type')!r} is not a choice")
        if problems:
            self.problems.extend(problems)
            return 400, _error("Invalid request", "; ".join(problems))
        stamp = _stamp()
        record = {
            **{field: str(value) for field, value in body.items()},
            "sys_id": uuid.uuid4().hex,
            "number": f"INC{10001 + len(self.incidents):07d}",
            "state": "1",
            "active": "true",
            "priority": PRIORITY_MATRIX[(body["impact"], body["urgency"])],
            "opened_at": stamp,
            "sys_created_on": stamp,
            "sys_updated_on": stamp,
        }
        self.incidents.append(record)
        return 201, {"result": self._project(record, seen.params)}

    def _update(self, sys_id: str, seen: Seen) -> tuple[int, Any]:
        record = next((i for i in self.incidents if i["sys_id"] == sys_id), None)
        if record is None:
            return 404, _error("No Record found", "Record doesn't exist or ACL restricts it")
        body = seen.body
        problems = self._field_problems(body)
        closing = isinstance(body, dict) and body.get("state") in ("6", "7")
        if closing and not all(body.get(f) or record.get(f) for f in ("close_code", "close_notes")):
            problems.append(
                "Data Policy Exception: Resolution code, Resolution notes are mandatory"
            )
        if isinstance(body, dict) and body.get("state") == "3" and not body.get("hold_reason"):
            problems.append("Data Policy Exception: On hold reason is mandatory")
        if problems:
            self.problems.extend(problems)
            return 400, _error("Operation Failed", "; ".join(problems))
        record.update({field: str(value) for field, value in body.items()})
        record.update(
            active=str(record["state"] not in INACTIVE_STATES).lower(), sys_updated_on=_stamp()
        )
        return 200, {"result": self._project(record, seen.params)}

    def _field_problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["the body is not a JSON object"]
        return [
            f"unknown incident field {field!r}" for field in body if field not in INCIDENT_FIELDS
        ]

    def _select(self, records: list[dict[str, str]], params: dict[str, str]) -> list[dict]:
        matching, order = _encoded_query(params.get("sysparm_query", ""))
        found = [r for r in records if matching(lambda field, r=r: self._value(r, field))]
        for field, descending in reversed(order):
            found.sort(key=lambda r, f=field: self._value(r, f), reverse=descending)
        offset = int(params.get("sysparm_offset", "0"))
        limit = int(params.get("sysparm_limit", "10000"))
        return [self._project(r, params) for r in found[offset : offset + limit]]

    def _project(self, record: dict[str, str], params: dict[str, str]) -> dict[str, str]:
        fields = params.get("sysparm_fields")
        names = fields.split(",") if fields else list(record)
        return {name: self._value(record, name) for name in names}

    def _value(self, record: dict[str, str], field: str) -> str:
        """A field's raw value; `caller_id.email` walks to the caller's sys_user,
        `assignment_group.name` to the group."""
        reference, _, walked = field.partition(".")
        if walked and reference in REFERENCES:
            table = getattr(self, REFERENCES[reference])
            target = next((t for t in table if t["sys_id"] == record.get(reference)), {})
            return target.get(walked, "")
        return record.get(field, "")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PATCH(self) -> None:
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
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json;charset=UTF-8")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) before the answer

            def log_message(self, *args: object) -> None:
                """Stay quiet (the default logs every request to stderr)."""

        return Handler


def _error(message: str, detail: str) -> dict[str, Any]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def _encoded_query(query: str) -> tuple[Any, list[tuple[str, bool]]]:
    """A matcher for an encoded query (AND of OR-groups) and its ORDERBY fields."""
    groups: list[list[tuple[str, str, str]]] = []
    order: list[tuple[str, bool]] = []
    for term in query.replace("^^", "\0").split("^"):
        term = term.replace("\0", "^")
        if not term:
            continue
        if term.startswith("ORDERBYDESC"):
            order.append((term.removeprefix("ORDERBYDESC"), True))
            continue
        if term.startswith("ORDERBY"):
            order.append((term.removeprefix("ORDERBY"), False))
            continue
        alternative = term.startswith("OR") and bool(groups)
        term = term.removeprefix("OR") if alternative else term
        operator = next(op for op in OPERATORS if op in term)
        field, value = term.split(operator, 1)
        if alternative:
            groups[-1].append((field, operator, value))
        else:
            groups.append([(field, operator, value)])

    def matching(value_of: Any) -> bool:
        return all(
            any(_compare(value_of(field), operator, value) for field, operator, value in group)
            for group in groups
        )

    return matching, order


def _compare(actual: str, operator: str, value: str) -> bool:
    if operator == "=":
        return actual == value
    if operator == "!=":
        return actual != value
    return actual >= value
