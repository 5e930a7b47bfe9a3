"""Deciding and acting: run a playbook under the policy (whose account, which entity, identity
check, approvals), call the connectors, and escalate to a ticket when a person is needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalogue import Article, Catalogue, Playbook
from redaction import redact, redact_user_ref
from resolver.connectors.base import (
    Approval,
    ConnectorError,
    Directory,
    NoLicenceError,
    Notifier,
    Resource,
    Resources,
    Software,
    Ticket,
    Ticketing,
    TicketRequest,
    Vpn,
)
from resolver.connectors.embedded import EmbeddedApprovals
from resolver.events import IdFactory, format_time
from resolver.knowledge import summarise
from resolver.llm import Completion, LlmProvider
from resolver.llm.tasks import summarise_conversation, translate
from resolver.messages import APPROVER_LANGUAGE, ENGLISH, Messages
from resolver.routing import Router
from resolver.targets import other_person_reference
from resolver.turn import Turn
from resolver.verification import CodesOnHoldError, Hold, OneTimeCodes

# What a connector call means for the interaction's outcome.
FIX, LOOKUP, LINK = "fix", "lookup", "link"
MAX_TICKETS_SHOWN = 5


@dataclass
class Connectors:
    """The systems the engine acts on; embedded or real, behind the same interfaces."""

    directory: Directory
    resources: Resources
    software: Software
    vpn: Vpn
    ticketing: Ticketing
    notifier: Notifier
    approvals: EmbeddedApprovals


def ticket_priority(blocking_factor: float) -> str:
    """Priority of a ticket from how much the issue blocks the employee."""
    if blocking_factor >= 0.8:
        return "P2"
    return "P3" if blocking_factor >= 0.4 else "P4"


def open_major_incident(
    ticketing: Ticketing, *, service: str, title: str, description: str, intent: str, now: datetime
) -> Ticket:
    """The open major incident (P1) of a service, opened now if it has none: one per service."""
    incident = TicketRequest(
        requester_id=None,
        title=title,
        description=description,
        intent=intent,
        priority="P1",
        interaction_id=None,
        service=service,
    )
    return ticketing.open_outage(service) or ticketing.open_ticket(incident, now)


class PlaybookRunner:
    """Runs playbooks for one engine."""

    def __init__(
        self,
        catalogue: Catalogue,
        connectors: Connectors,
        codes: OneTimeCodes,
        ids: IdFactory,
        router: Router | None = None,
        messages: Messages | None = None,
        llm: LlmProvider | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.connectors = connectors
        self.codes = codes
        self.ids = ids
        self.router = router  # suggests where escalations of an unspecified need go
        self.messages = messages or Messages(catalogue)
        self.llm = llm  # the optional LLM provider: summaries and translations

    def _say(self, turn: Turn, key: str, **fields: Any) -> None:
        """Add a message to the reply, in the conversation's language."""
        self.messages.say(turn, key, **fields)

    def _text(self, turn: Turn, key: str, **fields: Any) -> str:
        """A message in the conversation's language."""
        return self.messages.text(key, turn.convo.language, **fields)

    # -- policy ---------------------------------------------------------------------------

    def run(self, turn: Turn, playbook_id: str, text: str, check_target: bool = True) -> None:
        """Advance a playbook as far as policy allows in this turn."""
        convo, playbook = turn.convo, self.catalogue.playbooks[playbook_id]
        convo.playbook = playbook.id
        if convo.employee_id is None:
            self._refuse_unknown(turn)
            return
        if check_target and self._refuse_other_person(turn, text):
            return
        if playbook.needs and not self._resolve_needed_entity(turn, playbook):
            return
        if playbook.verification == "otp" and not convo.verified:
            self.request_code(turn)
            return
        if playbook.approval != "none" and convo.approval_id is None:
            resource = self._resource(turn, playbook)
            if resource is None:
                return
            roles = self.catalogue.approval_roles(playbook.approval, resource.privilege)
            if roles:
                self._request_approval(turn, resource, roles)
                return
        self.execute(turn, playbook)

    def _refuse_unknown(self, turn: Turn) -> None:
        turn.emit("request_refused", reason="unknown_user", intent=turn.convo.intent)
        self._say(turn, "refused.unknown_user")
        turn.convo.state = "offer_ticket"

    def _refuse_other_person(self, turn: Turn, text: str) -> bool:
        person = self.connectors.directory.get_person(turn.convo.employee_id or "")
        if person is None:
            return False
        own = {person.employee_id.lower(), person.username.lower(), person.email.lower()}

        def lookup(handle: str) -> str | None:
            found = self.connectors.directory.find_person(handle)
            return found.employee_id if found else None

        if other_person_reference(text, own, lookup) is None:
            return False
        turn.emit("request_refused", reason="not_own_account", intent=turn.convo.intent)
        self._say(turn, "refused.other_person")  # never the employee's words back
        turn.convo.state = "new"
        return True

    def _resolve_needed_entity(self, turn: Turn, playbook: Playbook) -> bool:
        convo = turn.convo
        if playbook.needs == "application" and "application" in convo.entities:
            return True
        if playbook.needs == "group" and ({"group", "application"} & set(convo.entities)):
            return True
        which = "application" if playbook.needs == "application" else "group"
        turn.emit("clarification_requested", reason="missing_entity", entity_type=playbook.needs)
        self._say(turn, f"entity.which_{which}", examples=self._examples(playbook.needs))
        convo.state = "need_entity"
        return False

    def _examples(self, entity_type: str | None) -> str:
        key = "applications" if entity_type == "application" else "groups"
        return ", ".join(item["name"] for item in self.catalogue.enterprise[key][:3])

    def _resource(self, turn: Turn, playbook: Playbook) -> Resource | None:
        """The group or application a playbook acts on, recording its name in the facts."""
        convo = turn.convo
        if playbook.needs == "application":
            resource = self.connectors.resources.get_resource(
                "application", convo.entities["application"]
            )
        elif "group" in convo.entities:
            resource = self.connectors.resources.get_resource("group", convo.entities["group"])
        else:
            resource = self.connectors.resources.get_resource(
                "group", f"app-{convo.entities['application']}"
            )
        if resource is None:
            self._say(turn, "resource.unknown")
            self.escalate(turn, "unknown_resource")
            return None
        if resource.type == "application" and not resource.installable:
            self._switch_to_access(turn, resource)
            return None
        convo.facts.update(resource_type=resource.type, resource_id=resource.id)
        convo.facts.update(group_name=resource.name, application_name=resource.name)
        return resource

    def _switch_to_access(self, turn: Turn, application: Resource) -> None:
        """A web application is not installed: what the employee needs is access to it."""
        self._say(turn, "resource.web_app", application=application.name)
        turn.convo.entities.setdefault("application", application.id)
        self.run(turn, "access_request", "", check_target=False)

    # -- identity and approvals -------------------------------------------------------------

    def request_code(self, turn: Turn) -> None:
        """Send a one-time code to the requester and wait for it (unless codes are on hold)."""
        language = turn.convo.language

        def wording(code: str, minutes: int) -> tuple[str, str]:
            subject = self.messages.text("code.message.subject", language)
            return subject, self.messages.text("code.message", language, count=minutes, code=code)

        try:
            destination = self.codes.issue(turn.convo.employee_id or "", turn.now, wording)
        except CodesOnHoldError as held:
            self.refuse_on_hold(turn, held.hold)
            return
        except ConnectorError as error:  # the code could not be delivered
            turn.emit("verification_requested", method="otp", destination=None, error=str(error))
            self._say(turn, "code.not_sent")
            self.escalate(turn, "code_not_delivered")
            return
        turn.emit("verification_requested", method="otp", destination=destination)
        self._say(turn, "code.sent", destination=self.messages.destination(destination, language))
        turn.convo.state = "verify"

    def refuse_on_hold(self, turn: Turn, hold: Hold) -> None:
        """Say that codes are on hold for the requester. The turn that begins a hold also logs
        `security_hold` and tells the employee through the notifier, in case it wasn't them."""
        convo = turn.convo
        until = hold.until.strftime("%H:%M UTC")
        cause = self._text(turn, f"hold.cause.{hold.reason}")
        if hold.began:
            turn.emit("security_hold", reason=hold.reason, until=format_time(hold.until))
            self.connectors.notifier.deliver(
                convo.employee_id or "",
                self._text(turn, "hold.notice.subject"),
                self._text(turn, "hold.notice", until=until, cause=cause),
                turn.now,
            )
        turn.emit("request_refused", reason="security_hold", intent=convo.intent)
        self._say(turn, "hold.refused", until=until, cause=cause)
        convo.state = "new"

    def _approvers(self, turn: Turn, resource: Resource, roles: list[str]) -> dict[str, str] | None:
        requester = self.connectors.directory.get_person(turn.convo.employee_id or "")
        assert requester is not None
        approvers: dict[str, str] = {}
        for role in roles:
            candidate = requester.manager_id if role == "manager" else resource.owner_id
            if candidate == requester.employee_id:  # nobody approves their own request
                candidate = requester.manager_id
            if candidate is None or candidate in approvers.values():
                candidate = self._manager_of(candidate, exclude=set(approvers.values()))
            if candidate is None:
                return None
            approvers[role] = candidate
        return approvers

    def _manager_of(self, employee_id: str | None, exclude: set[str]) -> str | None:
        person = self.connectors.directory.get_person(employee_id or "")
        while person is not None and person.manager_id:
            if person.manager_id not in exclude:
                return person.manager_id
            person = self.connectors.directory.get_person(person.manager_id)
        return None

    def _request_approval(self, turn: Turn, resource: Resource, roles: list[str]) -> None:
        convo = turn.convo
        approvers = self._approvers(turn, resource, roles)
        if approvers is None:
            self.escalate(turn, "no_approver")
            return
        approval = Approval(
            approval_id=f"APR-{self.ids()[:8].upper()}",
            interaction_id=convo.interaction_id,
            requester_id=convo.employee_id or "",
            resource_type=resource.type,
            resource_id=resource.id,
            approvers=approvers,
            decisions={},
            status="pending",
            created_at=turn.now,
        )
        self.connectors.approvals.create(approval)
        requester = self.connectors.directory.get_person(approval.requester_id)
        notice = {
            "approval_id": approval.approval_id,
            "requester": requester.name if requester else approval.requester_id,
            "resource": resource.name,
            "privilege": self.messages.term("privilege", resource.privilege, APPROVER_LANGUAGE),
        }
        for approver in approvers.values():
            self.connectors.notifier.deliver(
                approver,
                self.messages.text("approval.notice.subject", APPROVER_LANGUAGE, **notice),
                self.messages.text("approval.notice", APPROVER_LANGUAGE, **notice),
                turn.now,
            )
        convo.approval_id = approval.approval_id
        convo.state = "approval"
        turn.emit(
            "approval_requested",
            approval_id=approval.approval_id,
            resource_type=resource.type,
            resource_id=resource.id,
            privilege=resource.privilege,
            approvers=approvers,
        )
        self._say(
            turn,
            "approval.requested",
            resource=resource.name,
            privilege=self.messages.term("privilege", resource.privilege, turn.convo.language),
            approvers=self._approver_names(turn, approvers),
            approval_id=approval.approval_id,
        )

    def _approver_names(self, turn: Turn, approvers: dict[str, str]) -> str:
        """The approvers as the requester knows them: "your manager Ana Ruiz and its owner …"."""
        parts = []
        for role, employee_id in approvers.items():
            person = self.connectors.directory.get_person(employee_id)
            name = person.name if person else employee_id
            key = role if role in ("manager", "owner") else "any"
            parts.append(self._text(turn, f"approval.approver.{key}", name=name, role=role))
        return self.messages.join(parts, turn.convo.language)

    # -- acting ---------------------------------------------------------------------------

    def execute(self, turn: Turn, playbook: Playbook) -> None:
        """Run a playbook's steps and record the outcome they amount to."""
        convo = turn.convo
        context: dict[str, Any] = {**convo.facts, "device": convo.entities.get("device", "laptop")}
        kinds: set[str] = set()
        for step in playbook.steps:
            if step.when and not context.get(step.when):
                continue
            if step.switch_to:
                if step.say:
                    self._say(turn, step.say, **context)
                convo.facts.update({k: str(v) for k, v in context.items()})
                self.run(turn, step.switch_to, "", check_target=False)
                return
            if step.article:
                self.answer_article(turn, self.catalogue.articles[step.article], record=False)
                kinds.add("answer")
                continue
            result = self._call(turn, step.call or "", context)
            if result is None:
                return
            kind, message = result
            kinds.add(kind)
            if message:
                turn.say(message)
            elif step.success:
                self._say(turn, step.success, **context)
            if step.stop:
                break
        self._finish(turn, playbook, kinds)

    def _finish(self, turn: Turn, playbook: Playbook, kinds: set[str]) -> None:
        if LINK in kinds:
            self.link_to_incident(turn, turn.convo.ticket_id or "")
            return
        turn.record_outcome("auto_resolved" if FIX in kinds else "answered")
        if playbook.confirm:
            self._say(turn, playbook.confirm)
            turn.convo.state = "feedback"
        else:
            turn.close("answered")

    def _call(
        self, turn: Turn, call: str, context: dict[str, Any]
    ) -> tuple[str, str | None] | None:
        """Call a connector; on failure escalate and return None."""
        handler = getattr(self, "_" + call.replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"playbook names an unknown connector call {call!r}")
        try:
            kind, message, detail = handler(turn, context)
        except NoLicenceError as error:
            turn.emit(
                "action_executed", action=call, result="failure", detail={"error": str(error)}
            )
            application = context.get("application_name") or context.get("resource_id", "")
            self._say(turn, "install.no_licence", application=application)
            self.escalate(turn, "no_licence")
            return None
        except ConnectorError as error:
            turn.emit(
                "action_executed", action=call, result="failure", detail={"error": str(error)}
            )
            self._say(turn, "action.failed")
            self.escalate(turn, "action_failed")
            return None
        turn.emit("action_executed", action=call, result="success", detail=detail)
        turn.convo.actions.append(call)
        return kind, message

    def _directory_reset_password(self, turn: Turn, context: dict[str, Any]) -> tuple:
        employee_id = turn.convo.employee_id or ""
        password = self.connectors.directory.reset_password(employee_id)
        destination = self.connectors.notifier.deliver(
            employee_id,
            self._text(turn, "password.notice.subject"),
            self._text(turn, "password.notice", password=password),  # alone on its last line
            turn.now,
        )
        context["destination"] = self.messages.destination(destination, turn.convo.language)
        return FIX, None, {"must_change": True}

    def _directory_unlock_account(self, turn: Turn, context: dict[str, Any]) -> tuple:
        if self.connectors.directory.unlock_account(turn.convo.employee_id or ""):
            return FIX, None, {"was_locked": True}
        return LOOKUP, self._text(turn, "unlock.not_locked"), {"was_locked": False}

    def _directory_reset_mfa(self, turn: Turn, context: dict[str, Any]) -> tuple:
        self.connectors.directory.reset_mfa(turn.convo.employee_id or "")
        return FIX, None, {}

    def _directory_add_to_group(self, turn: Turn, context: dict[str, Any]) -> tuple:
        group_id = context["resource_id"]
        if self.connectors.directory.add_to_group(turn.convo.employee_id or "", group_id):
            return FIX, None, {"group": group_id}
        message = self._text(turn, "group.already_member", group_name=context["group_name"])
        return LOOKUP, message, {"group": group_id}

    def _software_install(self, turn: Turn, context: dict[str, Any]) -> tuple:
        app_id, device = context["resource_id"], context["device"]
        self.connectors.software.install(turn.convo.employee_id or "", app_id, device)
        context["device"] = self.messages.term("device", device, turn.convo.language)
        return FIX, None, {"application": app_id, "device": device}

    def _vpn_diagnose(self, turn: Turn, context: dict[str, Any]) -> tuple:
        diagnosis = self.connectors.vpn.diagnose(turn.convo.employee_id or "")
        context.update(diagnosis)
        problems = ("gateway_down", "account_locked", "client_outdated")
        context["nothing_fixed"] = not any(diagnosis[p] for p in problems)
        return LOOKUP, "", dict(diagnosis)

    def _vpn_update_client(self, turn: Turn, context: dict[str, Any]) -> tuple:
        context["required_version"] = self.connectors.vpn.update_client(
            turn.convo.employee_id or ""
        )
        return FIX, None, {"version": context["required_version"]}

    def _ticketing_link_to_outage(self, turn: Turn, context: dict[str, Any]) -> tuple:
        service = f"vpn:{context['gateway']}"
        incident = open_major_incident(
            self.connectors.ticketing,
            service=service,
            title=f"Major incident: VPN gateway {context['gateway']} is down",
            description=f"Opened by Unticket after diagnosing {service} as down.",
            intent="vpn_issue",
            now=turn.now,
        )
        context["ticket_id"] = incident.ticket_id
        turn.convo.ticket_id = incident.ticket_id
        return LINK, None, {"ticket_id": incident.ticket_id, "service": service}

    def _ticketing_status(self, turn: Turn, context: dict[str, Any]) -> tuple:
        employee_id = turn.convo.employee_id or ""
        wanted = turn.convo.entities.get("ticket")
        tickets = self.connectors.ticketing.tickets_of(employee_id)
        if wanted:
            ticket = self.connectors.ticketing.get_ticket(wanted)
            if ticket is None or ticket.requester_id != employee_id:
                message = self._text(turn, "tickets.not_found", ticket_id=wanted)
                return LOOKUP, message, {"found": False}
            tickets = [ticket]
        if not tickets:
            return LOOKUP, self._text(turn, "tickets.none"), {"found": 0}
        return LOOKUP, self._ticket_list(turn, tickets), {"found": len(tickets)}

    def _ticket_list(self, turn: Turn, tickets: list[Ticket]) -> str:
        """The employee's tickets as a short markdown list, with a blank line after it."""
        shown, hidden = tickets[:MAX_TICKETS_SHOWN], len(tickets) - MAX_TICKETS_SHOWN
        language = turn.convo.language
        lines = [
            f"- {t.ticket_id} ({self.messages.term('ticket_status', t.status, language)}): "
            f"{t.title}"
            for t in shown
        ]
        parts = [self._text(turn, "tickets.list", count=len(tickets)), "\n".join(lines)]
        if hidden > 0:
            parts.append(self._text(turn, "tickets.more", count=hidden))
        return "\n\n".join(parts)

    # -- answering and escalating -----------------------------------------------------------

    def link_to_incident(self, turn: Turn, ticket_id: str, message: str = "") -> None:
        """Link the interaction to an open major incident instead of opening a ticket of its
        own: escalated, closed as `linked_to_incident`."""
        turn.convo.ticket_id = ticket_id
        turn.say(message)
        turn.record_outcome("escalated")
        turn.close("linked_to_incident")

    def answer_article(
        self, turn: Turn, article: Article, record: bool = True, score: float | None = None
    ) -> None:
        """Answer from a knowledge article and ask whether it helped. Articles are written in
        English: in another language the LLM provider translates the answer, when there is one,
        else the employee is told it is in English."""
        turn.emit("knowledge_answered", article_id=article.id, score=score)
        answer = summarise(article)
        translated = self._translated(turn, answer)
        if translated is not None:
            turn.say(translated)
        else:
            if turn.convo.language != ENGLISH:
                self._say(turn, "knowledge.in_english")
            turn.say(answer)
        if record:
            turn.record_outcome("answered")
            self._say(turn, "knowledge.did_it_help")
            turn.convo.state = "feedback"

    def escalate(self, turn: Turn, reason: str) -> None:
        """Open a ticket carrying the whole conversation, tell the employee, close.

        The employee's words in its title and description are redacted again here (they
        were when received): nothing reaches the service desk unredacted. With the LLM
        provider, the description starts with its summary of the conversation."""
        convo = turn.convo
        intent = self.catalogue.intents.get(convo.intent or "human_handoff")
        intent = intent or self.catalogue.intent("human_handoff")
        said = [
            redact(line.removeprefix("employee: "))
            for line in convo.transcript
            if line.startswith("employee: ")
        ]
        # titled by the words the need was understood from, not a greeting before them
        need = convo.request or (said[0] if said else "")
        routed = self.router.suggest(convo.intent, " ".join(said)) if self.router else None
        summary = self._summary(turn)
        request = TicketRequest(
            requester_id=convo.employee_id,
            title=f"{intent.label.capitalize()}: {need[:80]}",
            description=(f"Summary: {summary}\n\n" if summary else "")
            + self._context(turn, reason)
            + (f"\n{routed.note}" if routed else ""),
            intent=routed.intent if routed else convo.intent,
            priority=ticket_priority(intent.blocking_factor),
            interaction_id=convo.interaction_id,
        )
        ticket = self.connectors.ticketing.open_ticket(request, turn.now)
        convo.ticket_id = ticket.ticket_id
        turn.emit(
            "ticket_opened",
            ticket_id=ticket.ticket_id,
            reason=reason,
            priority=ticket.priority,
            summary=summary is not None,
        )
        turn.record_outcome("escalated")
        said = "escalate.queued" if ticket.status == "queued" else "escalate.opened"
        self._say(turn, said, ticket_id=ticket.ticket_id)
        turn.close("escalated")

    def _summary(self, turn: Turn) -> str | None:
        """The LLM provider's summary of the conversation for the agent, if it wrote one."""
        if self.llm is None:
            return None
        return self._from_llm(turn, summarise_conversation(self.llm, turn.convo.transcript))

    def _translated(self, turn: Turn, text: str) -> str | None:
        """`text` in the conversation's language by the LLM provider, if it is not English and
        the provider translated it."""
        if self.llm is None or turn.convo.language == ENGLISH:
            return None
        return self._from_llm(turn, translate(self.llm, text, turn.convo.language))

    def _from_llm(self, turn: Turn, completion: Completion) -> str | None:
        """The provider's answer, its call logged as `llm_called` (a skipped call is not)."""
        if completion.call is not None:
            turn.emit("llm_called", **completion.call.event_fields())
        return completion.text

    def _context(self, turn: Turn, reason: str) -> str:
        convo = turn.convo
        lines = [
            f"Requester: {convo.employee_id or redact_user_ref(convo.user_key)} "
            f"(channel {convo.channel})",
            f"Escalation reason: {reason}",
            f"Understood need: {convo.intent} (confidence {convo.confidence})",
            f"Entities: {convo.entities}",
            f"Identity verified: {convo.verified}",
            f"Actions tried: {', '.join(convo.actions) or 'none'}",
            f"Findings: {convo.facts}",
            "Conversation (secrets redacted):",
            *map(redact, convo.transcript),
        ]
        return "\n".join(lines)
