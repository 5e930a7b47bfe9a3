"""The Slack channel end to end: signed Events API requests and button clicks into the real API
app, replies and approvals out to a local Slack Web API stub."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from resolver.api import create_app
from resolver.channels.slack import APPROVE, DENY, FIXED, plain_text, slack_router
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import Chat, events_of
from tests.stubs.slack_api import SlackApiStub

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
DM, CHANNEL = "D0EMPLOYEE", "C0GENERAL"


def signature_headers(
    body: str, secret: str = SECRET, timestamp: int | None = None, **extra: str
) -> dict[str, str]:
    """The headers Slack signs a request with (v0: HMAC-SHA256 of `v0:{timestamp}:{body}`)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    } | extra


class Workspace:
    """A Slack workspace talking to the app: signed events and clicks in, the stub's record out."""

    def __init__(self, client: TestClient, api: SlackApiStub) -> None:
        self.client = client
        self.api = api
        self._ids = itertools.count(1)

    def send(self, payload: dict[str, Any], **headers: str) -> Any:
        body = json.dumps(payload)
        return self.client.post(
            "/slack/events",
            content=body,
            headers=signature_headers(body, **{"content-type": "application/json"} | headers),
        )

    def event(self, event: dict[str, Any], event_id: str | None = None, **headers: str) -> Any:
        payload = {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
        response = self.send(payload, **headers)
        assert response.status_code == 200, response.text
        return response

    def dm(self, user: str, text: str, thread_ts: str | None = None) -> str:
        """The user writes in the app's DM; return the message's ts."""
        ts = f"{1_700_000_000 + next(self._ids)}.000200"
        event = {"type": "message", "channel_type": "im", "channel": DM, "user": user}
        self.event(
            event | {"text": text, "ts": ts} | ({"thread_ts": thread_ts} if thread_ts else {})
        )
        return ts

    def click(self, user: str, posted: dict[str, Any], action_id: str) -> Any:
        """The user clicks a button of a message the app posted."""
        button = next(
            element
            for block in posted["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
            if element["action_id"] == action_id
        )
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEAM"},
            "user": {"id": user, "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "container": {
                "type": "message",
                "message_ts": posted["ts"],
                "channel_id": posted["channel"],
            },
            "channel": {"id": posted["channel"]},
            "message": {
                k: posted[k] for k in ("ts", "text", "blocks", "thread_ts") if posted.get(k)
            },
            "trigger_id": "1.2.3",
            "actions": [button | {"block_id": "b", "action_ts": str(time.time())}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        response = self.client.post(
            "/slack/events",
            content=body,
            headers=signature_headers(
                body, **{"content-type": "application/x-www-form-urlencoded"}
            ),
        )
        assert response.status_code == 200, response.text
        return response

    def posted(self, count: int) -> dict[str, Any]:
        """Wait for the app's `count`-th chat.postMessage; return it."""
        return self.api.wait_for("chat.postMessage", count)[count - 1]


def email_of(runtime: Runtime, employee_id: str) -> str:
    person = runtime.connectors.directory.get_person(employee_id)
    assert person is not None
    return person.email


@pytest.fixture
def manager(runtime: Runtime, employee: str) -> str:
    person = runtime.connectors.directory.get_person(employee)
    assert person is not None and person.manager_id
    return person.manager_id


@pytest.fixture
def slack(runtime: Runtime, employee: str, manager: str) -> Iterator[Workspace]:
    users = {
        "U0EMPLOYEE": email_of(runtime, employee),
        "U0MANAGER": email_of(runtime, manager),
        "U0GUEST": None,
    }
    with SlackApiStub(TOKEN, users) as api:
        app = create_app(runtime)
        app.include_router(
            slack_router(runtime, signing_secret=SECRET, bot_token=TOKEN, api_url=api.url)
        )
        with TestClient(app) as client:
            yield Workspace(client, api)
        assert api.problems == []


def test_url_verification_returns_the_challenge(slack: Workspace) -> None:
    response = slack.send({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm"})
    assert response.status_code == 200 and response.json() == {"challenge": "3eZbrw1aBm"}


def test_forged_or_stale_requests_are_refused(slack: Workspace) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    forged = signature_headers(body, secret="not-the-secret")
    stale = signature_headers(body, timestamp=int(time.time()) - 10 * 60)
    for headers in (forged, stale, {}):
        response = slack.client.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401
    assert slack.api.calls == []


def test_headers_that_do_not_parse_are_refused_not_a_server_error(slack: Workspace) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    good = signature_headers(body)
    for name, value in [
        ("x-slack-request-timestamp", "abc"),
        ("x-slack-request-timestamp", "-1"),
        ("x-slack-request-timestamp", "9" * 40),
        ("x-slack-signature", "v0=not-hex"),
        ("x-slack-signature", "sha1=" + "0" * 64),
    ]:
        response = slack.client.post("/slack/events", content=body, headers=good | {name: value})
        assert response.status_code == 401 and "error" in response.json(), (name, value)
    assert slack.api.calls == []


def test_a_signed_body_that_is_not_slacks_is_a_bad_request(slack: Workspace) -> None:
    for body, kind in [
        ("this is not json", "application/json"),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    ]:
        response = slack.client.post(
            "/slack/events", content=body, headers=signature_headers(body, **{"content-type": kind})
        )
        assert response.status_code == 400 and "error" in response.json()
    assert slack.api.calls == []


def test_password_reset_in_a_dm_thread_with_feedback_buttons(
    slack: Workspace, runtime: Runtime, employee: str, settings: Settings
) -> None:
    ts = slack.dm("U0EMPLOYEE", "I forgot my password")
    asked = slack.posted(1)
    assert (asked["channel"], asked["thread_ts"]) == (DM, ts)
    assert "6-digit code" in asked["text"]
    assert slack.api.called("users.info")[0]["user"] == "U0EMPLOYEE"

    slack.dm("U0EMPLOYEE", Chat(runtime, employee).latest_code(), thread_ts=ts)
    done = slack.posted(2)
    assert done["thread_ts"] == ts and "sign in" in done["text"]
    interaction = next(
        e["interaction_id"] for e in events_of(settings) if e["event_type"] == "outcome_recorded"
    )
    outcomes = [e["outcome"] for e in events_of(settings, interaction) if "outcome" in e]
    assert outcomes[0] == "auto_resolved"
    assert [e["channel"] for e in events_of(settings, interaction)] == ["slack"] * len(
        events_of(settings, interaction)
    )

    slack.click("U0EMPLOYEE", done, FIXED)
    thanks = slack.posted(3)
    assert thanks["thread_ts"] == ts and "glad" in thanks["text"]
    updated = slack.api.wait_for("chat.update", 1)[0]
    assert updated["ts"] == done["ts"] and "actions" not in [b["type"] for b in updated["blocks"]]
    feedback = [
        e for e in events_of(settings, interaction) if e["event_type"] == "feedback_received"
    ]
    assert [e["feedback"] for e in feedback] == ["confirmed"]


def test_a_german_answer_is_mrkdwn_with_german_buttons(slack: Workspace) -> None:
    ts = slack.dm("U0EMPLOYEE", "Der Drucker im dritten Stock druckt nicht mehr")
    answer = slack.posted(1)
    assert answer["thread_ts"] == ts
    section = answer["blocks"][0]["text"]
    assert section["type"] == "mrkdwn"
    assert section["text"].startswith("Unser Hilfeartikel dazu ist auf Englisch:\n\n*Fix a")
    assert "**" not in answer["text"] and "**" not in section["text"]
    labels = [
        element["text"]["text"]
        for block in answer["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert labels == ["Ja", "Nein"]
    slack.click("U0EMPLOYEE", answer, FIXED)
    updated = slack.api.wait_for("chat.update", 1)[0]
    assert updated["blocks"][-1]["elements"][0]["text"] == "Deine Antwort: ja"
    assert slack.posted(2)["text"] == "Super, freut mich, dass es klappt."


@pytest.mark.parametrize("button", [APPROVE, DENY])
def test_an_approver_decides_in_slack_and_the_requester_hears_in_their_thread(
    slack: Workspace, runtime: Runtime, employee: str, button: str
) -> None:
    ts = slack.dm("U0EMPLOYEE", "please give me access to All Engineering")
    first, second = slack.posted(1), slack.posted(2)
    waiting, request = sorted((first, second), key=lambda m: m["channel"] != DM)
    assert waiting["thread_ts"] == ts and "approval" in waiting["text"]
    assert request["channel"] == "U0MANAGER" and "thread_ts" not in request
    assert "All Engineering" in request["text"]
    assert "all-engineering" not in runtime.connectors.directory.groups_of(employee)

    slack.click("U0MANAGER", request, button)
    update = slack.posted(3)
    assert (update["channel"], update["thread_ts"]) == (DM, ts)
    granted = "all-engineering" in runtime.connectors.directory.groups_of(employee)
    asks_feedback = FIXED in json.dumps(update["blocks"])
    if button == APPROVE:
        assert granted and asks_feedback
    else:
        assert not granted and not asks_feedback and "declined" in update["text"]
    spent = slack.api.wait_for("chat.update", 1)[0]
    decision = "approved" if button == APPROVE else "denied"
    assert spent["channel"] == "U0MANAGER" and decision in json.dumps(spent["blocks"])
    assert "actions" not in [b["type"] for b in spent["blocks"]]


def test_retries_bots_and_edits_are_acknowledged_and_ignored(slack: Workspace) -> None:
    event = {"type": "message", "channel_type": "im", "channel": DM, "user": "U0EMPLOYEE"}
    hello = event | {"text": "hello", "ts": "1700000001.000100"}
    slack.event(hello, event_id="EvONCE")
    slack.event(
        hello,
        event_id="EvONCE",
        **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    slack.event(event | {"text": "from a bot", "ts": "1700000002.000100", "bot_id": "B0BOT"})
    slack.event(event | {"subtype": "message_changed", "ts": "1700000003.000100"})
    slack.event(event | {"text": "thanks", "ts": "1700000004.000100"})
    slack.posted(2)
    time.sleep(0.2)
    assert [m["thread_ts"] for m in slack.api.called("chat.postMessage")] in (
        ["1700000001.000100", "1700000004.000100"],
        ["1700000004.000100", "1700000001.000100"],
    )


def test_mentions_and_people_the_directory_does_not_know(slack: Workspace) -> None:
    mention = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": "U0GUEST",
        "ts": "1700000005.000100",
    }
    slack.event(mention | {"text": "<@U0UNTICKET> I forgot my password"})
    reply = slack.posted(1)
    assert (reply["channel"], reply["thread_ts"]) == (CHANNEL, "1700000005.000100")
    assert "can't find you in the company directory" in reply["text"]


def test_slack_markup_is_reduced_to_what_the_person_wrote() -> None:
    text = "<@U0UNTICKET> add <mailto:ada@example.com|ada@example.com> to <https://x.example|Jira> &amp; more"
    assert plain_text(text) == "add ada@example.com to Jira & more"


def test_serve_answers_slack_only_when_it_is_configured(runtime: Runtime) -> None:

    body = json.dumps({"type": "url_verification", "token": "x", "challenge": "c1"})
    headers = signature_headers(body) | {"content-type": "application/json"}
    plain = TestClient(create_app(runtime))
    assert plain.post("/slack/events", content=body, headers=headers).status_code == 404
    runtime.engine.settings = runtime.engine.settings.model_copy(
        update={"slack_signing_secret": SecretStr(SECRET), "slack_bot_token": SecretStr(TOKEN)}
    )
    configured = TestClient(create_app(runtime))
    response = configured.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 200 and response.json() == {"challenge": "c1"}


def test_nobody_but_the_approver_decides_in_slack(
    slack: Workspace, runtime: Runtime, employee: str, settings: Settings
) -> None:
    slack.dm("U0EMPLOYEE", "add me to Domain Admins")
    first, second = slack.posted(1), slack.posted(2)
    request = first if first["channel"] == "U0MANAGER" else second
    approval_id = runtime.connectors.approvals.pending()[0].approval_id
    slack.dm("U0EMPLOYEE", f"approve {approval_id}")  # the requester, typing the command
    assert "not an approver" in slack.posted(3)["text"]
    slack.click("U0EMPLOYEE", request, APPROVE)  # the requester, replaying the approver's button
    assert "not an approver" in slack.posted(4)["text"]
    slack.dm("U0GUEST", f"approve {approval_id}")  # someone the directory does not know
    assert "not an approver" in slack.posted(5)["text"]
    assert "domain-admins" not in runtime.connectors.directory.groups_of(employee)
    assert runtime.connectors.approvals.get(approval_id).decisions == {}
    refused = [e for e in events_of(settings) if e["event_type"] == "request_refused"]
    assert [(e["reason"], e["auth_method"]) for e in refused] == [("not_an_approver", "slack")] * 3

    slack.click("U0MANAGER", request, APPROVE)
    decided = [e for e in events_of(settings) if e["event_type"] == "approval_decided"]
    assert [(e["approver_id"], e["auth_method"]) for e in decided] == [
        (runtime.connectors.directory.get_person(employee).manager_id, "slack")
    ]
