"""Understanding a message: the trained intent model and entity extractor, plus the small,
exact parsers a conversation needs for its replies (yes/no, a choice, a one-time code)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from models.entities import Entity, EntityExtractor
from models.intents import IntentClassifier, normalise

_YES = re.compile(
    r"^(?:y|yes|yep|yeah|yup|ya|sure|ok|okay|correct|right|it did|it does|it worked|works|"
    r"working|worked|fixed|sorted|all good|perfect|great|that worked|that fixed it|it's fixed|"
    r"confirmed|yes it did|yes thanks|yes thank you|👍)\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:n|no|nope|nah|not really|negative|it didn't|it did not|didn't work|did not work|"
    r"doesn't work|does not work|still (?:not|broken|can't|cannot|doesn't|the same)|not working|"
    r"no luck|same problem|same issue|👎)\b",
    re.IGNORECASE,
)
_HUMAN = re.compile(
    r"\b(?:human|real person|a person|an agent|live agent|operator|technician|someone real|"
    r"talk to (?:someone|somebody|a person|support|the service desk|the help ?desk)|"
    r"speak (?:to|with) (?:someone|somebody|a person|support)|service desk|help ?desk staff|"
    r"escalate|open a ticket|raise a ticket|log a ticket|create a ticket|call me)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"^\D{0,20}?(\d{6})\D{0,20}$")
_ORDINALS = {
    "first": 0,
    "1": 0,
    "one": 0,
    "second": 1,
    "2": 1,
    "two": 1,
    "third": 2,
    "3": 2,
    "three": 2,
}


@dataclass(frozen=True)
class Understanding:
    """What a message asks for, how sure the model is, and what it mentions."""

    intent: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    entities: list[Entity] = field(default_factory=list)

    def entity(self, entity_type: str) -> Entity | None:
        """Return the best entity of a type, if any."""
        return next((e for e in self.entities if e.type == entity_type), None)


class Understander:
    """Turns a message into an `Understanding`."""

    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        entity_types: dict[str, set[str]],
    ) -> None:
        self.classifier = classifier
        self.extractor = extractor
        self.entity_types = entity_types

    def understand(self, text: str) -> Understanding:
        """Classify the intent, then look for the entities that intent can use."""
        prediction = self.classifier.predict(text)
        types = self.entity_types.get(prediction.intent, set()) | {"ticket"}
        return Understanding(
            intent=prediction.intent,
            confidence=prediction.confidence,
            alternatives=prediction.alternatives,
            entities=self.extractor.extract(text, types),
        )


def yes_or_no(text: str) -> bool | None:
    """Return True for a yes, False for a no, None when the reply is neither."""
    clean = normalise(text)
    if _NO.match(clean):
        return False
    if _YES.match(clean):
        return True
    return None


def asks_for_human(text: str) -> bool:
    """Tell whether the message explicitly asks for a person."""
    return bool(_HUMAN.search(text))


def one_time_code(text: str) -> str | None:
    """Return the six-digit code in a reply such as "123456" or "code is 123 456"."""
    match = _CODE.match(text.replace(" ", "").replace("-", "")) if len(text) < 40 else None
    return match[1] if match else None


def choice(text: str, options: list[str]) -> int | None:
    """Return the index of the option a reply picks ("2", "the second", an option's id)."""
    clean = normalise(text).removeprefix("the ").removeprefix("option ").strip(" .!")
    first_word = clean.split(" ")[0] if clean else ""
    if first_word in _ORDINALS and _ORDINALS[first_word] < len(options):
        return _ORDINALS[first_word]
    for index, option in enumerate(options):
        if option.replace("_", " ") in clean:
            return index
    return None
