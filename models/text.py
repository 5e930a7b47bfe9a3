"""Text helpers shared by the models: normalisation and a fast one-text TF-IDF."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

_SPACES = re.compile(r"\s+")


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

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the non-zero feature indices of a text and their values."""
        counts = Counter(map(self.vocabulary.get, self.analyse(text)))
        counts.pop(None, None)  # the terms outside the vocabulary
        indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
        values = (1.0 + np.log(tf) if self.sublinear else tf) * self.idf[indices]
        norm = math.sqrt(float(values @ values))
        return indices, values / norm if norm else values
