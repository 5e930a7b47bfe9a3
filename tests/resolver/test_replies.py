"""Replies a person would write: no one-option menus, refusals that never quote the employee
back, counted plurals, a follow-up question only once the action has had time to work, and
nothing that can pass for part of a secret."""

from __future__ import annotations

import re

import pytest

from markup.markdown import close_lists
from resolver.runtime import Runtime
from resolver.understanding import Understanding
from settings import Settings
from tests.conftest import Chat, events_of


def understood_as(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, fixed: dict[str, Understanding]
) -> None:
    """Make the intent model understand these texts this way (others as it would)."""
    understand = runtime.engine.understander.understand
    monkeypatch.setattr(
        runtime.engine.understander,
        "understand",
        lambda text: fixed[text] if text in fixed else understand(text),
    )


def test_one_likely_need_is_asked_as_a_yes_no_question(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsure = Understanding("password_reset", 0.45, (("greeting", 0.2), ("it_question", 0.05)))
    understood_as(runtime, monkeypatch, {"my pw thing": unsure})
    chat = Chat(runtime, employee)
    asked = chat.say("my pw thing")
    assert asked.state == "clarify" and asked.options == ["password_reset"]
    assert asked.reply == "Just to be sure: do you want me to reset your password? (yes/no)"
    assert "1." not in asked.reply
    acted = chat.say("yes")
    assert (acted.intent, acted.state) == ("password_reset", "verify")


def test_no_to_the_one_likely_need_asks_for_more(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    understood_as(runtime, monkeypatch, {"my pw thing": Understanding("password_reset", 0.45, ())})
    chat = Chat(runtime, employee)
    chat.say("my pw thing")
    declined = chat.say("no")
    assert declined.state == "new" and declined.reply.startswith("OK. Tell me a little more")


def test_a_person_as_the_only_option_is_offered_plainly(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    understood_as(
        runtime, monkeypatch, {"it's complicated": Understanding("human_handoff", 0.4, ())}
    )
    chat = Chat(runtime, employee)
    asked = chat.say("it's complicated")
    assert asked.reply == (
        "I'm not sure I can sort that out myself. Shall I pass it to the service desk? (yes/no)"
    )
    escalated = chat.say("yes please")
    assert (escalated.outcome, escalated.state) == ("escalated", "closed")
    assert escalated.ticket_id


def test_a_menu_is_its_own_paragraph_between_question_and_hint(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsure = Understanding("account_unlock", 0.4, (("password_reset", 0.35),))
    understood_as(runtime, monkeypatch, {"can't log in": unsure})
    reply = Chat(runtime, employee).say("can't log in").reply
    assert reply == (
        "Just to be sure, which of these do you want me to do?\n\n"
        "1. unlock your account\n2. reset your password\n\n"
        "Reply with a number, or tell me more."
    )
    assert close_lists(reply) == reply  # nothing runs on into the last item when rendered


def test_a_menu_in_german_is_picked_in_german(
    runtime: Runtime, employee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsure = Understanding("account_unlock", 0.4, (("password_reset", 0.35),))
    understood_as(runtime, monkeypatch, {"Ich komme nicht mehr in mein Konto": unsure})
    chat = Chat(runtime, employee)
    asked = chat.say("Ich komme nicht mehr in mein Konto")
    assert asked.language == "de"
    assert "1. dein Konto entsperren\n2. dein Passwort zurücksetzen" in asked.reply
    picked = chat.say("die zweite")
    assert (picked.intent, picked.state, picked.language) == ("password_reset", "verify", "de")


def test_a_refusal_says_what_it_wont_do_without_quoting_the_employee(
    runtime: Runtime, employee: str
) -> None:
    reply = Chat(runtime, employee).say("reset the CEO's password please").reply
    assert "CEO" not in reply and '"' + "the CEO" not in reply
    assert "I won't make changes to anyone else's" in reply


@pytest.mark.parametrize(
    ("opening", "one_left", "two_left"),
    [
        ("please unlock my account", "You have 1 try left.", "You have 2 tries left."),
        ("Bitte entsperr mein Konto, ich bin ausgesperrt", "noch 1 Versuch.", "noch 2 Versuche."),
    ],
)
def test_tries_left_are_counted_with_the_right_plural(
    runtime: Runtime, employee: str, opening: str, one_left: str, two_left: str
) -> None:
    chat = Chat(runtime, employee)
    asked = chat.say(opening)
    assert asked.state == "verify"
    wrong = f"{(int(chat.latest_code()) + 1) % 10**6:06d}"
    assert chat.say(wrong).reply.endswith(two_left)
    assert chat.say(wrong).reply.endswith(one_left)


def test_an_install_asks_whether_it_works_only_once_it_is_there(
    runtime: Runtime, employee: str
) -> None:
    reply = Chat(runtime, employee).say("please install figma")
    assert (reply.outcome, reply.state) == ("auto_resolved", "feedback")
    assert "It'll appear in a few minutes." in reply.reply
    assert reply.reply.endswith("Once it's there, tell me whether it works (yes/no).")
    assert "now" not in reply.reply.lower() and "Is it working?" not in reply.reply


def test_a_membership_asks_after_it_has_had_time_to_apply(runtime: Runtime, employee: str) -> None:
    reply = Chat(runtime, employee).say("please give me access to All Engineering")
    approval = runtime.connectors.approvals.get(reply.approval_id or "")
    manager = approval.approvers["manager"]
    Chat(runtime, manager).say(f"approve {approval.approval_id}")
    granted = runtime.engine.conversations.get(reply.interaction_id)
    assert granted.state == "feedback"
    said = granted.transcript[-1]
    assert "It can take a few minutes to apply." in said
    assert said.endswith("Give it a few minutes, then tell me whether you can get in (yes/no).")


def test_the_code_and_the_temporary_password_end_their_messages(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    chat = Chat(runtime, employee)
    chat.say("I forgot my password")
    code_message = runtime.connectors.notifier.messages_for(employee)[-1]["body"]
    assert re.search(r": \d{6}$", code_message), code_message  # no full stop after the code
    chat.say(chat.latest_code())
    password_message = runtime.connectors.notifier.messages_for(employee)[-1]["body"]
    last_line = password_message.split("\n")[-1]
    assert re.fullmatch(r"\S{16}", last_line), password_message  # the password alone
    assert password_message.endswith(last_line)


def test_interaction_started_names_the_language(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    english = Chat(runtime, employee).say("my vpn keeps dropping")
    started = [e for e in events_of(settings) if e["event_type"] == "interaction_started"]
    assert [(e["interaction_id"], e["language"]) for e in started] == [
        (english.interaction_id, "en")
    ]


def test_a_ticket_list_counts_its_tickets_and_stands_apart(runtime: Runtime, employee: str) -> None:
    chat = Chat(runtime, employee)
    escalated = chat.say("can I speak to a person")
    status = chat.say("what's the status of my ticket?")
    assert status.reply.startswith(
        f"You have 1 ticket with the service desk:\n\n- {escalated.ticket_id} (new): "
    )
    assert close_lists(status.reply) == status.reply
