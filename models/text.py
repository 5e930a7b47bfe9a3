"""Text helpers shared by the models: normalisation and a fast one-text TF-IDF."""

from __future__ import annotations

import math
import re

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
        self.idf = {index + offset: float(value) for index, value in enumerate(vectorizer.idf_)}

    def features(self, text: str) -> tuple[list[int], np.ndarray]:
        """Return the non-zero feature indices of a text and their values."""
        counts: dict[int, int] = {}
        for term in self.analyse(text):
            index = self.vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        indices = list(counts)
        values = np.array(
            [
                (1.0 + math.log(counts[i]) if self.sublinear else counts[i]) * self.idf[i]
                for i in indices
            ]
        )
        norm = math.sqrt(float(values @ values)) if indices else 0.0
        return indices, (values / norm if norm else values)
