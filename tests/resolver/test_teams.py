"""The Teams channel end to end: activities with Bot Framework tokens signed by a key made in
the test, served from a local OpenID/JWKS stub, into the real API app; replies and cards out
to a local Bot Connector stub."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from resolver.api import create_app
from resolver.channels.teams import plain_text, teams_router
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import Chat, events_of
from tests.stubs.bot_connector import BotFrameworkStub

APP_ID = "3f5c2a9e-6d41-4a8b-9c1e-7b2d0e4f8a61"
PASSWORD = "app-password-never-logged-5Yq~"
KID = "test-key-1"


@dataclass(frozen=True)
class Member:
    """A Teams user: their ids and their personal chat with the bot."""

    id: str
    aad: str
    conversation: str


EMPLOYEE = Member("29:1employee", "aad-employee", "a:1employeechat;messageid=1699999")
MANAGER = Member("29:1manager", "aad-manager", "a:1managerchat")
STRANGER = Member("29:1stranger", "aad-stranger", "a:1strangerchat")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


class Teams:
    """The Bot Framework talking to the app: signed activities in, the stub's record out."""

    def __init__(self, client: TestClient, bf: BotFrameworkStub, key: rsa.RSAPrivateKey) -> None:
        self.client = client
        self.bf = bf
        self.key = key
        self._ids = itertools.count(1)

    def token(self, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 3600,
            "serviceUrl": self.bf.service_url,
        } | claims
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": KID})

    def activity(self, member: Member, text: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "type": "message",
            "id": f"1700000000{next(self._ids):03d}",
            "channelId": "msteams",
            "serviceUrl": self.bf.service_url,
            "from": {"id": member.id, "name": "Someone", "aadObjectId": member.aad},
            "recipient": {"id": f"28:{APP_ID}", "name": "Unticket"},
            "conversation": {
                "id": member.conversation,
                "conversationType": "personal",
                "tenantId": "t",
            },
            "text": text,
        } | extra

    def post(self, activity: dict[str, Any], token: str | None = "valid") -> Any:
        headers = (
            {}
            if token is None
            else {"authorization": f"Bearer {self.token() if token == 'valid' else token}"}
        )
        return self.client.post("/api/messages", json=activity, headers=headers)

    def say(self, member: Member, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send a message; return the activity and the bot's reply to it."""
        activity = self.activity(member, text)
        assert self.post(activity).status_code == 202
        return activity, self.bf.activities[-1]


def submitted(attachment: dict[str, Any], title: str) -> dict[str, Any]:
    """The `value` Teams sends when a card's button is clicked."""
    return next(a["data"] for a in attachment["content"]["actions"] if a["title"] == title)


@pytest.fixture
def teams(runtime: Runtime, employee: str, key: rsa.RSAPrivateKey) -> Iterator[Teams]:
    person = runtime.connectors.directory.get_person(employee)
    manager = runtime.connectors.directory.get_person(person.manager_id or "")
    assert person and manager
    members = {
        EMPLOYEE.id: {"id": EMPLOYEE.id, "email": person.email, "userPrincipalName": person.email},
        MANAGER.id: {"id": MANAGER.id, "userPrincipalName": manager.email},
    }
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = [jwk | {"kid": KID, "use": "sig", "endorsements": ["msteams"]}]
    with BotFrameworkStub(jwks, APP_ID, PASSWORD, members) as bf:
        app = create_app(runtime)
        app.include_router(
            teams_router(
                runtime,
                app_id=APP_ID,
                app_password=PASSWORD,
                openid_url=bf.openid_url,
                token_url=bf.token_url,
            )
        )
        with TestClient(app) as client:
            yield Teams(client, bf, key)
        assert bf.problems == []


def test_password_reset_with_replies_at_the_connector_and_a_feedback_card(
    teams: Teams,
    runtime: Runtime,
    employee: str,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    activity, asked = teams.say(EMPLOYEE, "I forgot my password")
    conversation = quote(EMPLOYEE.conversation, safe="")
    assert asked["method"] == "POST"
    assert asked["path"] == f"/amer/v3/conversations/{conversation}/activities/{activity['id']}"
    body = asked["body"]
    assert body["replyToId"] == activity["id"] and "6-digit code" in body["text"]
    assert body["recipient"]["id"] == EMPLOYEE.id and body["from"]["id"] == f"28:{APP_ID}"

    _, done = teams.say(EMPLOYEE, f"the code is {Chat(runtime, employee).latest_code()}")
    assert "sign in" in done["body"]["text"]
    outcomes = [e for e in events_of(settings) if e["event_type"] == "outcome_recorded"]
    assert [(e["outcome"], e["channel"]) for e in outcomes] == [("auto_resolved", "teams")]

    yes = submitted(done["body"]["attachments"][0], "Yes")
    assert teams.post(teams.activity(EMPLOYEE, None, value=yes)).status_code == 202
    assert "glad" in teams.bf.activities[-1]["body"]["text"]
    feedback = [
        e["feedback"] for e in events_of(settings) if e["event_type"] == "feedback_received"
    ]
    assert feedback == ["confirmed"]

    assert (teams.bf.hits["openid"], teams.bf.hits["keys"], teams.bf.hits["token"]) == (1, 1, 1)
    assert "token" in caplog.text  # the token request was logged, but neither secret
    assert PASSWORD not in caplog.text and teams.bf.issued_token not in caplog.text


def test_a_spanish_answer_gets_a_spanish_feedback_card(teams: Teams) -> None:
    _, answer = teams.say(EMPLOYEE, "la impresora no imprime nada desde esta mañana")
    body = answer["body"]
    assert body["text"].startswith("Nuestro artículo de ayuda sobre esto está en inglés:")
    card = body["attachments"][0]["content"]
    assert card["body"][0]["text"] == "¿Se ha solucionado?"
    assert [action["title"] for action in card["actions"]] == ["Sí", "No"]
    no = submitted(body["attachments"][0], "No")
    assert teams.post(teams.activity(EMPLOYEE, None, value=no)).status_code == 202
    assert "He abierto el ticket" in teams.bf.activities[-1]["body"]["text"]


@pytest.mark.parametrize(
    "problem",
    [
        "missing",
        "bad signature",
        "wrong audience",
        "expired",
        "wrong issuer",
        "other serviceUrl",
        "not a JWT",
    ],
)
def test_requests_without_a_valid_bot_framework_token_are_refused(
    teams: Teams, problem: str
) -> None:
    token = {
        "missing": None,
        "bad signature": teams.token(key=new_key()),
        "wrong audience": teams.token(aud="someone-elses-bot"),
        "expired": teams.token(exp=int(time.time()) - 3600),
        "wrong issuer": teams.token(iss="https://sts.windows.net/evil/"),
        "other serviceUrl": teams.token(serviceUrl="https://attacker.example/"),
        "not a JWT": "abc.def",
    }[problem]
    response = teams.post(teams.activity(EMPLOYEE, "I forgot my password"), token=token)
    assert response.status_code == 401 and "unauthorized" in response.json()["error"]
    assert teams.bf.activities == [] and teams.bf.hits["token"] == 0


def test_an_approver_approves_on_an_adaptive_card(
    teams: Teams, runtime: Runtime, employee: str
) -> None:
    teams.say(MANAGER, "hi")
    teams.say(EMPLOYEE, "please give me access to All Engineering")
    waiting, card_post = teams.bf.activities[-2:]
    assert "approval" in waiting["body"]["text"]
    assert (
        card_post["path"]
        == f"/amer/v3/conversations/{quote(MANAGER.conversation, safe='')}/activities"
    )
    card = card_post["body"]["attachments"][0]
    assert "All Engineering" in json.dumps(card)
    assert "all-engineering" not in runtime.connectors.directory.groups_of(employee)

    approve = teams.activity(
        MANAGER, None, value=submitted(card, "Approve"), replyToId=card_post["id"]
    )
    assert teams.post(approve).status_code == 202
    assert "all-engineering" in runtime.connectors.directory.groups_of(employee)
    redrawn, told = teams.bf.activities[-2:]
    assert redrawn["method"] == "PUT" and redrawn["path"].endswith(f"/activities/{card_post['id']}")
    content = redrawn["body"]["attachments"][0]["content"]
    assert "approved" in content["body"][0]["text"] and content["actions"] == []
    assert (
        told["path"] == f"/amer/v3/conversations/{quote(EMPLOYEE.conversation, safe='')}/activities"
    )
    assert "All Engineering" in told["body"]["text"]
    assert submitted(told["body"]["attachments"][0], "Yes")["unticket"] == "feedback"


def test_a_member_the_directory_does_not_know_is_understood_but_not_acted_for(
    teams: Teams, settings: Settings
) -> None:
    _, reply = teams.say(STRANGER, "<at>Unticket</at> I forgot my password")
    assert "can't find you in the company directory" in reply["body"]["text"]
    started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert [(e["user_ref"], e["employee_id"]) for e in started] == [("teams:aad-stranger", None)]


def test_a_redelivered_activity_is_answered_once(teams: Teams) -> None:
    activity = teams.activity(EMPLOYEE, "hello")
    assert teams.post(activity).status_code == 202
    assert teams.post(activity).status_code == 202
    assert len(teams.bf.activities) == 1


def test_teams_mentions_are_dropped() -> None:
    assert plain_text("<at>Unticket</at> my VPN is down ") == "my VPN is down"


def test_nobody_but_the_approver_decides_in_teams(
    teams: Teams, runtime: Runtime, employee: str, settings: Settings
) -> None:
    teams.say(MANAGER, "hi")
    teams.say(EMPLOYEE, "add me to Domain Admins")
    card = teams.bf.activities[-1]["body"]["attachments"][0]
    approval_id = runtime.connectors.approvals.pending()[0].approval_id
    _, typed = teams.say(EMPLOYEE, f"approve {approval_id}")
    assert "not an approver" in typed["body"]["text"]
    replayed = teams.activity(EMPLOYEE, None, value=submitted(card, "Approve"))
    assert teams.post(replayed).status_code == 202
    assert "not an approver" in teams.bf.activities[-1]["body"]["text"]
    _, stranger = teams.say(STRANGER, f"approve {approval_id}")
    assert "not an approver" in stranger["body"]["text"]
    assert "domain-admins" not in runtime.connectors.directory.groups_of(employee)
    assert runtime.connectors.approvals.get(approval_id).decisions == {}
    refused = [e for e in events_of(settings) if e["event_type"] == "request_refused"]
    assert [(e["reason"], e["auth_method"]) for e in refused] == [("not_an_approver", "teams")] * 3
