"""The vocabularies are defined once (vocabulary/) and every written copy equals them: the event
log's documentation, the dbt project's accepted_values, the API's schema, the quality checks,
the connectors and the dashboards."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from settings import PROJECT_ROOT
from vocabulary import (
    DEFAULT_LANGUAGE,
    FILED,
    RECORDED_OUTCOMES,
    SERVICE_DESK,
    UNDETERMINED_LANGUAGE,
    Channel,
    EventType,
    Feedback,
    Language,
    Outcome,
    TicketStatus,
)

DOC = (PROJECT_ROOT / "docs" / "events.md").read_text()


def values(enum: object) -> set[str]:
    """The values of an enum (or of any iterable of its members) as plain strings."""
    return {str(member) for member in enum}  # type: ignore[attr-defined]


def quoted(text: str) -> set[str]:
    """Every `code` span of a piece of Markdown."""
    return set(re.findall(r"`([^`]+)`", text))


def between(start: str, end: str) -> str:
    """The text of docs/events.md from `start` up to the next `end`."""
    head = DOC.index(start) + len(start)
    return DOC[head : DOC.index(end, head)]


def table_row(first_cell: str) -> str:
    """The line of a Markdown table in docs/events.md whose first cell is `first_cell`."""
    (row,) = [line for line in DOC.splitlines() if line.startswith(f"| `{first_cell}` |")]
    return row


def test_the_vocabulary_imports_nothing_of_the_project() -> None:
    code = (
        "import sys, vocabulary; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'resolver', 'pipelines', 'dashboards', 'models', 'unticket', 'catalogue', 'redaction'}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def test_the_event_log_documentation_lists_each_vocabulary() -> None:
    event_types = between("## Event types and their own fields", "\nAn interaction's outcome")
    header, *rows = [row for row in event_types.splitlines() if row.startswith("| `")]
    assert header.startswith("| `event_type` | fields |")
    documented = {row.split("`")[1] for row in rows}
    assert documented == values(EventType)
    assert quoted(table_row("channel").split("|")[3]) == values(Channel) | {SERVICE_DESK}
    status = re.search(r"`status` \(([^)]*)\)", table_row("ticket_status_changed"))
    assert status is not None
    assert quoted(status[1]) == values(TicketStatus) | {FILED}
    statuses = between("A ticket's status is one of", "`filed` is not a status")
    assert quoted(statuses) == values(TicketStatus)
    assert quoted(table_row("feedback_received").split("|")[2]) == {"feedback", *values(Feedback)}
    outcomes = between("last `outcome_recorded` event:", "A rejected resolution")
    assert quoted(outcomes) == values(RECORDED_OUTCOMES)


# Every accepted_values list of the dbt project that is a vocabulary: (model, column) -> values.
# dbt cannot import Python, so the lists are written out in the YAML and held equal here.
DBT_VOCABULARIES = {
    ("stg_unticket__events", "event_type"): values(EventType),
    ("stg_unticket__events", "outcome"): values(RECORDED_OUTCOMES),
    ("stg_unticket__events", "feedback"): values(Feedback),
    ("fct_interactions", "outcome"): values(Outcome),
    ("fct_interactions", "feedback"): values(Feedback),
    ("fct_interactions", "language"): values(Language) | {UNDETERMINED_LANGUAGE},
    ("kpi_deflection_daily", "language"): values(Language) | {UNDETERMINED_LANGUAGE},
}
# The columns whose accepted_values would be a vocabulary wherever they appear.
VOCABULARY_COLUMNS = {
    "event_type",
    "outcome",
    "feedback",
    "channel",
    "status",
    "ticket_status",
    "language",
}


def dbt_accepted_values() -> dict[tuple[str, str], list[str]]:
    """Every column's accepted_values list in the dbt project's YAML files."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((PROJECT_ROOT / "dbt" / "models").rglob("_*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            for column in model.get("columns", []):
                for test in column.get("data_tests", []):
                    if isinstance(test, dict) and "accepted_values" in test:
                        listed = test["accepted_values"]["arguments"]["values"]
                        found[(model["name"], column["name"])] = listed
    return found


def test_dbt_accepted_values_are_the_vocabularies() -> None:
    found = dbt_accepted_values()
    for key, expected in DBT_VOCABULARIES.items():
        assert key in found, f"{key} has no accepted_values test"
        assert sorted(found[key]) == sorted(expected), key
        assert len(found[key]) == len(set(found[key])), key
    unchecked = {key for key in found if key[1] in VOCABULARY_COLUMNS} - set(DBT_VOCABULARIES)
    assert not unchecked, f"accepted_values not held to the vocabulary: {unchecked}"


def test_the_api_schema_offers_every_channel_but_proactive_and_every_outcome() -> None:
    from resolver.api import MessageIn, MessageOut

    schema_in = MessageIn.model_json_schema()
    assert set(schema_in["$defs"]["Channel"]["enum"]) == values(Channel) - {Channel.PROACTIVE}
    assert set(MessageOut.model_json_schema()["properties"]["outcome"]["enum"]) == values(Outcome)


def test_the_quality_checks_allow_the_vocabularies() -> None:
    from pipelines.quality.raw import event_values

    checks = {check.subset: set(check.kwargs["value_set"]) for check in event_values().checks}
    assert checks["channel"] == values(Channel) | {SERVICE_DESK}
    assert checks["status"] == values(TicketStatus) | {FILED}
    assert checks["language"] == values(Language)


def test_the_warehouse_models_the_languages_of_the_vocabulary() -> None:
    """Staging keeps the vocabulary's codes and makes any other value undetermined; a start
    logged without one is the default language (English: every older conversation was)."""
    dbt = PROJECT_ROOT / "dbt" / "models"
    staging = (dbt / "staging" / "unticket" / "stg_unticket__events.sql").read_text()
    (codes,) = re.findall(r"lower\(trim\(language\)\) in \(([^)]*)\)", staging)
    assert set(re.findall(r"'([^']*)'", codes)) == values(Language)
    assert f"then '{UNDETERMINED_LANGUAGE}'" in staging
    facts = (dbt / "marts" / "fct_interactions.sql").read_text()
    assert f"coalesce(interactions.language, '{DEFAULT_LANGUAGE}') as language" in facts
    assert all(len(code) == 2 and code.islower() for code in values(Language))


def test_the_engine_and_the_connectors_use_the_vocabularies() -> None:
    from resolver.connectors import embedded, jira, servicenow
    from resolver.engine import CHANNELS, PROACTIVE
    from resolver.events import EVENT_TYPES

    assert values(CHANNELS) == values(Channel)
    assert PROACTIVE == Channel.PROACTIVE
    assert values(EVENT_TYPES) == values(EventType)
    life_cycle = [status.value for status in TicketStatus]
    assert list(embedded.TICKET_STATUSES) == list(jira.STATUSES) == life_cycle
    assert set(servicenow.STATE_CODES) == values(TicketStatus)
    assert set(servicenow.STATES.values()) == values(TicketStatus)
    assert set(jira.STATUS_NAMES.values()) == values(TicketStatus)
    assert set(jira.STATUS_CATEGORIES.values()) <= values(TicketStatus)


def test_the_deflection_page_offers_the_recorded_outcomes() -> None:
    source = (PROJECT_ROOT / "dashboards" / "views" / "deflection.py").read_text()
    assert "OUTCOMES = [outcome.value for outcome in RECORDED_OUTCOMES]" in source
    assert values(RECORDED_OUTCOMES) == values(Outcome) - {Outcome.PENDING}
