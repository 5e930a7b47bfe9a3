"""Intent candidates from resolved escalations: proposed once from a small warehouse, reviewed
(CLI and dashboards, who and when recorded), and the retraining guard that keeps a better model,
refuses a worse one, records both, and points the engine at the kept one."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options
from typer.testing import CliRunner

from catalogue import load_catalogue
from learning.candidates import (
    ACCEPTED,
    REJECTED,
    CandidateError,
    candidates,
    decide,
    open_candidates,
    pending,
    propose_candidates,
    retrain_intents,
)
from models.intents import load_or_train
from models.kept_intents import POINTER, kept_for, load_current, read_pointer
from models.paraphrases import Labelled, held_out
from settings import PROJECT_ROOT, Settings, get_settings
from tests.conftest import make_runtime, make_settings
from tests.hostile import PHISHING
from unticket.cli import app

SEED_CSV = PROJECT_ROOT / "dbt" / "seeds" / "category_intent_map.csv"
DAY = datetime(2026, 9, 7, 9, 0)

# (interaction, outcome, resolution category, the employee's messages with what the engine
# understood of each: (text, intent, confidence); intent None: no classification)
CASES = [
    ("misread", "escalated", "Access / Password",
     [("account locked, please fix", "account_unlock", 0.95)]),
    ("greeted", "escalated", "Email / Mailbox",
     [("hiii", "greeting", 0.99), ("my inbox vanished overnight", "it_question", 0.41)]),
    ("unsure", "unrecognized", "Network / VPN", [("tunnel thing dead again", "vpn_issue", 0.2)]),
    ("right", "escalated", "Network / VPN", [("vpn is down", "vpn_issue", 0.97)]),
    ("unmapped", "escalated", "No fault found", [("something weird", "wifi_issue", 0.3)]),
    ("referred", "escalated", "Referred elsewhere", [("book me a flight", "it_question", 0.5)]),
    ("handoff", "escalated", "Hardware / Laptop", [("need to talk to a human", None, None)]),
    ("known", "escalated", "Access / Password", [("Reset my password PLEASE", "it_question", 0.3)]),
    ("answered", "answered", "Access / Password", [("pwd gone", "it_question", 0.3)]),
]  # fmt: skip


def small_warehouse(path: Path) -> None:
    """The tables candidates are read from, with one interaction per case of `CASES`."""
    db = duckdb.connect(str(path))
    db.execute("""
        create schema raw; create schema marts; create schema reference;
        create table reference.category_intent_map (source varchar, category varchar, intent varchar);
        create table marts.dim_intents (intent varchar, is_small_talk boolean);
        create table marts.fct_tickets (ticket_id varchar, source varchar,
            resolution_category varchar, resolved_at timestamp);
        create table marts.fct_interactions (interaction_id varchar, ticket_id varchar,
            language varchar, intent varchar, outcome varchar, started_at timestamp);
        create table raw.events (event_id varchar, event_type varchar, occurred_at timestamp,
            interaction_id varchar, intent varchar, confidence double, turn integer, text varchar);
    """)  # fmt: skip
    with SEED_CSV.open(encoding="utf-8") as handle:
        rows = [(r["source"], r["category"], r["intent"]) for r in csv.DictReader(handle)]
    db.executemany("insert into reference.category_intent_map values (?, ?, ?)", rows)
    db.execute("insert into marts.dim_intents values ('greeting', true), ('vpn_issue', false)")
    for number, (interaction, outcome, category, said) in enumerate(CASES):
        at, ticket = DAY + timedelta(hours=number), f"INC{number:07d}"
        final = "human_handoff" if said[0][1] is None else said[-1][1]
        db.execute("insert into marts.fct_tickets values (?, 'unticket', ?, ?)",
                   [ticket, category, at + timedelta(hours=2)])  # fmt: skip
        db.execute("insert into marts.fct_interactions values (?, ?, 'en', ?, ?, ?)",
                   [interaction, ticket, final, outcome, at])  # fmt: skip
        for turn, (text, intent, confidence) in enumerate(said, start=1):
            when = at + timedelta(minutes=turn)
            db.execute("insert into raw.events values (?, 'message_received', ?, ?, null, null, ?, ?)",
                       [f"{interaction}-m{turn}", when, interaction, turn, text])  # fmt: skip
            if intent is not None:
                db.execute("insert into raw.events values (?, 'intent_detected', ?, ?, ?, ?, null, null)",
                           [f"{interaction}-d{turn}", when, interaction, intent, confidence])  # fmt: skip
    db.close()


@pytest.fixture
def settings(tmp_path: Path, trained_models: Path) -> Settings:
    """Settings on a fresh data dir whose working warehouse is the small one."""
    built = make_settings(tmp_path / "data", trained_models)
    built.work_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    small_warehouse(built.work_warehouse_path)
    return built


@pytest.fixture
def store(settings: Settings) -> Iterator[sqlite3.Connection]:
    opened = open_candidates(settings.data_dir)
    yield opened
    opened.close()


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(settings.work_warehouse_path))
    yield connection
    connection.close()


def propose(settings: Settings, store: sqlite3.Connection) -> int:
    connection = duckdb.connect(str(settings.work_warehouse_path), read_only=True)
    try:
        return propose_candidates(settings, connection, store)
    finally:
        connection.close()


def test_a_misunderstood_resolved_escalation_is_proposed_once(
    settings: Settings, store: sqlite3.Connection
) -> None:
    assert propose(settings, store) == 3
    proposed = {c.interaction_id: c for c in pending(store)}
    assert set(proposed) == {"misread", "greeted", "unsure"}
    misread = proposed["misread"]
    assert (misread.text, misread.intent, misread.ticket_id) == (
        "account locked, please fix", "password_reset", "INC0000000",
    )  # fmt: skip
    assert (misread.engine_intent, misread.engine_confidence) == ("account_unlock", 0.95)
    assert "Access / Password" in misread.evidence and "account_unlock" in misread.evidence
    # the request after a greeting, and a right intent below act_confidence
    assert proposed["greeted"].text == "my inbox vanished overnight"
    assert proposed["greeted"].intent == "email_issue"
    assert proposed["unsure"].intent == "vpn_issue"
    assert propose(settings, store) == 0
    assert len(candidates(store, status=None)) == 3


def test_a_rejected_candidate_never_returns(settings: Settings, store: sqlite3.Connection) -> None:
    propose(settings, store)
    misread = next(c for c in pending(store) if c.interaction_id == "misread")
    decide(store, [misread.candidate_id], REJECTED, "alice")
    assert propose(settings, store) == 0
    assert [c.interaction_id for c in candidates(store, REJECTED)] == ["misread"]
    assert "misread" not in {c.interaction_id for c in pending(store)}


def test_unknown_ids_and_empty_reviewers_decide_nothing(
    settings: Settings, store: sqlite3.Connection
) -> None:
    propose(settings, store)
    with pytest.raises(CandidateError, match="no candidate with id 99"):
        decide(store, [1, 99], ACCEPTED, "alice")
    with pytest.raises(CandidateError, match="reviewer"):
        decide(store, [1], ACCEPTED, " ")
    assert len(pending(store)) == 3


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Settings]:
    """Point the CLI and the dashboards at the test's data dir (UNTICKET_DATA_DIR)."""
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_the_cli_review_lists_accepts_and_rejects_recording_who_and_when(
    point_at: Settings, store: sqlite3.Connection
) -> None:
    propose(point_at, store)
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "review", "--intent", "vpn_issue"])
    assert listed.exit_code == 0, listed.output
    assert "tunnel" in listed.output and "1 candidate examples" in listed.output
    ids = {c.interaction_id: c.candidate_id for c in pending(store)}
    decided = runner.invoke(
        app, ["models", "review", "--accept", f"{ids['misread']},{ids['unsure']}",
              "--reject", str(ids["greeted"]), "--as", "alice"],
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert "2 accepted, 1 rejected by alice; 0 still pending" in decided.output
    every = {c.interaction_id: c for c in candidates(store, status=None)}
    assert every["misread"].status == ACCEPTED and every["greeted"].status == REJECTED
    assert {c.decided_by for c in every.values()} == {"alice"}
    assert all(datetime.fromisoformat(c.decided_at or "") for c in every.values())
    refused = runner.invoke(app, ["models", "review", "--accept", "x1"])
    assert refused.exit_code == 2 and "not a candidate id" in refused.output


def test_accept_all_shown_accepts_what_the_filters_show(
    point_at: Settings, store: sqlite3.Connection
) -> None:
    propose(point_at, store)
    result = CliRunner().invoke(
        app, ["models", "review", "--intent", "email_issue", "--accept-all-shown", "--as", "bob"]
    )
    assert result.exit_code == 0, result.output
    assert [(c.interaction_id, c.decided_by) for c in candidates(store, ACCEPTED)] == [
        ("greeted", "bob")
    ]


def insert_candidates(store: sqlite3.Connection, cases: list[Labelled], prefix: str) -> list[int]:
    """Put labelled texts in the store as pending candidates; return their ids."""
    for number, case in enumerate(cases):
        store.execute(
            "insert into intent_candidates (interaction_id, ticket_id, language, text, intent, "
            "resolution_category, requested_at, proposed_at) values (?, ?, ?, ?, ?, 'x', ?, ?)",
            [f"{prefix}{number}", f"T{number}", case.language, case.text, case.intent,
             DAY.isoformat(), DAY.isoformat()],
        )  # fmt: skip
    return [c.candidate_id for c in pending(store) if c.interaction_id.startswith(prefix)]


def model_runs(warehouse: duckdb.DuckDBPyConnection) -> list[tuple[str, dict]]:
    rows = warehouse.execute(
        "select run_id, metrics from ops.model_runs where model = 'intents' order by recorded_at"
    ).fetchall()
    return [(run_id, json.loads(metrics)) for run_id, metrics in rows]


def test_the_guard_keeps_a_better_model_refuses_a_worse_one_and_records_both(
    settings: Settings, store: sqlite3.Connection, warehouse: duckdb.DuckDBPyConnection
) -> None:
    catalogue = load_catalogue(settings.catalogue_dir)
    current = load_or_train(catalogue.examples, settings.models_dir)
    english = [case for case in held_out() if case.language == "en"]
    missed = [
        case
        for case, intent in zip(
            english, current.predict_many([c.text for c in english]), strict=True
        )
        if intent != case.intent
    ]
    assert len(missed) >= 3
    decide(store, insert_candidates(store, missed, "good"), ACCEPTED, "alice")
    better = retrain_intents(settings, warehouse, store, "run-1", cases=missed)
    assert better.kept is True
    assert better.candidate.accuracy > better.current.accuracy  # type: ignore[union-attr]
    kept = kept_for(catalogue.examples, settings.models_dir)
    assert kept is not None and kept.training_examples == len(missed)
    assert retrain_intents(settings, warehouse, store, "run-2", cases=missed).kept is None

    printers = [case for case in english if case.intent == "password_reset"]
    wrong = [Labelled(case.text, case.language, "printer_issue") for case in printers]
    decide(store, insert_candidates(store, wrong, "bad"), ACCEPTED, "mallory")
    worse = retrain_intents(settings, warehouse, store, "run-3", cases=printers + missed)
    assert worse.kept is False
    assert read_pointer(settings.models_dir) == kept  # the better model stays
    runs = model_runs(warehouse)
    assert [(run_id, metrics["kept"]) for run_id, metrics in runs] == [
        ("run-1", True), ("run-3", False),
    ]  # fmt: skip
    assert runs[1][1]["candidate"]["macro_f1"] < runs[1][1]["current"]["macro_f1"]


def test_the_runtime_loads_the_kept_model_and_only_for_its_catalogue(
    settings: Settings, store: sqlite3.Connection, warehouse: duckdb.DuckDBPyConnection
) -> None:
    taught = Labelled("the zorblax flux capacitor hums", "en", "printer_issue")
    decide(store, insert_candidates(store, [taught] * 1, "teach"), ACCEPTED, "alice")
    assert retrain_intents(settings, warehouse, store, "run-1", cases=[taught]).kept
    runtime = make_runtime(settings)
    try:
        classifier = runtime.engine.understander.classifier
        assert classifier.predict(taught.text).intent == "printer_issue"
    finally:
        runtime.close()
    pointer = settings.models_dir / POINTER
    pointer.write_text(
        pointer.read_text().replace('"catalogue_fingerprint": "', '"catalogue_fingerprint": "x')
    )
    catalogue = load_catalogue(settings.catalogue_dir)
    assert kept_for(catalogue.examples, settings.models_dir) is None
    fallback = load_current(catalogue.examples, settings.models_dir)
    assert fallback.predict(taught.text).intent != "printer_issue"


@pytest.fixture
def loopback() -> Iterator[None]:
    with patch_config_options({"server.address": "127.0.0.1"}):
        yield


def learning_page() -> AppTest:
    test = AppTest.from_file(str(PROJECT_ROOT / "dashboards" / "app.py"), default_timeout=60)
    test.switch_page("views/learning.py").run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def test_the_learning_page_shows_escaped_candidates_and_records_an_accept(
    point_at: Settings, store: sqlite3.Connection, loopback: None
) -> None:
    propose(point_at, store)
    hostile = Labelled(PHISHING, "en", "phishing_report")
    insert_candidates(store, [hostile], "hostile")
    test = learning_page()
    shown = [t.value for t in test.text]
    assert PHISHING in shown  # plain text: nothing in it renders, links or runs
    assert all(PHISHING not in m.value for m in [*test.markdown, *test.caption])
    first = pending(store)[0]
    test.button(key=f"accept-{first.candidate_id}").click().run()
    assert not test.exception
    decided = next(c for c in candidates(store, ACCEPTED))
    assert (decided.candidate_id, decided.decided_by) == (first.candidate_id, "demo")
    assert any("1 accepted by demo" in s.value for s in test.success)
