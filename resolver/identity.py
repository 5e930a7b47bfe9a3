"""Who is asking: the verified credential behind every message and decision.

A channel never trusts a name it is sent. It proves who is writing (an OpenID Connect token, an
API key, a chat platform's signature) and hands the engine a `Credential` saying how. The engine
records that `auth_method` on the interaction and on every approval decision, and it accepts an
approval decision only from a credential that is the approver's own, or from an integration
allowed to decide approvals for others (`approvals:act_as`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["messages:act_as", "approvals:act_as", "admin"]
MESSAGES_ACT_AS: Scope = "messages:act_as"
APPROVALS_ACT_AS: Scope = "approvals:act_as"
ADMIN: Scope = "admin"
SCOPES: tuple[Scope, ...] = (MESSAGES_ACT_AS, APPROVALS_ACT_AS, ADMIN)
SCOPE_HELP = {
    MESSAGES_ACT_AS: "may name the employee a message comes from (a portal that signed them in)",
    APPROVALS_ACT_AS: "may name the approver of a decision (an ITSM that syncs approvals)",
    ADMIN: "every scope",
}


@dataclass(frozen=True)
class Credential:
    """How the sender of a message or decision was authenticated.

    `method` is what the events record as `auth_method`: `oidc`, `slack`, `teams`,
    `api_key:<name>`, or, for processes on the server itself, `cli`, `demo`, `simulation` and
    `system` (interactions the engine starts itself).
    `own` says the credential belongs to the person it names (their token, their chat
    account); an integration naming someone else has `own=False` and may decide approvals in
    their name only with `approvals_act_as`.
    """

    method: str
    own: bool = True
    approvals_act_as: bool = False

    @property
    def may_decide_approvals(self) -> bool:
        """Whether a decision sent with this credential counts as the named approver's."""
        return self.own or self.approvals_act_as


OIDC = Credential("oidc")
SLACK = Credential("slack")
TEAMS = Credential("teams")
CLI = Credential("cli")  # an operator on the server, who can read its data dir anyway
DEMO = Credential("demo")  # the dashboards' demo mode: loopback only, embedded enterprise
SIMULATION = Credential("simulation")  # the simulator's synthetic employees
SYSTEM = Credential("system")  # interactions the engine starts itself (proactive)


def has_scope(scopes: frozenset[str], scope: Scope) -> bool:
    """Whether a set of granted scopes includes `scope` (`admin` includes every scope)."""
    return scope in scopes or ADMIN in scopes


def api_key_credential(name: str, scopes: frozenset[str]) -> Credential:
    """The credential of an integration's API key: it names people, it is none of them."""
    return Credential(
        f"api_key:{name}", own=False, approvals_act_as=has_scope(scopes, APPROVALS_ACT_AS)
    )
