"""Notifiers that reach real people: e-mail over SMTP, and text messages through an SMS gateway
that speaks Twilio's Messages API (Twilio itself, or a gateway compatible with it). Both send
plain text: the engine's markdown (`**bold**`, …) is stripped first.

They carry one-time codes, temporary passwords and approval requests, so they keep nothing:
a message is handed to the server and forgotten. A message that cannot be delivered raises
`ConnectorError`, which the engine turns into a person's help instead of a silent loss.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from markup.markdown import plain_text
from resolver.connectors.base import ConnectorError, Directory, Person
from resolver.connectors.embedded import mask_phone

TIMEOUT_SECONDS = 10.0


def mask_email(address: str) -> str:
    """Show an e-mail address's first letter and domain only."""
    local, _, domain = address.partition("@")
    return f"your e-mail address {local[:1]}***@{domain}"


def e164(number: str) -> str | None:
    """A phone number as SMS gateways want it (`+` and digits), or None if it has no country
    code: '+44 (0)7700 900123' and '+1 (555) 123-4567' become +447700900123 and +15551234567."""
    compact = re.sub(r"[\s.\-()]", "", number.replace("(0)", ""))
    digits = compact[1:]
    if compact.startswith("+") and digits.isdigit() and 7 <= len(digits) <= 15:
        return compact
    return None


def _person(directory: Directory, employee_id: str) -> Person:
    person = directory.get_person(employee_id)
    if person is None:
        raise ConnectorError(f"notifier: no such employee {employee_id}")
    return person


class SmtpNotifier:
    """Delivers messages by e-mail to the address the directory holds."""

    def __init__(
        self,
        directory: Directory,
        *,
        host: str,
        port: int,
        security: str,
        sender: str,
        username: str = "",
        password: str = "",
    ) -> None:
        self.directory = directory
        self.host, self.port, self.security = host, port, security
        self.sender, self.username, self.password = sender, username, password

    def deliver(self, employee_id: str, subject: str, body: str, now: datetime) -> str:
        """E-mail the employee; return where it went, masked."""
        person = _person(self.directory, employee_id)
        if not person.email:
            raise ConnectorError(f"notifier: no e-mail address for {employee_id}")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, person.email, subject
        message["Message-ID"] = make_msgid(domain=self.sender.partition("@")[2] or None)
        message["Date"] = now
        message.set_content(plain_text(body))
        try:
            with self._connect() as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise ConnectorError(f"notifier: the mail server refused: {error}") from error
        return mask_email(person.email)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
            if self.security == "starttls":
                smtp.starttls(context=context)
        if self.username:
            smtp.login(self.username, self.password)
        return smtp


class SmsNotifier:
    """Delivers messages as texts to the mobile number the directory holds, through
    `POST {api_url}/2010-04-01/Accounts/{account_sid}/Messages.json` (Twilio's Messages API)."""

    def __init__(
        self, directory: Directory, *, api_url: str, account_sid: str, auth_token: str, sender: str
    ) -> None:
        self.directory = directory
        self.sender = sender
        self.client = httpx.Client(
            base_url=api_url.rstrip("/"), auth=(account_sid, auth_token), timeout=TIMEOUT_SECONDS
        )
        self.path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"

    def deliver(self, employee_id: str, subject: str, body: str, now: datetime) -> str:
        """Text the employee; return where it went, masked."""
        person = _person(self.directory, employee_id)
        if not person.mobile:
            raise ConnectorError(f"notifier: no mobile number for {employee_id}")
        number = e164(person.mobile)
        if number is None:
            raise ConnectorError(f"notifier: {employee_id}'s mobile number is not international")
        sender = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
        form = {"To": number, sender: self.sender, "Body": f"{subject}: {plain_text(body)}"}
        try:
            response = self.client.post(self.path, data=form)
        except httpx.HTTPError as error:
            raise ConnectorError(f"notifier: the SMS gateway is unreachable: {error}") from error
        if response.status_code >= 300:
            raise ConnectorError(
                f"notifier: the SMS gateway refused ({response.status_code}): "
                f"{_gateway_message(response)}"
            )
        return mask_phone(person.mobile)

    def close(self) -> None:
        """Close the gateway's connections."""
        self.client.close()


def _gateway_message(response: httpx.Response) -> str:
    """The gateway's own explanation (Twilio's error body has `message`), never our form."""
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return ""
