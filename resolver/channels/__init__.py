"""Chat channel adapters (Slack in `slack.py`, Microsoft Teams in `teams.py`) and what they share.

Each adapter turns its platform's events into `InboundMessage`s for the engine and the engine's
replies into the platform's messages. `ChatBridge` is the part they have in common: it calls the
engine, turns a refused request into a sentence for the employee, and works out what else the
adapter has to deliver: buttons asking "did this fix it?", an approval to put in front of its
approvers, and the requester's update once an approver has decided.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from resolver.connectors.base import Approval, Person
from resolver.engine import InboundMessage, RequestError
from resolver.events import format_time
from resolver.identity import Credential
from resolver.messages import APPROVER_LANGUAGE, ENGLISH
from resolver.runtime import Runtime
from resolver.turn import Reply

_TRANSCRIPT_REPLY = "unticket: "
logger = logging.getLogger("unticket.channels")

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A thread-safe map that keeps only the `limit` most recently used entries."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the value stored under `key`, if it is still remembered."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Remember a value, forgetting the least recently used entry when full."""
        with self._lock:
            self._store(key, value)

    def first_time(self, key: K, value: V) -> bool:
        """Remember `key` and tell whether it was new (for de-duplicating deliveries)."""
        with self._lock:
            if key in self._items:
                return False
            self._store(key, value)
            return True

    def _store(self, key: K, value: V) -> None:
        """Store under the lock the caller holds."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.limit:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class ApprovalRequest:
    """A pending approval that the approvers should be asked about in chat."""

    approval_id: str
    summary: str
    approvers: tuple[Person, ...]


@dataclass(frozen=True)
class Answer:
    """What to post back for one message: the text, and what to attach or send besides."""

    text: str
    interaction_id: str | None = None
    feedback_for: str | None = None  # the interaction whose "did that fix it?" the reply asks
    opened: ApprovalRequest | None = None
    update: RequesterUpdate | None = None
    language: str = ENGLISH  # what the text is written in, for the buttons beside it


@dataclass(frozen=True)
class RequesterUpdate:
    """What the engine told the requester after the decision on their approval."""

    requester: Person
    interaction_id: str
    text: str
    feedback_for: str | None  # the interaction, when the update asks "did that fix it?"
    language: str = ENGLISH


@dataclass(frozen=True)
class Decision:
    """What became of an approver's click: a message for them, whether their buttons are
    spent (the decision was recorded, or there is nothing left to decide), and the update
    for the requester, if the approval is now settled."""

    message: str
    spent: bool
    update: RequesterUpdate | None = None


class ChatBridge:
    """The engine as a chat adapter sees it, for one channel ('slack', 'teams', ...). Every
    message and decision carries the channel's `credential`: the platform signed the request
    and named its user, so the user is proven to be who the platform says."""

    def __init__(self, runtime: Runtime, channel: str, credential: Credential) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.channel = channel
        self.credential = credential

    def text(self, key: str, language: str = ENGLISH, **fields: object) -> str:
        """One of the engine's messages (`resolver/messages.py`), for the adapter to show."""
        return self.engine.messages.text(key, language, **fields)

    def language_of(self, interaction_id: str) -> str:
        """The language an interaction is held in (English when it is not known)."""
        convo = self.engine.conversations.get(interaction_id)
        return convo.language if convo else ENGLISH

    def person(self, user_ref: str) -> Person | None:
        """Find the employee behind an employee id, username or e-mail."""
        return self.runtime.connectors.directory.find_person(user_ref)

    def message(self, user_ref: str, text: str, interaction_id: str | None = None) -> Answer:
        """Send what an employee wrote to the engine; a refusal becomes the answer's text."""
        try:
            return self._answer(user_ref, text, interaction_id)
        except RequestError as error:
            return Answer(str(error))

    def feedback(self, user_ref: str, interaction_id: str, fixed: bool) -> Answer:
        """Answer "did this fix it?" for the employee, as if they had typed yes or no."""
        try:
            return self._answer(user_ref, "yes" if fixed else "no", interaction_id)
        except RequestError as error:
            if error.status != 409:
                return Answer(str(error))
            language = self.language_of(interaction_id)
            return Answer(self.text("channel.already_closed", language), language=language)

    def _answer(self, user_ref: str, text: str, interaction_id: str | None) -> Answer:
        now = datetime.now(UTC)
        try:
            reply = self.engine.handle(
                InboundMessage(
                    user_ref, text, self.channel, interaction_id, credential=self.credential
                ),
                now,
            )
        except RequestError:
            raise
        except Exception:
            logger.exception("%s: the engine failed on a message", self.channel)
            return Answer(self.text("channel.sorry"))
        if not reply.interaction_id and reply.approval_id:  # an "approve APR-..." command
            return Answer(reply.reply, update=self._update_after(reply.approval_id))
        return Answer(
            reply.reply,
            reply.interaction_id,
            feedback_for=reply.interaction_id if reply.state == "feedback" else None,
            opened=self._opened(reply, now),
            language=reply.language,
        )

    def decide(self, approver_ref: str, approval_id: str, decision: str) -> Decision:
        """Record an approver's decision; never raises."""
        try:
            result = self.engine.decide_approval(
                approver_ref, approval_id, decision, self.credential
            )
        except RequestError as error:
            return Decision(str(error), spent=error.status in (404, 409))
        except Exception:
            logger.exception("%s: the engine failed on an approval decision", self.channel)
            return Decision(self.text("channel.sorry", APPROVER_LANGUAGE), spent=False)
        return Decision(result.message, spent=True, update=self._update_after(approval_id))

    def _opened(self, reply: Reply, now: datetime) -> ApprovalRequest | None:
        """The approval this very turn opened, if it did (a reply that only says the request
        is still waiting carries the same approval id, but an older creation time)."""
        if reply.state != "approval" or not reply.approval_id:
            return None
        approval = self.runtime.connectors.approvals.get(reply.approval_id)
        if approval is None or format_time(approval.created_at) != format_time(now):
            return None
        directory = self.runtime.connectors.directory
        approvers = tuple(
            person for person in map(directory.get_person, approval.approvers.values()) if person
        )
        return ApprovalRequest(approval.approval_id, self._summary(approval), approvers)

    def _summary(self, approval: Approval) -> str:
        """One sentence saying who asks for what, for the approvers."""
        directory = self.runtime.connectors.directory
        requester = directory.get_person(approval.requester_id)
        resource = self.runtime.connectors.resources.get_resource(
            approval.resource_type, approval.resource_id
        )
        who = requester.name if requester else approval.requester_id
        what = resource.name if resource else approval.resource_id
        if resource:
            privilege = self.engine.messages.term(
                "privilege", resource.privilege, APPROVER_LANGUAGE
            )
            what = f"{what} ({privilege})"
        return self.text(
            "approval.summary",
            APPROVER_LANGUAGE,
            requester=who,
            resource=what,
            approval_id=approval.approval_id,
        )

    def _update_after(self, approval_id: str) -> RequesterUpdate | None:
        """The requester's update once their approval is settled: the engine's last words in
        the conversation (the grant, or the refusal)."""
        approval = self.runtime.connectors.approvals.get(approval_id)
        if approval is None or approval.status not in ("approved", "denied"):
            return None
        convo = self.engine.conversations.get(approval.interaction_id)
        requester = self.runtime.connectors.directory.get_person(approval.requester_id)
        if convo is None or requester is None or not convo.transcript:
            return None
        last = convo.transcript[-1]
        if not last.startswith(_TRANSCRIPT_REPLY):
            return None
        return RequesterUpdate(
            requester,
            convo.interaction_id,
            last.removeprefix(_TRANSCRIPT_REPLY),
            feedback_for=convo.interaction_id if convo.state == "feedback" else None,
            language=convo.language,
        )
