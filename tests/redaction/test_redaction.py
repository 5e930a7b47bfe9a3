"""Redaction: a corpus of secrets that must all disappear, a corpus of ordinary IT requests
that must stay as they are, and the finding's examples through the whole engine."""

from __future__ import annotations

import pytest

from redaction import MASK, redact, redact_code, redact_user_ref
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import Chat, events_of
from tests.redaction_corpus import ordinary_requests, secret_messages


def test_the_corpora_are_broad_enough() -> None:
    secrets = secret_messages()
    assert len(secrets) >= 60
    assert len({entry["kind"] for entry in secrets}) >= 12
    assert {entry["lang"] for entry in secrets} == {"en", "de", "es", "fr"}
    for entry in secrets:
        assert all(secret in entry["text"] for secret in entry["secrets"]), entry
    assert len(ordinary_requests()) >= 200


def test_every_secret_of_the_corpus_is_gone() -> None:
    leaks = [
        (entry["text"], secret)
        for entry in secret_messages()
        for secret in entry["secrets"]
        if secret in redact(entry["text"])
    ]
    assert leaks == []


def test_at_most_one_percent_of_ordinary_requests_are_altered() -> None:
    requests = ordinary_requests()
    altered = [(text, redact(text)) for text in requests if redact(text) != text]
    assert len(altered) <= 0.01 * len(requests), altered


@pytest.mark.parametrize(
    "text",
    [
        "my password is Hunter2!x",
        "pw: hello123",
        "password=Sup3rSecret",
        "my new passcode will be Tr0ub4dor&3",
        "token ghp_abcdefghijklmnopqrstu123",
        "key AKIAABCDEFGHIJKLMNOP",
        "card 4111 1111 1111 1111",
        "password is hunterhunter",
    ],
)
def test_secrets_are_masked(text: str) -> None:
    masked = redact(text)
    assert MASK in masked
    secret = text.split()[-1].split("=")[-1]
    assert secret not in masked


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "my password expired",
        "password reset please",
        "my password is wrong",
        "reset my pw",
        "my password is correct but Outlook keeps asking",
        "the error code is 0x80070005",
        "order 4111 1111 1111 1112 has not arrived",  # fails the Luhn check
        "mi contraseña es demasiado corta",
        "Das Passwort ist seit gestern abgelaufen",
        "le mot de passe est le même qu'avant",
    ],
)
def test_ordinary_sentences_are_untouched(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("hello team, my password is correct horse battery staple", "correct horse battery staple"),
        ("my new password will be Spring 2025! thanks", "Spring 2025!"),
        ("Le mot de passe du wifi est chat noir sur le toit", "chat noir sur le toit"),
    ],
)
def test_a_passphrase_is_hidden_whole(text: str, hidden: str) -> None:
    assert redact(text) == text.replace(hidden, MASK)


def test_a_private_key_without_its_end_line_is_hidden_to_the_end() -> None:
    text = "key for the server:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\nZmFrZQ=="
    assert redact(text) == f"key for the server:\n{MASK}"


def test_a_bare_code_is_masked_whether_or_not_a_code_is_expected() -> None:
    assert redact_code(" 123456 ") == MASK
    assert redact("482913") == redact("482 913") == MASK
    assert redact_code("yes") == redact("yes") == "yes"
    assert redact_code("it's 482913 I think") == f"it's {MASK} I think"
    assert redact("room 2.114 on floor 3") == "room 2.114 on floor 3"


def test_redaction_is_idempotent() -> None:
    for text in [entry["text"] for entry in secret_messages()] + ordinary_requests():
        once = redact(text)
        assert redact(once) == once


@pytest.mark.parametrize(
    ("ref", "kept"),
    [
        ("E000123", True),
        ("jdoe", True),
        ("jane.doe@corp.example", True),
        ("slack:U0123ABCD", True),
        ("unknown:jdoe", True),
        ("Summer2024!", False),
        ("jdoe Winter2025", False),
        ("correct horse battery staple", False),
        ("AKIA7ULQUYFH9OYLIW3P", False),
        ("482913", False),
        ("jdoe" * 100, False),  # longer than any user reference
    ],
)
def test_a_user_reference_that_may_be_a_secret_is_redacted(ref: str, kept: bool) -> None:
    assert redact_user_ref(ref) == (ref if kept else MASK)


def test_redaction_needs_no_detect_secrets_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugins are used as a library: no global settings, no verification calls."""
    import detect_secrets.plugins.base
    import detect_secrets.settings

    def refuse() -> None:
        raise AssertionError("redaction read detect-secrets' global settings")

    monkeypatch.setattr(detect_secrets.settings, "get_settings", refuse)
    monkeypatch.setattr(detect_secrets.plugins.base, "get_settings", refuse)
    assert all(redact(entry["text"]) != entry["text"] for entry in secret_messages())


def test_topic_examples_and_drafts_are_redacted() -> None:
    from datetime import datetime

    import polars as pl

    from models.topics import discover_topics, draft_article

    texts = [
        "vpn broken, my password is Summer2024!",
        "vpn broken again, the key is -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq",
        "vpn broken at home",
    ]
    frame = pl.DataFrame({"id": ["a", "b", "c"], "text": texts, "at": [datetime(2026, 11, 2)] * 3})
    topic = discover_topics(frame)[0]
    draft = draft_article(topic, {"a": "Reset the password to Winter2025! and reconnect."})
    shown = " ".join([*topic.examples, *topic.top_terms, draft.markdown])
    for secret in ("Summer2024", "MIIEpAIBAAKCAQEA7bq", "Winter2025"):
        assert secret not in shown


# -- the finding's examples, through the whole engine -------------------------------------------

PRIVATE_KEY_WITHOUT_END = (
    "here is the deploy key\n-----BEGIN RSA PRIVATE KEY-----\n"
    "8MXXO09KyAwJNiDjMLL6JMgh/iv6+sIl0VkxNWrIYPrurrYN4VlwjmGfw7xxkuH+\n"
    "ucIGzKHluMTpa1h9gOhIX72ODYbp7ibY+Q30Vc+sDglEcQNeRPD8gNEX+pbw4m3M"
)
FINDING = [
    ("password is correct horse battery staple", ["horse battery staple"]),
    ("The password for the wifi is Summer2024!", ["Summer2024"]),
    ("pass phrase is Tr0ub4dor&3", ["Tr0ub4dor"]),
    (
        "aws_secret_access_key=JnI+VmXE39qhFWUExJYDWO3yEttLsTFDo8w9oS4V",
        ["JnI+VmXE39qhFWUExJYDWO3yEttLsTFDo8w9oS4V"],
    ),
    (
        "GitHub says github_pat_11854D4KPEL2L0KVKGV6MB_y2XsLlMxYP2SBKMNJVlqYEJ2wSDTa0Cmt3TWg5Bu"
        "qg6sluiaMHwua9DI33i is revoked",
        ["y2XsLlMxYP2SBKMNJVlqYEJ2wSDTa0Cmt3TWg5Buqg6sluiaMHwua9DI33i"],
    ),
    (PRIVATE_KEY_WITHOUT_END, ["8MXXO09KyAwJNiDjMLL6JMgh", "ucIGzKHluMTpa1h9gOhIX72ODYbp7ibY"]),
    ("Passwort ist Geheim123", ["Geheim123"]),
    ("credentials are jdoe / Winter2025", ["Winter2025"]),
    ("482913", ["482913"]),
    ("my new password will be Spring 2025! can you set it", ["Spring", "2025!"]),
]


def recorded(settings: Settings, runtime: Runtime) -> str:
    """Everything the engine recorded: the event log and every ticket's title and description."""
    events = b"".join(path.read_bytes() for path in settings.events_dir.rglob("*.jsonl"))
    tickets = runtime.store.query("select title, description from tickets")
    texts = [f"{row['title']}\n{row['description']}" for row in tickets]
    return "\n".join([events.decode("utf-8"), *texts])


@pytest.mark.parametrize(("text", "secrets"), FINDING, ids=[t[:24] for t, _ in FINDING])
def test_the_findings_secrets_reach_neither_the_log_nor_the_ticket(
    runtime: Runtime, settings: Settings, employee: str, text: str, secrets: list[str]
) -> None:
    chat = Chat(runtime, employee)
    chat.say(text)
    escalated = chat.say("talk to a human")
    assert escalated.ticket_id
    description = runtime.connectors.ticketing.description(escalated.ticket_id)
    assert "employee: " in description and MASK in description  # the message is in the ticket
    record = recorded(settings, runtime)
    for secret in secrets:
        assert secret not in record


def test_a_secret_typed_as_the_user_reaches_neither_the_log_nor_the_ticket(
    runtime: Runtime, settings: Settings
) -> None:
    chat = Chat(runtime, "jdoe Winter2025!")
    chat.say("my laptop is slow")
    assert chat.say("talk to a human").ticket_id
    started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert started and all(e["user_ref"] == MASK for e in started)
    assert "winter2025" not in recorded(settings, runtime).lower()


def test_a_user_reference_is_kept_when_it_is_no_secret(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    Chat(runtime, employee).say("my laptop is slow")
    started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert [e["user_ref"] for e in started] == [employee]
