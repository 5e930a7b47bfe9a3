"""Codes and temporary passwords reach people through real notifiers: e-mail to a real SMTP
server (aiosmtpd on loopback) and texts to an SMS gateway with Twilio's Messages API (a stub on
loopback). Nothing is kept after delivery, and a real directory without a notifier refuses to
start."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from typer.testing import CliRunner

from resolver.connectors.embedded import password_matches
from resolver.runtime import Runtime
from settings import Settings, get_settings
from tests.conftest import Chat, events_of, make_runtime, make_settings
from tests.stubs.sms_gateway import SmsGatewayStub
from unticket.cli import app as cli

CODE = re.compile(r"\b(\d{6})\b")
TEMPORARY = re.compile(r"\r?\n\r?\n(\S+)\s*$")  # alone on the last line: nothing after it


class Mailbox:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def reset_password(runtime: Runtime, employee: str, read_code) -> str:
    """Ask for a reset, answer with the delivered code; return the delivered password."""
    chat = Chat(runtime, employee)
    assert chat.say("I forgot my password").state == "verify"
    done = chat.say(read_code())
    assert done.outcome == "auto_resolved", done.reply
    return done.reply


def no_outbox_rows(runtime: Runtime) -> bool:
    return runtime.store.query_one("select count(*) as n from outbox")["n"] == 0


def test_codes_and_passwords_go_by_email_and_are_not_kept(
    tmp_path: Path, trained_models: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    settings = make_settings(
        tmp_path / "data",
        trained_models,
        notifier="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_sender="it-help@example.com",
    )
    runtime = make_runtime(settings)
    try:
        employee = "E000020"
        person = runtime.connectors.directory.get_person(employee)
        reply = reset_password(runtime, employee, lambda: CODE.search(body(box, -1))[1])
        assert "e-mail address" in reply or person.email[0] in reply
        code_mail, _ = box.messages
        assert (code_mail["To"], code_mail["From"]) == (person.email, "it-help@example.com")
        assert code_mail["Subject"] == "Verification code"
        temporary = TEMPORARY.search(body(box, 1))[1]
        account = runtime.store.query_one(
            "select password_hash from accounts where employee_id = ?", employee
        )
        assert password_matches(temporary, account["password_hash"])
        assert no_outbox_rows(runtime)
        stored = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
        assert temporary.encode() not in stored
    finally:
        runtime.close()


def body(box: Mailbox, index: int) -> str:
    return box.messages[index].get_payload(decode=True).decode()


def sms_settings(tmp_path: Path, trained_models: Path, gateway: SmsGatewayStub) -> Settings:
    return make_settings(
        tmp_path / "data",
        trained_models,
        notifier="sms",
        sms_api_url=gateway.origin,
        sms_account_sid=gateway.account_sid,
        sms_auth_token=gateway.auth_token,
        sms_sender="+15005550006",
    )


def test_codes_and_passwords_go_by_text_and_are_not_kept(
    tmp_path: Path, trained_models: Path
) -> None:
    with SmsGatewayStub("AC0123456789abcdef", "auth-token-never-logged") as gateway:
        settings = sms_settings(tmp_path, trained_models, gateway)
        runtime = make_runtime(settings)
        try:
            employee = "E000020"
            person = runtime.connectors.directory.get_person(employee)
            reset_password(runtime, employee, lambda: CODE.search(gateway.texts[-1]["Body"])[1])
            code_text, password_text = gateway.texts
            assert code_text["To"] == "+" + re.sub(r"\D", "", person.mobile)
            assert code_text["From"] == "+15005550006"
            assert password_text["Body"].startswith("Your temporary password:")
            assert no_outbox_rows(runtime)
        finally:
            runtime.close()
        log = b"".join(p.read_bytes() for p in settings.events_dir.rglob("*.jsonl"))
        assert b"auth-token-never-logged" not in log
        assert TEMPORARY.search(password_text["Body"])[1].encode() not in log


def test_a_gateway_that_fails_hands_the_employee_to_a_person(
    tmp_path: Path, trained_models: Path
) -> None:
    with SmsGatewayStub("AC0123456789abcdef", "auth-token") as gateway:
        gateway.status = 503
        settings = sms_settings(tmp_path, trained_models, gateway)
        runtime = make_runtime(settings)
        try:
            reply = Chat(runtime, "E000020").say("I forgot my password")
        finally:
            runtime.close()
    assert reply.outcome == "escalated" and reply.ticket_id
    assert "couldn't send you a verification code" in reply.reply
    opened = [e for e in events_of(settings) if e["event_type"] == "ticket_opened"]
    assert [e["reason"] for e in opened] == ["code_not_delivered"]


def test_a_real_directory_without_a_notifier_does_not_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    for name, value in {
        "DIRECTORY": "ldap",
        "LDAP_URL": "ldap://127.0.0.1:1",
        "LDAP_BIND_DN": "cn=unticket,dc=example,dc=com",
        "LDAP_BIND_PASSWORD": "secret",
        "LDAP_PEOPLE_BASE": "ou=people,dc=example,dc=com",
        "LDAP_GROUPS_BASE": "ou=groups,dc=example,dc=com",
    }.items():
        monkeypatch.setenv(f"UNTICKET_{name}", value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "UNTICKET_NOTIFIER=smtp" in result.output and "UNTICKET_NOTIFIER=sms" in result.output


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"directory": "ldap", "notifier": "embedded"}, "reaches nobody"),
        ({"notifier": "smtp", "smtp_host": "mail.example.com"}, "UNTICKET_SMTP_SENDER"),
        (
            {"notifier": "smtp", "smtp_host": "mail.example.com", "smtp_sender": "a@b.c"}
            | {"smtp_security": "none"},
            "clear text",
        ),
        (
            {"notifier": "sms", "sms_account_sid": "AC1", "sms_auth_token": "t"}
            | {"sms_sender": "+15005550006", "sms_api_url": "http://sms.example.com"},
            "https",
        ),
    ],
)
def test_unsafe_or_incomplete_notifiers_are_refused(settings: dict, complaint: str) -> None:
    ldap = {
        "ldap_url": "ldap://x",
        "ldap_bind_dn": "cn=x",
        "ldap_bind_password": "p",
        "ldap_people_base": "ou=p",
        "ldap_groups_base": "ou=g",
    }
    with pytest.raises(ValidationError, match=complaint):
        Settings(**(ldap if settings.get("directory") == "ldap" else {}) | settings)
