"""An SMS gateway stand-in with Twilio's Messages API: a threaded HTTP server on loopback that
checks HTTP Basic authentication (account SID and auth token) and the form Twilio documents,
records each accepted text, and answers like Twilio (201 with the message resource; 400 with
`{"code", "message"}` for a bad form; 401 for a wrong token).

    with SmsGatewayStub("AC123", "token") as gateway:
        ... settings sms_api_url=gateway.origin ...
        assert gateway.texts[0]["To"] == "+4915112345678"

`status` makes it fail every request with that status (e.g. 503, an outage).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs

from tests.stubs.server import LocalServer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SmsGatewayStub(LocalServer):
    """Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`, on loopback."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.texts: list[dict[str, str]] = []
        self.status: int | None = None
        self._serve_json(
            lambda _, path, headers, body: self.answer(
                path, headers.get("authorization"), body.decode()
            )
        )

    def answer(self, path: str, authorization: str | None, body: str) -> tuple[int, dict]:
        """Twilio's answer to one request."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        if self.status is not None:
            return self.status, {"code": 20500, "message": "Internal Server Error"}
        form = {key: values[0] for key, values in parse_qs(body).items()}
        if not E164.match(form.get("To", "")):
            return 400, {"code": 21211, "message": f"Invalid 'To' Phone Number: {form.get('To')}"}
        if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, {"code": 21602, "message": "Message body and a sender are required"}
        self.texts.append(form)
        sid = f"SM{len(self.texts):032d}"
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}
