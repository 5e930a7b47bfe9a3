"""Who is viewing the dashboards, and what they may see.

With OpenID Connect configured, people sign in through the company's provider (`st.login`):
`it_leader` and `analyst` (from the roles claim) see the analytics pages, and every signed-in
employee may use Ask IT, as themselves only. Without it the dashboards run in demo mode:
loopback only, every page, and Ask IT lets the viewer act as any employee of the simulated
enterprise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st
from streamlit import config

from settings import Settings, is_loopback

IT_LEADER = "it_leader"
ANALYST = "analyst"
ANALYTICS_ROLES = frozenset({IT_LEADER, ANALYST})
DEMO_NOTICE = (
    "**Demo mode**: no sign-in, on this machine only (127.0.0.1); Ask IT acts as any employee "
    "of the simulated enterprise. Set the UNTICKET_OIDC_* settings to sign people in."
)


@dataclass(frozen=True)
class Viewer:
    """The person looking at the dashboards: `demo` (nobody signed in, demo mode) or someone
    the provider signed in (`identity` is their user claim, e-mail by default)."""

    demo: bool
    signed_in: bool = False
    identity: str = ""
    name: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def sees_analytics(self) -> bool:
        """Whether the analytics pages are theirs to see."""
        return self.demo or bool(self.roles & ANALYTICS_ROLES)

    @property
    def may_chat(self) -> bool:
        """Whether Ask IT is open to them."""
        return self.demo or self.signed_in


def roles_of(claim: object) -> frozenset[str]:
    """The roles in a claim: a list, or one string separated by spaces or commas."""
    if isinstance(claim, str):
        return frozenset(part for part in re.split(r"[\s,]+", claim) if part)
    if isinstance(claim, list | tuple | set | frozenset):
        return frozenset(str(role) for role in claim)
    return frozenset()


def viewer_of(settings: Settings, user: Mapping[str, object]) -> Viewer:
    """The viewer for the settings and the signed-in user's claims (`st.user`, the ID token's
    claims): the user claim names the employee, the roles claim what they may see."""
    if not settings.dashboard_sign_in_enabled:
        return Viewer(demo=True)
    if user.get("is_logged_in") is not True:
        return Viewer(demo=False)
    identity = str(user.get(settings.oidc_user_claim) or "")
    if settings.oidc_user_claim == "email" and user.get("email_verified") is False:
        identity = ""  # an address the provider did not verify names nobody
    return Viewer(
        demo=False,
        signed_in=True,
        identity=identity,
        name=str(user.get("name") or identity),
        roles=roles_of(user.get(settings.oidc_roles_claim)),
    )


def current(settings: Settings) -> Viewer:
    """Who is viewing this session."""
    return viewer_of(settings, st.user.to_dict() if settings.dashboard_sign_in_enabled else {})


def demo_address_refused() -> bool:
    """Whether this demo-mode server listens beyond loopback (started without `unticket
    dashboard`, e.g. a bare `streamlit run`, which listens on every interface)."""
    return not is_loopback(str(config.get_option("server.address") or ""))


def sign_in() -> None:
    """The only page before sign-in: a button to the company's provider, nothing else."""
    st.title("Unticket")
    st.write("Sign in with your company account to see the dashboards and to use Ask IT.")
    st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
