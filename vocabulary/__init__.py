"""The product's vocabularies, defined once: outcomes, feedback, channels, ticket statuses,
languages and event types, the values the event log carries and every consumer reads.

A top-level package of its own rather than a module of `catalogue/`: the catalogue is data read
from `data/`, these are the code's own names, and this package imports nothing from the project
so the engine, the pipelines, the dashboards and the tests can all import it (no cycle, no
scikit-learn). Places that cannot import Python keep a written copy that a test holds equal to
these enums: docs/events.md and the dbt projects' `accepted_values` (tests/test_vocabulary.py).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What became of an interaction (the `outcome` of its last `outcome_recorded` event)."""

    AUTO_RESOLVED = "auto_resolved"  # a playbook action completed
    ANSWERED = "answered"  # knowledge or a lookup answered the need
    ESCALATED = "escalated"  # a ticket was opened, or the report linked to a major incident
    ABANDONED = "abandoned"  # the employee left before any resolution
    UNRECOGNIZED = "unrecognized"  # the need was never understood and nobody escalated
    # Not in the event log: no outcome yet (the API's reply to a turn that settled nothing, and
    # fct_interactions for an interaction still open when the warehouse was built).
    PENDING = "pending"


# The outcomes the event log records (outcome_recorded, interaction_closed): all but pending.
RECORDED_OUTCOMES: tuple[Outcome, ...] = tuple(o for o in Outcome if o is not Outcome.PENDING)


class Feedback(StrEnum):
    """Whether the employee said the resolution worked (no feedback: null)."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Channel(StrEnum):
    """Where an interaction takes place."""

    SLACK = "slack"
    TEAMS = "teams"
    WEB = "web"
    CLI = "cli"
    API = "api"
    EMAIL = "email"
    PROACTIVE = "proactive"  # interactions the system starts itself; never sent in from outside


# The `channel` of events the service desk writes about a ticket (`ticket_status_changed`): the
# desk moved it, not an employee in a channel, so it is no Channel. Also the channel of
# `article_approved`: the desk's reviewer approved a drafted article.
SERVICE_DESK = "service_desk"


class TicketStatus(StrEnum):
    """The life cycle of a ticket, the product's own names (each ITSM's are mapped onto them)."""

    NEW = "new"  # opened, nobody working on it yet
    IN_PROGRESS = "in_progress"  # someone is working on it
    ON_HOLD = "on_hold"  # waiting on the employee or a third party
    RESOLVED = "resolved"  # fixed, may still be reopened
    CLOSED = "closed"  # finished (also cancelled or declined)


# A ticket is finished once resolved or closed: it leaves the service desk's open queue.
FINISHED_TICKET_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


# Not a ticket status: the `status` of the `ticket_status_changed` event written when a ticket
# queued while the ITSM was unreachable has been filed in it (its `ticket_id` the ITSM's id,
# `provisional_ticket_id` the `Q-…` id it had until then). The ticket itself is `new` there.
FILED = "filed"


class Language(StrEnum):
    """The languages the engine understands and answers in (ISO 639-1): the `language` of an
    interaction_started event, the employee's language as the engine detected it."""

    EN = "en"
    DE = "de"
    ES = "es"
    FR = "fr"


# The language of interactions logged before events carried one: they were all in English.
DEFAULT_LANGUAGE = Language.EN
# Not a language the engine speaks: the warehouse's `language` of an interaction whose event
# carried a value that is none of Language's (ISO 639-2's code for "undetermined").
UNDETERMINED_LANGUAGE = "und"


class EventType(StrEnum):
    """The kinds of event the engine writes to the event log (docs/events.md)."""

    INTERACTION_STARTED = "interaction_started"
    MESSAGE_RECEIVED = "message_received"
    INTENT_DETECTED = "intent_detected"
    CLARIFICATION_REQUESTED = "clarification_requested"
    VERIFICATION_REQUESTED = "verification_requested"
    VERIFICATION_CHECKED = "verification_checked"
    REQUEST_REFUSED = "request_refused"
    SECURITY_HOLD = "security_hold"
    ACTION_EXECUTED = "action_executed"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_DECIDED = "approval_decided"
    KNOWLEDGE_ANSWERED = "knowledge_answered"
    TICKET_OPENED = "ticket_opened"
    TICKET_STATUS_CHANGED = "ticket_status_changed"
    REPLY_SENT = "reply_sent"
    FEEDBACK_RECEIVED = "feedback_received"
    OUTCOME_RECORDED = "outcome_recorded"
    INTERACTION_CLOSED = "interaction_closed"
    LLM_CALLED = "llm_called"  # the optional LLM provider was asked (a skipped call is not)
    ARTICLE_APPROVED = "article_approved"  # a reviewer approved a drafted knowledge article


__all__ = [
    "DEFAULT_LANGUAGE",
    "FILED",
    "FINISHED_TICKET_STATUSES",
    "RECORDED_OUTCOMES",
    "SERVICE_DESK",
    "UNDETERMINED_LANGUAGE",
    "Channel",
    "EventType",
    "Feedback",
    "Language",
    "Outcome",
    "TicketStatus",
]
