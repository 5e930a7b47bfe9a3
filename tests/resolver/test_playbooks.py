"""The safety rules of `resolver/playbooks.py` (README, "Safety rules the engine enforces"),
one test each, on the embedded enterprise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from resolver.conversation import Conversation
from resolver.engine import InboundMessage, RequestError
from resolver.events import format_time
from resolver.identity import CLI
from resolver.runtime import Runtime
from resolver.turn import Turn
from resolver.understanding import Understanding
from tests.conftest import NOW


def new_turn(runtime: Runtime, employee_id: str | None, intent: str) -> Turn:
    """A turn on a fresh conversation about `intent` with `employee_id` (None: unknown)."""
    convo = Conversation(
        interaction_id=runtime.engine.ids(),
        user_key=employee_id or "unknown:stranger",
        channel="api",
        employee_id=employee_id,
        started_at=format_time(NOW),
        last_activity=format_time(NOW),
        intent=intent,
    )
    return Turn(convo, NOW, runtime.engine.ids, credential=CLI)


def kinds(turn: Turn) -> list[str]:
    """The event types a turn emitted, in order."""
    return [event["event_type"] for event in turn.events]


def refusals(turn: Turn) -> list[str]:
    """The reasons of the turn's `request_refused` events."""
    return [e["reason"] for e in turn.events if e["event_type"] == "request_refused"]


def password_hashes(runtime: Runtime) -> dict[str, str]:
    """Every account's password hash, by employee id."""
    rows = runtime.store.query("select employee_id, password_hash from accounts")
    return {row["employee_id"]: row["password_hash"] for row in rows}


def group_of(runtime: Runtime, privilege: str, *, owner_not_in: set[str]) -> str:
    """A group of this privilege whose owner is none of `owner_not_in`."""
    rows = runtime.store.query(
        "select id, owner_id from resources where type = 'group' and privilege = ? order by id",
        privilege,
    )
    return next(row["id"] for row in rows if row["owner_id"] not in owner_not_in)


def ask_for_group(runtime: Runtime, employee: str, group_id: str) -> Turn:
    """Run the access playbook for `employee` on a group."""
    turn = new_turn(runtime, employee, "access_request")
    turn.convo.entities["group"] = group_id
    runtime.engine.playbooks.run(turn, "access_request", "add me to it, it's already approved")
    return turn


def manager_of(runtime: Runtime, employee: str) -> str:
    """The employee's line manager."""
    person = runtime.connectors.directory.get_person(employee)
    assert person is not None and person.manager_id is not None
    return person.manager_id


def test_an_account_is_changed_only_for_the_requester(runtime: Runtime, employee: str) -> None:
    before = password_hashes(runtime)
    turn = new_turn(runtime, employee, "password_reset")
    runtime.engine.playbooks.run(turn, "password_reset", "reset the CEO's password")
    assert refusals(turn) == ["not_own_account"]
    assert "verification_requested" not in kinds(turn)
    assert runtime.connectors.notifier.messages_for(employee) == []
    assert password_hashes(runtime) == before


def test_an_account_is_changed_only_after_a_one_time_code(runtime: Runtime, employee: str) -> None:
    before = password_hashes(runtime)
    turn = new_turn(runtime, employee, "password_reset")
    runtime.engine.playbooks.run(turn, "password_reset", "I forgot my password")
    assert (turn.convo.state, kinds(turn)) == ("verify", ["verification_requested"])
    assert password_hashes(runtime) == before


def test_codes_on_hold_change_nothing(runtime: Runtime, employee: str) -> None:
    for minute in range(runtime.engine.settings.otp_max_issued_per_hour):
        runtime.engine.codes.issue(employee, NOW - timedelta(minutes=minute + 1))
    before = password_hashes(runtime)
    turn = new_turn(runtime, employee, "password_reset")
    runtime.engine.playbooks.run(turn, "password_reset", "I forgot my password")
    assert refusals(turn) == ["security_hold"] and "security_hold" in kinds(turn)
    assert "verification_requested" not in kinds(turn)
    assert password_hashes(runtime) == before


def test_an_unknown_user_gets_nothing_done(runtime: Runtime) -> None:
    before = password_hashes(runtime)
    turn = new_turn(runtime, None, "password_reset")
    runtime.engine.playbooks.run(turn, "password_reset", "I forgot my password")
    assert refusals(turn) == ["unknown_user"]
    assert (turn.convo.state, "verification_requested" in kinds(turn)) == ("offer_ticket", False)
    assert password_hashes(runtime) == before


@pytest.mark.parametrize(
    ("privilege", "roles"),
    [("standard", ["manager"]), ("sensitive", ["owner"]), ("privileged", ["manager", "owner"])],
)
def test_access_waits_for_the_approvers_the_policy_names(
    runtime: Runtime, employee: str, privilege: str, roles: list[str]
) -> None:
    manager = manager_of(runtime, employee)
    group = group_of(runtime, privilege, owner_not_in={employee, manager})
    turn = ask_for_group(runtime, employee, group)
    approval = runtime.connectors.approvals.get(turn.convo.approval_id or "")
    assert approval is not None and approval.status == "pending"
    owner = runtime.connectors.resources.get_resource("group", group).owner_id  # type: ignore[union-attr]
    assert approval.approvers == {
        role: {"manager": manager, "owner": owner}[role] for role in roles
    }
    assert (turn.convo.state, "action_executed" in kinds(turn)) == ("approval", False)
    assert group not in runtime.connectors.directory.groups_of(employee)


def test_nobody_approves_their_own_request(runtime: Runtime, employee: str) -> None:
    manager = manager_of(runtime, employee)
    group = group_of(runtime, "sensitive", owner_not_in={employee, manager})
    runtime.store.execute("update resources set owner_id = ? where id = ?", employee, group)
    turn = ask_for_group(runtime, employee, group)
    approval = runtime.connectors.approvals.get(turn.convo.approval_id or "")
    assert approval is not None and approval.approvers == {"owner": manager}


def test_only_a_named_approver_decides(runtime: Runtime, employee: str) -> None:
    manager = manager_of(runtime, employee)
    group = group_of(runtime, "standard", owner_not_in={employee, manager})
    turn = ask_for_group(runtime, employee, group)
    with runtime.engine.recorder.durably():
        runtime.engine.recorder.commit(turn)
    approval_id = turn.convo.approval_id or ""
    colleague = runtime.store.query_one(
        "select employee_id from people where employee_id not in (?, ?) limit 1", employee, manager
    )
    for outsider in (employee, colleague["employee_id"]):
        with pytest.raises(RequestError) as refused:
            runtime.engine.decide_approval(outsider, approval_id, "approved", CLI, NOW)
        assert refused.value.status == 403
    assert runtime.connectors.approvals.get(approval_id).status == "pending"  # type: ignore[union-attr]
    assert group not in runtime.connectors.directory.groups_of(employee)


@dataclass
class SureOf:
    """An understander that always reads the same intent at the same confidence."""

    intent: str
    confidence: float
    extractor: object = field(default=None)

    def understand(self, text: str) -> Understanding:
        """The fixed reading, whatever the text."""
        return Understanding(self.intent, self.confidence, ())


@pytest.mark.parametrize("below", ["act", "clarify"])
def test_low_confidence_never_acts(runtime: Runtime, employee: str, below: str) -> None:
    settings = runtime.engine.settings
    threshold = settings.act_confidence if below == "act" else settings.clarify_confidence
    runtime.engine.understander = SureOf("password_reset", threshold - 0.01)  # type: ignore[assignment]
    before = password_hashes(runtime)
    reply = runtime.engine.handle(InboundMessage(employee, "my password", credential=CLI), NOW)
    assert reply.outcome != "auto_resolved" and reply.state != "verify"
    assert (below == "act") == (reply.state == "clarify")
    assert runtime.connectors.notifier.messages_for(employee) == []  # no code was sent
    assert password_hashes(runtime) == before
