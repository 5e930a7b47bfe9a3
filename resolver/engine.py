"""The resolution engine: a message in, a resolution (or a clear next step) out.

`Engine.handle` finds the employee's open conversation, understands the message in the light of
where the conversation stands, decides and acts through `PlaybookRunner`, and writes every
event of the turn durably to the event log (through its `Recorder`) before it returns the reply.
The service desk's operations (approvals, ticket updates, the ticket queue, expiry) are the
`ServiceDesk`'s; the engine hands them on, so every caller has one entry point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from catalogue import Catalogue, Intent
from redaction import redact, redact_code, redact_user_ref
from resolver.connectors.base import Resolution
from resolver.connectors.queued import QueuedTicket
from resolver.conversation import Conversation, ConversationStore
from resolver.events import Event, EventLog, IdFactory, format_time, new_event, random_ids
from resolver.identity import SYSTEM, Credential
from resolver.knowledge import KnowledgeBase
from resolver.known_outages import KnownOutage, KnownOutages
from resolver.language import LanguageDetector
from resolver.llm import LlmProvider
from resolver.messages import Messages
from resolver.playbooks import Connectors, PlaybookRunner
from resolver.recorder import Recorder
from resolver.routing import Router
from resolver.service_desk import ApprovalResult, ServiceDesk, SyncSummary
from resolver.turn import SMALL_TALK, Reply, RequestError, Turn
from resolver.understanding import (
    Understander,
    Understanding,
    asks_for_human,
    choice,
    one_time_code,
    yes_or_no,
)
from resolver.verification import CodesOnHoldError, OneTimeCodes
from settings import Settings
from vocabulary import DEFAULT_LANGUAGE, Channel

PROACTIVE = Channel.PROACTIVE.value  # the channel of interactions the system starts itself
CHANNELS = frozenset(channel.value for channel in Channel)
MAX_TEXT = 4000
_APPROVAL_COMMAND = re.compile(r"^\s*(approve|deny|reject)\s+(APR-[0-9A-F]{8})\b", re.IGNORECASE)
HANDOFF = "human_handoff"


@dataclass(frozen=True)
class InboundMessage:
    """A chat message, normalised by whichever channel adapter received it: `user` is who the
    `credential` proved is writing (or, for an integration's key, who it speaks for)."""

    user: str
    text: str
    channel: str = "api"
    interaction_id: str | None = None
    credential: Credential = field(kw_only=True)


class Engine:
    """Understands, decides, acts, and records every step."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalogue: Catalogue,
        understander: Understander,
        knowledge: KnowledgeBase,
        connectors: Connectors,
        conversations: ConversationStore,
        codes: OneTimeCodes,
        log: EventLog,
        ids: IdFactory = random_ids,
        router: Router | None = None,
        language: LanguageDetector | None = None,
        llm: LlmProvider | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.understander = understander
        self.knowledge = knowledge
        self.connectors = connectors
        self.conversations = conversations
        self.codes = codes
        self.log = log
        self.ids = ids
        self.language = language or LanguageDetector(catalogue.examples_by_language)
        self.llm = llm  # the optional LLM provider (None: off, the default)
        self.messages = Messages(catalogue)
        self.playbooks = PlaybookRunner(
            catalogue, connectors, codes, ids, router, self.messages, llm
        )
        self.outages = KnownOutages(conversations.store)
        self.recorder = Recorder(
            conversations=conversations,
            approvals=connectors.approvals,
            log=log,
            approval_expiry=timedelta(days=catalogue.policy["approval_expiry_days"]),
            feedback_window=timedelta(minutes=settings.feedback_window_minutes),
            idle_timeout=timedelta(minutes=settings.idle_timeout_minutes),
        )
        self.service_desk = ServiceDesk(
            catalogue=catalogue,
            connectors=connectors,
            conversations=conversations,
            playbooks=self.playbooks,
            outages=self.outages,
            recorder=self.recorder,
            ids=ids,
        )

    # -- entry points -----------------------------------------------------------------------

    def handle(self, message: InboundMessage, now: datetime | None = None) -> Reply:
        """Answer one message; its events are on disk before this returns."""
        now = now or datetime.now(UTC)
        text = _validate(message)
        command = _APPROVAL_COMMAND.match(text)
        if command:
            decision = "approved" if command[1].lower() == "approve" else "denied"
            result = self.decide_approval(
                message.user, command[2], decision, message.credential, now
            )
            return Reply(
                interaction_id="",
                employee_id=None,
                intent=None,
                confidence=None,
                outcome="pending",
                state="closed",
                reply=result.message,
                approval_id=result.approval_id,
            )
        with self.recorder.durably():
            convo, opening = self._conversation_for(message, text, now)
            turn = Turn(convo, now, self.ids, events=opening, credential=message.credential)
            self._receive(turn, text, message.user)
            self._dispatch(turn, text)
            return self.recorder.commit(turn)

    def start_proactive(
        self,
        employee_id: str,
        intent: str,
        opener: str,
        trigger: dict[str, str],
        now: datetime,
        language: str = DEFAULT_LANGUAGE.value,
    ) -> Reply:
        """Start an interaction on the system's initiative, on the `proactive` channel.

        `trigger` (what prompted it) is logged with `interaction_started`. The intent is handled
        as if the employee had asked (identity checks included, and linked to a known outage
        when there is one) and the first message, `opener` (written in `language`) followed by
        the handling's words in the same language, is delivered to the employee through the
        notifier. Their answers come back as ordinary messages on the `proactive` channel.
        """
        with self.recorder.durably():
            message = InboundMessage(employee_id, opener, PROACTIVE, credential=SYSTEM)
            convo = self._new_conversation(employee_id, employee_id, message, now, language)
            turn = Turn(convo, now, self.ids, credential=SYSTEM)
            turn.emit(
                "interaction_started",
                user_ref=employee_id,
                trigger=trigger,
                auth_method=SYSTEM.method,
                language=convo.language,
            )
            turn.emit(
                "intent_detected",
                intent=intent,
                confidence=1.0,
                alternatives=[],
                entities={},
                source=PROACTIVE,
            )
            turn.set_intent(intent, 1.0)
            turn.say(opener)
            self._act(turn, self.catalogue.intent(intent), "", check_target=False)
            reply = self.recorder.commit(turn)
            subject = _sentence_case(self.messages.label(intent, convo.language))
            self.connectors.notifier.deliver(employee_id, subject, reply.reply, now)
            return reply

    # -- the service desk's operations (see `ServiceDesk`) ------------------------------------

    def decide_approval(
        self,
        approver_ref: str,
        approval_id: str,
        decision: str,
        credential: Credential,
        now: datetime | None = None,
    ) -> ApprovalResult:
        """Record an approver's decision: `ServiceDesk.decide_approval`."""
        return self.service_desk.decide_approval(
            approver_ref, approval_id, decision, credential, now
        )

    def update_ticket(
        self,
        ticket_id: str,
        status: str,
        now: datetime | None = None,
        resolution: Resolution | None = None,
    ) -> None:
        """Record a ticket's status change: `ServiceDesk.update_ticket`."""
        self.service_desk.update_ticket(ticket_id, status, now, resolution)

    def sync_tickets(self, now: datetime | None = None) -> SyncSummary:
        """Record the status changes made in the ticketing system: `ServiceDesk.sync_tickets`."""
        return self.service_desk.sync_tickets(now)

    def file_queued_tickets(self, now: datetime | None = None) -> list[QueuedTicket]:
        """File the tickets queued while the ITSM was down: `ServiceDesk.file_queued_tickets`."""
        return self.service_desk.file_queued_tickets(now)

    def expire(self, now: datetime | None = None) -> int:
        """Close conversations nobody answered in time: `ServiceDesk.expire`."""
        return self.service_desk.expire(now)

    # -- turn mechanics ---------------------------------------------------------------------

    def _conversation_for(
        self, message: InboundMessage, text: str, now: datetime
    ) -> tuple[Conversation, list]:
        """The conversation a message belongs to (a new one when none is open or the open one
        timed out) and the events of opening it; its language follows the message's."""
        person = self.connectors.directory.find_person(message.user)
        user_key = person.employee_id if person else f"unknown:{message.user.strip().lower()}"
        events: list = []
        if message.interaction_id:
            convo = self.conversations.get(message.interaction_id)
            if convo is None or convo.user_key != user_key:
                raise RequestError(
                    f"no interaction {message.interaction_id} for this user", status=404
                )
            if not convo.is_open:
                raise RequestError(
                    f"interaction {message.interaction_id} is closed; send without interaction_id "
                    "to start a new one",
                    status=409,
                )
            convo.language = self.language.detect(text, convo.language)
            return convo, events
        convo = self.conversations.open_for(user_key, message.channel)
        if convo is not None and self.recorder.due(convo) <= now:
            turn = Turn(convo, now, self.ids)
            if convo.state == "approval":
                self.service_desk.expire_approval(turn)
            else:
                turn.close("idle_timeout")
            self.conversations.save(convo, now)
            events = turn.events
            convo = None
        if convo is None:
            employee_id = person.employee_id if person else None
            language = self.language.detect(text)
            convo = self._new_conversation(user_key, employee_id, message, now, language)
            events.append(self._started_event(convo, message.user, now, message.credential))
        else:
            convo.language = self.language.detect(text, convo.language)
        return convo, events

    def _new_conversation(
        self,
        user_key: str,
        employee_id: str | None,
        message: InboundMessage,
        now: datetime,
        language: str,
    ) -> Conversation:
        stamp = format_time(now)
        return Conversation(
            interaction_id=self.ids(),
            user_key=user_key,
            channel=message.channel,
            employee_id=employee_id,
            started_at=stamp,
            last_activity=stamp,
            language=language,
        )

    def _started_event(
        self, convo: Conversation, user_ref: str, now: datetime, credential: Credential
    ) -> Event:
        return new_event(
            "interaction_started",
            event_id=self.ids(),
            occurred_at=now,
            interaction_id=convo.interaction_id,
            employee_id=convo.employee_id,
            channel=convo.channel,
            user_ref=redact_user_ref(user_ref),
            auth_method=credential.method,
            language=convo.language,
        )

    def _receive(self, turn: Turn, text: str, user_ref: str) -> None:
        convo = turn.convo
        logged = redact_code(text) if convo.state == "verify" else redact(text)
        convo.turns += 1
        convo.transcript.append(f"employee: {logged}")
        turn.emit("message_received", text=logged, turn=convo.turns)

    def _restart(self, turn: Turn, text: str, understanding: Understanding | None = None) -> None:
        """The employee moved on to a new need: close this conversation, open the next
        (`understanding` is the message's, when it is already known)."""
        turn.close("new_request")
        old = turn.convo
        credential = turn.credential
        assert credential is not None  # a restart answers a message, which has a sender
        message = InboundMessage(old.user_key, text, old.channel, credential=credential)
        # the message's language was taken into account when it arrived (`_conversation_for`)
        convo = self._new_conversation(
            old.user_key, old.employee_id, message, turn.now, old.language
        )
        turn.switch_to(convo)
        turn.events.append(self._started_event(convo, old.user_key, turn.now, credential))
        self._receive(turn, text, old.user_key)
        self._understand_new(turn, text, understanding)

    # -- conversation states ----------------------------------------------------------------

    def _dispatch(self, turn: Turn, text: str) -> None:
        state = turn.convo.state
        if state != "verify" and asks_for_human(text):
            turn.set_intent("human_handoff", 1.0)
            self.playbooks.escalate(turn, "user_request")
            return
        handler = {
            "new": self._understand_new,
            "clarify": self._on_clarify,
            "need_entity": self._on_entity,
            "verify": self._on_code,
            "approval": self._on_waiting_approval,
            "offer_ticket": self._on_offer_ticket,
            "feedback": self._on_feedback,
        }[state]
        handler(turn, text)

    def _understand_new(
        self, turn: Turn, text: str, understanding: Understanding | None = None
    ) -> None:
        understanding = understanding or self.understander.understand(text)
        if self.llm is not None:  # what the intent model is unsure of goes to the LLM too
            understanding = self.understander.reconsider(text, understanding)
        if understanding.llm_call is not None:
            turn.emit("llm_called", **understanding.llm_call.event_fields())
        turn.emit(
            "intent_detected",
            intent=understanding.intent,
            confidence=round(understanding.confidence, 4),
            alternatives=[[i, round(p, 4)] for i, p in understanding.alternatives],
            entities={e.type: e.id for e in understanding.entities},
            **({"source": understanding.source} if understanding.source else {}),
        )
        if understanding.confidence >= self.settings.act_confidence:
            self._start(turn, understanding, text)
        elif understanding.confidence >= self.settings.clarify_confidence and self._clarify(
            turn, understanding
        ):
            turn.convo.facts["request"] = redact(text)
        else:
            self._fallback(turn, text)

    def _start(self, turn: Turn, understanding: Understanding, text: str) -> None:
        intent = self.catalogue.intent(understanding.intent)
        kind = intent.handling_kind
        if kind == "small_talk":
            self._small_talk(turn, intent.id)
            return
        if kind == "none":
            self._not_understood(turn)
            return
        current = self.catalogue.intents.get(turn.convo.intent or "")
        if current and current.support and current.id != intent.id:
            self._restart(turn, text)
            return
        turn.set_intent(intent.id, understanding.confidence)
        if intent.support and turn.convo.request is None:
            turn.convo.request = redact(text)
        for entity in understanding.entities:
            turn.convo.entities.setdefault(entity.type, entity.id)
        self._act(turn, intent, text)

    def _act(self, turn: Turn, intent: Intent, text: str, check_target: bool = True) -> None:
        """Handle a support need as the catalogue says, unless it is part of a known outage:
        then it is linked to the outage's incident."""
        outage = self._known_outage(turn.convo, intent.id)
        if outage is not None:
            message = self._text(turn, "known_outage", ticket_id=outage.ticket_id)
            self.playbooks.link_to_incident(turn, outage.ticket_id, message)
            return
        kind = intent.handling_kind
        if kind == "playbook":
            self.playbooks.run(turn, intent.playbook_id or "", text, check_target)
        elif kind == "article":
            self._answer_about(turn, intent, text)
        elif kind == "knowledge_search":
            self._search_knowledge(turn, text, offer_ticket=True)
        else:
            self.playbooks.escalate(turn, "user_request")

    def _answer_about(self, turn: Turn, intent: Intent, text: str) -> None:
        """Send the article the request is about: the intent's own, or another clearly closer
        to the words ("I need a second monitor" is an order, not a fault). With no article
        about it, offer the service desk instead of guessing. When the system named the need
        itself (no words to weigh), the intent's own article."""
        expected = self.catalogue.articles_for(intent.id)
        hit = self.knowledge.grounded(text, expected) if text else None
        if hit is not None:
            self.playbooks.answer_article(turn, hit.article, score=round(hit.score, 4))
        elif not text:
            self.playbooks.answer_article(turn, self.catalogue.articles[expected[0]])
        else:
            self.messages.say(turn, "knowledge.offer_ticket")
            turn.convo.state = "offer_ticket"

    def _known_outage(self, convo: Conversation, intent: str) -> KnownOutage | None:
        """The open known outage of this intent at the employee's office, if there is one."""
        if intent not in self.settings.outage_intents or convo.employee_id is None:
            return None
        person = self.connectors.directory.get_person(convo.employee_id)
        return self.outages.open_for(intent, person.location) if person else None

    def _clarify(self, turn: Turn, understanding: Understanding) -> bool:
        """Ask which of the likely needs the employee meant: a numbered menu when there are
        several, a yes/no question when there is one, and a plain offer of the service desk
        when the only likely need is a person."""
        ranked = ((understanding.intent, understanding.confidence), *understanding.alternatives)
        options = [
            intent
            for intent, probability in ranked
            if probability >= 0.1 and self.catalogue.intent(intent).support
        ]
        if not options:
            return False
        turn.convo.options = options
        turn.convo.state = "clarify"
        turn.emit("clarification_requested", reason="low_confidence", options=options)
        language = turn.convo.language
        if options == [HANDOFF]:
            self.messages.say(turn, "clarify.handoff")
        elif len(options) == 1:
            self.messages.say(
                turn, "clarify.single", label=self.messages.label(options[0], language)
            )
        else:
            self.messages.say(turn, "clarify.choices")
            labels = (self.messages.label(option, language) for option in options)
            turn.say("\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1)))
            self.messages.say(turn, "clarify.reply_with_number")
        return True

    def _fallback(self, turn: Turn, text: str) -> None:
        if not self._search_knowledge(turn, text, offer_ticket=False):
            self._not_understood(turn)

    def _search_knowledge(self, turn: Turn, text: str, offer_ticket: bool) -> bool:
        hit = self.knowledge.search(text)
        threshold = (
            self.settings.knowledge_min_score
            if offer_ticket
            else self.settings.knowledge_fallback_score
        )
        if hit and hit.score >= threshold:
            turn.set_intent("it_question", turn.convo.confidence)
            self.playbooks.answer_article(turn, hit.article, score=round(hit.score, 4))
            return True
        if offer_ticket:
            self.messages.say(turn, "knowledge.offer_ticket")
            turn.convo.state = "offer_ticket"
            return True
        return False

    def _not_understood(self, turn: Turn) -> None:
        convo = turn.convo
        convo.misunderstood += 1
        if convo.intent in SMALL_TALK:  # a greeting followed by a need we did not understand
            convo.intent = None
        convo.state = "new"
        if convo.misunderstood >= 2:
            if convo.intent in (None, "out_of_scope") and convo.outcome is None:
                convo.intent = convo.intent or "out_of_scope"
                turn.record_outcome("unrecognized")
            self.messages.say(turn, "not_understood.again")
        else:
            self.messages.say(turn, "not_understood")

    def _small_talk(self, turn: Turn, intent: str) -> None:
        turn.set_intent(intent, 1.0)
        person = self.connectors.directory.get_person(turn.convo.employee_id or "")
        if intent == "greeting" and person:
            self.messages.say(turn, "greeting.named", first_name=person.name.split()[0])
        else:
            self.messages.say(turn, intent)
        if intent == "goodbye":
            turn.close("goodbye")

    def _on_clarify(self, turn: Turn, text: str) -> None:
        convo = turn.convo
        picked = choice(text, convo.options)
        answer = yes_or_no(text) if len(convo.options) == 1 else None
        if picked is None and answer:
            picked = 0
        if picked is None and answer is False and len(text.split()) <= 3:  # a plain "no"
            convo.state, convo.options = "new", []
            convo.facts.pop("request", None)
            self.messages.say(turn, "clarify.tell_more")
            return
        if picked is None:
            convo.state, convo.options = "new", []
            self._understand_new(turn, text)
            return
        intent = convo.options[picked]
        convo.state, convo.options = "new", []
        original = convo.facts.pop("request", text)
        entities = self.understander.extractor.extract(original)
        turn.emit("intent_detected", intent=intent, confidence=1.0, source="clarification")
        self._start(turn, Understanding(intent, 1.0, (), entities), original)

    def _on_entity(self, turn: Turn, text: str) -> None:
        convo = turn.convo
        needed = self.catalogue.playbooks[convo.playbook or ""].needs
        types = {"application", "group"} if needed == "group" else {needed or ""}
        entities = self.understander.extractor.extract(text, types)
        if entities:
            convo.entities[entities[0].type] = entities[0].id
            convo.state = "new"
            self.playbooks.run(turn, convo.playbook or "", text, check_target=False)
            return
        need = self._new_need(text)
        if need is not None:
            self._restart(turn, text, need)
            return
        convo.misunderstood += 1
        if convo.misunderstood >= 2:
            self.messages.say(turn, "entity.not_found_again")
            self.playbooks.escalate(turn, "unknown_resource")
        else:
            self.messages.say(turn, "entity.not_found")

    def _on_code(self, turn: Turn, text: str) -> None:
        convo = turn.convo
        code = one_time_code(text)
        if code is None:
            if asks_for_human(text):
                self.playbooks.escalate(turn, "user_request")
            elif need := self._new_need(text):
                self._restart(turn, text, need)
            else:
                self.messages.say(turn, "code.reminder")
            return
        try:
            result = self.codes.check(convo.employee_id or "", code, turn.now)
        except CodesOnHoldError as held:
            turn.emit("verification_checked", method="otp", result="on_hold")
            self.playbooks.refuse_on_hold(turn, held.hold)
            return
        turn.emit("verification_checked", method="otp", result=result)
        if result == "passed":
            convo.verified = True
            convo.state = "new"
            self.playbooks.run(turn, convo.playbook or "", "", check_target=False)
        elif result == "wrong":
            tries = self.codes.tries_left(convo.employee_id or "")
            self.messages.say(turn, "code.wrong", count=tries)
        elif result in ("expired", "none"):
            self.messages.say(turn, "code.expired")
            self.playbooks.request_code(turn)
        else:
            self.messages.say(turn, "code.too_many")
            self.playbooks.escalate(turn, "verification_failed")

    def _on_waiting_approval(self, turn: Turn, text: str) -> None:
        need = self._new_need(text)
        if need is not None:
            self._restart(turn, text, need)
            return
        approval = self.connectors.approvals.get(turn.convo.approval_id or "")
        waiting = [
            a
            for a in (approval.approvers.values() if approval else [])
            if a not in approval.decisions
        ]  # type: ignore[union-attr]
        people = [p.name for p in map(self.connectors.directory.get_person, waiting) if p]
        approval_id = turn.convo.approval_id
        if people:
            names = self.messages.join(people, turn.convo.language)
            self.messages.say(turn, "approval.waiting", approval_id=approval_id, approvers=names)
        else:
            self.messages.say(turn, "approval.waiting_anyone", approval_id=approval_id)

    def _on_offer_ticket(self, turn: Turn, text: str) -> None:
        answer = yes_or_no(text)
        if answer:
            self.playbooks.escalate(turn, "user_accepted")
        elif answer is False:
            self.messages.say(turn, "ticket.declined")
            turn.close("declined_ticket")
        else:
            turn.convo.state = "new"
            self._understand_new(turn, text)

    def _on_feedback(self, turn: Turn, text: str) -> None:
        convo = turn.convo
        answer = yes_or_no(text)
        understanding = None
        if answer is None:
            understanding = self.understander.understand(text)
            if (
                understanding.intent == "thanks"
                and understanding.confidence >= self.settings.clarify_confidence
            ):
                answer = True
            elif (
                understanding.intent == "goodbye"
                and understanding.confidence >= self.settings.act_confidence
            ):
                self.messages.say(turn, "goodbye")
                turn.close("goodbye")
                return
        if answer is None:
            self._restart(turn, text, understanding)
            return
        convo.feedback = "confirmed" if answer else "rejected"
        turn.emit("feedback_received", feedback=convo.feedback)
        if answer:
            self.messages.say(turn, "feedback.confirmed")
            turn.close("confirmed")
        else:
            self.messages.say(turn, "feedback.rejected")
            self.playbooks.escalate(turn, "rejected_feedback")

    def _text(self, turn: Turn, key: str, **fields: object) -> str:
        """A message in the turn's conversation's language."""
        return self.messages.text(key, turn.convo.language, **fields)

    def _new_need(self, text: str) -> Understanding | None:
        """The message's understanding if it confidently asks for something supported."""
        understanding = self.understander.understand(text)
        intent = self.catalogue.intents.get(understanding.intent)
        if intent and intent.support and understanding.confidence >= self.settings.act_confidence:
            return understanding
        return None


def _sentence_case(text: str) -> str:
    """The text with its first letter capitalised and the rest as written."""
    return text[:1].upper() + text[1:]


def is_unicode(text: str) -> bool:
    """Whether `text` can be written as UTF-8: JSON can spell a lone surrogate, which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate(message: InboundMessage) -> str:
    if not message.user or not message.user.strip():
        raise RequestError("'user' is required: the employee's id, username or e-mail")
    if not all(map(is_unicode, (message.user, message.text, message.interaction_id or ""))):
        raise RequestError("the message is not Unicode text (it holds a lone surrogate)")
    text = (message.text or "").strip()
    if not text:
        raise RequestError("'text' is empty: send what the employee wrote")
    if len(text) > MAX_TEXT:
        raise RequestError(f"'text' is longer than {MAX_TEXT} characters")
    if message.channel not in CHANNELS:
        raise RequestError(f"unknown channel {message.channel!r}; use one of {sorted(CHANNELS)}")
    return text
