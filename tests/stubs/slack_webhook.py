"""A Slack incoming-webhook stand-in: a threaded HTTP server on loopback that records the JSON
posted to it, checks it has the shape Slack accepts, and answers like Slack does.

    with SlackWebhookStub() as slack:
        post_to_slack(summary, slack.url)
        assert slack.received[0]["blocks"]

`status`/`body` make it answer an error (Slack answers e.g. 404 `no_service`, 500 ...); a message
of the wrong shape gets Slack's 400 `invalid_payload` and its problems land in `problems`.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.stubs.server import LocalServer

PATH = "/services/T00000000/B00000000/stubsecrettoken"
BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image", "rich_text"}


def shape_problems(message: Any) -> list[str]:
    """What is wrong with a webhook message, judged by Slack's documented limits."""
    if not isinstance(message, dict):
        return ["the body is not a JSON object"]
    problems = []
    if not isinstance(message.get("text"), str) or not message["text"].strip():
        problems.append("no fallback `text`")
    blocks = message.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return [*problems, "`blocks` is not a list of at most 50 blocks"]
    for index, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"block {index} has unknown type {kind!r}")
            continue
        text = block.get("text")
        if kind == "header" and (
            not isinstance(text, dict)
            or text.get("type") != "plain_text"
            or not 0 < len(text.get("text", "")) <= 150
        ):
            problems.append(f"header {index} needs plain_text of 1-150 characters")
        if kind == "section":
            fields = block.get("fields", [])
            if text is None and not fields:
                problems.append(f"section {index} has neither text nor fields")
            if len(fields) > 10:
                problems.append(f"section {index} has more than 10 fields")
            for item in [*([text] if text else []), *fields]:
                if item.get("type") not in ("mrkdwn", "plain_text") or not item.get("text"):
                    problems.append(f"section {index} has an empty or untyped text")
                elif len(item["text"]) > 3000:
                    problems.append(f"section {index} has a text over 3000 characters")
        if kind == "context" and not 0 < len(block.get("elements", [])) <= 10:
            problems.append(f"context {index} needs 1-10 elements")
    return problems


class SlackWebhookStub(LocalServer):
    """A webhook on 127.0.0.1 (a free port) that records every message posted to it."""

    def __init__(self, status: int = 200, body: str = "ok") -> None:
        self.status = status
        self.body = body
        self.received: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self.problems: list[str] = []
        self._serve(self._handler())

    @property
    def url(self) -> str:
        """The webhook URL to configure (its path stands in for Slack's secret token)."""
        return self.origin + PATH

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                stub.content_types.append(self.headers.get("content-type", ""))
                if self.path != PATH:
                    return self._answer(404, "no_service")
                try:
                    message = json.loads(raw)
                except ValueError:
                    stub.problems.append("the body is not JSON")
                    return self._answer(400, "invalid_payload")
                stub.received.append(message)
                problems = shape_problems(message)
                if problems:
                    stub.problems.extend(problems)
                    return self._answer(400, "invalid_payload")
                return self._answer(stub.status, stub.body)

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Stay quiet (the default logs every request to stderr)."""

        return Handler
