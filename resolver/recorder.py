"""Recording turns: one turn at a time, its conversations saved and its events on disk before
anyone is answered. The engine and the service desk both write through one `Recorder`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from resolver.connectors.embedded import EmbeddedApprovals
from resolver.conversation import Conversation, ConversationStore
from resolver.events import Event, EventLog
from resolver.turn import Reply, Turn


class Recorder:
    """Serialises turns and commits each one: conversations first, then the events."""

    def __init__(
        self,
        *,
        conversations: ConversationStore,
        approvals: EmbeddedApprovals,
        log: EventLog,
        approval_expiry: timedelta,
        feedback_window: timedelta,
        idle_timeout: timedelta,
    ) -> None:
        self.conversations = conversations
        self.approvals = approvals
        self.log = log
        self.approval_expiry = approval_expiry
        self.feedback_window = feedback_window
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()

    @contextmanager
    def durably(self) -> Iterator[None]:
        """Serialise a turn and batch its store writes into one commit; once the lock is
        released, wait for its events to be on disk. Waiting outside the lock lets the next
        turn run during the fsync."""
        try:
            with self._lock, self.conversations.store.batch():
                yield
        finally:
            self.log.sync()

    def commit(self, turn: Turn, keep_activity: bool = False) -> Reply:
        """Close a turn: log the reply, save every conversation it touched (as active now,
        unless `keep_activity`) and write its events; return the reply."""
        reply = turn.reply()
        if turn.says:
            turn.emit("reply_sent", text=reply.reply)
            turn.convo.transcript.append(f"unticket: {reply.reply}")
        if not keep_activity:
            turn.stamp()
        for convo in turn.touched:
            self.conversations.save(convo, self.due(convo))
        self.write(turn.events)
        return reply

    def write(self, events: list[Event]) -> None:
        """Commit the store's changes, then write the events that tell of them: a killed
        process never leaves an event describing a change the store does not have."""
        self.conversations.store.commit()
        self.log.append(events)

    def due(self, convo: Conversation) -> datetime:
        """When the conversation times out if nobody answers: its approval expires, its
        feedback window closes, or it goes idle."""
        if convo.state == "approval":
            approval = self.approvals.get(convo.approval_id or "")
            created = approval.created_at if approval else convo.idle_since()
            return created + self.approval_expiry
        wait = self.feedback_window if convo.state == "feedback" else self.idle_timeout
        return convo.idle_since() + wait
