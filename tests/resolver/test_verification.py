"""One-time codes are limited per employee across every interaction and channel: after 5 codes
sent or 6 wrong codes entered in an hour, no code is sent or accepted for that employee for the
hour, however many new conversations are started."""

from __future__ import annotations

from datetime import timedelta

from resolver.identity import SLACK
from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import Chat, events_of


def codes_sent(runtime: Runtime, employee: str) -> list[str]:
    """The verification codes delivered to the employee's phone, oldest first."""
    messages = runtime.connectors.notifier.messages_for(employee)  # type: ignore[attr-defined]
    return [m["body"] for m in messages if m["subject"] == "Verification code"]


def notices(runtime: Runtime, employee: str) -> list[str]:
    """The notices that codes were put on hold."""
    messages = runtime.connectors.notifier.messages_for(employee)  # type: ignore[attr-defined]
    return [m["body"] for m in messages if m["subject"] == "Verification on hold"]


def new_conversation(chat: Chat) -> None:
    """Leave the current conversation (it times out) so the next message starts another."""
    chat.now += timedelta(minutes=31)


def test_a_sixth_code_in_an_hour_is_not_sent_on_any_channel(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    api, slack = Chat(runtime, employee), Chat(runtime, employee, "slack", SLACK)
    for n in range(5):  # each request is a new interaction (a new need restarts it)
        chat = (api, slack)[n % 2]
        reply = chat.say("I forgot my password" if n < 3 else "my account is locked")
        assert reply.state == "verify", reply.reply
        slack.now = api.now = chat.now
    latest = api.latest_code()
    held = slack.say("please unlock my account")
    assert held.state != "verify" and "paused one-time codes" in held.reply
    assert len(codes_sent(runtime, employee)) == 5
    assert len(notices(runtime, employee)) == 1 and "wasn't you" in notices(runtime, employee)[0]

    new_conversation(api)  # half an hour later, a fresh conversation on each channel
    slack.now = api.now
    for chat, text in ((api, "reset my password please"), (slack, "I forgot my password")):
        again = chat.say(text)
        assert (
            "paused one-time codes" in again.reply and again.interaction_id != held.interaction_id
        )
    assert len(codes_sent(runtime, employee)) == 5 and len(notices(runtime, employee)) == 1
    holds = [e for e in events_of(settings) if e["event_type"] == "security_hold"]
    assert [(h["reason"], h["employee_id"]) for h in holds] == [("codes_issued", employee)]
    refused = [e for e in events_of(settings) if e.get("reason") == "security_hold"]
    assert len(refused) == 3
    assert latest not in str(events_of(settings))

    api.now += timedelta(minutes=61)  # the hour is over
    assert api.say("I forgot my password").state == "verify"
    assert len(codes_sent(runtime, employee)) == 6


def test_six_wrong_codes_in_an_hour_stop_every_code_even_the_right_one(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    chat = Chat(runtime, employee)
    wrong = 0
    for _ in range(2):  # two conversations of three wrong codes each
        new_conversation(chat)
        chat.say("please unlock my account")
        code = chat.latest_code()
        for _ in range(3):
            wrong += 1
            reply = chat.say(f"{(int(code) + 1) % 10**6:06d}")
    assert wrong == 6 and "paused one-time codes" in reply.reply
    holds = [e for e in events_of(settings) if e["event_type"] == "security_hold"]
    assert [h["reason"] for h in holds] == ["failed_checks"]

    new_conversation(chat)
    asked = chat.say("please unlock my account")
    assert asked.state != "verify" and "paused one-time codes" in asked.reply
    assert len(codes_sent(runtime, employee)) == 2
    checks = [e["result"] for e in events_of(settings) if e["event_type"] == "verification_checked"]
    assert checks == ["wrong", "wrong", "locked", "wrong", "wrong", "on_hold"]
    assert len(notices(runtime, employee)) == 1


def test_the_right_code_is_refused_while_codes_are_on_hold(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    attacker = Chat(runtime, employee, "slack", SLACK)  # guessing at someone's account
    victim = Chat(runtime, employee)  # its owner, on another channel
    guesses = ["111111", "222222", "333333", "444444", "555555"]
    attacker.say("unlock my account")
    for guess in guesses[:3]:
        attacker.say(guess)
    attacker.say("unlock my account")
    for guess in guesses[3:]:
        attacker.say(guess)
    victim.now = attacker.now
    victim.say("I forgot my password")
    code = victim.latest_code()
    assert "paused one-time codes" in attacker.say("666666").reply  # the sixth wrong code
    victim.now = attacker.now
    late = victim.say(code)
    assert late.outcome != "auto_resolved" and "paused one-time codes" in late.reply
    account = runtime.store.query_one("select * from accounts where employee_id = ?", employee)
    assert account["must_change"] == 0  # nothing was reset
