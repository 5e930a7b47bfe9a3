"""Conversation state: where each open interaction stands, kept in the enterprise store so a
restart picks every conversation (and every pending approval) up where it left off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from resolver.connectors.embedded import EnterpriseStore
from resolver.events import format_time, parse_time
from vocabulary import DEFAULT_LANGUAGE

# States: new (no need understood yet), clarify (choosing between intents), need_entity (which
# app/group?), verify (waiting for a one-time code), approval (waiting on approvers), offer_ticket
# (asked whether to open a ticket), feedback (resolved; "did that fix it?"), closed.
OPEN_STATES = ("new", "clarify", "need_entity", "verify", "approval", "offer_ticket", "feedback")


@dataclass
class Conversation:
    """One interaction: one conversation about one need."""

    interaction_id: str
    user_key: str
    channel: str
    employee_id: str | None
    started_at: str
    last_activity: str
    state: str = "new"
    intent: str | None = None
    confidence: float | None = None
    request: str | None = None  # the words the need was understood from, redacted
    playbook: str | None = None
    entities: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    outcome: str | None = None
    feedback: str | None = None
    ticket_id: str | None = None
    approval_id: str | None = None
    verified: bool = False
    misunderstood: int = 0
    turns: int = 0
    transcript: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    language: str = DEFAULT_LANGUAGE.value  # ISO 639-1, what it answers in (resolver/language.py)

    @property
    def is_open(self) -> bool:
        """Tell whether the conversation still expects the employee."""
        return self.state != "closed"

    def idle_since(self) -> datetime:
        """Time of the last message or decision."""
        return parse_time(self.last_activity)


class ConversationStore:
    """Loads and saves conversations in the enterprise store."""

    def __init__(self, store: EnterpriseStore) -> None:
        self.store = store

    def get(self, interaction_id: str) -> Conversation | None:
        """Return one conversation by interaction id."""
        row = self.store.query_one(
            "select state from conversations where interaction_id = ?", interaction_id
        )
        return Conversation(**orjson.loads(row["state"])) if row else None

    def open_for(self, user_key: str, channel: str) -> Conversation | None:
        """Return the user's open conversation on a channel, if any."""
        row = self.store.query_one(
            "select state from conversations "
            "where user_key = ? and channel = ? and status = 'open' "
            "order by due_at desc limit 1",
            user_key,
            channel,
        )
        return Conversation(**orjson.loads(row["state"])) if row else None

    def language_of(self, user_key: str) -> str:
        """The language of the user's latest conversation (English if they have none): what
        the engine writes to them in when it writes first."""
        row = self.store.query_one(
            "select json_extract(state, '$.language') as language from conversations "
            "where user_key = ? order by due_at desc limit 1",
            user_key,
        )
        return (row["language"] if row else None) or DEFAULT_LANGUAGE.value

    def save(self, conversation: Conversation, due_at: datetime) -> None:
        """Store a conversation's state and when it times out if the employee says nothing."""
        self.store.execute(
            "insert into conversations values (?, ?, ?, ?, ?, ?) on conflict (interaction_id) "
            "do update set status = excluded.status, due_at = excluded.due_at, "
            "state = excluded.state",
            conversation.interaction_id,
            conversation.user_key,
            conversation.channel,
            "open" if conversation.is_open else "closed",
            format_time(due_at),
            orjson.dumps(vars(conversation)).decode(),
        )

    def due(self, now: datetime) -> list[Conversation]:
        """Return open conversations that have timed out by now."""
        rows = self.store.query(
            "select state from conversations where status = 'open' and due_at <= ?",
            format_time(now),
        )
        return [Conversation(**orjson.loads(row["state"])) for row in rows]
