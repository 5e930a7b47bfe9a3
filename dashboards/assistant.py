"""The Ask IT page's link to the real resolution engine: one runtime per Streamlit server,
the conversation of each browser session in its session state. Who writes is the signed-in
employee (credential `OIDC`), or in demo mode whomever the viewer chose (credential `DEMO`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from resolver.connectors.base import Person
from resolver.connectors.embedded import EmbeddedDirectory, EmbeddedNotifier
from resolver.engine import InboundMessage, RequestError
from resolver.identity import Credential
from resolver.runtime import Runtime, build_runtime
from resolver.turn import Reply
from settings import get_settings

CHANNEL = "web"
HISTORY = "ask_history"
INTERACTION = "ask_interaction"


@st.cache_resource(show_spinner="Starting the resolution engine…")
def _runtime(data_dir: str) -> Runtime:
    """The engine on the configured data dir's embedded enterprise, built once per server;
    `data_dir` keys the cache, so another data dir gets its own engine."""
    return build_runtime(get_settings())


def runtime() -> Runtime:
    """The server's engine for the configured data dir."""
    return _runtime(str(get_settings().data_dir))


def employee(identity: str) -> Person | None:
    """The directory's employee a signed-in identity (e-mail, username or id) names."""
    return runtime().connectors.directory.find_person(identity) if identity.strip() else None


def simulated_enterprise() -> bool:
    """Whether the engine runs on the embedded (simulated) directory, whose employees demo
    mode may act as."""
    return isinstance(runtime().connectors.directory, EmbeddedDirectory)


def has_phone() -> bool:
    """Whether codes go to the embedded enterprise's outbox (the simulated phone)."""
    return isinstance(runtime().connectors.notifier, EmbeddedNotifier)


def directory(limit: int = 25) -> list[dict[str, Any]]:
    """The first ordinary employees of the embedded directory, to chat as."""
    rows = runtime().store.query(
        "select employee_id, name, department, title from people where level <= 3 "
        "order by employee_id limit ?",
        limit,
    )
    return [dict(row) for row in rows]


def history() -> list[dict[str, str]]:
    """This browser session's messages: role, text and (for replies) what the engine did."""
    return st.session_state.setdefault(HISTORY, [])


def reset() -> None:
    """Start over: a new person or a new conversation."""
    st.session_state[HISTORY] = []
    st.session_state[INTERACTION] = None


def details(reply: Reply) -> str:
    """What the engine understood and did, in one line."""
    parts = [
        f"intent {reply.intent or 'not understood'}",
        f"confidence {reply.confidence:.2f}" if reply.confidence is not None else None,
        f"outcome {reply.outcome}",
        f"ticket {reply.ticket_id}" if reply.ticket_id else None,
        f"approval {reply.approval_id}" if reply.approval_id else None,
        f"interaction {reply.interaction_id[:8]}" if reply.interaction_id else None,
    ]
    return " · ".join(part for part in parts if part)


def send(user: str, text: str, credential: Credential) -> Reply:
    """Send a message on the web channel as `user`, whom `credential` vouches for, continuing
    this session's interaction while it is open; record both sides in the history."""
    engine = runtime().engine
    interaction = st.session_state.get(INTERACTION)
    try:
        reply = engine.handle(
            InboundMessage(user, text, CHANNEL, interaction, credential=credential)
        )
    except RequestError as error:
        if interaction is None or error.status not in (404, 409):
            raise
        reply = engine.handle(InboundMessage(user, text, CHANNEL, credential=credential))
    st.session_state[INTERACTION] = None if reply.state == "closed" else reply.interaction_id
    history().extend(
        [
            {"role": "user", "text": text, "details": ""},
            {"role": "assistant", "text": reply.reply, "details": details(reply)},
        ]
    )
    return reply


def phone(employee_id: str, last: int = 3) -> list[dict[str, str]]:
    """The latest messages the embedded enterprise sent to the employee's phone (one-time
    codes), newest first."""
    notifier = runtime().connectors.notifier
    assert isinstance(notifier, EmbeddedNotifier)
    return notifier.messages_for(employee_id)[-last:][::-1]
