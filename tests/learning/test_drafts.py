"""Article drafts from resolved escalations: proposing, saving, reviewing, and the engine
answering with an approved one (before a server reload it does not)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from learning.drafts import (
    DraftError,
    approval_log,
    approve_draft,
    edit_draft,
    get_draft,
    list_drafts,
    open_drafts,
    propose_drafts,
    reject_draft,
    save_proposals,
    steps_from_markdown,
)
from resolver.events import EventLog, read_events
from resolver.learned import LearnedKnowledge, knowledge_version, learned_articles
from resolver.runtime import Runtime
from tests.conftest import Chat, events_of

AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
INTENTS = ["printer_issue", "vpn_issue", "it_question", "email_issue"]
PRINTER_REQUESTS = [
    "the label printer prints blank labels",
    "label printer only prints blank labels",
    "blank labels come out of the label printer",
    "our label printer spits out empty labels",
    "label printer prints nothing on the labels",
    "the label printer gives blank stickers",
]
PRINTER_NOTES = [
    "Label roll loaded upside down. Reloaded the roll with the shiny side up. Printed a test "
    "label, OK.",
    "Reloaded the roll with the shiny side up. Printed a test label, OK.",
    "Label roll loaded upside down. Reloaded the roll with the shiny side up.",
    "Reloaded the roll with the shiny side up, temp pw Hunter2024! given. Printed a test "
    "label, OK.",
]
VPN_REQUESTS = [
    "vpn token app says clock skew",
    "vpn token rejected, time is wrong",
    "the vpn says my token time is off",
    "clock skew error on vpn login",
    "vpn token fails because of the clock",
    "vpn complains about clock skew",
]
VPN_NOTES = [
    "Laptop clock 9 min off. Enabled automatic time sync. VPN connects.",
    "Enabled automatic time sync. VPN connects.",
]


def escalations() -> pl.DataFrame:
    """Two kinds of resolved escalations, each closed by one fix (and one printer ticket
    escalated as a request for a person)."""
    rows = []
    for number, request in enumerate(PRINTER_REQUESTS):
        rows.append(
            (request, PRINTER_NOTES[number % 4], "human_handoff" if number == 0 else "printer_issue",
             "Hardware / Printer", "Facilities IT")
        )  # fmt: skip
    for number, request in enumerate(VPN_REQUESTS):
        rows.append((request, VPN_NOTES[number % 2], "vpn_issue", "Network / VPN", "Network"))
    return pl.DataFrame(
        [
            {
                "id": f"unticket:INC{number:04d}", "ticket_id": f"INC{number:04d}",
                "request": request, "note": note, "intent": intent, "category_intent": None,
                "resolution_category": category, "assignment_group": group,
                "at": datetime(2026, 10, 1) + timedelta(hours=number),
            }
            for number, (request, note, intent, category, group) in enumerate(rows)
        ],
        schema_overrides={"category_intent": pl.String},
    )  # fmt: skip


def quiet_log(data_dir: Path) -> EventLog:
    """An event log under the data dir, not fsynced (tests)."""
    return EventLog(data_dir / "events", fsync=False)


def printer_proposal():
    proposals = propose_drafts(escalations(), INTENTS, seed=3)
    return next(p for p in proposals if p.intent == "printer_issue")


def test_a_cluster_closed_by_one_fix_becomes_a_draft_of_its_requests_and_common_steps() -> None:
    proposals = propose_drafts(escalations(), INTENTS, seed=3)
    assert sorted(p.intent for p in proposals) == ["printer_issue", "vpn_issue"]
    printer = printer_proposal()
    assert printer.ticket_ids == tuple(f"INC{n:04d}" for n in range(6))
    assert set(printer.symptoms) <= set(PRINTER_REQUESTS) and len(printer.symptoms) == 5
    assert printer.title[0].isupper() and printer.title.lower() in PRINTER_REQUESTS
    # the steps every note shares, in a note's order; a sentence with a secret is no step
    assert printer.steps == (
        "Label roll loaded upside down.",
        "Reloaded the roll with the shiny side up.",
        "Printed a test label, OK.",
    )
    assert "REDACTED" not in repr(printer) and "Hunter2024" not in repr(printer)
    # the same fix gives the same id on every run
    assert propose_drafts(escalations(), INTENTS, seed=9)[0].draft_id in {
        p.draft_id for p in proposals
    }


def test_too_few_tickets_with_one_fix_make_no_draft() -> None:
    assert propose_drafts(escalations().head(4), INTENTS) == []
    assert propose_drafts(escalations().clear(), INTENTS) == []


def test_a_rerun_updates_a_pending_draft_and_never_brings_back_a_rejected_one(
    tmp_path: Path,
) -> None:
    store = open_drafts(tmp_path)
    proposals = propose_drafts(escalations(), INTENTS, seed=3)
    assert save_proposals(store, proposals, AT).added == 2
    assert save_proposals(store, proposals, AT).updated == 2
    assert len(list_drafts(store)) == 2
    printer = printer_proposal()
    rejected = reject_draft(store, printer.draft_id[:6], "alice", AT)
    assert (rejected.status, rejected.decided_by) == ("rejected", "alice")
    assert rejected.decided_at == "2026-11-03T02:00:00+00:00"
    outcome = save_proposals(store, proposals, AT + timedelta(days=1))
    assert (outcome.added, outcome.updated, outcome.kept) == (0, 1, 1)
    assert [d.intent for d in list_drafts(store)] == ["vpn_issue"]
    assert get_draft(store, printer.draft_id).status == "rejected"
    with pytest.raises(DraftError, match="already rejected by alice"):
        approve_draft(store, printer.draft_id, "bob", INTENTS, AT, log=quiet_log(tmp_path))


def test_an_edit_is_recorded_and_kept_when_the_draft_is_refreshed(tmp_path: Path) -> None:
    store = open_drafts(tmp_path)
    save_proposals(store, [printer_proposal()], AT)
    draft_id = printer_proposal().draft_id
    steps = steps_from_markdown("1. Open the printer.\n2. Turn the label roll over.\n")
    edited = edit_draft(
        store, draft_id, "carol", INTENTS, AT, title="Labels print blank", steps=steps
    )
    assert (edited.title, edited.steps) == (
        "Labels print blank",
        ("Open the printer.", "Turn the label roll over."),
    )
    assert (edited.edited_by, edited.status) == ("carol", "pending")
    save_proposals(store, [printer_proposal()], AT + timedelta(days=1))
    assert get_draft(store, draft_id).title == "Labels print blank"
    with pytest.raises(DraftError, match="unknown intent"):
        edit_draft(store, draft_id, "carol", INTENTS, AT, intent="make_coffee")
    with pytest.raises(DraftError, match="at least one step"):
        edit_draft(store, draft_id, "carol", INTENTS, AT, steps=["  "])
    with pytest.raises(DraftError, match="no draft"):
        get_draft(store, "ffffffff")


def test_an_approved_draft_becomes_a_learned_article(tmp_path: Path) -> None:
    store = open_drafts(tmp_path)
    proposal = printer_proposal()
    save_proposals(store, [proposal], AT)
    assert knowledge_version(tmp_path) == 0
    article = approve_draft(store, proposal.draft_id, "dave", INTENTS, AT, log=quiet_log(tmp_path))
    assert article.id == "learned-" + "-".join(proposal.title.lower().split())
    assert article.intents == ["printer_issue"]
    assert article.questions == list(proposal.symptoms)
    assert article.keywords == list(proposal.keywords)
    assert "1. Label roll loaded upside down." in article.body
    assert knowledge_version(tmp_path) == 1
    assert learned_articles(tmp_path) == {article.id: article}
    approved = get_draft(store, proposal.draft_id)
    assert (approved.status, approved.decided_by, approved.article_id) == (
        "approved",
        "dave",
        article.id,
    )
    with pytest.raises(DraftError, match="already approved by dave"):
        reject_draft(store, proposal.draft_id, "eve", AT)


def _learned_answers(runtime: Runtime, interaction_id: str) -> list[str]:
    return [
        event["article_id"]
        for event in events_of(runtime.engine.settings, interaction_id)
        if event["event_type"] == "knowledge_answered"
    ]


def test_the_engine_answers_with_an_approved_article_after_a_reload(runtime: Runtime) -> None:
    settings = runtime.engine.settings
    reloader = LearnedKnowledge(runtime.engine, settings.data_dir)
    request = "the label printer prints blank labels"
    before = Chat(runtime, "E000050").say(request)
    assert not any(
        a.startswith("learned-") for a in _learned_answers(runtime, before.interaction_id)
    )
    assert reloader.poll() is False  # nothing approved: nothing rebuilt
    store = open_drafts(settings.data_dir)
    proposal = printer_proposal()
    save_proposals(store, [proposal], AT)
    with closing(approval_log(settings)) as log:
        article = approve_draft(store, proposal.draft_id, "erin", INTENTS, AT, log=log)
    store.close()
    assert reloader.poll() is True
    assert article.id in runtime.engine.catalogue.articles_for("printer_issue")
    after = Chat(runtime, "E000051").say(request)
    assert _learned_answers(runtime, after.interaction_id) == [article.id]
    assert "Label roll loaded upside down" in after.reply


def test_an_approval_writes_one_article_approved_event(tmp_path: Path) -> None:
    store = open_drafts(tmp_path)
    proposals = propose_drafts(escalations(), INTENTS, seed=3)
    save_proposals(store, proposals, AT)
    printer, vpn = printer_proposal(), next(p for p in proposals if p.intent == "vpn_issue")
    with closing(quiet_log(tmp_path)) as log:
        article = approve_draft(store, printer.draft_id, "dave@example.com", INTENTS, AT, log=log)
        reject_draft(store, vpn.draft_id, "dave@example.com", AT)
        with pytest.raises(DraftError, match="already approved"):
            approve_draft(store, printer.draft_id, "eve", INTENTS, AT, log=log)
    (event,) = read_events(tmp_path / "events")  # a rejection or a refused approval writes none
    assert event["event_type"] == "article_approved"
    assert event["occurred_at"] == "2026-11-03T02:00:00.000Z"
    assert (event["interaction_id"], event["employee_id"], event["channel"]) == (
        None,
        None,
        "service_desk",
    )
    assert (event["article_id"], event["draft_id"], event["intent"], event["approved_by"]) == (
        article.id,
        printer.draft_id,
        "printer_issue",
        "dave@example.com",
    )


def test_a_reviewer_name_that_may_be_a_secret_is_not_logged(tmp_path: Path) -> None:
    store = open_drafts(tmp_path)
    save_proposals(store, [printer_proposal()], AT)
    with closing(quiet_log(tmp_path)) as log:
        approve_draft(store, printer_proposal().draft_id, "Hunter2024!", INTENTS, AT, log=log)
    (event,) = read_events(tmp_path / "events")
    assert event["approved_by"] == "[REDACTED]"
    assert get_draft(store, printer_proposal().draft_id).decided_by == "Hunter2024!"
