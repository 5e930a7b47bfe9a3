from pathlib import Path

import pytest

from catalogue import CatalogueError, load_catalogue, read_by_language
from settings import PROJECT_ROOT

CATALOGUE = PROJECT_ROOT / "data" / "catalogue"
REQUIRED = {
    "password_reset",
    "account_unlock",
    "mfa_reset",
    "vpn_issue",
    "access_request",
    "software_request",
    "email_issue",
    "printer_issue",
    "wifi_issue",
    "hardware_issue",
    "ticket_status",
    "human_handoff",
    "greeting",
    "thanks",
    "goodbye",
}


def test_catalogue_is_complete() -> None:
    catalogue = load_catalogue(CATALOGUE)
    assert set(catalogue.intents) >= REQUIRED
    assert len(catalogue.articles) >= 25
    for intent in catalogue.intents.values():
        assert len(catalogue.examples.get(intent.id, [])) >= 20, intent.id
        assert intent.support_tier in catalogue.costs["support_cost_per_tier"]
        if intent.support and intent.id not in ("human_handoff", "it_question"):
            assert intent.playbook_id or intent.article_id, intent.id


def test_held_out_paraphrases_are_not_in_the_training_examples() -> None:
    training = read_by_language(CATALOGUE / "examples")
    held_out = read_by_language(PROJECT_ROOT / "data" / "eval" / "paraphrases")
    assert set(held_out) == set(training) and "en" in training
    for language, by_intent in held_out.items():
        trained = {t.lower().strip() for texts in training[language].values() for t in texts}
        assert not trained & {t.lower().strip() for texts in by_intent.values() for t in texts}


def test_every_language_has_examples_of_every_intent() -> None:
    catalogue = load_catalogue(CATALOGUE)
    for language, by_intent in read_by_language(CATALOGUE / "examples").items():
        assert set(by_intent) == set(catalogue.intents), language
        assert all(len(texts) >= 10 for texts in by_intent.values()), language


def test_a_broken_link_fails_loudly(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, copy)
    text = (
        (copy / "intents.yml")
        .read_text()
        .replace("article: printer-troubleshooting", "article: nowhere")
    )
    (copy / "intents.yml").write_text(text)
    with pytest.raises(CatalogueError, match="nowhere"):
        load_catalogue(copy)
