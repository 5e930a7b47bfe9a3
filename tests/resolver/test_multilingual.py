"""Whole conversations in German, Spanish and French through `Engine.handle`: the engine answers
in the employee's language, texts and codes included, and logs it on `interaction_started`."""

from __future__ import annotations

from resolver.runtime import Runtime
from settings import Settings
from tests.conftest import NOW, Chat, events_of


def started_languages(settings: Settings, interaction_id: str) -> list[str]:
    """The `language` of an interaction's `interaction_started` event(s)."""
    events = events_of(settings, interaction_id)
    return [e["language"] for e in events if e["event_type"] == "interaction_started"]


def test_a_password_reset_in_german(runtime: Runtime, settings: Settings, employee: str) -> None:
    chat = Chat(runtime, employee)
    first = chat.say("Ich habe mein Passwort vergessen")
    assert (first.intent, first.state, first.language) == ("password_reset", "verify", "de")
    assert first.reply.startswith("Zuerst muss ich prüfen, ob du es wirklich bist.")
    assert "an die Telefonnummer mit der Endung" in first.reply
    code = runtime.connectors.notifier.messages_for(employee)[-1]
    assert code["subject"] == "Bestätigungscode" and "Minuten gültig: " in code["body"]

    done = chat.say(f"Der Code lautet {chat.latest_code()}")
    assert (done.outcome, done.state, done.language) == ("auto_resolved", "feedback", "de")
    assert done.reply.startswith("Erledigt. Ich habe ein temporäres Passwort")
    assert done.reply.endswith("Konntest du dich damit anmelden? (ja/nein)")
    password = runtime.connectors.notifier.messages_for(employee)[-1]
    assert password["subject"] == "Dein temporäres Passwort"

    closed = chat.say("ja, passt")
    assert (closed.state, closed.reply) == ("closed", "Super, freut mich, dass es klappt.")
    assert started_languages(settings, first.interaction_id) == ["de"]


def test_a_password_reset_in_spanish_with_a_wrong_code(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    chat = Chat(runtime, employee)
    first = chat.say("¿me puedes restablecer la contraseña?")
    assert (first.intent, first.state, first.language) == ("password_reset", "verify", "es")
    assert "Te he enviado un código de 6 cifras a tu teléfono acabado en" in first.reply
    wrong = f"{(int(chat.latest_code()) + 1) % 10**6:06d}"
    assert chat.say(wrong).reply == "Ese código no coincide. Te quedan 2 intentos."
    done = chat.say(chat.latest_code())
    assert done.outcome == "auto_resolved" and done.reply.startswith("Listo.")
    assert done.reply.endswith("(sí/no)")
    assert chat.say("sí").reply == "¡Genial, me alegro de que esté resuelto!"
    assert started_languages(settings, first.interaction_id) == ["es"]


def test_a_knowledge_answer_in_french_says_the_article_is_in_english(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    chat = Chat(runtime, employee)
    answer = chat.say("l'imprimante ne fonctionne pas, elle n'imprime plus rien")
    assert (answer.intent, answer.state, answer.language) == ("printer_issue", "feedback", "fr")
    before, article = answer.reply.split("\n\n", 1)
    assert before == "Notre article d'aide sur ce sujet est en anglais :"
    assert article.startswith("**Fix a printer")
    assert answer.reply.endswith("Est-ce que cela a résolu le problème ? (oui/non)")
    escalated = chat.say("non, toujours pas")
    assert (escalated.outcome, escalated.language) == ("escalated", "fr")
    assert "J'ai ouvert le ticket" in escalated.reply
    assert started_languages(settings, answer.interaction_id) == ["fr"]


def test_english_answers_carry_no_note_about_the_article_language(
    runtime: Runtime, employee: str
) -> None:
    answer = Chat(runtime, employee).say("my printer is jammed and won't print")
    assert answer.language == "en" and answer.reply.startswith("**Fix a printer")


def test_asking_for_a_person_in_each_language(runtime: Runtime, employee: str) -> None:
    for text, language, opened in [
        ("Kann ich bitte mit einem Menschen sprechen?", "de", "Ich habe das Ticket"),
        ("quiero hablar con una persona, por favor", "es", "He abierto el ticket"),
        ("Je voudrais parler à quelqu'un du support", "fr", "J'ai ouvert le ticket"),
    ]:
        reply = Chat(runtime, employee).say(text)
        assert (reply.intent, reply.outcome, reply.language) == (
            "human_handoff",
            "escalated",
            language,
        )
        assert reply.reply.startswith(opened)


def test_a_conversation_follows_a_clear_switch_but_not_a_short_reply(
    runtime: Runtime, employee: str
) -> None:
    chat = Chat(runtime, employee)
    hello = chat.say("hello")
    assert hello.language == "en"
    switched = chat.say("Ich habe mein Passwort vergessen")
    assert switched.interaction_id == hello.interaction_id
    assert (switched.language, switched.state) == ("de", "verify")
    reminder = chat.say("ok")
    assert reminder.language == "de" and "6-stelligen Code" in reminder.reply


def test_a_proactive_interaction_logs_its_language(
    runtime: Runtime, settings: Settings, employee: str
) -> None:
    offer = runtime.engine.start_proactive(
        employee, "account_unlock", "Hallo!", {"type": "test"}, NOW, language="de"
    )
    assert offer.language == "de" and "Zuerst muss ich prüfen" in offer.reply
    assert started_languages(settings, offer.interaction_id) == ["de"]
    delivered = runtime.connectors.notifier.messages_for(employee)[-1]
    assert delivered["subject"] == "Dein Konto entsperren"
    english = runtime.engine.start_proactive(
        employee, "account_unlock", "Hi!", {"type": "test"}, NOW
    )
    assert started_languages(settings, english.interaction_id) == ["en"]
