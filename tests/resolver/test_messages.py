"""The message catalogue (`data/catalogue/messages/`): every key in every language with the
same fields, plurals, the English fallback, and what employees are told to type back being
what the engine understands in that language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalogue import CatalogueError, cached_catalogue, load_catalogue
from resolver.messages import Messages, fields_of, plural_form
from resolver.understanding import asks_for_human, yes_or_no
from settings import PROJECT_ROOT, Settings

LANGUAGES = ("en", "de", "es", "fr")
# How each language writes the yes/no hint after a question, and the phrase for a person.
YES_NO = {"en": "(yes/no)", "de": "(ja/nein)", "es": "(sí/no)", "fr": "(oui/non)"}


@pytest.fixture(scope="module")
def messages() -> Messages:
    return Messages(cached_catalogue(Settings().catalogue_dir))


def test_the_engine_speaks_four_languages(messages: Messages) -> None:
    assert messages.languages == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_key_is_translated_with_the_same_fields(messages: Messages, language: str) -> None:
    english, translated = messages.by_language["en"], messages.by_language[language]
    assert sorted(set(english) - set(translated)) == [], "missing translations"
    assert sorted(set(translated) - set(english)) == [], "keys English does not have"
    for key, text in english.items():
        assert fields_of(translated[key]) == fields_of(text), key
        assert translated[key].strip(), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_question_asking_yes_or_no_says_so_in_its_language(
    messages: Messages, language: str
) -> None:
    english = messages.by_language["en"]
    asking = [key for key, text in english.items() if YES_NO["en"] in text]
    assert len(asking) > 10
    for key in asking:
        assert YES_NO[language] in messages.template(key, language), key
    yes, no = YES_NO[language].strip("()").split("/")
    assert yes_or_no(yes) is True and yes_or_no(no) is False


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_employees_are_told_to_say_is_understood(messages: Messages, language: str) -> None:
    quoted = {
        phrase
        for key in ("not_understood", "code.reminder", "hold.refused", "known_outage")
        for phrase in re.findall(r'"([^"]+)"', messages.template(key, language))
    }
    assert quoted and all(asks_for_human(phrase) for phrase in quoted), quoted


def test_plurals_follow_each_languages_rule(messages: Messages) -> None:
    assert messages.text("code.wrong", "en", count=1).endswith("1 try left.")
    assert messages.text("code.wrong", "en", count=2).endswith("2 tries left.")
    assert messages.text("code.wrong", "de", count=1).endswith("noch 1 Versuch.")
    assert messages.text("code.wrong", "de", count=2).endswith("noch 2 Versuche.")
    assert messages.text("code.wrong", "es", count=1).endswith("Te queda 1 intento.")
    assert messages.text("code.wrong", "es", count=2).endswith("Te quedan 2 intentos.")
    assert messages.text("code.wrong", "fr", count=0).endswith("Il vous reste 0 essai.")
    assert messages.text("code.wrong", "fr", count=2).endswith("Il vous reste 2 essais.")
    assert [plural_form("fr", n) for n in (0, 1, 2)] == ["one", "one", "other"]
    assert [plural_form("en", n) for n in (0, 1, 2)] == ["other", "one", "other"]


def test_plural_keys_come_in_pairs(messages: Messages) -> None:
    english = messages.by_language["en"]
    for key in english:
        stem, _, form = key.rpartition(".")
        if form in ("one", "other"):
            assert {f"{stem}.one", f"{stem}.other"} <= set(english), key
            assert "count" in fields_of(english[key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_secret_comes_last_with_nothing_after_it(messages: Messages, language: str) -> None:
    secret = "aB3!#%+=?@xY9zQ7"  # every kind of character a temporary password may hold
    body = messages.text("password.notice", language, password=secret)
    assert body.endswith("\n\n" + secret)
    assert messages.text("code.message", language, count=10, code="123456").endswith(": 123456")


def test_english_stands_in_for_a_missing_translation(messages: Messages) -> None:
    german = messages.by_language["de"].pop("feedback.confirmed")
    try:
        assert messages.text("feedback.confirmed", "de") == "Great, glad that's sorted."
        assert messages.text("feedback.confirmed", "pt") == "Great, glad that's sorted."
    finally:
        messages.by_language["de"]["feedback.confirmed"] = german


def test_intent_labels_are_the_catalogues_in_english_and_translated(messages: Messages) -> None:
    catalogue = cached_catalogue(Settings().catalogue_dir)
    for intent in catalogue.intents.values():
        assert messages.label(intent.id, "en") == intent.label
    assert messages.label("password_reset", "de") == "dein Passwort zurücksetzen"


def test_where_a_code_went_is_said_in_the_conversations_language(messages: Messages) -> None:
    assert messages.destination("the phone number ending 42", "de").endswith("Endung 42")
    assert messages.destination("your e-mail address j***@x.example", "es") == (
        "tu dirección de correo j***@x.example"
    )
    assert messages.destination("somewhere else", "fr") == "somewhere else"


def test_every_key_the_code_names_exists(messages: Messages) -> None:
    """Literal keys in the engine's code (`say(turn, "…")`, `text("…", …)`) are in en.yml."""
    english = messages.by_language["en"]
    called = re.compile(
        r"""(?:say|_say|text|_text)\(\s*(?:turn,\s*)?["']([a-z_]+(?:\.[a-z_]+)*)["']"""
    )
    sources = [*(PROJECT_ROOT / "resolver").rglob("*.py")]
    named = {key for path in sources for key in called.findall(path.read_text(encoding="utf-8"))}
    assert len(named) > 40
    plural_stems = {key.rpartition(".")[0] for key in english if key.endswith(".other")}
    assert sorted(named - set(english) - plural_stems) == []


def test_a_playbook_naming_an_unknown_message_fails_to_load(tmp_path: Path) -> None:
    import shutil

    catalogue = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", catalogue)
    playbook = catalogue / "playbooks" / "account_unlock.yml"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(text.replace("playbook.account_unlock.confirm", "no.such.key"))
    with pytest.raises(CatalogueError, match=r"no\.such\.key"):
        load_catalogue(catalogue)
