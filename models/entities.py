"""Entity extraction: which application, group or device a message is about.

A gazetteer of names and aliases (from the enterprise and the catalogue) is matched two ways:
exact, word-bounded alias matches first; then a fuzzy match of the message's word spans against
the aliases by cosine similarity of character n-gram TF-IDF vectors (scikit-learn), which catches
typos such as "salesforse" or "domian admins".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from models.intents import normalise

_WORD = re.compile(r"[a-z0-9][a-z0-9&+./-]*")
_TICKET = re.compile(r"\b(?:INC|REQ|RITM|TKT)[- ]?\d{4,10}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Entity:
    """One recognised entity: its type, its catalogue id, and the words that named it."""

    type: str
    id: str
    text: str
    score: float


@dataclass(frozen=True)
class Alias:
    """A name by which an entity may be mentioned."""

    type: str
    id: str
    alias: str


class EntityExtractor:
    """Finds entities of known types in a message."""

    def __init__(self, aliases: list[Alias], min_similarity: float = 0.75) -> None:
        if not aliases:
            raise ValueError("entity extraction needs at least one alias")
        self.aliases = [Alias(a.type, a.id, normalise(a.alias)) for a in aliases]
        self.min_similarity = min_similarity
        self._exact = {
            a.alias: a for a in sorted(self.aliases, key=lambda a: len(a.alias), reverse=True)
        }
        self._exact_pattern = re.compile(
            r"(?<![a-z0-9])(" + "|".join(re.escape(a) for a in self._exact) + r")(?![a-z0-9])"
        )
        self._max_words = max(len(a.alias.split()) for a in self.aliases)
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))
        self._alias_matrix = self._vectorizer.fit_transform([a.alias for a in self.aliases])

    def extract(self, text: str, types: set[str] | None = None) -> list[Entity]:
        """Return the entities in a message, best first; restrict to `types` if given."""
        clean = normalise(text)
        found = [
            Entity("ticket", m[0].upper().replace(" ", ""), m[0], 1.0)
            for m in _TICKET.finditer(text)
        ]
        for match in self._exact_pattern.finditer(clean):
            alias = self._exact[match[1]]
            found.append(Entity(alias.type, alias.id, match[1], 1.0))
        wanted = types or {a.type for a in self.aliases}
        if not any(e.type in wanted for e in found):
            found.extend(self._fuzzy(clean, wanted))
        unique: dict[tuple[str, str], Entity] = {}
        for entity in sorted(found, key=lambda e: e.score, reverse=True):
            unique.setdefault((entity.type, entity.id), entity)
        return [e for e in unique.values() if types is None or e.type in types]

    def _fuzzy(self, clean: str, types: set[str]) -> list[Entity]:
        words = _WORD.findall(clean)
        spans = [
            " ".join(words[start : start + size])
            for size in range(1, self._max_words + 1)
            for start in range(len(words) - size + 1)
            if len(" ".join(words[start : start + size])) >= 4
        ]
        if not spans:
            return []
        similarity = (self._vectorizer.transform(spans) @ self._alias_matrix.T).toarray()
        results = []
        for span_index, alias_index in zip(
            *np.nonzero(similarity >= self.min_similarity), strict=True
        ):
            alias = self.aliases[alias_index]
            close_in_length = abs(len(spans[span_index]) - len(alias.alias)) <= max(
                2, len(alias.alias) // 4
            )
            if alias.type in types and close_in_length:
                score = float(similarity[span_index, alias_index])
                results.append(Entity(alias.type, alias.id, spans[span_index], score))
        return results
