"""Ticket-history importers: ServiceNow (both forms), CSV through a mapping, and the roster."""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.importers import common
from pipelines.importers.common import ImportFailed
from pipelines.importers.csv_mapping import import_csv
from pipelines.importers.roster import import_roster
from pipelines.importers.servicenow import import_servicenow
from pipelines.warehouse import connect
from settings import PROJECT_ROOT

FIXTURES = Path(__file__).parent.parent / "fixtures" / "importers"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
UCI = SHARED_DATA / "uci-incident-management-event-log" / "incident_event_log.csv.gz"
JSM_MAPPING = PROJECT_ROOT / "data" / "mappings" / "jsm.yml"
TABLES = (
    "raw.tickets",
    "raw.ticket_activities",
    "raw.employees",
    "raw.import_quarantine",
    "raw.import_batches",
)


@pytest.fixture
def connection(tmp_path: Path):
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def snapshot(connection) -> dict[str, list[tuple]]:
    return {
        table: sorted(
            connection.execute(f"select * exclude (imported_at) from {table}").fetchall()
            if table == "raw.import_batches"
            else connection.execute(f"select * from {table}").fetchall(),
            key=repr,
        )
        for table in TABLES
    }


def ticket(connection, ticket_id: str) -> dict:
    cursor = connection.execute("select * from raw.tickets where ticket_id = ?", [ticket_id])
    names = [column[0] for column in cursor.description]
    (row,) = cursor.fetchall()
    return dict(zip(names, row, strict=True))


def quarantined(connection, source: str) -> list[tuple[int, str]]:
    return connection.execute(
        "select source_row, reason from raw.import_quarantine where source = ? order by 1",
        [source],
    ).fetchall()


def test_full_uci_event_log(connection) -> None:
    if not UCI.exists():
        pytest.skip(f"{UCI} is not available")
    summary = import_servicenow(UCI, connection)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (141_712,) * 2 + (
        0,
    )
    tickets, initial, changed, negative = connection.execute(
        """
        select count(*), count(initial_priority), count(*) filter (initial_priority <> priority),
            count(*) filter (reassignments < 0 or reopens < 0)
        from raw.tickets where source = 'servicenow'
        """
    ).fetchone()
    assert tickets == 24_918
    assert initial == tickets and changed > 0 and negative == 0
    assert connection.execute("select count(*) from raw.ticket_activities").fetchone()[0] == 141_712
    first = ticket(connection, "INC0000045")
    assert first["opened_at"] == datetime(2016, 2, 29, 1, 16)
    assert (first["state"], first["closed_at"]) == ("Closed", datetime(2016, 3, 5, 12))
    batch = connection.execute("select rows_read, file_sha256 from raw.import_batches").fetchone()
    assert batch == (141_712, "b7ba39eb61aecd060af14daa4a1a7af2988f58f516086bb319d035cc747df4b2")


def test_audit_form_with_variants_and_broken_rows(connection) -> None:
    summary = import_servicenow(FIXTURES / "servicenow_audit_variants.csv", connection)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (12, 8, 4)
    assert summary.reasons == {
        "missing number": 2,
        "unparseable opened_at": 1,
        "missing sys_updated_at": 1,
    }
    assert quarantined(connection, "servicenow") == [
        (10, "missing number"),
        (11, "missing number"),
        (12, "unparseable opened_at"),
        (13, "missing sys_updated_at"),
    ]
    assert any(n.startswith("resolved_at: 1 value(s)") and "not yet" in n for n in summary.notes)
    assert any(n.startswith("opened_at: 1 value(s)") for n in summary.notes)
    raw_row = connection.execute(
        "select raw_row from raw.import_quarantine where source_row = 12"
    ).fetchone()[0]
    assert '"opened_at":"31-13-2016 10:00"' in raw_row

    closed = ticket(connection, "INC0001001")
    assert closed["opened_at"] == datetime(2016, 3, 2, 9, 5)
    assert (closed["state"], closed["closed_at"]) == ("Closed", datetime(2016, 3, 7, 17))
    assert (closed["priority"], closed["initial_priority"]) == ("2 - High", "3 - Moderate")
    assert (closed["category"], closed["initial_category"]) == ("Category 12", "Category 10")
    assert (closed["assignment_group"], closed["assignee"]) == ("Group 70", "Resolver 9")
    assert (closed["reassignments"], closed["reopens"]) == (1, 0)

    reopened = ticket(connection, "INC0001002")
    assert (reopened["state"], reopened["reopens"]) == ("Active", 1)
    iso = ticket(connection, "INC0001003")
    assert iso["opened_at"] == datetime(2016, 3, 5, 8)  # +01:00 converted to UTC
    assert iso["resolved_at"] is None

    activities = connection.execute(
        """
        select ticket_id, seq, occurred_at, activity, state, assignment_group
        from raw.ticket_activities where ticket_id in ('INC0001001', 'INC0001002')
        order by ticket_id, seq
        """
    ).fetchall()
    assert [row[1:] for row in activities] == [
        (1, datetime(2016, 3, 2, 9, 7, 30), "opened", "New", "Group 56"),
        (2, datetime(2016, 3, 2, 10, 15), "reassigned", "Active", "Group 70"),
        (3, datetime(2016, 3, 2, 16, 40), "state changed", "Resolved", "Group 70"),
        (4, datetime(2016, 3, 7, 17), "state changed", "Closed", "Group 70"),
        (1, datetime(2016, 3, 3, 8, 1), "opened", "New", "Group 5"),
        (2, datetime(2016, 3, 3, 12), "state changed", "Resolved", "Group 5"),
        (3, datetime(2016, 3, 4, 9, 30), "reopened", "Active", "Group 5"),
    ]


def test_plain_incident_table_with_labels_and_gzip(connection, tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "servicenow_incidents.csv").read_bytes()))
    summary = import_servicenow(path, connection)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (5, 3, 2)
    assert quarantined(connection, "servicenow") == [
        (5, "duplicate number"),
        (6, "missing opened_at"),
    ]
    assert any(n.startswith("reassignment_count: 1 value(s)") for n in summary.notes)
    vpn = ticket(connection, "INC0010001")
    assert vpn["title"] == 'VPN drops every few minutes, "reconnecting" loop'
    assert (vpn["opened_at"], vpn["resolved_at"]) == (
        datetime(2026, 3, 2, 9, 15),
        datetime(2026, 3, 2, 11, 45),
    )
    assert (vpn["assignee"], vpn["requester"], vpn["state"]) == ("Ana Ruiz", "Tom Becker", "Closed")
    assert vpn["initial_priority"] is None
    assert ticket(connection, "INC0010002")["opened_at"] == datetime(2026, 3, 3, 8)
    email = ticket(connection, "INC0010003")
    assert (email["opened_at"], email["reassignments"]) == (datetime(2026, 3, 3, 14, 20), None)
    assert connection.execute("select count(*) from raw.ticket_activities").fetchone()[0] == 0


def test_import_twice_is_idempotent(connection) -> None:
    path = FIXTURES / "servicenow_audit_variants.csv"
    import_servicenow(path, connection)
    before = snapshot(connection)
    again = import_servicenow(path, connection)
    assert (again.rows_loaded, again.rows_quarantined) == (8, 4)
    assert snapshot(connection) == before
    assert connection.execute("select count(*) from raw.import_batches").fetchone()[0] == 1
    temporary = "select count(*) from duckdb_tables() where temporary"
    assert connection.execute(temporary).fetchone()[0] == 0


def test_secrets_pasted_into_imported_tickets_are_redacted(connection, tmp_path: Path) -> None:
    path = tmp_path / "pasted.csv"
    path.write_text(
        "number,opened_at,short_description,description\n"
        "INC1,2026-03-02 09:15,VPN broken,my password is Tr0ub4dor&3 and it still fails\n"
        'INC2,2026-03-02 10:00,"Outlook: the password for the wifi is Summer2024!",\n'
        "INC3,2026-03-02 11:00,Error 0x80070005 on Windows 11 23H2,ext. 4471\n"
    )
    import_servicenow(path, connection)
    rows = {
        ticket_id: (title, description)
        for ticket_id, title, description in connection.execute(
            "select ticket_id, title, description from raw.tickets"
        ).fetchall()
    }
    assert "Tr0ub4dor" not in str(rows) and "Summer2024" not in str(rows)
    assert rows["INC1"][0] == "VPN broken" and "[REDACTED]" in rows["INC1"][1]
    assert rows["INC3"] == ("Error 0x80070005 on Windows 11 23H2", "ext. 4471")


def test_date_variants(connection, tmp_path: Path) -> None:
    values = {
        "29/2/2016 1:16": datetime(2016, 2, 29, 1, 16),
        "29-02-2016 01:16:07": datetime(2016, 2, 29, 1, 16, 7),
        "29/02/2016": datetime(2016, 2, 29),
        "2016-02-29 01:16:00": datetime(2016, 2, 29, 1, 16),
        "2016-02-29T01:16:00Z": datetime(2016, 2, 29, 1, 16),
        "2016-02-29T02:16:00.5+01:00": datetime(2016, 2, 29, 1, 16, 0, 500000),
        "29/2/16 01:16": None,  # a two-digit year would read as the year 16
        "2/29/2016 01:16": None,  # month-first is not read
    }
    path = tmp_path / "dates.csv"
    rows = [f"INC{n},{value}" for n, value in enumerate(values)]
    path.write_text("number,opened_at\n" + "\n".join(rows) + "\n")
    import_servicenow(path, connection)
    parsed = dict(connection.execute("select ticket_id, opened_at from raw.tickets").fetchall())
    assert [parsed.get(f"INC{n}") for n in range(len(values))] == list(values.values())


def test_new_export_replaces_tickets_by_id(connection, tmp_path: Path) -> None:
    import_servicenow(FIXTURES / "servicenow_audit_variants.csv", connection)
    table = tmp_path / "later.csv"
    table.write_text("number,opened_at,state\nINC0001001,02-03-2016 09:05,Closed\n")
    import_servicenow(table, connection)
    rows = connection.execute(
        "select ticket_id, initial_priority from raw.tickets order by 1"
    ).fetchall()
    assert rows == [("INC0001001", None), ("INC0001002", "4 - Low"), ("INC0001003", "3 - Moderate")]
    activities = connection.execute(
        "select distinct ticket_id from raw.ticket_activities order by 1"
    ).fetchall()
    assert activities == [("INC0001002",), ("INC0001003",)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("number,state\nINC1,New\n", "no column opened_at"),
        ("", "could not be read as CSV"),
    ],
)
def test_fatal_error_leaves_warehouse_unchanged(
    connection, tmp_path: Path, content: str | None, message: str
) -> None:
    import_servicenow(FIXTURES / "servicenow_audit_variants.csv", connection)
    import_roster(FIXTURES / "roster.csv", connection)
    before = snapshot(connection)
    path = tmp_path / "broken.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ImportFailed, match=message):
        import_servicenow(path, connection)
    assert snapshot(connection) == before


def test_failure_mid_import_rolls_everything_back(
    connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_servicenow(FIXTURES / "servicenow_incidents.csv", connection)
    before = snapshot(connection)

    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(common, "record_batch", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_servicenow(FIXTURES / "servicenow_audit_variants.csv", connection)
    assert snapshot(connection) == before


def test_jsm_export_through_mapping(connection) -> None:
    summary = import_csv(FIXTURES / "jsm_export.csv", JSM_MAPPING, connection)
    assert (summary.source, summary.rows_read, summary.rows_loaded) == ("jsm", 7, 5)
    assert quarantined(connection, "jsm") == [
        (6, "unparseable opened_at"),
        (7, "missing ticket_id"),
    ]
    vpn = ticket(connection, "ITHELP-101")
    assert (vpn["opened_at"], vpn["resolved_at"]) == (
        datetime(2026, 11, 27, 9, 15),
        datetime(2026, 11, 27, 11, 40),
    )
    assert (vpn["priority"], vpn["state"], vpn["category"], vpn["subcategory"]) == (
        "2 - High",
        "Resolved",
        "VPN",
        "Network",
    )
    assert vpn["description"].endswith("Tried twice, same error.")
    assert (vpn["assignee"], vpn["requester"], vpn["source"]) == ("Ana Ruiz", "Tom Becker", "jsm")
    states = connection.execute(
        "select ticket_id, state, priority from raw.tickets order by 1"
    ).fetchall()
    assert states == [
        ("ITHELP-101", "Resolved", "2 - High"),
        ("ITHELP-102", "Resolved", "3 - Moderate"),
        ("ITHELP-103", "Awaiting User Info", "4 - Low"),
        ("ITHELP-104", "Active", "1 - Critical"),
        ("ITHELP-107", "Triage", "3 - Moderate"),
    ]
    assert ticket(connection, "ITHELP-107")["opened_at"] == datetime(2026, 12, 2, 10, 5)
    import_csv(FIXTURES / "jsm_export.csv", JSM_MAPPING, connection)
    assert connection.execute("select count(*) from raw.tickets").fetchone()[0] == 5
    assert connection.execute("select count(*) from raw.import_quarantine").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (None, "could not be read"),
        ("source: jsm\ncolumns: [unclosed\n", "not valid YAML"),
        ("source: jsm\ncolumns:\n  ticket_id: Issue key\n", "opened_at"),
        ("source: jsm\ncolumns:\n  ticket_id: Issue key\n  opened_at: Opened\n", "'Opened'"),
        ("source: jsm\ncolumns:\n  ticket_id: Key\n  opened_at: Created\n  colour: x\n", "colour"),
    ],
)
def test_unusable_mapping_fails_without_writing(
    connection, tmp_path: Path, mapping: str | None, message: str
) -> None:
    import_csv(FIXTURES / "jsm_export.csv", JSM_MAPPING, connection)
    before = snapshot(connection)
    path = tmp_path / "mapping.yml"
    if mapping is not None:
        path.write_text(mapping)
    with pytest.raises(ImportFailed, match=message):
        import_csv(FIXTURES / "jsm_export.csv", path, connection)
    assert snapshot(connection) == before


def test_mapping_with_missing_optional_column_notes_it(connection, tmp_path: Path) -> None:
    mapping = tmp_path / "zendesk.yml"
    mapping.write_text(
        "source: zendesk\ncolumns:\n  ticket_id: Id\n  opened_at: Created at\n"
        "  priority: Priority\n  reopens: Reopens\n"
    )
    export = tmp_path / "zendesk.csv"
    export.write_text("Id,Created at,Priority\n1,2026-11-02T09:30:00+01:00,Urgent\n")
    summary = import_csv(export, mapping, connection)
    assert summary.rows_loaded == 1
    assert any(note.startswith("reopens: the file has no column") for note in summary.notes)
    row = ticket(connection, "1")
    assert (row["opened_at"], row["priority"], row["reopens"]) == (
        datetime(2026, 11, 2, 8, 30),
        "Urgent",
        None,
    )


def test_roster_with_bad_rows(connection) -> None:
    summary = import_roster(FIXTURES / "roster.csv", connection)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (8, 4, 4)
    assert quarantined(connection, "roster") == [
        (6, "missing employee_id"),
        (7, "unparseable hourly_cost"),
        (8, "negative hourly_cost"),
        (9, "duplicate employee_id"),
    ]
    employees = connection.execute(
        "select employee_id, manager_id, title, hourly_cost from raw.employees order by 1"
    ).fetchall()
    assert employees == [
        ("E000001", None, "Chief Executive Officer", 180.0),
        ("E000002", "E000001", "Accountant", 62.5),
        ("E000003", "E000001", "Software Engineer", 75.0),
        ("E000004", "E000003", "Software Engineer", None),
    ]


def test_roster_replaces_the_previous_roster(connection, tmp_path: Path) -> None:
    import_roster(FIXTURES / "roster.csv", connection)
    smaller = tmp_path / "roster.csv"
    smaller.write_text(
        "EMPLOYEE_ID,NAME,DEPARTMENT,LOCATION,MANAGER_ID,HOURLY_COST\nE9,Ann,IT,x,,50\n"
    )
    import_roster(smaller, connection)
    assert connection.execute("select employee_id, title from raw.employees").fetchall() == [
        ("E9", None)
    ]


def test_roster_without_loadable_rows_or_columns_fails(connection, tmp_path: Path) -> None:
    import_roster(FIXTURES / "roster.csv", connection)
    before = snapshot(connection)
    bad = tmp_path / "bad.csv"
    bad.write_text("employee_id,name,department,location,manager_id,hourly_cost\n,Ann,IT,x,,50\n")
    with pytest.raises(ImportFailed, match="no loadable employee"):
        import_roster(bad, connection)
    not_a_roster = tmp_path / "incidents.csv"
    shutil.copy(FIXTURES / "servicenow_incidents.csv", not_a_roster)
    with pytest.raises(ImportFailed, match="employee_id, name, department"):
        import_roster(not_a_roster, connection)
    assert snapshot(connection) == before


def test_a_few_uci_rows_keep_their_closing_code_and_assignment_group(
    connection, tmp_path: Path
) -> None:
    if not UCI.exists():
        pytest.skip(f"{UCI} is not available")
    with gzip.open(UCI, "rt", encoding="utf-8") as source:
        rows = [next(source) for _ in range(25)]  # the header and INC0000045 ... INC0000060
    sample = tmp_path / "uci_sample.csv"
    sample.write_text("".join(rows), encoding="utf-8")

    summary = import_servicenow(sample, connection)

    assert (summary.rows_loaded, summary.rows_quarantined) == (24, 0)
    kept = connection.execute(
        "select ticket_id, resolution_category, assignment_group, resolution_note "
        "from raw.tickets order by ticket_id"
    ).fetchall()
    assert kept == [
        ("INC0000045", "code 5", "Group 56", None),
        ("INC0000047", "code 5", "Group 24", None),  # the group of its last row
        ("INC0000057", "code 10", "Group 70", None),
        ("INC0000060", "code 3", "Group 25", None),
    ]


def test_close_notes_are_kept_redacted_under_servicenow_s_labels(
    connection, tmp_path: Path
) -> None:
    export = tmp_path / "incidents.csv"
    export.write_text(
        "Number,Opened,Resolved,Priority,Category,Assignment group,Resolution code,"
        "Resolution notes\n"
        "INC0010001,2026-03-02 09:05:00,2026-03-02 10:00:00,3 - Moderate,inquiry,"
        'Service Desk,Solved (Permanently),"Reset pw in AD, temp pw Winter2024! by phone."\n'
        "INC0010002,2026-03-02 09:15:00,,4 - Low,network,Network,,\n",
        encoding="utf-8",
    )
    import_servicenow(export, connection)
    assert connection.execute(
        "select ticket_id, resolution_category, resolution_note, assignment_group "
        "from raw.tickets order by ticket_id"
    ).fetchall() == [
        (
            "INC0010001",
            "Solved (Permanently)",
            "Reset pw in AD, temp pw [REDACTED] by phone.",
            "Service Desk",
        ),
        ("INC0010002", None, None, "Network"),
    ]


def test_a_mapping_may_carry_the_resolution_of_each_ticket(connection, tmp_path: Path) -> None:
    mapping = tmp_path / "desk.yml"
    mapping.write_text(
        "source: desk\n"
        "columns: {ticket_id: Key, opened_at: Created, resolution_note: Resolution comment,\n"
        "  resolution_category: Resolution, assignment_group: Team}\n",
        encoding="utf-8",
    )
    export = tmp_path / "desk.csv"
    export.write_text(
        "Key,Created,Resolution,Resolution comment,Team\n"
        'IT-1,2026-03-02 09:05,Done,"Cleared cache, password: Hunter2hunter2",Endpoint\n'
        "IT-2,2026-03-02 09:15,,,\n",
        encoding="utf-8",
    )
    import_csv(export, mapping, connection)
    assert connection.execute(
        "select ticket_id, resolution_category, resolution_note, assignment_group "
        "from raw.tickets order by ticket_id"
    ).fetchall() == [
        ("IT-1", "Done", "Cleared cache, password: [REDACTED]", "Endpoint"),
        ("IT-2", None, None, None),
    ]
