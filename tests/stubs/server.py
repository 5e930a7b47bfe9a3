"""What every HTTP stub shares: a server on 127.0.0.1 (a free port), serving on a thread of its
own for as long as the stub is used in a `with` block."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# (method, path, headers, body) -> (status, JSON answer)
Answer = Callable[[str, str, Any, bytes], tuple[int, Any]]


class LocalServer:
    """Base of the stubs: call `_serve(handler)` at the end of `__init__`."""

    def _serve_json(self, answer: Answer) -> None:
        """Serve GET and POST requests with the JSON `answer` returns."""

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, reply = answer(method, self.path, self.headers, body)
                payload = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._serve(Handler)

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`: the stubs' URLs start with it."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
