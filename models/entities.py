"""Entity extraction: which application, group or device a message is about.

A gazetteer of names and aliases (from the enterprise and the catalogue) is matched two ways:
exact, word-bounded alias matches first; then a fuzzy match of the message's word spans against
the aliases by cosine similarity of character n-gram TF-IDF vectors (scikit-learn), which catches
typos such as "salesforse" or "domian admins".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from models.text import FastTfidf, normalise

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
        matrix = self._vectorizer.fit_transform([a.alias for a in self.aliases])
        self._alias_weights = np.ascontiguousarray(matrix.T.toarray())
        self._fast = FastTfidf(self._vectorizer)
        self._types = {a.type for a in self.aliases}

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
        wanted = (types or self._types) & self._types
        if wanted and not any(e.type in wanted for e in found):
            found.extend(self._fuzzy(clean, wanted))
        unique: dict[tuple[str, str], Entity] = {}
        for entity in sorted(found, key=lambda e: e.score, reverse=True):
            unique.setdefault((entity.type, entity.id), entity)
        return [e for e in unique.values() if types is None or e.type in types]

    def _fuzzy(self, clean: str, types: set[str]) -> list[Entity]:
        words = _WORD.findall(clean)
        spans = [
            (start, start + size)
            for size in range(1, self._max_words + 1)
            for start in range(len(words) - size + 1)
            if len(" ".join(words[start : start + size])) >= 4
        ]
        if not spans:
            return []
        similarity = self._similarities(words, spans)
        results = []
        for row, alias_index in zip(*np.nonzero(similarity >= self.min_similarity), strict=True):
            span = " ".join(words[spans[row][0] : spans[row][1]])
            score = float(similarity[row, alias_index])
            results.extend(self._accept(span, int(alias_index), score, types))
        return results

    def _similarities(self, words: list[str], spans: list[tuple[int, int]]) -> np.ndarray:
        """Cosine similarity of each span of words (rows) with each alias (columns).

        The analyser takes character n-grams word by word, so a span's n-gram counts are the
        sums of its words' counts: each word is analysed once and one product scores them all.
        """
        grams = [self._fast.word_terms(word) for word in words]
        found = np.fromiter(itertools.chain.from_iterable(grams), dtype=np.intp)
        features, column = np.unique(found, return_inverse=True)
        row = np.repeat(np.arange(len(words)), [len(g) for g in grams])
        shape = (len(words), len(features))
        counts = np.bincount(row * len(features) + column, minlength=shape[0] * shape[1])
        membership = np.zeros((len(spans), len(words)))
        for index, (start, stop) in enumerate(spans):
            membership[index, start:stop] = 1.0
        vectors = (membership @ counts.reshape(shape)) * self._fast.idf[features]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms > 0, norms, 1.0)) @ self._alias_weights[features]

    def _accept(self, span: str, alias_index: int, score: float, types: set[str]) -> list[Entity]:
        """Keep a fuzzy match of a wanted type whose length is close to the alias's."""
        alias = self.aliases[alias_index]
        close_in_length = abs(len(span) - len(alias.alias)) <= max(2, len(alias.alias) // 4)
        if alias.type in types and close_in_length:
            return [Entity(alias.type, alias.id, span, score)]
        return []
