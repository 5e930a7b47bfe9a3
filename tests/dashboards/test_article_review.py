"""The Topics page's article drafts to review, through Streamlit's AppTest: a reviewer edits,
approves and rejects drafts (recorded as "demo" in demo mode), an approval writes its
`article_approved` event once, and the approved article appears under "Learned articles"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from learning.drafts import get_draft, open_drafts, propose_drafts, save_proposals
from resolver.events import read_events
from settings import Settings, get_settings
from tests.conftest import copy_data_dir
from tests.dashboards.test_app import APP, published_data_dir
from tests.learning.test_drafts import AT, INTENTS, escalations


@pytest.fixture(autouse=True)
def loopback() -> Iterator[None]:
    """On 127.0.0.1, as `unticket dashboard` runs it (demo mode shows nothing beyond it)."""
    with patch_config_options({"server.address": "127.0.0.1"}):
        yield


@pytest.fixture
def settings(
    tmp_path_factory: pytest.TempPathFactory,
    trained_models: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """A copy of the dashboards' published data dir (so approvals stay in this test) with two
    pending drafts, printer and VPN, that every page and query reads."""
    data_dir = tmp_path / "data"
    copy_data_dir(published_data_dir(tmp_path_factory, trained_models), data_dir)
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    store = open_drafts(data_dir)
    save_proposals(store, propose_drafts(escalations(), INTENTS, seed=3), AT)
    store.close()
    yield get_settings()
    get_settings.cache_clear()


def topics_page() -> AppTest:
    test = AppTest.from_file(APP, default_timeout=60)
    test.switch_page("views/topics.py").run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def draft_ids(settings: Settings) -> dict[str, str]:
    """The pending drafts' ids by intent."""
    store = open_drafts(settings.data_dir)
    try:
        rows = store.execute("select intent, draft_id from article_drafts").fetchall()
    finally:
        store.close()
    return {row["intent"]: row["draft_id"] for row in rows}


def approvals_logged(settings: Settings) -> list[dict]:
    return [e for e in read_events(settings.events_dir) if e["event_type"] == "article_approved"]


def test_a_reviewer_edits_approves_and_rejects_drafts_on_the_topics_page(
    settings: Settings,
) -> None:
    ids = draft_ids(settings)
    printer, vpn = ids["printer_issue"], ids["vpn_issue"]
    test = topics_page()
    assert "No learned articles yet" in "\n".join(str(info.value) for info in test.info)

    test.text_input(key=f"title-{printer}").set_value("Labels print blank")
    test.text_area(key=f"steps-{printer}").set_value("1. Open the printer.\n2. Flip the roll.")
    test.button(key=f"edit-{printer}").click().run()
    assert [s.value for s in test.success] == ["Edited by demo."]
    edited = get_draft(open_drafts(settings.data_dir), printer)
    assert (edited.title, edited.steps, edited.edited_by) == (
        "Labels print blank",
        ("Open the printer.", "Flip the roll."),
        "demo",
    )
    assert approvals_logged(settings) == []

    test.button(key=f"approve-{printer}").click().run()
    assert not test.exception, [e.value for e in test.exception]
    assert test.success[0].value.startswith("Approved by demo: the engine answers with learned-")
    (event,) = approvals_logged(settings)
    assert (event["article_id"], event["draft_id"], event["approved_by"]) == (
        "learned-labels-print-blank",
        printer,
        "demo",
    )

    test.button(key=f"reject-{vpn}").click().run()
    assert test.success[0].value.startswith("Rejected by demo")
    store = open_drafts(settings.data_dir)
    assert [get_draft(store, i).status for i in (printer, vpn)] == ["approved", "rejected"]
    store.close()
    assert len(approvals_logged(settings)) == 1  # a rejection writes no event
    assert not [key for key in (f"approve-{printer}", f"approve-{vpn}") if _has_button(test, key)]

    # the "Learned articles" table, counts from the mart (no answers since the approval yet)
    (learned,) = [d.value for d in test.dataframe if "approved_by" in d.value.columns]
    assert list(learned["article_id"]) == ["learned-labels-print-blank"]
    assert list(learned["approved_by"]) == ["demo"]
    assert (learned["answered"][0], learned["deflected"][0], learned["confirmed"][0]) == (0, 0, 0)


def _has_button(test: AppTest, key: str) -> bool:
    return any(button.key == key for button in test.button)
