"""`unticket tickets update` with how a ticket was fixed, and `unticket tickets sync`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from resolver.connectors.base import Resolution
from resolver.connectors.embedded import EmbeddedTicketing, EnterpriseStore
from settings import Settings, get_settings
from tests.conftest import Chat, events_of, make_runtime
from unticket.cli import app

runner = CliRunner()


@pytest.fixture
def ticket(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A ticket an employee's request for a person opened, in the data dir the CLI uses."""
    runtime = make_runtime(settings)
    try:
        chat = Chat(runtime, "E000020")
        chat.say("my laptop fan is screaming")
        ticket_id = chat.say("can I talk to a human please").ticket_id
    finally:
        runtime.close()
    assert ticket_id is not None
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield ticket_id
    get_settings.cache_clear()


def status_events(settings: Settings) -> list[dict]:
    """Every ticket_status_changed logged."""
    return [e for e in events_of(settings) if e["event_type"] == "ticket_status_changed"]


def test_update_records_how_the_ticket_was_fixed_with_the_note_redacted(
    ticket: str, settings: Settings
) -> None:
    note = "Fan replaced on LT-4821, BIOS pw Winter2024! reset."
    arguments = ["tickets", "update", ticket, "resolved", "--note", note]
    result = runner.invoke(
        app, [*arguments, "--category", "Hardware / Laptop", "--group", "Endpoint"]
    )
    assert result.exit_code == 0, result.output
    assert f"{ticket} is now resolved" in result.output
    [resolved] = status_events(settings)
    assert resolved["resolution_note"] == "Fan replaced on LT-4821, BIOS pw [REDACTED] reset."
    assert (resolved["resolution_category"], resolved["assignment_group"]) == (
        "Hardware / Laptop",
        "Endpoint",
    )

    refused = runner.invoke(app, ["tickets", "update", ticket, "in_progress", "--note", "x"])
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())  # as printed, wrapped to the terminal
    assert "use them with resolved or closed, not in_progress" in message
    assert len(status_events(settings)) == 1


def test_sync_records_the_changes_made_in_the_queue_once_and_says_so(
    ticket: str, settings: Settings
) -> None:
    first = runner.invoke(app, ["tickets", "sync"])
    assert first.exit_code == 0, first.output
    assert "0 status changes recorded" in first.output

    store = EnterpriseStore(settings.state_db)  # an agent closes it in the queue itself
    fix = Resolution("Duplicate of the earlier request.", "Duplicate", "Service Desk L1")
    EmbeddedTicketing(store).set_status(ticket, "closed", datetime.now(UTC), fix)
    store.close()

    synced = runner.invoke(app, ["tickets", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "1 status change recorded (closed 1)" in synced.output
    again = runner.invoke(app, ["tickets", "sync"])
    assert "0 status changes recorded" in again.output
    [closed] = status_events(settings)
    assert (closed["status"], closed["resolution_note"]) == (
        "closed",
        "Duplicate of the earlier request.",
    )
