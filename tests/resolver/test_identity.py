"""Identity on the HTTP API: every request carries a verified credential, and nobody acts as
anyone else. Tokens come from a real OpenID Connect provider on loopback (tests/oidc.py); API
keys from the real key store; the server is the real API app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from resolver.api import create_app
from resolver.apikeys import RELOAD_SECONDS
from resolver.runtime import Runtime
from settings import Settings, get_settings
from tests.conftest import Chat, api_key, bearer, events_of, make_runtime, make_settings
from tests.oidc import CLIENT_ID, Provider, oidc_provider
from unticket.cli import app as cli

DOMAIN_ADMINS = "domain-admins"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture
def server(runtime: Runtime, provider: Provider) -> TestClient:
    """The API app trusting the provider's tokens for the audience `unticket`."""
    runtime.engine.settings = runtime.engine.settings.model_copy(
        update={"oidc_issuer": provider.issuer, "oidc_audience": CLIENT_ID}
    )
    return TestClient(create_app(runtime))


def token(provider: Provider, runtime: Runtime, employee_id: str, **claims: Any) -> str:
    """An ID token the provider signed for the employee (e-mail claim from the directory)."""
    person = runtime.connectors.directory.get_person(employee_id)
    assert person is not None
    provider.set_user(employee_id, {"email": person.email} | claims)
    return provider.id_token(employee_id)


def request_domain_admins(server: TestClient, provider: Provider, runtime: Runtime, who: str):
    """The employee asks for Domain Admins with their own token; return the pending approval."""
    reply = server.post(
        "/v1/messages",
        json={"text": "add me to Domain Admins"},
        headers=bearer(token(provider, runtime, who)),
    )
    assert reply.status_code == 200, reply.text
    approval = runtime.connectors.approvals.get(reply.json()["approval_id"])
    assert approval is not None and approval.status == "pending"
    return approval


def test_without_a_credential_every_endpoint_but_health_answers_401(server: TestClient) -> None:
    assert server.get("/v1/health").status_code == 200
    routes = [r for r in server.app.routes if isinstance(r, APIRoute) and r.path != "/v1/health"]
    assert len(routes) >= 4
    for route in routes:
        for method in route.methods:
            path = route.path.replace("{approval_id}", "APR-00000000")
            response = server.request(method, path, json={"text": "hi", "decision": "approved"})
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Authorization: Bearer" in response.json()["error"]


def forged(claims: dict[str, Any], algorithm: str = "RS256") -> str:
    """A token signed by someone other than the provider (or, with `none`, not signed)."""
    if algorithm == "none":
        return jwt.encode(claims, None, algorithm="none")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm=algorithm)


def test_tokens_that_prove_nobody_answer_401(
    server: TestClient, provider: Provider, runtime: Runtime, employee: str
) -> None:
    person = runtime.connectors.directory.get_person(employee)
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": CLIENT_ID, "email": person.email, "exp": now + 600}
    provider.set_user(employee, {"email": person.email})
    for bad in (
        "not-a-jwt",
        forged(claims),  # a key that is not the provider's
        forged(claims, "none"),  # no signature at all
        forged(claims | {"exp": now - 3600}),
        provider.id_token(employee, client_id="some-other-app"),  # for another audience
        "utk_" + "x" * 43,  # not a key anyone was given
    ):
        response = server.post("/v1/messages", json={"text": "hi"}, headers=bearer(bad))
        assert response.status_code == 401, bad
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_acts_as_its_employee_only(
    server: TestClient, provider: Provider, runtime: Runtime, employee: str, settings: Settings
) -> None:
    own = bearer(token(provider, runtime, employee))
    person = runtime.connectors.directory.get_person(employee)
    for named in (None, employee, person.email, person.username.upper()):
        body = {"text": "how do I set an out of office reply"} | ({"user": named} if named else {})
        response = server.post("/v1/messages", json=body, headers=own)
        assert response.status_code == 200, response.text
        assert response.json()["employee_id"] == employee
    other = person.manager_id
    response = server.post("/v1/messages", json={"user": other, "text": "hi"}, headers=own)
    assert response.status_code == 403 and "someone else" in response.json()["error"]
    assert server.get("/v1/me", headers=own).json() == {
        "auth_method": "oidc",
        "employee_id": employee,
        "scopes": [],
    }
    started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert {e["auth_method"] for e in started} == {"oidc"}
    assert all(e["employee_id"] == employee for e in events_of(settings))


def test_another_employees_conversation_cannot_be_joined(
    server: TestClient, provider: Provider, runtime: Runtime, employee: str
) -> None:
    victim = runtime.connectors.directory.get_person(employee)
    reply = server.post(
        "/v1/messages",
        json={"text": "I forgot my password"},
        headers=bearer(token(provider, runtime, employee)),
    ).json()
    attacker = bearer(token(provider, runtime, victim.manager_id))
    joined = server.post(
        "/v1/messages",
        json={"text": "123456", "interaction_id": reply["interaction_id"]},
        headers=attacker,
    )
    assert joined.status_code == 404
    assert runtime.engine.codes.tries_left(employee) == 3


def test_an_api_key_needs_the_scope_for_what_it_does(runtime: Runtime, employee: str) -> None:
    settings = runtime.engine.settings
    server = TestClient(create_app(runtime))
    approvals_only = bearer(api_key(settings, "approvals:act_as", name="itsm"))
    messages_only = bearer(api_key(settings, "messages:act_as", name="portal"))
    admin = bearer(api_key(settings, "admin", name="ops"))
    body = {"user": employee, "text": "hello"}
    assert server.post("/v1/messages", json=body, headers=approvals_only).status_code == 403
    assert server.post("/v1/messages", json=body, headers=messages_only).status_code == 200
    assert server.post("/v1/messages", json=body, headers=admin).status_code == 200
    decision = {"approver": employee, "decision": "approved"}
    refused = server.post(
        "/v1/approvals/APR-00000000/decision", json=decision, headers=messages_only
    )
    assert refused.status_code == 403 and "approvals:act_as" in refused.json()["error"]
    unnamed = server.post("/v1/messages", json={"text": "hello"}, headers=messages_only)
    assert unnamed.status_code == 422 and "user" in unnamed.json()["error"]
    me = server.get("/v1/me", headers=approvals_only).json()
    assert me == {
        "auth_method": "api_key:itsm",
        "employee_id": None,
        "scopes": ["approvals:act_as"],
    }


def test_self_approval_fails_on_every_http_path(
    server: TestClient, provider: Provider, runtime: Runtime, employee: str, settings: Settings
) -> None:
    approval = request_domain_admins(server, provider, runtime, employee)
    approvers = list(approval.approvers.values())
    own = bearer(token(provider, runtime, employee))
    portal = bearer(api_key(settings, "messages:act_as", name="portal"))
    decision = f"/v1/approvals/{approval.approval_id}/decision"
    attempts = [
        # the decision endpoint with the requester's own token, naming nobody or an approver
        (decision, {"decision": "approved"}, own),
        (decision, {"decision": "approved", "approver": approvers[0]}, own),
        # with a key that may name employees, but not approvers
        (decision, {"decision": "approved", "approver": approvers[0]}, portal),
        # "approve APR-..." in chat, as the requester and through the portal as an approver
        ("/v1/messages", {"text": f"approve {approval.approval_id}"}, own),
        ("/v1/messages", {"text": f"approve {approval.approval_id}", "user": approvers[0]}, portal),
        ("/v1/messages", {"text": f"approve {approval.approval_id}", "user": approvers[1]}, portal),
    ]
    for path, body, headers in attempts:
        response = server.post(path, json=body, headers=headers)
        assert response.status_code == 403, (path, body, response.text)
    assert DOMAIN_ADMINS not in runtime.connectors.directory.groups_of(employee)
    assert runtime.connectors.approvals.get(approval.approval_id).decisions == {}
    refusals = [e for e in events_of(settings) if e["event_type"] == "request_refused"]
    assert {e["reason"] for e in refusals} == {"not_an_approver", "approver_not_authenticated"}
    assert {e["auth_method"] for e in refusals} == {"oidc", "api_key:portal"}


def test_approvers_decide_with_their_own_token_or_a_syncing_itsm(
    server: TestClient, provider: Provider, runtime: Runtime, employee: str, settings: Settings
) -> None:
    approval = request_domain_admins(server, provider, runtime, employee)
    manager, owner = approval.approvers["manager"], approval.approvers["owner"]
    waiting = server.get("/v1/approvals", headers=bearer(token(provider, runtime, manager)))
    assert [a["approval_id"] for a in waiting.json()] == [approval.approval_id]
    first = server.post(
        f"/v1/approvals/{approval.approval_id}/decision",
        json={"decision": "approved"},
        headers=bearer(token(provider, runtime, manager)),
    )
    assert first.status_code == 200 and first.json()["status"] == "pending"
    itsm = bearer(api_key(settings, "approvals:act_as", name="itsm"))
    second = server.post(
        f"/v1/approvals/{approval.approval_id}/decision",
        json={"decision": "approved", "approver": owner},
        headers=itsm,
    )
    assert second.status_code == 200 and second.json()["status"] == "approved"
    assert DOMAIN_ADMINS in runtime.connectors.directory.groups_of(employee)
    decided = [e for e in events_of(settings) if e["event_type"] == "approval_decided"]
    assert [(e["approver_id"], e["auth_method"]) for e in decided] == [
        (manager, "oidc"),
        (owner, "api_key:itsm"),
    ]


def test_keys_created_and_revoked_on_the_command_line_apply_to_a_running_server(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = runtime.engine.settings
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    server = TestClient(create_app(runtime))  # running before the key exists
    runner = CliRunner()
    try:
        created = runner.invoke(
            cli, ["apikey", "create", "--name", "portal", "--scope", "messages:act_as"]
        )
        assert created.exit_code == 0, created.output
        key = created.stdout.split()[-1]
        body = {"user": employee, "text": "hello"}
        assert server.post("/v1/messages", json=body, headers=bearer(key)).status_code == 200
        listed = runner.invoke(cli, ["apikey", "list"])
        assert "portal" in listed.stdout and key not in listed.stdout
        assert key not in settings.api_keys_db.read_bytes().decode("latin-1")
        assert runner.invoke(cli, ["apikey", "revoke", "portal"]).exit_code == 0
        time.sleep(RELOAD_SECONDS)  # a running server reads the keys again within a second
        assert server.post("/v1/messages", json=body, headers=bearer(key)).status_code == 401
        again = runner.invoke(cli, ["apikey", "revoke", "portal"])
        assert again.exit_code != 0 and "no active key" in again.output
        bad = runner.invoke(cli, ["apikey", "create", "--name", "x", "--scope", "root"])
        assert bad.exit_code != 0 and "unknown scope" in bad.output
    finally:
        get_settings.cache_clear()


def test_each_principal_is_held_to_its_request_rate(runtime: Runtime, employee: str) -> None:
    runtime.engine.settings = runtime.engine.settings.model_copy(
        update={"api_key_rate_limit": "3/minute"}
    )
    server = TestClient(create_app(runtime))
    busy = bearer(api_key(runtime.engine.settings, "messages:act_as", name="busy"))
    calm = bearer(api_key(runtime.engine.settings, "messages:act_as", name="calm"))
    body = {"user": employee, "text": "hello"}
    statuses = [server.post("/v1/messages", json=body, headers=busy).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = server.post("/v1/messages", json=body, headers=busy)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "too many requests" in limited.json()["error"]
    assert server.post("/v1/messages", json=body, headers=calm).status_code == 200


def test_key_store_is_private_and_keeps_only_hashes(runtime: Runtime) -> None:
    settings = runtime.engine.settings
    key = api_key(settings, "admin")
    assert settings.api_keys_db.stat().st_mode & 0o777 == 0o600
    assert key.encode() not in settings.api_keys_db.read_bytes()
    server = TestClient(create_app(runtime))
    assert server.get("/v1/me", headers=bearer(key)).json()["auth_method"] == "api_key:integration"


def test_files_holding_secrets_are_private(tmp_path: Path, trained_models: Path) -> None:
    settings = make_settings(tmp_path / "data", trained_models)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.state_db.touch(mode=0o644)  # made by an older version, readable by everyone
    runtime = make_runtime(settings)
    try:
        api_key(settings, "admin")
        Chat(runtime, "E000020").say("I forgot my password")  # a code: the store is written
        private = [
            settings.state_db,
            settings.state_db.with_name(settings.state_db.name + "-wal"),
            settings.state_db.with_name(settings.state_db.name + "-shm"),
            settings.api_keys_db,
        ]
        assert {path.name: path.stat().st_mode & 0o777 for path in private} == {
            path.name: 0o600 for path in private
        }
    finally:
        runtime.close()
