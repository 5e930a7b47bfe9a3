"""Slack's Socket Mode stand-in: the Web API stub (`SlackApiStub`) plus `apps.connections.open`
and the WebSocket it hands out, both on loopback.

`apps.connections.open` needs the app-level token (any other gets `invalid_auth`) and answers
`{"ok": true, "url": "ws://127.0.0.1:PORT/link/?ticket=..."}`. The WebSocket server greets each
connection with Slack's `hello`, delivers the envelopes a test sends and records what the app
sends back, checking each is an acknowledgement of an envelope it was sent, once.

    with SlackSocketStub("xoxb-test", "xapp-test", users={"U1": "ada@example.com"}) as slack:
        ...  # start the app with api_url=slack.url and the app token
        envelope_id = slack.send_event({"type": "message", "channel_type": "im", ...})
        assert slack.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.stubs.slack_api import SlackApiStub

APP_ID, TEAM_ID = "A0APP", "T0TEAM"


class SlackSocketStub(SlackApiStub):
    """The Slack Web API and a Socket Mode WebSocket server on 127.0.0.1 (free ports)."""

    def __init__(self, token: str, app_token: str, users: dict[str, str | None]) -> None:
        super().__init__(token, users)
        self.app_token = app_token
        self.acks: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self.closed = 0
        self._sent: set[str] = set()
        self._event_ids = itertools.count(1)
        self._socket = serve(self._converse, "127.0.0.1", 0, compression=None)
        self._socket_thread = threading.Thread(target=self._socket.serve_forever, daemon=True)

    @property
    def socket_url(self) -> str:
        """The WebSocket URL `apps.connections.open` hands out."""
        host, port = self._socket.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}"

    def __enter__(self) -> SlackSocketStub:
        super().__enter__()
        self._socket_thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._socket.shutdown()
        self._socket_thread.join(timeout=5)
        super().__exit__(*exc_info)

    def authorized(self, method: str, authorization: str | None) -> bool:
        """`apps.connections.open` takes the app-level token, every other method the bot's."""
        if method == "apps.connections.open":
            return authorization == f"Bearer {self.app_token}"
        return super().authorized(method, authorization)

    def _reply(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return super()._reply(method, args)

    # -- the WebSocket ---------------------------------------------------------------------------

    def send_event(self, event: dict[str, Any], timeout: float = 10) -> str:
        """Deliver an Events API event (as Slack wraps it for Socket Mode) on the newest open
        connection; return its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": {
                "token": "verification-token-unused",
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{next(self._event_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": "U0APPBOT", "is_bot": True}],
                "is_ext_shared_channel": False,
            },
        }
        connection = self._wait(lambda: self.connections[-1] if self.connections else None, timeout)
        with self._changed:
            self._sent.add(envelope_id)
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        """Wait for the app's acknowledgement of one envelope; return it."""
        return self._wait(
            lambda: next((a for a in self.acks if a.get("envelope_id") == envelope_id), None),
            timeout,
        )

    def wait_closed(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until `count` connections were closed."""
        self._wait(lambda: self.closed >= count or None, timeout)

    def _wait(self, found: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while (value := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the Socket Mode stub waited in vain")
                self._changed.wait(left)
            return value

    def _converse(self, connection: ServerConnection) -> None:
        """One app connection: hello, then record what it sends until it closes."""
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "applink-stub", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()
        try:
            for raw in connection:
                self._record(raw)
        except ConnectionClosed:
            pass
        with self._changed:
            self.connections.remove(connection)
            self.closed += 1
            self._changed.notify_all()

    def _record(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._changed:
            if not isinstance(message, dict) or set(message) - {"envelope_id", "payload"}:
                self.problems.append(f"not an acknowledgement: {raw!r}")
            elif message.get("envelope_id") not in self._sent:
                self.problems.append(f"acknowledged an unknown envelope: {raw!r}")
            elif any(a["envelope_id"] == message["envelope_id"] for a in self.acks):
                self.problems.append(f"acknowledged twice: {raw!r}")
            self.acks.append(message if isinstance(message, dict) else {})
            self._changed.notify_all()
