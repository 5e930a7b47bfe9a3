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
    """The terms of one text as a fitted `TfidfVectorizer` sees them, without its overhead:
    feature indices (shifted by `offset`) and the IDF weights; `FastTfidfUnion` turns them
    into the vector `vectorizer.transform([text])` gives.
    """

    def __init__(self, vectorizer: TfidfVectorizer, offset: int = 0) -> None:
        self.analyse = vectorizer.build_analyzer()
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

    def terms(self, text: str) -> Iterable[int | None]:
        """The feature index of each term of a text, None for terms outside the vocabulary.
        Character n-grams never cross a word boundary (`char_wb`), so they are the words'."""
        if self._by_word:
            return itertools.chain.from_iterable(map(self.word_terms, text.split()))
        return map(self.vocabulary.get, self.analyse(text))


class FastTfidfUnion:
    """The TF-IDF vector of one text over several fitted vectorizers side by side (as a
    scikit-learn `FeatureUnion` of them gives it, each part L2-normalised on its own), in one
    pass: the parts' terms are counted together and weighted with one lookup, which keeps the
    per-call cost of numpy low. Every part must use sublinear TF (1 + log count)."""

    def __init__(self, vectorizers: list[TfidfVectorizer]) -> None:
        if not all(vectorizer.sublinear_tf for vectorizer in vectorizers):
            raise ValueError("the one-text path is written for sublinear TF")
        self.parts: list[FastTfidf] = []
        offset = 0
        for vectorizer in vectorizers:
            self.parts.append(FastTfidf(vectorizer, offset))
            offset += len(vectorizer.vocabulary_)
        self.idf = np.zeros(offset)
        for part in self.parts:
            self.idf[: len(part.idf)] += part.idf

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the non-zero feature indices of a (normalised) text and their values."""
        counts: Counter[int | None] = Counter()
        bounds = []
        for part in self.parts:
            bounds.append(len(counts))
            counts.update(part.terms(text))
            counts.pop(None, None)  # the terms outside the vocabulary
        bounds.append(len(counts))
        indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[indices]
        for start, stop in itertools.pairwise(bounds):
            part = values[start:stop]
            norm = math.sqrt(float(part @ part))
            if norm:
                part /= norm
        return indices, values
