"""A turn: everything the engine decides in answer to one message, collected before any of it
is acknowledged, so the whole turn reaches the event log in one durable write; the `Reply` it
ends with, or the `RequestError` that refuses the message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from resolver.conversation import Conversation
from resolver.events import Event, IdFactory, format_time, new_event
from resolver.identity import Credential

SMALL_TALK = frozenset({"greeting", "thanks", "goodbye"})
NOT_UNDERSTOOD = frozenset({None, "out_of_scope"})


class RequestError(ValueError):
    """A request the engine cannot accept; `status` is the HTTP status that describes it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    """What the engine answers to a message."""

    interaction_id: str
    employee_id: str | None
    intent: str | None
    confidence: float | None
    outcome: str
    state: str
    reply: str
    ticket_id: str | None = None
    approval_id: str | None = None
    options: list[str] = field(default_factory=list)
    language: str = "en"  # the language the reply is in (ISO 639-1)


@dataclass
class Turn:
    """The conversation being answered, the events and the words of the answer so far, and
    the credential of whoever the turn answers (None for the engine's own work: expiry)."""

    convo: Conversation
    now: datetime
    ids: IdFactory
    events: list[Event] = field(default_factory=list)
    says: list[str] = field(default_factory=list)
    touched: list[Conversation] = field(default_factory=list)
    credential: Credential | None = None

    def __post_init__(self) -> None:
        self.touched.append(self.convo)
        self._stamp = format_time(self.now)

    def emit(self, event_type: str, **fields: object) -> None:
        """Record an event about the current conversation."""
        self.events.append(
            new_event(
                event_type,
                event_id=self.ids(),
                occurred_at=self._stamp,
                interaction_id=self.convo.interaction_id,
                employee_id=self.convo.employee_id,
                channel=self.convo.channel,
                **fields,
            )
        )

    def say(self, text: str) -> None:
        """Add a paragraph to the reply."""
        if text:
            self.says.append(text.strip())

    def switch_to(self, convo: Conversation) -> None:
        """Continue the turn on another conversation (a new need in the same message)."""
        self.convo = convo
        self.touched.append(convo)

    def set_intent(self, intent: str, confidence: float | None) -> None:
        """Name the conversation's need; the first support intent wins over small talk."""
        if self.convo.intent in NOT_UNDERSTOOD or self.convo.intent in SMALL_TALK:
            self.convo.intent = intent
            self.convo.confidence = confidence
            if self.convo.outcome == "unrecognized":
                self.convo.outcome = None

    def record_outcome(self, outcome: str) -> None:
        """Set the conversation's outcome and log it."""
        self.convo.outcome = outcome
        self.emit(
            "outcome_recorded",
            outcome=outcome,
            intent=self.convo.intent,
            ticket_id=self.convo.ticket_id,
        )

    def close(self, reason: str) -> None:
        """End the conversation; one without an outcome gets the one that describes it."""
        convo = self.convo
        if convo.outcome is None:
            if convo.intent in NOT_UNDERSTOOD:
                self.record_outcome("unrecognized")
            elif convo.intent in SMALL_TALK:
                self.record_outcome("answered")
            else:
                self.record_outcome("abandoned")
        convo.state = "closed"
        self.emit(
            "interaction_closed",
            reason=reason,
            outcome=convo.outcome,
            intent=convo.intent,
            feedback=convo.feedback,
            turns=convo.turns,
        )

    def stamp(self) -> None:
        """Mark every touched conversation as active now."""
        for convo in self.touched:
            convo.last_activity = self._stamp

    def reply(self) -> Reply:
        """Build the reply for the conversation the turn ended on."""
        convo = self.convo
        return Reply(
            interaction_id=convo.interaction_id,
            employee_id=convo.employee_id,
            intent=convo.intent,
            confidence=None if convo.confidence is None else round(convo.confidence, 4),
            outcome=convo.outcome or "pending",
            state=convo.state,
            reply="\n\n".join(self.says),
            ticket_id=convo.ticket_id,
            approval_id=convo.approval_id,
            options=list(convo.options) if convo.state == "clarify" else [],
            language=convo.language,
        )
