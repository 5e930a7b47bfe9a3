from pathlib import Path

import pytest
import yaml

from catalogue import CatalogueError, load_catalogue
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
    training = {
        t.lower().strip()
        for ts in yaml.safe_load((CATALOGUE / "examples.yml").read_text()).values()
        for t in ts
    }
    held_out = yaml.safe_load((PROJECT_ROOT / "data" / "eval" / "paraphrases.yml").read_text())
    assert not training & {t.lower().strip() for ts in held_out.values() for t in ts}


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
