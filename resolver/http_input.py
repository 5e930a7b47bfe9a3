"""What the HTTP server accepts before anything parses it: a bounded body, and text that is
Unicode.

`BodyLimit` wraps the whole ASGI app (the API, Slack's and Teams' endpoints alike): a body over
the limit gets 413 before a byte of it is parsed, whether its size is declared in
`Content-Length` or only found out while it streams in. `UnicodeText` is the string type of the
request models: JSON may spell a lone surrogate (`"\\ud800"`), which no UTF-8 writer can record,
so such text is refused as a bad request (400) rather than failing the event log later.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolver.engine import is_unicode

MAX_BODY_BYTES = 64 * 1024
NOT_UNICODE = "not_unicode"


def _unicode(text: str) -> str:
    if not is_unicode(text):
        raise PydanticCustomError(NOT_UNICODE, "is not Unicode text (a lone surrogate)")
    return text


UnicodeText = Annotated[str, AfterValidator(_unicode)]


def too_large(max_bytes: int) -> str:
    """The message for a body over `max_bytes`."""
    return f"the request body is over {max_bytes // 1024} KB; send less"


class BodyLimit:
    """ASGI middleware: refuse request bodies over `max_bytes` with 413.

    A declared `Content-Length` over the limit is answered at once; a body that streams past it
    raises `HTTPException(413)` from `receive`, which the app's exception handling turns into
    the response (FastAPI passes an `HTTPException` raised while it reads the body through)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (or pass any other ASGI scope through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_size(scope) > self.max_bytes:
            response = JSONResponse({"error": too_large(self.max_bytes)}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _declared_size(self, scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                return int(value)
        return 0

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def limited() -> Message:
            nonlocal received
            message: dict[str, Any] = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, too_large(self.max_bytes))
            return message

        return limited
