"""Topic discovery and knowledge article drafts, on synthetic texts and a hand-made warehouse."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest

from models.pipeline import MART_SCHEMAS, MartContractError, write_mart
from models.topics import (
    DRAFT_STATUS,
    TOPICS_SCHEMA,
    Topic,
    discover_topics,
    draft_article,
    interaction_texts,
    topics_frame,
    topics_table,
    unmapped_ticket_texts,
)
from pipelines.warehouse import RAW_SCHEMA

LATEST = datetime(2026, 11, 30, 12)
GROUPS = {
    "vpn": ["vpn", "gateway", "globalprotect", "tunnel", "remote", "disconnects"],
    "printer": ["printer", "toner", "paper", "jam", "prints", "tray"],
    "payroll": ["payroll", "payslip", "salary", "tax", "deduction", "bonus"],
}
FILLERS = ["today", "again", "please", "help", "office", "morning", "urgent", "broken", "team"]


def synthetic_texts(per_group: int = 12) -> pl.DataFrame:
    """Texts about the VPN and printers (escalated) and payroll (not understood): three of
    the group's words and two shared filler words each. Payroll questions all came in the last
    three weeks; the others are spread over eight evenly."""
    rng = random.Random(5)
    rows = []
    for group, words in GROUPS.items():
        for number in range(per_group):
            weeks_ago = number % 3 if group == "payroll" else 2 * number % 8
            text = " ".join(rng.sample(words, 3) + rng.sample(FILLERS, 2))
            rows.append(
                {
                    "id": f"{group}-{number:02d}",
                    "text": f"my {text}" if number % 2 else text.capitalize() + "!",
                    "at": LATEST - timedelta(weeks=weeks_ago, hours=number),
                    "signal": "unrecognized" if group == "payroll" else "escalated",
                }
            )
    return pl.DataFrame(rows)


def by_group(topics: list[Topic]) -> dict[str, Topic]:
    """Each topic under the group all its members belong to (fails if a topic is mixed)."""
    named = {}
    for topic in topics:
        groups = {member.split("-")[0] for member in topic.member_ids}
        assert len(groups) == 1, topic
        named[groups.pop()] = topic
    return named


@pytest.fixture(scope="module")
def discovered() -> list[Topic]:
    return discover_topics(synthetic_texts(), seed=1)


def test_clearly_different_texts_make_separate_topics(discovered: list[Topic]) -> None:
    topics = by_group(discovered)
    assert set(topics) == set(GROUPS)
    for group, topic in topics.items():
        assert topic.size == 12
        assert set(topic.top_terms[:3]) <= set(GROUPS[group])
        assert len(topic.examples) == 3 and len(set(topic.examples)) == 3
    assert topics["payroll"].kind == "knowledge_gap"
    assert topics["payroll"].knowledge_gap_share == 1.0
    assert topics["vpn"].kind == topics["printer"].kind == "automation_candidate"


def test_trend_compares_the_last_four_weeks_with_the_four_before(
    discovered: list[Topic],
) -> None:
    topics = by_group(discovered)
    payroll, vpn = topics["payroll"], topics["vpn"]
    assert (payroll.last_4_weeks, payroll.previous_4_weeks, payroll.trend) == (12, 0, "rising")
    assert payroll.last_4_weeks + payroll.previous_4_weeks == payroll.size
    assert (vpn.last_4_weeks, vpn.previous_4_weeks, vpn.trend) == (6, 6, "steady")


def test_topics_are_deterministic_and_independent_of_row_order(discovered: list[Topic]) -> None:
    first = discovered
    shuffled = synthetic_texts().sample(fraction=1.0, shuffle=True, seed=9)
    assert discover_topics(shuffled, seed=1) == first
    assert [topic.topic_id for topic in first] == list(range(len(first)))
    assert [topic.size for topic in first] == sorted((t.size for t in first), reverse=True)


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [None, "  "],
        ["my vpn is down"],
        ["my vpn is down", "printer jammed", "payroll question"],
        ["the", "and it is", "of"],  # nothing but stop words
        ["vpn down"] * 30,  # one distinct text
    ],
)
def test_tiny_inputs_give_no_topic_or_one(texts: list[str | None]) -> None:
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(len(texts))],
            "text": texts,
            "at": [LATEST] * len(texts),
        },
        schema={"id": pl.String, "text": pl.String, "at": pl.Datetime("us")},
    )
    topics = discover_topics(frame)
    usable = [t for t in texts if t and t.strip()]
    assert len(topics) == (1 if usable else 0)
    if usable:
        assert topics[0].size == len(usable)
        assert topics[0].kind == "automation_candidate"  # no signal column: escalations


def test_topics_frame_has_one_row_per_topic(discovered: list[Topic]) -> None:
    frame = topics_frame(discovered, "interactions")
    assert frame.schema == pl.Schema(TOPICS_SCHEMA)
    assert frame["size"].sum() == 36 and frame["source"].unique().to_list() == ["interactions"]
    assert topics_frame([], "tickets").is_empty()


def test_every_topic_row_carries_its_draft_article(discovered: list[Topic]) -> None:
    frame = topics_frame(discovered, "interactions")
    drafts = [draft_article(topic, {}) for topic in discovered]
    assert frame["draft_title"].to_list() == [draft.title for draft in drafts]
    assert frame["draft_markdown"].to_list() == [draft.markdown for draft in drafts]
    assert all(f"status: {DRAFT_STATUS}" in markdown for markdown in frame["draft_markdown"])


def test_the_topics_mart_follows_its_declared_schema(discovered: list[Topic]) -> None:
    connection = duckdb.connect()
    assert write_mart(connection, "topics", topics_frame(discovered, "interactions")) == 3
    columns = connection.sql("select * from marts.topics").columns
    assert columns == list(TOPICS_SCHEMA)
    hand_made = pl.DataFrame({"cluster_id": [0], "draft_article": ["# Fix the VPN"]})
    with pytest.raises(MartContractError, match=r"marts\.topics must have the columns"):
        write_mart(connection, "topics", hand_made)
    assert MART_SCHEMAS["topics"] is TOPICS_SCHEMA


def test_a_draft_article_takes_its_steps_from_the_most_common_resolution_notes(
    discovered: list[Topic],
) -> None:
    topic = by_group(discovered)["vpn"]
    members = topic.member_ids
    resolutions = {
        members[0]: "Restarted the GlobalProtect client. Switched to the gw-ams gateway. Fixed.",
        members[1]: "restarted the globalprotect client! Switched to the gw-ams gateway.",
        members[2]: "1. Restarted the GlobalProtect client\n2. Reinstalled the VPN profile",
        members[3]: "Switched to the gw-ams gateway.",
        "printer-00": "Replaced the toner.",  # another topic's note is ignored
    }
    draft = draft_article(topic, resolutions, max_steps=2)
    assert draft.steps == (
        "Restarted the GlobalProtect client.",
        "Switched to the gw-ams gateway.",
    )
    assert draft.status == DRAFT_STATUS == "draft, needs review"
    assert draft.symptoms == topic.examples
    assert draft.title[0].isupper() and draft.title.lower() in topic.examples[0].lower()
    assert draft.markdown.startswith("---\nstatus: draft, needs review\n")
    assert "1. Restarted the GlobalProtect client." in draft.markdown
    assert "2. Switched to the gw-ams gateway." in draft.markdown
    assert "toner" not in draft.markdown
    # sentences of a single note are not steps
    assert draft_article(topic, resolutions).steps == draft.steps


def test_a_draft_without_notes_asks_for_steps(discovered: list[Topic]) -> None:
    draft = draft_article(discovered[0], {})
    assert draft.steps == ()
    assert "No resolution notes yet" in draft.markdown


# -- reading the warehouse ---------------------------------------------------------------------

MARTS = """
create schema marts;
create table marts.dim_intents (intent varchar, is_small_talk boolean);
insert into marts.dim_intents values
    ('vpn_issue', false), ('greeting', true), ('human_handoff', false), ('out_of_scope', false);
create table marts.fct_interactions (
    interaction_id varchar, started_at timestamp, intent varchar, outcome varchar,
    feedback varchar
);
create table marts.fct_tickets (
    ticket_key varchar, source varchar, ticket_id varchar, category varchar, intent varchar,
    opened_at timestamp
);
"""


def add_event(
    connection: duckdb.DuckDBPyConnection,
    interaction: str,
    minute: int,
    event_type: str,
    **fields: object,
) -> None:
    """Append one event to raw.events."""
    columns = ["event_id", "schema_version", "event_type", "occurred_at", "interaction_id"]
    values: list[object] = [
        f"{interaction}-{minute}-{event_type}",
        1,
        event_type,
        datetime(2026, 11, 2, 9, minute),
        interaction,
    ]
    columns += ["channel", "source_file", "loaded_at", *fields]
    values += ["slack", "events.jsonl", datetime(2026, 11, 3), *fields.values()]
    marks = ", ".join("?" * len(values))
    connection.execute(f"insert into raw.events ({', '.join(columns)}) values ({marks})", values)


def say(
    connection: duckdb.DuckDBPyConnection,
    interaction: str,
    minute: int,
    text: str,
    detected: str | None,
) -> None:
    """An employee message, classified as `detected` (None: a reply to a prompt)."""
    add_event(connection, interaction, minute, "message_received", text=text, turn=minute)
    if detected:
        add_event(connection, interaction, minute, "intent_detected", intent=detected)


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(RAW_SCHEMA)
    connection.execute(MARTS)
    facts = [
        ("i1", "vpn_issue", "escalated", "rejected"),
        ("i2", "out_of_scope", "unrecognized", None),
        ("i3", "vpn_issue", "escalated", None),
        ("i4", "vpn_issue", "auto_resolved", "confirmed"),
        ("i5", "vpn_issue", "answered", "rejected"),
    ]
    for interaction, intent, outcome, feedback in facts:
        connection.execute(
            "insert into marts.fct_interactions values (?, ?, ?, ?, ?)",
            [interaction, datetime(2026, 11, 2, 9), intent, outcome, feedback],
        )
    say(connection, "i1", 1, "hello there", "greeting")
    say(connection, "i1", 2, "vpn broken at home", "vpn_issue")
    say(connection, "i1", 3, "no, still broken", None)
    add_event(connection, "i1", 3, "knowledge_answered")
    say(connection, "i2", 1, "when is the summer party", "out_of_scope")
    say(connection, "i2", 2, "2", "out_of_scope")
    say(connection, "i2", 3, "summer party date please", "out_of_scope")
    say(connection, "i3", 1, "gateway unreachable", "vpn_issue")
    say(connection, "i3", 2, "talk to a human", "human_handoff")
    say(connection, "i4", 1, "vpn down", "vpn_issue")
    say(connection, "i5", 1, "vpn slow", "vpn_issue")
    add_event(connection, "i5", 1, "knowledge_answered")
    return connection


def test_interaction_texts_keep_the_requests_of_unresolved_interactions(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    texts = interaction_texts(warehouse)
    assert texts.select("id", "text", "signal").rows() == [
        ("i1", "vpn broken at home", "answer_rejected"),
        ("i2", "when is the summer party summer party date please", "unrecognized"),
        ("i3", "gateway unreachable", "escalated"),
        ("i5", "vpn slow", "answer_rejected"),
    ]


def test_unmapped_ticket_texts_join_title_and_description(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    tickets = [
        ("INC1", "Badge reader broken", "Door 4 does not open", "Facilities", "unmapped"),
        ("INC2", "VPN down", None, "Network", "vpn_issue"),
        ("INC3", None, "Parking permit renewal", None, "unmapped"),
    ]
    for ticket_id, title, description, category, intent in tickets:
        warehouse.execute(
            "insert into raw.tickets (source, ticket_id, opened_at, title, description, "
            "category, import_batch) values ('jsm', ?, ?, ?, ?, ?, 'b1')",
            [ticket_id, datetime(2026, 10, 1), title, description, category],
        )
        warehouse.execute(
            "insert into marts.fct_tickets values (?, 'jsm', ?, ?, ?, ?)",
            [f"jsm:{ticket_id}", ticket_id, category, intent, datetime(2026, 10, 1)],
        )
    texts = unmapped_ticket_texts(warehouse)
    assert texts.select("id", "text", "signal").rows() == [
        ("jsm:INC1", "Badge reader broken. Door 4 does not open", "ticket"),
        ("jsm:INC3", "Parking permit renewal", "ticket"),
    ]
    table = topics_table(warehouse)
    assert table.select("source", "topic_id", "size", "kind").rows() == [
        ("interactions", 0, 4, "knowledge_gap"),  # 3 of 4 did not understand or were rejected
        ("tickets", 0, 2, "automation_candidate"),
    ]
