"""Slack end-to-end latency on loopback: a signed Events API message in, its reply out.

Serves the API app with the Slack router under uvicorn on a free port, over a fresh
2,000-employee enterprise (events fsynced before every reply, the default), with the Slack Web
API stub of the tests standing in for slack.com. Sends N signed direct messages one at a time
from 50 Slack users and times each from the moment the event is sent to the moment the stub
receives the reply's chat.postMessage. Prints p50/p95/p99 (and the HTTP acknowledgement's).

Run from the project root (it borrows the tests' stub): .venv/bin/python -m bench.slack_latency
[--messages 300]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from resolver.api import create_app
from resolver.channels.slack import slack_router
from resolver.runtime import build_runtime
from settings import Settings
from tests.stubs.slack_api import SlackApiStub

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
USERS = 50
WARM_UP = 20
TEXTS = [
    "my vpn keeps dropping",
    "how do I share my calendar",
    "printer on floor 3 is jammed",
    "outlook is not syncing",
    "wifi keeps disconnecting in the office",
    "what's the status of my ticket",
    "hello",
    "thanks!",
]


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed(body: str) -> dict[str, str]:
    """Headers of a request signed the way Slack signs it."""
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest}",
    }


def dm_event(n: int) -> str:
    """The n-th direct message, from one of the Slack users."""
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{n % USERS:08d}",
        "user": f"U{n % USERS:08d}",
        "text": TEXTS[n % len(TEXTS)],
        "ts": f"{1_700_000_000 + n}.000100",
    }
    payload = {"type": "event_callback", "team_id": "T0", "event_id": f"Ev{n:08d}", "event": event}
    return json.dumps(payload)


def percentiles(label: str, seconds: list[float]) -> str:
    """p50/p95/p99 of a list of durations, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p95, p99 = ms[int(0.95 * (len(ms) - 1))], ms[int(0.99 * (len(ms) - 1))]
    return f"  {label}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"


def run(messages: int, data_dir: Path) -> None:
    """Serve, send the messages one at a time, print the figures."""
    runtime = build_runtime(Settings(data_dir=data_dir))
    people = runtime.store.query("select email from people order by employee_id limit ?", USERS)
    users: dict[str, str | None] = {f"U{i:08d}": row["email"] for i, row in enumerate(people)}
    with SlackApiStub(TOKEN, users) as api:
        app = create_app(runtime)
        app.include_router(
            slack_router(runtime, signing_secret=SECRET, bot_token=TOKEN, api_url=api.url)
        )
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        ends, acks = [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for n in range(WARM_UP + messages):
                body = dm_event(n)
                sent = time.perf_counter()
                response = client.post("/slack/events", content=body, headers=signed(body))
                acked = time.perf_counter()
                response.raise_for_status()
                api.wait_for("chat.postMessage", n + 1)
                if n >= WARM_UP:
                    ends.append(api.arrival_times("chat.postMessage")[n] - sent)
                    acks.append(acked - sent)
        server.should_exit = True
        thread.join()
        assert not api.problems, api.problems
    runtime.close()
    print(
        f"Slack DM -> engine -> chat.postMessage on loopback, {messages} messages, one at a time:"
    )
    print(percentiles("event sent -> reply received by the Slack API stub", ends))
    print(percentiles("event sent -> HTTP 200 acknowledgement", acks))


def main() -> None:
    """Parse the arguments and run the benchmark in a throw-away data dir."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        run(args.messages, Path(data_dir))


if __name__ == "__main__":
    main()
