"""The team's held-out paraphrases (`data/eval/paraphrases/<lang>.yml`): requests written apart
from the training examples and never trained on, and how well an intent model understands them.

The benches print these figures, and the nightly retraining (`learning.candidates`) keeps a
model trained with reviewed examples only when it does not score worse on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.metrics import f1_score

from catalogue import read_by_language
from models.intents import IntentClassifier
from settings import PROJECT_ROOT

PARAPHRASES = PROJECT_ROOT / "data" / "eval" / "paraphrases"


@dataclass(frozen=True)
class Labelled:
    """One labelled utterance, its language (empty when unknown) and the intent it asks for."""

    text: str
    language: str
    intent: str


@dataclass(frozen=True)
class IntentScores:
    """An intent model's scores on labelled utterances: macro-F1 over all of them, accuracy
    over all and per language."""

    macro_f1: float
    accuracy: float
    accuracy_by_language: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The scores as plain numbers, rounded for records and JSON."""
        return {
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "accuracy_by_language": {
                language: round(value, 4) for language, value in self.accuracy_by_language.items()
            },
        }


def held_out(folder: Path = PARAPHRASES) -> list[Labelled]:
    """Every held-out paraphrase, in every language."""
    return [
        Labelled(text, language, intent)
        for language, by_intent in read_by_language(folder).items()
        for intent, texts in by_intent.items()
        for text in texts
    ]


def score_intents(classifier: IntentClassifier, cases: Sequence[Labelled]) -> IntentScores:
    """Score an intent model on labelled utterances (at least one)."""
    if not cases:
        raise ValueError("scoring needs at least one labelled utterance")
    truth = [case.intent for case in cases]
    predicted = classifier.predict_many([case.text for case in cases])
    right = [t == p for t, p in zip(truth, predicted, strict=True)]
    by_language: dict[str, list[bool]] = {}
    for case, correct in zip(cases, right, strict=True):
        by_language.setdefault(case.language, []).append(correct)
    return IntentScores(
        macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0)),
        accuracy=sum(right) / len(right),
        accuracy_by_language={
            language: sum(values) / len(values) for language, values in sorted(by_language.items())
        },
    )
