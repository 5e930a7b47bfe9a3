"""An OpenAI-compatible LLM endpoint stand-in: `POST /v1/chat/completions` on loopback, answering
what the test scripts, with `usage` tokens, the way vLLM, Ollama or llama.cpp's server do.

    with LlmServerStub() as llm:
        llm.answer = json_answer("password_reset", 0.95)
        ... settings llm_base_url=llm.url, llm_model=MODEL, llm_api_key=llm.api_key ...
        assert llm.requests[0]["messages"][1]["content"] == "..."

`answer` is a `Scripted` answer or a function of the request's body returning one; the helpers
script a good JSON answer (`json_answer`), any text (`text_answer`: an intent outside the
catalogue, a hostile instruction, malformed JSON), a slow answer (`slow`) and an HTTP error
(`failure`). `unused_port()` gives a loopback port nobody listens on (an unreachable endpoint).
It checks the bearer key (401 otherwise) and records every request it accepted.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.stubs.server import LocalServer

MODEL = "local-test-model"


@dataclass(frozen=True)
class Scripted:
    """One answer: its text, after `delay` seconds, with HTTP `status` and token counts."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    input_tokens: int = 120
    output_tokens: int = 24


def json_answer(intent: str, confidence: float, entities: dict[str, str] | None = None) -> Scripted:
    """A well-formed understanding."""
    body = {"intent": intent, "confidence": confidence, "entities": entities or {}}
    return Scripted(json.dumps(body))


def text_answer(content: str) -> Scripted:
    """Whatever text the model answers (valid or not)."""
    return Scripted(content)


def slow(seconds: float, content: str = "too late") -> Scripted:
    """An answer that arrives after `seconds`."""
    return Scripted(content, delay=seconds)


def failure(status: int = 500) -> Scripted:
    """An HTTP error."""
    return Scripted(status=status)


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LlmServerStub(LocalServer):
    """`/v1/chat/completions` of an OpenAI-compatible server, on loopback."""

    def __init__(self, api_key: str = "sk-test-0123456789abcdef") -> None:
        self.api_key = api_key
        self.answer: Scripted | Callable[[dict[str, Any]], Scripted] = text_answer("{}")
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self._serve_json(lambda method, path, headers, body: self.reply(path, headers, body))

    @property
    def url(self) -> str:
        """The base URL a client is given (`.../v1`)."""
        return f"{self.origin}/v1"

    def reply(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        """The server's answer to one request."""
        authorization = headers.get("authorization")
        self.authorizations.append(authorization)
        if authorization != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "Incorrect API key provided", "type": "auth"}}
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}
        request = json.loads(body)
        self.requests.append(request)
        scripted = self.answer(request) if callable(self.answer) else self.answer
        time.sleep(scripted.delay)
        if scripted.status != 200:
            return scripted.status, {"error": {"message": "scripted failure", "type": "server"}}
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": scripted.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": scripted.input_tokens,
                "completion_tokens": scripted.output_tokens,
                "total_tokens": scripted.input_tokens + scripted.output_tokens,
            },
        }

    def user_messages(self) -> list[str]:
        """What each accepted request sent as the user's message."""
        return [request["messages"][-1]["content"] for request in self.requests]

    def system_messages(self) -> list[str]:
        """What each accepted request sent as its instructions."""
        return [request["messages"][0]["content"] for request in self.requests]
