"""Text helpers shared by the models: normalisation and a fast one-text TF-IDF."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

_SPACES = re.compile(r"\s+")
WORD_CACHE_SIZE = 50_000  # words whose n-grams are remembered; forgotten all at once beyond


def normalise(text: str) -> str:
    """Lower-case and collapse whitespace: the form every model sees."""
    return _SPACES.sub(" ", text.lower()).strip()


class FastTfidf:
    """The TF-IDF vector of one text, from a fitted `TfidfVectorizer`, without its overhead.

    Gives the same values as `vectorizer.transform([text])` (L2 norm, optional sublinear TF)
    as column indices (shifted by `offset`) and values, for a dot product with dense weights.
    """

    def __init__(self, vectorizer: TfidfVectorizer, offset: int = 0) -> None:
        self.analyse = vectorizer.build_analyzer()
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.vocabulary = {term: index + offset for term, index in vectorizer.vocabulary_.items()}
        self.idf = np.zeros(offset + len(vectorizer.idf_))
        self.idf[offset:] = vectorizer.idf_
        self._by_word = vectorizer.analyzer == "char_wb"
        self._word_terms: dict[str, list[int]] = {}

    def word_terms(self, word: str) -> list[int]:
        """The feature indices of one word's character n-grams, repeats included (remembered:
        the same words come back in message after message)."""
        terms = self._word_terms.get(word)
        if terms is None:
            if len(self._word_terms) >= WORD_CACHE_SIZE:
                self._word_terms.clear()
            vocabulary = self.vocabulary
            terms = [vocabulary[gram] for gram in self.analyse(word) if gram in vocabulary]
            self._word_terms[word] = terms
        return terms

    def _terms(self, text: str) -> Iterable[int | None]:
        """The feature index of each term of a text, None for terms outside the vocabulary.
        Character n-grams never cross a word boundary (`char_wb`), so they are the words'."""
        if self._by_word:
            return itertools.chain.from_iterable(map(self.word_terms, text.split()))
        return map(self.vocabulary.get, self.analyse(text))

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the non-zero feature indices of a text and their values."""
        counts = Counter(self._terms(text))
        counts.pop(None, None)  # the terms outside the vocabulary
        indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
        values = (1.0 + np.log(tf) if self.sublinear else tf) * self.idf[indices]
        norm = math.sqrt(float(values @ values))
        return indices, values / norm if norm else values
