"""Which language the engine answers in: lingua for English, German, Spanish and French, with
the conversation's language kept whenever a message is too short or too mixed to tell."""

from __future__ import annotations

import pytest

from catalogue import cached_catalogue
from resolver.language import LanguageDetector, words
from settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(
        cached_catalogue(PROJECT_ROOT / "data" / "catalogue").examples_by_language
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I forgot my password", "en"),
        ("my vpn keeps dropping since this morning", "en"),
        ("Ich habe mein Passwort vergessen", "de"),
        ("mein VPN geht schon wieder nicht", "de"),
        ("¿me puedes restablecer la contraseña?", "es"),
        ("necesito acceso a la carpeta de finanzas", "es"),
        ("J'ai oublié mon mot de passe", "fr"),
        ("l'imprimante du deuxième étage ne fonctionne pas", "fr"),
        ("Hallo", "de"),
        ("hola", "es"),
        ("Merci !", "fr"),
    ],
)
def test_a_new_conversation_takes_the_language_of_its_first_message(
    detector: LanguageDetector, text: str, language: str
) -> None:
    assert detector.detect(text) == language


@pytest.mark.parametrize("text", ["vpn", "INC0012345", "ok", "123 456", "Zoom", "login", "2"])
def test_too_short_or_ambiguous_keeps_the_language_so_far(
    detector: LanguageDetector, text: str
) -> None:
    assert detector.detect(text) == "en"  # a new conversation: English
    for so_far in ("de", "es", "fr"):
        assert detector.detect(text, so_far) == so_far


@pytest.mark.parametrize(
    ("text", "so_far"),
    [("ja", "en"), ("merci", "en"), ("sí", "de"), ("nein danke", "fr"), ("yes thanks", "es")],
)
def test_a_short_reply_never_switches_a_conversation(
    detector: LanguageDetector, text: str, so_far: str
) -> None:
    assert detector.detect(text, so_far) == so_far


def test_a_clear_sentence_in_another_language_switches_it(detector: LanguageDetector) -> None:
    assert detector.detect("mein Laptop startet nicht mehr richtig", "en") == "de"
    assert detector.detect("mi portátil no arranca desde esta mañana", "en") == "es"
    assert detector.detect("Actually my laptop won't start at all since this morning", "fr") == "en"


def test_only_words_count() -> None:
    assert words("INC0012345 VPN is down, code 123456, APR-1A2B3C4D") == ["is", "down", "code"]
    assert words("d'accord, quelqu'un?") == ["d'accord", "quelqu'un"]


def test_text_plainly_in_one_language_is_taken_without_asking_lingua(
    detector: LanguageDetector,
) -> None:
    assert detector.plainly_in(words("my laptop will not turn on")) == "en"
    assert detector.plainly_in(words("mein Laptop startet nicht")) == "de"
    assert detector.plainly_in(words("la VPN no funciona")) == "es"
    assert detector.plainly_in(words("mon imprimante ne fonctionne pas")) == "fr"
    assert detector.plainly_in(words("my Laptop startet nicht")) is None  # mixed
    assert detector.plainly_in(words("password")) is None  # one word says little


def test_every_detector_shares_one_lingua_model(detector: LanguageDetector) -> None:
    assert LanguageDetector({})._lingua is detector._lingua
