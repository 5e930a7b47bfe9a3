"""Intent classifier: word and character n-gram TF-IDF with a multinomial logistic regression.

Trained from the catalogue's example utterances (`data/catalogue/examples.yml`). Character
n-grams make it tolerant of typos; the probability of the top class is the confidence the engine
compares with its thresholds.

Training and batch scoring use scikit-learn as is. Scoring one message (the engine's hot path)
computes the same TF-IDF features directly from the fitted vocabularies and IDF weights, which
skips scikit-learn's per-call validation and sparse-matrix set-up and keeps a decision well under
a millisecond; a test checks both paths agree.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from models.text import FastTfidf, normalise

SEED = 7
ARTEFACT_FORMAT = 2  # raise when what is pickled changes: older files are then retrained


@dataclass(frozen=True)
class Prediction:
    """The top intent, its probability, and the runners-up (intent, probability)."""

    intent: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]


class IntentClassifier:
    """A trained intent model with a fast single-message `predict`."""

    def __init__(self, features: FeatureUnion, model: LogisticRegression) -> None:
        self.features = features
        self.model = model
        self.labels: list[str] = [str(label) for label in model.classes_]
        self._weights = np.ascontiguousarray(model.coef_.T)
        self._bias = model.intercept_.copy()
        self._fast: list[FastTfidf] = []
        offset = 0
        for _, vectorizer in features.transformer_list:
            self._fast.append(FastTfidf(vectorizer, offset))
            offset += len(vectorizer.vocabulary_)

    def __getstate__(self) -> dict[str, object]:
        """Pickle the fitted scikit-learn parts only: the fast path is rebuilt on loading, so a
        saved model does not depend on how this class lays it out."""
        return {"features": self.features, "model": self.model}

    def __setstate__(self, state: dict[str, object]) -> None:
        """Rebuild the classifier from its fitted parts."""
        self.__init__(state["features"], state["model"])  # type: ignore[misc, arg-type]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Return class probabilities, one row per text, columns in `labels` order."""
        scores = self.features.transform([normalise(t) for t in texts]) @ self._weights
        return _softmax(np.asarray(scores) + self._bias)

    def probabilities_one(self, text: str) -> np.ndarray:
        """Class probabilities of one text, computed on the fast path."""
        scores = self._bias.copy()
        clean = normalise(text)
        for fast in self._fast:
            indices, values = fast.features(clean)
            scores += values @ self._weights[indices]
        return _softmax(scores)

    def predict(self, text: str, alternatives: int = 2) -> Prediction:
        """Classify one message."""
        row = self.probabilities_one(text)
        order = np.argsort(row)[::-1][: alternatives + 1]
        ranked = tuple((self.labels[i], float(row[i])) for i in order)
        return Prediction(intent=ranked[0][0], confidence=ranked[0][1], alternatives=ranked[1:])

    def predict_many(self, texts: list[str]) -> list[str]:
        """Return the top intent of each text."""
        return [self.labels[i] for i in self.probabilities(texts).argmax(axis=1)]


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (one row of scores, or one per text)."""
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _feature_union() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )


def train_intent_classifier(examples: dict[str, list[str]]) -> IntentClassifier:
    """Train on `{intent: [utterance, ...]}`; needs at least two intents with examples."""
    texts = [normalise(text) for utterances in examples.values() for text in utterances]
    labels = [intent for intent, utterances in examples.items() for _ in utterances]
    if len(set(labels)) < 2:
        raise ValueError("training needs example utterances for at least two intents")
    features = _feature_union()
    matrix = features.fit_transform(texts)
    model = LogisticRegression(C=20.0, max_iter=2000, random_state=SEED)
    model.fit(matrix, labels)
    return IntentClassifier(features, model)


def examples_fingerprint(examples: dict[str, list[str]]) -> str:
    """A short hash of the training data, to version the trained artefact."""
    digest = hashlib.sha256(repr(sorted(examples.items())).encode("utf-8")).hexdigest()
    return digest[:16]


def load_or_train(examples: dict[str, list[str]], models_dir: Path) -> IntentClassifier:
    """Return the classifier for these examples, training and caching it if needed."""
    path = models_dir / f"intents-v{ARTEFACT_FORMAT}-{examples_fingerprint(examples)}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    classifier = train_intent_classifier(examples)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump(classifier, handle)
    partial.replace(path)
    return classifier
