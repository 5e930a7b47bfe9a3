"""The employee's language: English, German, Spanish or French (`vocabulary.Language`).

Detected with lingua (`lingua-language-detector`), built once per process for those four
languages only. Lingua is reliable on a sentence and guesses on a word, so:

- only words count: digits, ids ("INC0012345", "APR-…") and acronyms ("VPN", "MFA") are left
  out before detection, and a message with no words left keeps the language so far;
- a new conversation takes the detected language when lingua is fairly sure of it (English
  otherwise: "ok", "vpn" or "Zoom" say nothing about the writer), and sure when the message
  is a single word ("Drucker" is German, "login" and "password" are anyone's);
- a conversation switches only on a message of a few words that lingua is sure is in another
  language, so a "ja" or "merci" in an English conversation changes nothing. Short replies are
  never sent to lingua at all, which keeps the cost off most turns (codes, yes/no, choices);
- Spanish's opening marks (¿ ¡) are Spanish whatever the words around them, and a
  conversation opened with nothing but a greeting or a thanks lingua cannot place ("Hallo",
  "hola", "merci") is taken in that greeting's language.

Cost: lingua takes about 0.1-0.3 ms a call (more for longer texts, so it reads at most the
first `MAX_WORDS` words, which decide as well as the whole message does), and would be called
on the first message of a conversation and on longer messages after it, about half of all
messages. Many of those are plainly in one language, so lingua is skipped for them: a message
of at least two words, every one of which the catalogue's examples in a language use, one at
least a word no other language's examples use ("my", "forgot"; "mein", "vergessen";
"olvidé"; "oublié"), is in that language. On the held-out paraphrases that takes 67 % of the
English ones, 31 % of the German, 44 % of the Spanish and 48 % of the French, and it is right
more often than lingua on them (a word the team's French examples use and no other
language's does is a better sign of French than lingua's general statistics). Chat
repeats itself ("I forgot my password", "vpn not working"), so lingua's answers for the last
`CACHE_SIZE` distinct texts are remembered, keyed by a digest of the words (the words
themselves are not kept).

On the catalogue's held-out paraphrases (`data/eval/paraphrases/`) the first message of a
conversation is taken in its own language 98-99.7 % of the time; the misses are mostly mixed
with English product names ("olvidé el password de Salesforce") and are answered in English.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from functools import lru_cache

from cachetools import LRUCache
from lingua import Language as Lingua
from lingua import LanguageDetector as LinguaDetector
from lingua import LanguageDetectorBuilder

from vocabulary import DEFAULT_LANGUAGE, Language

_LINGUA = {
    Lingua.ENGLISH: Language.EN,
    Lingua.GERMAN: Language.DE,
    Lingua.SPANISH: Language.ES,
    Lingua.FRENCH: Language.FR,
}
# A word: letters, possibly joined by an apostrophe (d'accord, can't, quelqu'un).
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
START_CONFIDENCE = 0.5  # a new conversation: lingua's share for its best language, at least
START_MARGIN = 0.15  # ... and this much ahead of the next language
SWITCH_CONFIDENCE = 0.7  # a conversation changes language only on a message this clear,
SWITCH_MARGIN = 0.3  # ... this far ahead of the next language,
SWITCH_WORDS = 3  # ... and of at least this many words
MAX_WORDS = 8  # lingua reads at most this many words of a message
CACHE_SIZE = 8192  # distinct texts whose confidences are remembered
_SPANISH_MARKS = frozenset("¿¡")
# Openers too short for lingua, in the one language they belong to among the four.
_GREETINGS = {
    **dict.fromkeys(("hallo", "moin", "servus", "guten morgen", "guten tag", "danke"), "de"),
    **dict.fromkeys(("hallo zusammen", "danke schön", "vielen dank", "grüß dich"), "de"),
    **dict.fromkeys(("hola", "buenas", "buenos días", "buenas tardes", "gracias"), "es"),
    **dict.fromkeys(("muchas gracias", "hola buenas"), "es"),
    **dict.fromkeys(("bonjour", "salut", "bonsoir", "coucou", "merci", "merci beaucoup"), "fr"),
}


def words(text: str) -> list[str]:
    """The words of a message that tell its language: no numbers, ids, acronyms or letters
    on their own."""
    return [w for w in _WORD.findall(text) if len(w) > 1 and not w.isupper()]


ExamplesByLanguage = Mapping[str, Mapping[str, list[str]]]  # {language: {intent: [text]}}


class LanguageDetector:
    """Detects the language of employees' messages (see the module's docstring), knowing the
    words of the catalogue's examples in each language (`Catalogue.examples_by_language`)."""

    def __init__(self, examples: ExamplesByLanguage) -> None:
        self._lingua = _lingua()
        self._vocabularies = {language: _vocabulary(texts) for language, texts in examples.items()}
        self._own_words = {  # the words of a language's examples that no other language's use
            language: vocabulary.difference(
                *(other for name, other in self._vocabularies.items() if name != language)
            )
            for language, vocabulary in self._vocabularies.items()
        }
        self._cache: LRUCache[bytes, list[tuple[str, float]]] = LRUCache(CACHE_SIZE)
        self._lock = threading.Lock()

    def confidences(self, text: str) -> list[tuple[str, float]]:
        """Each language's share of lingua's confidence in the text, highest first."""
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self._lock:
            known = self._cache.get(key)
        if known is not None:
            return known
        values = self._lingua.compute_language_confidence_values(text)
        found = [(_LINGUA[value.language].value, value.value) for value in values]
        with self._lock:
            self._cache[key] = found
        return found

    def plainly_in(self, kept: list[str]) -> str | None:
        """The language a message's words (two or more) plainly are in: every one is a word of
        its examples, one at least a word no other language's examples use; else None."""
        lowered = [word.lower() for word in kept]
        if len(lowered) < 2:
            return None
        for language, vocabulary in self._vocabularies.items():
            if vocabulary.issuperset(lowered) and not self._own_words[language].isdisjoint(lowered):
                return language  # its own word is in no other vocabulary: the only one
        return None

    def detect(self, text: str, so_far: str | None = None) -> str:
        """The language (ISO 639-1) to answer `text` in, given the conversation's language so
        far (None for a new conversation): `so_far`, or English, unless the text clearly is in
        another language."""
        kept = words(text)
        fallback = so_far or DEFAULT_LANGUAGE.value
        if not kept or (so_far is not None and len(kept) < SWITCH_WORDS):
            return fallback
        if not _SPANISH_MARKS.isdisjoint(text):
            return Language.ES.value
        if so_far is None and " ".join(kept).lower() in _GREETINGS:
            return _GREETINGS[" ".join(kept).lower()]
        plainly = self.plainly_in(kept)
        if plainly is not None:
            return plainly
        (best, share), (_, runner_up) = self.confidences(" ".join(kept[:MAX_WORDS]))[:2]
        if so_far is None and len(kept) > 1:
            sure = share >= START_CONFIDENCE and share - runner_up >= START_MARGIN
        else:  # a switch, or a conversation opened with a single word
            sure = share >= SWITCH_CONFIDENCE and share - runner_up >= SWITCH_MARGIN
        return best if sure else fallback


def _vocabulary(examples: Mapping[str, list[str]]) -> frozenset[str]:
    """The words (lower-cased) of one language's example utterances."""
    return frozenset(w.lower() for texts in examples.values() for t in texts for w in words(t))


@lru_cache(maxsize=1)
def _lingua() -> LinguaDetector:
    """The process's one lingua detector: its models load once (about a second) and are
    shared by every engine and thread (lingua's detector is safe to share)."""
    return LanguageDetectorBuilder.from_languages(*_LINGUA).with_preloaded_language_models().build()
