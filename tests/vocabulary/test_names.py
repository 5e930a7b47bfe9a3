"""Display names: one mapping per vocabulary, naming every value, held to the written copies
(the dbt project's accepted values), and the intents named by the catalogue's labels."""

from __future__ import annotations

import polars as pl
import pytest

from catalogue import load_catalogue
from settings import Settings
from tests.vocabulary.test_vocabulary import dbt_accepted_values, values
from vocabulary import UNDETERMINED_LANGUAGE, Channel, Feedback, Language, Outcome, TicketStatus
from vocabulary.names import (
    BASELINE_SOURCE_NAMES,
    CHANNEL_NAMES,
    FEEDBACK_NAMES,
    LANGUAGE_NAMES,
    OUTCOME_NAMES,
    TICKET_STATUS_NAMES,
    display_name,
    intent_names,
    named,
)


@pytest.mark.parametrize(
    ("names", "vocabulary"),
    [
        (OUTCOME_NAMES, values(Outcome)),
        (CHANNEL_NAMES, values(Channel)),
        (FEEDBACK_NAMES, values(Feedback)),
        (TICKET_STATUS_NAMES, values(TicketStatus)),
        (BASELINE_SOURCE_NAMES, set(dbt_accepted_values()[("dim_intents", "baseline_source")])),
        (LANGUAGE_NAMES, values(Language) | {UNDETERMINED_LANGUAGE}),
        (LANGUAGE_NAMES, set(dbt_accepted_values()[("fct_interactions", "language")])),
    ],
)
def test_every_value_of_a_vocabulary_has_one_display_name(names, vocabulary: set[str]) -> None:
    assert set(names) == vocabulary
    shown = list(names.values())
    assert len(set(shown)) == len(shown)  # no two values read the same
    assert all(name[:1].isupper() and "_" not in name for name in shown)


def test_intents_are_named_by_the_catalogues_labels_capitalised() -> None:
    catalogue = load_catalogue(Settings().catalogue_dir)
    names = intent_names({intent.id: intent.label for intent in catalogue.intents.values()})
    assert names["vpn_issue"] == "Fix a VPN connection problem"  # "VPN" stays upper-case
    assert names["mfa_reset"] == "Reset your multi-factor authentication (MFA)"
    assert set(names) == set(catalogue.intents)
    assert len(set(names.values())) == len(names)


def test_a_frame_is_named_in_its_vocabulary_columns_only() -> None:
    frame = pl.DataFrame(
        {
            "intent": ["vpn_issue", "servicenow:network", None],
            "issue_type": ["servicenow:network", "vpn_issue", "vpn_issue"],
            "outcome": ["auto_resolved", "escalated", "pending"],
            "channel": ["teams", "web", "slack"],
            "baseline_source": ["catalogue_assumption", "history_intent", "none"],
            "language": ["de", "und", "en"],
            "department": ["eng", "answered", "web"],
            "interactions": [1, 2, 3],
        }
    )
    shown = named(frame, {"vpn_issue": "fix a VPN connection problem"})
    assert shown["intent"].to_list() == ["Fix a VPN connection problem", "servicenow:network", None]
    assert shown["issue_type"].to_list()[:2] == [
        "servicenow:network",
        "Fix a VPN connection problem",
    ]
    assert shown["outcome"].to_list() == ["Auto-resolved", "Escalated to a ticket", "Pending"]
    assert shown["channel"].to_list() == ["Microsoft Teams", "Web chat", "Slack"]
    assert shown["baseline_source"].to_list() == [
        "Catalogue assumption",
        "Company history",
        "No baseline",
    ]
    assert shown["language"].to_list() == ["German", "Undetermined", "English"]
    assert shown.select("department", "interactions").equals(
        frame.select("department", "interactions")
    )
    assert display_name("unknown_channel", CHANNEL_NAMES) == "unknown_channel"
