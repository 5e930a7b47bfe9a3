"""Display names: how charts, tables and filters name the ids of the vocabularies (outcomes,
channels, feedback, ticket statuses, baseline sources, languages) and the catalogue's intents,
one mapping per vocabulary. Ids stay the data: queries, filters and CSV downloads keep them;
only what a reader sees is named.

Intents are catalogue data, not code, so their names come from the catalogue's labels (the
warehouse's `marts.dim_intents.intent_label`, or `Intent.label`), capitalised. Not imported by
`vocabulary` itself: this module needs polars, the engine does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import polars as pl

from vocabulary import UNDETERMINED_LANGUAGE, Channel, Feedback, Language, Outcome, TicketStatus

OUTCOME_NAMES: Mapping[str, str] = MappingProxyType(
    {
        Outcome.AUTO_RESOLVED: "Auto-resolved",
        Outcome.ANSWERED: "Answered",
        Outcome.ESCALATED: "Escalated to a ticket",
        Outcome.ABANDONED: "Abandoned",
        Outcome.UNRECOGNIZED: "Not understood",
        Outcome.PENDING: "Pending",
    }
)
CHANNEL_NAMES: Mapping[str, str] = MappingProxyType(
    {
        Channel.SLACK: "Slack",
        Channel.TEAMS: "Microsoft Teams",
        Channel.WEB: "Web chat",
        Channel.CLI: "Command line",
        Channel.API: "HTTP API",
        Channel.EMAIL: "E-mail",
        Channel.PROACTIVE: "Proactive (Unticket reached out)",
    }
)
FEEDBACK_NAMES: Mapping[str, str] = MappingProxyType(
    {Feedback.CONFIRMED: "Confirmed", Feedback.REJECTED: "Rejected"}
)
TICKET_STATUS_NAMES: Mapping[str, str] = MappingProxyType(
    {
        TicketStatus.NEW: "New",
        TicketStatus.IN_PROGRESS: "In progress",
        TicketStatus.ON_HOLD: "On hold",
        TicketStatus.RESOLVED: "Resolved",
        TicketStatus.CLOSED: "Closed",
    }
)
# The employee's language (`language` of the warehouse's fct_interactions and
# kpi_deflection_daily, whose accepted_values are these keys).
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        Language.EN: "English",
        Language.DE: "German",
        Language.ES: "Spanish",
        Language.FR: "French",
        UNDETERMINED_LANGUAGE: "Undetermined",
    }
)
# Where an intent's pre-automation baseline comes from (`baseline_source` of the warehouse's
# `dim_intents`, whose accepted_values are these keys).
BASELINE_SOURCE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "history_intent": "Company history",
        "history_all": "Company history (all tickets)",
        "catalogue_assumption": "Catalogue assumption",
        "none": "No baseline",
    }
)


def capitalised(label: str) -> str:
    """A label with its first letter upper-case and the rest as written ("fix a VPN
    connection problem" → "Fix a VPN connection problem")."""
    return label[:1].upper() + label[1:]


def intent_names(labels: Mapping[str, str]) -> dict[str, str]:
    """Intent id → display name, from the catalogue's labels (id → label)."""
    return {intent: capitalised(label) for intent, label in labels.items() if label}


def column_names(intent_labels: Mapping[str, str]) -> dict[str, Mapping[str, str]]:
    """Column → (id → display name), for every column that holds a vocabulary's ids (an
    issue type is an intent, or `source:category` where no intent matched: shown as is)."""
    intents = intent_names(intent_labels)
    return {
        "intent": intents,
        "issue_type": intents,
        "outcome": OUTCOME_NAMES,
        "channel": CHANNEL_NAMES,
        "feedback": FEEDBACK_NAMES,
        "baseline_source": BASELINE_SOURCE_NAMES,
        "language": LANGUAGE_NAMES,
    }


def display_name(value: str, names: Mapping[str, str]) -> str:
    """The display name of an id; an id the mapping does not know, as itself."""
    return names.get(value, value)


def named(frame: pl.DataFrame, intent_labels: Mapping[str, str]) -> pl.DataFrame:
    """The frame as a reader sees it: ids in its intent, issue_type, outcome, channel,
    feedback, baseline_source and language columns replaced by their display names (ids no
    mapping knows, and nulls, unchanged)."""
    return frame.with_columns(
        pl.col(column).replace({str(k): v for k, v in names.items()})
        for column, names in column_names(intent_labels).items()
        if column in frame.columns and frame.schema[column] == pl.String
    )
