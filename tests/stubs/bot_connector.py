"""A Bot Framework stand-in on loopback: the login service (OpenID metadata, the JWKS it points
to, and the client-credentials token endpoint) and the Bot Connector (replies, new messages,
updates and member look-ups under `{url}/amer/v3/conversations/...`), in one threaded HTTP
server that records every call and checks it has the shape the Bot Connector accepts.

    with BotFrameworkStub(jwks=[public_jwk], app_id=APP_ID, app_password=PASSWORD) as bf:
        teams_router(runtime, app_id=APP_ID, app_password=PASSWORD,
                     openid_url=bf.openid_url, token_url=bf.token_url)
        ...
        assert bf.activities[0]["path"] == "/amer/v3/conversations/<id>/activities/<id>"

Connector calls must carry the token the stub issued (else 401 and a problem noted); an activity
of the wrong shape gets 400 and its problems land in `problems`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote

from tests.stubs.server import LocalServer

TOKEN_PATH = "/botframework.com/oauth2/v2.0/token"
OPENID_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"
SERVICE_PREFIX = "/amer"
BOT_SCOPE = "https://api.botframework.com/.default"
CONVERSATION = re.compile(r"^/amer/v3/conversations/([^/]+)/(activities|members)(?:/([^/]+))?$")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def card_problems(attachment: dict[str, Any]) -> list[str]:
    """What is wrong with an Adaptive Card attachment (Action.Submit buttons only)."""
    content = attachment.get("content") or {}
    if attachment.get("contentType") != ADAPTIVE_CARD or content.get("type") != "AdaptiveCard":
        return ["an attachment is not an Adaptive Card"]
    problems = []
    if not isinstance(content.get("version"), str) or not isinstance(content.get("body"), list):
        problems.append("an Adaptive Card needs a version and a body")
    for item in content.get("body", []):
        if item.get("type") == "TextBlock" and not item.get("text"):
            problems.append("an Adaptive Card has an empty TextBlock")
    for action in content.get("actions", []):
        if action.get("type") != "Action.Submit" or not action.get("title"):
            problems.append("an Adaptive Card action is not a titled Action.Submit")
        if not isinstance(action.get("data"), dict):
            problems.append("an Action.Submit has no data object")
    return problems


def activity_problems(activity: dict[str, Any], conversation_id: str) -> list[str]:
    """What is wrong with an activity the bot sends into a conversation."""
    problems = []
    if activity.get("type") != "message":
        problems.append("the activity is not a message")
    if (activity.get("conversation") or {}).get("id") != conversation_id:
        problems.append("the activity's conversation is not the one in the URL")
    if not (activity.get("from") or {}).get("id") or not (activity.get("recipient") or {}).get(
        "id"
    ):
        problems.append("the activity has no from.id or recipient.id")
    if not activity.get("text") and not activity.get("attachments"):
        problems.append("the activity has neither text nor attachments")
    for attachment in activity.get("attachments") or []:
        problems += card_problems(attachment)
    return problems


class BotFrameworkStub(LocalServer):
    """The Bot Framework on 127.0.0.1 (a free port). `members` maps a user id to what the
    connector says about them (e-mail, userPrincipalName, ...); others are not found."""

    def __init__(
        self,
        jwks: list[dict[str, Any]],
        app_id: str,
        app_password: str,
        members: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.jwks = jwks
        self.app_id = app_id
        self.app_password = app_password
        self.members = members or {}
        self.issued_token = "stub-bot-token-0d6f1c"
        self.activities: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.hits: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._serve(self._handler())

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.origin

    @property
    def openid_url(self) -> str:
        """Where the OpenID metadata is served."""
        return self.url + OPENID_PATH

    @property
    def token_url(self) -> str:
        """The client-credentials token endpoint."""
        return self.url + TOKEN_PATH

    @property
    def service_url(self) -> str:
        """The `serviceUrl` activities carry (Teams' have a regional path like this one)."""
        return self.url + SERVICE_PREFIX + "/"

    def serve(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        """The status and JSON body the Bot Framework answers a request with."""
        if method == "GET" and path == OPENID_PATH:
            self.hits["openid"] += 1
            return 200, {"issuer": "https://api.botframework.com", "jwks_uri": self.url + KEYS_PATH}
        if method == "GET" and path == KEYS_PATH:
            self.hits["keys"] += 1
            return 200, {"keys": self.jwks}
        if method == "POST" and path == TOKEN_PATH:
            return self._token(dict(parse_qsl(raw.decode())))
        match = CONVERSATION.match(path)
        if match is None:
            return 404, {"error": {"code": "NotFound", "message": path}}
        if headers.get("authorization") != f"Bearer {self.issued_token}":
            self.problems.append(f"{method} {path} without the issued bot token")
            return 401, {"error": {"code": "Unauthorized"}}
        conversation_id, kind, item = unquote(match[1]), match[2], match[3]
        if kind == "members":
            member = self.members.get(unquote(item or ""))
            return (200, member) if member else (404, {"error": {"code": "MemberNotFound"}})
        return self._activity(
            method, path, conversation_id, item and unquote(item), json.loads(raw)
        )

    def _token(self, form: dict[str, str]) -> tuple[int, Any]:
        self.hits["token"] += 1
        expected = {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.app_password,
            "scope": BOT_SCOPE,
        }
        if form != expected:
            return 401, {"error": "invalid_client"}
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": self.issued_token}

    def _activity(
        self, method: str, path: str, conversation_id: str, activity_id: str | None, body: Any
    ) -> tuple[int, Any]:
        problems = activity_problems(body, conversation_id)
        if method == "POST" and activity_id and body.get("replyToId") != activity_id:
            problems.append("a reply whose replyToId is not the activity in the URL")
        if method == "PUT" and (not activity_id or body.get("id") != activity_id):
            problems.append("an update whose id is not the activity in the URL")
        with self._lock:
            self.problems += problems
            new_id = f"bot-activity-{next(self._ids)}"
            self.activities.append({"method": method, "path": path, "body": body, "id": new_id})
        return (400, {"error": {"code": "BadSyntax"}}) if problems else (200, {"id": new_id})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def _answer(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, body = stub.serve(method, self.path, self.headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Stay quiet (the default logs every request to stderr)."""

        return Handler
