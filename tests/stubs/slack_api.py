"""A Slack Web API stand-in: a threaded HTTP server on loopback that answers the methods the
Slack channel calls (`users.info`, `users.lookupByEmail`, `chat.postMessage`, `chat.update`)
the way Slack does, records every call, and checks that what it receives has the shape Slack
accepts (a message needs a channel and a text; `thread_ts` looks like a Slack timestamp; blocks
and buttons within Slack's limits).

    with SlackApiStub(token="xoxb-test", users={"U1": "ada@example.com"}) as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url)
        ...
        posted = slack.wait_for("chat.postMessage", 1)

A call with the wrong bot token gets `invalid_auth`; a message of the wrong shape is answered
`invalid_blocks` and its problems land in `problems`. A posted message's recorded arguments gain
the `ts` the stub gave it, so a test can click its buttons.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.stubs.server import LocalServer
from tests.stubs.slack_webhook import shape_problems

TS = re.compile(r"^\d{10}\.\d{6}$")
BUTTON_STYLES = {None, "primary", "danger"}


def button_problems(blocks: list[Any]) -> list[str]:
    """What is wrong with the actions blocks of a message, by Slack's documented limits."""
    problems, action_ids = [], []
    for index, block in enumerate(b for b in blocks if isinstance(b, dict)):
        if block.get("type") != "actions":
            continue
        elements = block.get("elements", [])
        if not 0 < len(elements) <= 25:
            problems.append(f"actions {index} needs 1-25 elements")
        for button in elements:
            text = button.get("text") or {}
            action_ids.append(button.get("action_id"))
            if button.get("type") != "button" or text.get("type") != "plain_text":
                problems.append(f"actions {index} has an element that is not a plain_text button")
            if not 0 < len(text.get("text", "")) <= 75:
                problems.append(f"actions {index} has a button label outside 1-75 characters")
            if not 0 < len(button.get("action_id") or "") <= 255:
                problems.append(f"actions {index} has a button without a valid action_id")
            if len(button.get("value", "")) > 2000 or button.get("style") not in BUTTON_STYLES:
                problems.append(f"actions {index} has a bad value or style")
    if len(action_ids) != len(set(action_ids)):
        problems.append("action_ids are not unique in the message")
    return problems


def message_problems(method: str, args: dict[str, Any]) -> list[str]:
    """What is wrong with a chat.postMessage / chat.update call."""
    problems = []
    if not args.get("channel"):
        problems.append(f"{method} without a channel")
    if method == "chat.update" and not TS.match(str(args.get("ts", ""))):
        problems.append("chat.update without the ts of the message to update")
    if args.get("thread_ts") is not None and not TS.match(str(args["thread_ts"])):
        problems.append(f"thread_ts {args['thread_ts']!r} is not a Slack timestamp")
    blocks = args.get("blocks", [])
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    problems += shape_problems({"text": args.get("text"), "blocks": blocks})
    return problems + button_problems(blocks)


class SlackApiStub(LocalServer):
    """The Slack Web API on 127.0.0.1 (a free port); `users` maps user ids to e-mails
    (None: a user whose profile shows no e-mail)."""

    def __init__(self, token: str, users: dict[str, str | None]) -> None:
        self.token = token
        self.users = users
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.received_at: list[float] = []
        self.problems: list[str] = []
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        self._serve(self._handler())

    @property
    def url(self) -> str:
        """The base URL to give `WebClient(base_url=...)`."""
        return self.origin + "/api/"

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of one method so far, oldest first."""
        with self._changed:
            return [args for name, args in self.calls if name == method]

    def arrival_times(self, method: str) -> list[float]:
        """When each call of one method arrived (`time.perf_counter()`), oldest first."""
        with self._changed:
            timed = zip(self.calls, self.received_at, strict=True)
            return [at for (name, _), at in timed if name == method]

    def wait_for(self, method: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Wait until `method` was called `count` times; return those calls' arguments."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(calls := [a for m, a in self.calls if m == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method} called {len(calls)} times, wanted {count}")
                self._changed.wait(left)
            return calls

    def authorized(self, method: str, authorization: str | None) -> bool:
        """Whether a call carries the token its method needs (here: the bot token)."""
        return authorization == f"Bearer {self.token}"

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's answer to one call, recorded with the time it arrived."""
        received = time.perf_counter()
        body = self._reply(method, args)
        with self._changed:
            self.calls.append((method, args))
            self.received_at.append(received)
            self._changed.notify_all()
        return body

    def _reply(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "users.info":
            if args.get("user") not in self.users:
                return {"ok": False, "error": "user_not_found"}
            email = self.users[args["user"]]
            profile = {"email": email} if email else {}
            return {"ok": True, "user": {"id": args["user"], "is_bot": False, "profile": profile}}
        if method == "users.lookupByEmail":
            found = [uid for uid, email in self.users.items() if email == args.get("email")]
            if not found:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": found[0]}}
        if method in ("chat.postMessage", "chat.update"):
            problems = message_problems(method, args)
            if problems:
                self.problems.extend(problems)
                return {"ok": False, "error": "invalid_blocks"}
            ts = args.setdefault("ts", f"{1_800_000_000 + next(self._ts)}.000100")
            return {"ok": True, "channel": args["channel"], "ts": ts, "message": {"ts": ts}}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                self._serve(self.rfile.read(int(self.headers.get("content-length", 0))))

            def _serve(self, raw: bytes) -> None:
                url = urlsplit(self.path)
                args: dict[str, Any] = dict(parse_qsl(url.query))
                if raw and "json" in self.headers.get("content-type", ""):
                    args.update(json.loads(raw))
                elif raw:
                    args.update(parse_qsl(raw.decode()))
                method = url.path.removeprefix("/api/")
                if not stub.authorized(method, self.headers.get("authorization")):
                    body = {"ok": False, "error": "invalid_auth"}
                else:
                    body = stub.answer(method, args)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Stay quiet (the default logs every request to stderr)."""

        return Handler
