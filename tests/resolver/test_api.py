"""The HTTP API through FastAPI's test client, and durability under `kill -9` of a real server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx
from fastapi.testclient import TestClient

from resolver.api import background_work, create_app
from resolver.connectors.embedded import LOCKOUT_THRESHOLD
from resolver.runtime import Runtime
from settings import PROJECT_ROOT
from tests.conftest import api_key, bearer, events_of, make_runtime, make_settings


def client_for(runtime: Runtime, *scopes: str) -> TestClient:
    """A client of the API sending an integration's key with `scopes` (default: it may name
    the employee and the approver)."""
    key = api_key(runtime.engine.settings, *(scopes or ("messages:act_as", "approvals:act_as")))
    return TestClient(create_app(runtime), headers=bearer(key))


def test_message_round_trip(runtime: Runtime, employee: str) -> None:
    client = client_for(runtime)
    response = client.post(
        "/v1/messages", json={"user": employee, "text": "I forgot my password", "channel": "web"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "password_reset" and body["outcome"] == "pending"
    assert body["interaction_id"] and 0 < body["confidence"] <= 1
    follow = client.post(
        "/v1/messages",
        json={
            "user": employee,
            "text": "talk to a human",
            "channel": "web",
            "interaction_id": body["interaction_id"],
        },
    )
    assert follow.json()["outcome"] == "escalated" and follow.json()["ticket_id"]
    assert body["language"] == "en"


def test_the_reply_says_which_language_it_is_in(runtime: Runtime, employee: str) -> None:
    client = client_for(runtime)
    sent = {"user": employee, "text": "Ich habe mein Passwort vergessen", "channel": "web"}
    assert client.post("/v1/messages", json=sent).json()["language"] == "de"


def test_bad_requests_get_4xx_with_a_message(runtime: Runtime) -> None:
    client = client_for(runtime)
    missing = client.post("/v1/messages", json={"text": "hi"})
    assert missing.status_code == 422 and "user" in missing.json()["error"]
    channel = client.post("/v1/messages", json={"user": "E000010", "text": "hi", "channel": "fax"})
    assert channel.status_code == 422 and "channel" in channel.json()["error"]
    not_json = client.post(
        "/v1/messages", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and "error" in not_json.json()
    unknown = client.post(
        "/v1/messages", json={"user": "E000010", "text": "hi", "interaction_id": "x"}
    )
    assert unknown.status_code == 404


def test_approval_decision_endpoint(runtime: Runtime, employee: str) -> None:
    client = client_for(runtime)
    body = client.post(
        "/v1/messages", json={"user": employee, "text": "add me to the domain admins group"}
    ).json()
    approval_id = body["approval_id"]
    forbidden = client.post(
        f"/v1/approvals/{approval_id}/decision", json={"approver": employee, "decision": "approved"}
    )
    assert forbidden.status_code == 403
    approval = runtime.connectors.approvals.get(approval_id)
    for approver in approval.approvers.values():
        ok = client.post(
            f"/v1/approvals/{approval_id}/decision",
            json={"approver": approver, "decision": "approved"},
        )
        assert ok.status_code == 200
    assert ok.json()["status"] == "approved"
    missing = client.post(
        "/v1/approvals/APR-00000000/decision", json={"approver": employee, "decision": "approved"}
    )
    assert missing.status_code == 404


def test_openapi_docs_are_served(runtime: Runtime) -> None:
    schema = client_for(runtime).get("/openapi.json").json()
    assert "/v1/messages" in schema["paths"]


def test_the_openapi_document_lists_every_refusal_and_the_channels(runtime: Runtime) -> None:
    schema = client_for(runtime).get("/openapi.json").json()
    messages = schema["paths"]["/v1/messages"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(messages)
    channel = schema["components"]["schemas"]["MessageIn"]["properties"]["channel"]
    enum = schema["components"]["schemas"][channel["$ref"].rsplit("/", 1)[1]]["enum"]
    assert {"slack", "teams", "web", "cli", "api"} <= set(enum) and "proactive" not in enum


def test_a_body_over_64_kb_is_refused_before_it_is_read(runtime: Runtime) -> None:
    client = client_for(runtime)
    declared = client.post("/v1/messages", json={"user": "E000010", "text": "a" * 70_000})
    assert declared.status_code == 413 and "64 KB" in declared.json()["error"]
    streamed = client.post(  # no Content-Length: counted as it arrives
        "/v1/messages",
        content=(b"x" * 1000 for _ in range(300)),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert client.post("/v1/messages", json={"user": "E000010", "text": "hi"}).status_code == 200


def test_text_that_is_not_unicode_is_a_bad_request(runtime: Runtime, employee: str) -> None:
    client = client_for(runtime)
    for field in ("text", "user", "interaction_id"):
        body = {"user": employee, "text": "hi"} | {field: "\ud800 x"}
        surrogate = client.post(
            "/v1/messages",
            content=json.dumps(body),  # JSON spells the lone surrogate as \\ud800
            headers={"content-type": "application/json"},
        )
        assert surrogate.status_code == 400 and field in surrogate.json()["error"]
    approver = client.post(
        "/v1/approvals/APR-1/decision",
        content='{"approver": "\\udc80", "decision": "approved"}',
        headers={"content-type": "application/json"},
    )
    assert approver.status_code == 400 and "approver" in approver.json()["error"]
    undecodable = client.post(
        "/v1/messages",
        content=b'{"text": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert undecodable.status_code == 400 and "error" in undecodable.json()
    assert events_of(runtime.engine.settings) == []


def test_serving_offers_a_locked_out_employee_an_unlock_before_they_ask(
    tmp_path: Path, trained_models: Path
) -> None:
    settings = make_settings(tmp_path / "data", trained_models, lockout_poll_seconds=0.2)
    runtime = make_runtime(settings)
    employee = "E000020"
    try:
        with TestClient(create_app(runtime)):
            for attempt in range(LOCKOUT_THRESHOLD):
                runtime.connectors.directory.sign_in(  # type: ignore[attr-defined]
                    employee, f"wrong-{attempt}", datetime.now(UTC)
                )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _offers(runtime, employee):
                time.sleep(0.1)
        [offer] = _offers(runtime, employee)
        assert "your account was locked" in offer and "code" in offer
        started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
        assert [(e["channel"], e["employee_id"]) for e in started] == [("proactive", employee)]
    finally:
        runtime.close()


def _offers(runtime: Runtime, employee: str) -> list[str]:
    """The unlock offers delivered to an employee's phone."""
    messages = runtime.connectors.notifier.messages_for(employee)  # type: ignore[attr-defined]
    return [m["body"] for m in messages if m["subject"] == "Unlock your account"]


def test_background_work_follows_the_settings(runtime: Runtime) -> None:
    def names() -> list[str]:
        return [what for _, _, what in background_work(runtime)]

    assert names() == [
        "closing timed-out conversations",
        "recording ticket changes from the ITSM",
        "watching for lock-outs",
        "detecting outages",
        "reloading the approved knowledge articles",
    ]
    runtime.engine.settings = runtime.engine.settings.model_copy(
        update={"watch_lockouts": False, "detect_outages": False, "ticket_sync_minutes": 2}
    )
    assert names() == [
        "closing timed-out conversations",
        "recording ticket changes from the ITSM",
        "reloading the approved knowledge articles",
    ]
    assert background_work(runtime)[1][:2] == (120, runtime.engine.sync_tickets)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError("server did not become healthy")


def start_server(
    data_dir: Path, port: int, output: IO[str] | None = None, **env: str
) -> subprocess.Popen:
    """`unticket serve` on 127.0.0.1:`port` for `data_dir` (with more `UNTICKET_*` settings in
    `env`); its output goes to `output`, or nowhere."""
    return subprocess.Popen(
        [sys.executable, "-m", "unticket", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "UNTICKET_DATA_DIR": str(data_dir), **env},
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def test_kill_9_under_load_loses_no_acknowledged_message(
    tmp_path: Path, trained_models: Path
) -> None:
    settings = make_settings(tmp_path / "data", trained_models)
    port = _free_port()
    server = start_server(settings.data_dir, port)
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()

    headers = bearer(api_key(settings, "messages:act_as"))

    def load(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=5, headers=headers) as client:
            n = 0
            while not stop.is_set():
                n += 1
                text = f"my vpn is broken (worker {worker} message {n})"
                try:
                    response = client.post(
                        "/v1/messages", json={"user": f"E{100 + worker:06d}", "text": text}
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    acknowledged.append((response.json()["interaction_id"], text))

    try:
        _wait_healthy(url, server)
        workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acknowledged) > 20
    logged = {
        (e["interaction_id"], e["text"])
        for e in events_of(settings)
        if e["event_type"] == "message_received"
    }
    lost = [pair for pair in acknowledged if pair not in logged]
    assert lost == []


def test_serve_logs_its_address_when_it_starts_and_stops(
    tmp_path: Path, trained_models: Path
) -> None:
    settings = make_settings(tmp_path / "data", trained_models)
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("w") as output:
        server = start_server(settings.data_dir, port, output)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        started = log.read_text()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert f"http://127.0.0.1:{port}" in started
    assert f"Stopped serving the API on 127.0.0.1:{port}" in log.read_text()
    assert "/v1/health" not in log.read_text()  # requests are not logged
