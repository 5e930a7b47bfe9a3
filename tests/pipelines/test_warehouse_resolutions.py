"""How tickets were fixed reaches the warehouse: the engine's resolution events and imported
close notes, through staging, into fct_tickets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.importers.servicenow import import_servicenow
from pipelines.ingest import ingest_events
from pipelines.transform import build_warehouse
from pipelines.warehouse import connect
from resolver.connectors.base import Resolution
from settings import Settings
from tests.conftest import NOW, Chat, make_runtime, work_warehouse_rows

HISTORY = (
    "number,opened_at,resolved_at,priority,category,assignment_group,close_code,close_notes\n"
    "INC0010001,2026-03-02 09:05:00,2026-03-02 10:00:00,3 - Moderate,inquiry,Service Desk,"
    'Solved (Permanently),"Reset pw, temp pw Spring2025 by phone."\n'
)


def escalate(chat: Chat, need: str) -> str:
    """The employee asks for a person about `need`; return the ticket."""
    chat.say(need)
    ticket_id = chat.say("can I talk to a human please").ticket_id
    assert ticket_id is not None
    return ticket_id


def test_fct_tickets_shows_each_ticket_s_latest_resolution(
    settings: Settings, tmp_path: Path
) -> None:
    runtime = make_runtime(settings)
    try:
        fixed = escalate(Chat(runtime, "E000020"), "my laptop fan is screaming")
        unexplained = escalate(Chat(runtime, "E000021"), "my monitor flickers")
        note = "Fan replaced on LT-4821; BIOS admin pw Winter2024! set back."
        runtime.engine.update_ticket(
            fixed, "resolved", NOW + timedelta(hours=2), Resolution(note, "Hardware", "Endpoint")
        )
        runtime.engine.update_ticket(unexplained, "resolved", NOW + timedelta(hours=3))
    finally:
        runtime.close()
    history = tmp_path / "incidents.csv"
    history.write_text(HISTORY, encoding="utf-8")
    connection = connect(settings.work_warehouse_path)
    assert ingest_events(settings.events_dir, connection).rows_quarantined == 0
    import_servicenow(history, connection)
    connection.close()

    result = build_warehouse(settings)  # a full build: models, data tests and unit tests

    assert result.success, result.failures
    rows = work_warehouse_rows(
        settings,
        "select ticket_key, resolution_note, resolution_category, assignment_group "
        "from marts.fct_tickets order by ticket_key",
    )
    assert rows == [
        (
            "servicenow:INC0010001",
            "Reset pw, temp pw [REDACTED] by phone.",
            "Solved (Permanently)",
            "Service Desk",
        ),
        (
            f"unticket:{fixed}",
            "Fan replaced on LT-4821; BIOS admin pw [REDACTED] set back.",
            "Hardware",
            "Endpoint",
        ),
        (f"unticket:{unexplained}", None, None, None),
    ]
