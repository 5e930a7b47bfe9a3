"""XES importer: real BPIC 2013 and helpdesk logs, a hand-written fixture, idempotency, failures."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.importers import xes
from pipelines.importers.xes import (
    HELPDESK,
    ImportFailed,
    import_xes,
    source_name,
)
from pipelines.warehouse import connect
from tests.conftest import SHARED_DATA

FIXTURE = Path(__file__).parent.parent / "fixtures" / "xes" / "tickets.xes"
BPIC2013 = SHARED_DATA / "bpic2013-volvo-it-incidents-problems" / "bpic2013_incidents.xes.gz"
HELPDESK_LOG = SHARED_DATA / "helpdesk-italian-software-company" / "helpdesk.xes.gz"
TABLES = ("tickets", "ticket_activities", "import_quarantine", "import_batches")


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def snapshot(connection) -> dict[str, list[tuple]]:
    return {
        table: sorted(connection.execute(f"select * from raw.{table}").fetchall(), key=repr)
        for table in TABLES
    }


def ticket(connection, ticket_id: str, source: str = "tickets") -> dict:
    cursor = connection.execute(
        "select * from raw.tickets where source = ? and ticket_id = ?", [source, ticket_id]
    )
    names = [column[0] for column in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def activities(connection, ticket_id: str) -> list[tuple]:
    return connection.execute(
        "select seq, occurred_at, activity, state, assignment_group, assignee "
        "from raw.ticket_activities where ticket_id = ? order by seq",
        [ticket_id],
    ).fetchall()


def test_bpic2013_incidents(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    summary = import_xes(shared(BPIC2013), connection)
    assert (summary.source, summary.rows_read, summary.rows_loaded) == (
        "bpic2013_incidents",
        7554,
        7554,
    )
    counts = connection.execute(
        "select (select count(*) from raw.tickets), (select count(*) from raw.ticket_activities)"
    ).fetchone()
    assert counts == (7554, 65533)
    digest = connection.execute("select file_sha256 from raw.import_batches").fetchone()[0]
    assert digest == "6ec2136c607648608655802486df97a866f351668751b7ecbca51e1f8715d522"
    first = ticket(connection, "1-364285768", "bpic2013_incidents")
    assert first["opened_at"] == datetime(2010, 3, 31, 14, 59, 42)  # +02:00 in the file
    assert (first["impact"], first["category"], first["location"]) == ("Medium", "PROD582", "fr")
    assert first["state"] == "Closed"
    assert activities(connection, "1-364285768")[0][2:5] == (
        "Accepted+In Progress",
        "In Progress",
        "V30",
    )


def test_helpdesk(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    summary = import_xes(shared(HELPDESK_LOG), connection)
    assert (summary.source, summary.rows_loaded, summary.rows_quarantined) == ("helpdesk", 4580, 0)
    counts = connection.execute(
        "select (select count(*) from raw.tickets), (select count(*) from raw.ticket_activities)"
    ).fetchone()
    assert counts == (4580, 21348)
    case = ticket(connection, "Case 1", "helpdesk")
    assert case["resolved_at"] == datetime(2012, 10, 25, 11, 54, 26)  # "Resolve ticket"
    assert case["closed_at"] == datetime(2012, 11, 9, 12, 54, 39)
    assert (case["requester"], case["assignment_group"]) == ("Value 1", "Value 1")


def test_fixture_tickets_activities_and_quarantine(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    summary = import_xes(FIXTURE, connection)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (7, 3, 4)
    first = ticket(connection, "INC-1")
    assert first["opened_at"] == datetime(2024, 3, 1, 8)
    assert first["resolved_at"] == datetime(2024, 3, 1, 15, 30)
    assert first["closed_at"] == datetime(2024, 3, 4, 8)
    assert (first["initial_priority"], first["priority"]) == ("3", "1")
    assert (first["initial_category"], first["category"]) == ("Email", "Email")
    assert (first["impact"], first["urgency"], first["state"]) == ("High", "Medium", "Closed")
    assert (first["assignment_group"], first["assignee"], first["reassignments"]) == (
        "Network",
        "bo",
        3,
    )
    assert activities(connection, "INC-1") == [
        (1, datetime(2024, 3, 1, 8), "Log ticket+complete", "New", "Service Desk", "ana"),
        (2, datetime(2024, 3, 1, 9), "Investigate+start", "In Progress", "Network", "bo"),
        (3, datetime(2024, 3, 1, 10), "Investigate+complete", "In Progress", "Service Desk", "ana"),
        (4, datetime(2024, 3, 1, 15, 30), "Fix+complete", "Resolved", "Network", "bo"),
        (5, datetime(2024, 3, 4, 8), "Close+complete", "Closed", "Network", None),
    ]


def test_fixture_ended_and_open_tickets(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection)
    cancelled = ticket(connection, "INC-2")
    assert cancelled["opened_at"] == datetime(2024, 3, 2, 8, 15, 30, 250000)
    assert cancelled["resolved_at"] == datetime(2024, 3, 2, 9)  # last event "Cancelled"
    assert (cancelled["closed_at"], cancelled["state"], cancelled["reassignments"]) == (
        None,
        "Cancelled",
        None,
    )
    still_open = ticket(connection, "INC-3")
    assert (still_open["opened_at"], still_open["resolved_at"]) == (datetime(2024, 3, 5, 17), None)
    assert (still_open["initial_priority"], still_open["priority"]) == ("4", "4")
    assert [row[2] for row in activities(connection, "INC-3")] == [
        "Log ticket",
        "Investigate+start",
    ]


def test_fixture_quarantine_rows(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection)
    rows = connection.execute(
        "select source, source_file, source_row, reason from raw.import_quarantine order by 3"
    ).fetchall()
    assert rows == [
        ("tickets", str(FIXTURE), 4, "trace has no concept:name (ticket id)"),
        ("tickets", str(FIXTURE), 5, "event without a parseable time:timestamp"),
        ("tickets", str(FIXTURE), 6, "trace has no events"),
        ("tickets", str(FIXTURE), 7, "ticket id of an earlier trace"),
    ]
    raw = connection.execute(
        "select raw_row from raw.import_quarantine where source_row = 5"
    ).fetchone()[0]
    assert "yesterday" in raw


@pytest.mark.parametrize("variant", ["gzip", "no namespace"])
def test_gzip_and_plain_xml_variants(tmp_path: Path, variant: str) -> None:
    text = FIXTURE.read_bytes()
    if variant == "gzip":
        path = tmp_path / "tickets.xes.gz"
        path.write_bytes(gzip.compress(text))
    else:
        path = tmp_path / "tickets.xes"
        path.write_bytes(text.replace(b' xmlns="http://www.xes-standard.org/"', b""))
    connection = connect(tmp_path / "w.duckdb")
    assert import_xes(path, connection).rows_loaded == 3
    assert len(activities(connection, "INC-1")) == 5


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection)
    before = snapshot(connection)
    import_xes(FIXTURE, connection)
    after = snapshot(connection)
    assert {table: len(rows) for table, rows in after.items()} == {
        "tickets": 3,
        "ticket_activities": 9,
        "import_quarantine": 4,
        "import_batches": 1,
    }
    batch_columns = slice(0, 7)  # all but imported_at
    assert [row[batch_columns] for row in after["import_batches"]] == [
        row[batch_columns] for row in before["import_batches"]
    ]
    assert {t: r for t, r in after.items() if t != "import_batches"} == {
        t: r for t, r in before.items() if t != "import_batches"
    }


def test_sources_are_independent_and_profiles_overridable(tmp_path: Path) -> None:
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection, "one")
    summary = import_xes(FIXTURE, connection, "two", profile=HELPDESK)
    assert "profile: helpdesk" in summary.notes
    per_source = connection.execute(
        "select source, count(*), count(priority) from raw.tickets group by 1 order by 1"
    ).fetchall()
    assert per_source == [("one", 3, 2), ("two", 3, 0)]  # helpdesk reads seriousness_2


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.xes", None),
        ("not-xml.xes", b"ticket_id,opened_at\nINC-1,2024-03-01\n"),
        ("truncated.xes", FIXTURE.read_bytes()[:3000]),
        ("not-xes.xes", b"<html><body>INC-1</body></html>"),
        ("broken.xes.gz", gzip.compress(FIXTURE.read_bytes())[:500]),
    ],
)
def test_fatal_errors_leave_the_warehouse_unchanged(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection, "tickets")
    before = snapshot(connection)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportFailed, match=name):
        import_xes(path, connection, "tickets")
    assert snapshot(connection) == before


def test_failure_after_chunks_were_written_rolls_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xes, "CHUNK_ACTIVITIES", 1)  # write after every ticket
    connection = connect(tmp_path / "w.duckdb")
    import_xes(FIXTURE, connection, "tickets")
    before = snapshot(connection)
    unfinished = tmp_path / "unfinished.xes"  # every trace, but no closing </log>
    unfinished.write_bytes(FIXTURE.read_bytes().replace(b"</log>", b""))
    with pytest.raises(ImportFailed, match="not well-formed XML"):
        import_xes(unfinished, connection, "tickets")
    assert snapshot(connection) == before


def test_source_names() -> None:
    assert source_name(Path("data/bpic2013_incidents.xes.gz")) == "bpic2013_incidents"
    assert source_name(Path("helpdesk.xes.gz")) == "helpdesk"
    assert source_name(Path("BPIC14_f.XES")) == "bpic14_f"
    assert source_name(Path("Tickets 2024 (export).xes")) == "tickets_2024_export"
