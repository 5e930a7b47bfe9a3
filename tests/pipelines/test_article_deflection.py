"""What learned articles deflect reaches the warehouse: an approval's `article_approved` event
and the engine's answers with the article, through ingest and dbt, into
marts.kpi_article_deflection_daily."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

from learning.drafts import approval_log, approve_draft, open_drafts, save_proposals
from pipelines.ingest import ingest_events
from pipelines.transform import build_warehouse
from pipelines.warehouse import connect
from settings import Settings
from tests.conftest import NOW, Chat, make_runtime, work_warehouse_rows
from tests.learning.test_drafts import INTENTS, printer_proposal

APPROVED_AT = NOW - timedelta(days=1)


def approve_printer_article(settings: Settings) -> str:
    """Approve the label-printer draft a day before NOW; return the learned article's id."""
    store = open_drafts(settings.data_dir)
    try:
        save_proposals(store, [printer_proposal()], APPROVED_AT)
        with closing(approval_log(settings)) as log:
            article = approve_draft(
                store, printer_proposal().draft_id, "dave", INTENTS, APPROVED_AT, log=log
            )
    finally:
        store.close()
    return article.id


def test_a_learned_article_answering_after_its_approval_shows_in_the_mart(
    settings: Settings,
) -> None:
    article_id = approve_printer_article(settings)
    runtime = make_runtime(settings)  # built after the approval: it answers with the article
    try:
        for user in ("E000030", "E000031"):
            Chat(runtime, user).say("the label printer prints blank labels")
    finally:
        runtime.close()
    connection = connect(settings.work_warehouse_path)
    assert ingest_events(settings.events_dir, connection).rows_quarantined == 0
    connection.close()

    result = build_warehouse(settings)  # a full build: models, data tests and unit tests

    assert result.success, result.failures
    rows = work_warehouse_rows(
        settings,
        "select day, article_id, answered, is_learned, approved_at, days_since_approval "
        "from marts.kpi_article_deflection_daily order by article_id",
    )
    learned = [row for row in rows if row[1] == article_id]
    assert learned == [
        (NOW.date(), article_id, 2, True, APPROVED_AT.replace(tzinfo=None), 1),
    ]
    assert all(not row[3] and row[4] is None for row in rows if row[1] != article_id)
