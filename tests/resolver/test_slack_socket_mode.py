"""Slack over Socket Mode end to end: the API app, configured with an app-level token and no
signing secret, opens the WebSocket at a local stub when it starts, takes direct messages from
it, acknowledges each envelope and answers through the Web API stub; it closes on shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from resolver.api import create_app
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import Chat, events_of, make_settings
from tests.resolver.test_slack import DM, TOKEN, email_of
from tests.stubs.slack_socket import SlackSocketStub

APP_TOKEN = (
    "xapp-1-A0APP-7341243651-9b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"
)


@pytest.fixture
def slack() -> Iterator[SlackSocketStub]:
    with SlackSocketStub(TOKEN, APP_TOKEN, users={}) as stub:
        yield stub
        assert stub.problems == []


@pytest.fixture
def settings(tmp_path: Path, trained_models: Path, slack: SlackSocketStub) -> Settings:
    """Socket Mode configured, no signing secret, every Slack call to the stub."""
    return make_settings(
        tmp_path / "data",
        trained_models,
        slack_app_token=APP_TOKEN,
        slack_bot_token=TOKEN,
        slack_api_url=slack.url,
    )


def dm(user: str, text: str, ts: str, thread_ts: str | None = None) -> dict[str, object]:
    """A `message.im` event as Slack sends it."""
    event = {"type": "message", "channel_type": "im", "channel": DM, "user": user}
    return event | {"text": text, "ts": ts} | ({"thread_ts": thread_ts} if thread_ts else {})


def test_a_dm_over_socket_mode_is_acknowledged_and_answered_in_its_thread(
    slack: SlackSocketStub,
    runtime: Runtime,
    employee: str,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.users["U0EMPLOYEE"] = email_of(runtime, employee)
    app = create_app(runtime)
    with TestClient(app) as client:
        ts = "1700000001.000200"
        envelope = slack.send_event(dm("U0EMPLOYEE", "I forgot my password", ts))
        assert slack.wait_for_ack(envelope) == {"envelope_id": envelope}
        asked = slack.wait_for("chat.postMessage", 1)[0]
        assert (asked["channel"], asked["thread_ts"]) == (DM, ts)
        assert "6-digit code" in asked["text"]

        code = Chat(runtime, employee).latest_code()
        answer = slack.send_event(dm("U0EMPLOYEE", code, "1700000002.000200", thread_ts=ts))
        assert slack.wait_for_ack(answer) == {"envelope_id": answer}
        done = slack.wait_for("chat.postMessage", 2)[1]
        assert done["thread_ts"] == ts and "sign in" in done["text"]

        # no signing secret: no HTTP endpoint that could not verify what it gets
        assert client.post("/slack/events", content="{}").status_code == 404
    slack.wait_closed()

    assert len(slack.called("apps.connections.open")) == 1
    assert {e["channel"] for e in events_of(settings)} == {"slack"}
    assert APP_TOKEN not in caplog.text and TOKEN not in caplog.text


def test_a_refused_app_token_is_logged_without_it_and_the_api_still_serves(
    slack: SlackSocketStub, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    slack.app_token = "xapp-1-A0APP-0000000000-the-token-slack-knows"
    caplog.set_level(logging.WARNING, logger="unticket.slack")
    with TestClient(create_app(runtime)) as client:
        deadline = time.monotonic() + 10
        while "apps.connections.open failed: invalid_auth" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        assert client.get("/v1/health").json() == {"status": "ok"}
    assert slack.connections == [] and slack.closed == 0
    assert APP_TOKEN not in caplog.text
