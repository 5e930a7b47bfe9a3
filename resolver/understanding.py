"""Understanding a message: the trained intent model and entity extractor (with, optionally, the
company's LLM for messages the model is unsure of), plus the small, exact parsers a conversation
needs for its replies (yes/no, a choice, a one-time code, a request for a person), each in
English, German, Spanish and French."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from catalogue import Intent
from models.entities import Entity, EntityExtractor
from models.intents import IntentClassifier, normalise
from resolver.llm.provider import LlmCall, LlmProvider
from resolver.llm.tasks import IntentAnswer, classify, intent_instructions

_YES = re.compile(
    r"^(?:"
    # English
    r"y|yes|yep|yeah|yup|ya|sure|ok|okay|correct|right|it did|it does|it worked|works|"
    r"working|worked|fixed|sorted|all good|perfect|great|that worked|that fixed it|it's fixed|"
    r"confirmed|yes it did|yes thanks|yes thank you|👍|"
    # German
    r"ja|jap|jawohl|jo|klar|genau|passt|stimmt|richtig|gerne|gern|okay|perfekt|super|prima|"
    r"klappt|hat geklappt|es klappt|funktioniert|es funktioniert|geht wieder|es geht wieder|"
    r"erledigt|alles gut|alles klar|"
    # Spanish
    r"sí|si(?=$|\s*[,.!]|\s+(?:gracias|funciona|ya|claro|por favor|perfecto|vale)\b)|"
    r"vale|claro|de acuerdo|correcto|exacto|perfecto|genial|listo|funciona|ya funciona|"
    r"se ha solucionado|solucionado|todo bien|"
    # French
    r"oui|ouais|d['’]accord|ça marche|ca marche|c['’]est bon|parfait|exact|exactement|"
    r"ça fonctionne|ca fonctionne|ça a marché|ca a marche|volontiers|bien sûr|"
    r"c['’]est réglé|impeccable|tout est bon"
    r")(?!\w)",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:"
    # English
    r"n|no|nope|nah|not really|negative|it didn't|it did not|didn't work|did not work|"
    r"doesn't work|does not work|still (?:not|broken|can't|cannot|doesn't|the same)|not working|"
    r"no luck|same problem|same issue|👎|it does not|it doesn't|it isn't|it's not|not yet|"
    # German
    r"nein|nee|nö|ne|nicht wirklich|leider nicht|leider nein|noch nicht|hat nicht geklappt|"
    r"(?:es )?(?:funktioniert|klappt|geht)(?: immer noch| noch| leider| trotzdem)? nicht|"
    r"immer noch (?:nicht|kaputt|dasselbe|das gleiche)|gleiches problem|"
    # Spanish
    r"todav[ií]a no|sigue sin|sigue igual|no funciona|para nada|nada|mismo problema|"
    # French
    r"non|nan|pas vraiment|pas encore|toujours pas|ne (?:marche|fonctionne) (?:toujours )?pas|"
    r"(?:ça|ca) (?:ne )?(?:marche|fonctionne) (?:toujours )?pas|(?:ça|ca) (?:n['’])?a pas marché|"
    r"même problème|meme probleme"
    r")(?!\w)",
    re.IGNORECASE,
)
_HUMAN = re.compile(
    r"\b(?:"
    # English
    r"human|real person|a person|an agent|live agent|operator|technician|someone real|"
    r"talk to (?:someone|somebody|a person|support|the service desk|the help ?desk)|"
    r"speak (?:to|with) (?:someone|somebody|a person|support)|service desk|help ?desk staff|"
    r"escalate|open a ticket|raise a ticket|log a ticket|create a ticket|call me|"
    # German
    r"(?:mit )?(?:einem|nem|einer echten|einem echten) (?:menschen|person|mitarbeiter(?:in)?)|"
    r"echte[nr]? (?:menschen|person)|mit jemandem (?:sprechen|reden)|servicedesk|"
    r"(?:ein )?ticket (?:er[öo]ffnen|erstellen|aufmachen|anlegen)|eskalieren|ruf mich an|"
    # Spanish
    r"hablar con (?:una persona|alguien|un humano|un agente|soporte|un t[ée]cnico)|"
    r"una persona real|un humano|un agente|un t[ée]cnico|"
    r"(?:abrir|abre|abreme|ábreme|crear|crea|levantar) (?:un|el) ticket|ll[áa]mame|"
    # French
    r"parler (?:à|a) (?:quelqu['’]un|une personne|un humain|un agent|un conseiller|un technicien)|"
    r"une vraie personne|un humain|un agent|un technicien|"
    r"(?:ouvrir|ouvrez|créer|créez|creer) un ticket|appelez-moi|rappelez-moi"
    r")(?!\w)"
)  # in lower case, for the lower-cased text: quicker than IGNORECASE on every message
_CODE = re.compile(r"^\D{0,40}?(\d{6})\D{0,20}$")
_ORDINALS = {
    **dict.fromkeys(("1", "first", "one", "erste", "ersten", "erster", "erstes", "eins"), 0),
    **dict.fromkeys(("primero", "primera", "premier", "première"), 0),
    **dict.fromkeys(("2", "second", "two", "zweite", "zweiten", "zweiter", "zweites"), 1),
    **dict.fromkeys(("zwei", "segundo", "segunda", "dos", "deuxième", "seconde", "deux"), 1),
    **dict.fromkeys(("3", "third", "three", "dritte", "dritten", "dritter", "drittes"), 2),
    **dict.fromkeys(("drei", "tercero", "tercera", "tres", "troisième", "trois"), 2),
}
# "un", "une", "uno", "una" are also articles: a choice only when they are the whole reply.
_ONE_ALONE = frozenset({"un", "une", "uno", "una"})
# Words before a choice: "the second", "die zweite", "la segunda", "l'option 2", "Nummer 1".
_CHOICE_PREFIX = re.compile(
    r"^(?:(?:the|die|der|das|den|el|la|le|option|opción|opcion|nummer|número|numero|numéro|nr)"
    r"(?:\.|(?!\w))\s*|l['’]\s*|n°\s*|#\s*)+"
)


@dataclass(frozen=True)
class Understanding:
    """What a message asks for, how sure the model is, and what it mentions; `source` is "llm"
    when the LLM provider's understanding was used, and `llm_call` the call made for it."""

    intent: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    entities: list[Entity] = field(default_factory=list)
    source: str | None = None
    llm_call: LlmCall | None = None

    def entity(self, entity_type: str) -> Entity | None:
        """Return the best entity of a type, if any."""
        return next((e for e in self.entities if e.type == entity_type), None)


class LlmFallback:
    """When and how the LLM provider is asked about a message the intent model is unsure of:
    below `below_confidence`, with the catalogue's `intents`; its confidence is capped at
    `max_confidence`, so its answer meets the same thresholds as the model's."""

    def __init__(
        self,
        provider: LlmProvider,
        intents: Iterable[Intent],
        below_confidence: float,
        max_confidence: float,
    ) -> None:
        listed = list(intents)
        self.provider = provider
        self.known = {intent.id for intent in listed}
        self.instructions = intent_instructions(listed)
        self.below_confidence = below_confidence
        self.max_confidence = max_confidence


class Understander:
    """Turns a message into an `Understanding`."""

    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        entity_types: dict[str, set[str]],
        llm: LlmFallback | None = None,
    ) -> None:
        self.classifier = classifier
        self.extractor = extractor
        self.entity_types = entity_types
        self.llm = llm
        self._known_ids = {(alias.type, alias.id) for alias in extractor.aliases}

    def understand(self, text: str) -> Understanding:
        """Classify the intent, then look for the entities that intent can use."""
        prediction = self.classifier.predict(text)
        return Understanding(
            intent=prediction.intent,
            confidence=prediction.confidence,
            alternatives=prediction.alternatives,
            entities=self._entities(text, prediction.intent),
        )

    def reconsider(self, text: str, understanding: Understanding) -> Understanding:
        """With an LLM provider, put a message the intent model is unsure of (confidence below
        the provider's threshold) to the LLM too; otherwise the understanding unchanged."""
        if self.llm is None or understanding.confidence >= self.llm.below_confidence:
            return understanding
        return self.llm_understanding(text, understanding)

    def llm_understanding(self, text: str, local: Understanding) -> Understanding:
        """The LLM's understanding of `text` when it gives a valid one (an intent of the
        catalogue; its entities kept only where they name a known id), else `local` unchanged
        (with the call, when one was made)."""
        if self.llm is None:
            return local
        classified = classify(self.llm.provider, self.llm.instructions, self.llm.known, text)
        if classified.answer is None:
            return replace(local, llm_call=classified.call)
        answer = classified.answer
        ranked = ((local.intent, local.confidence), *local.alternatives)
        return Understanding(
            intent=answer.intent,
            confidence=min(answer.confidence, self.llm.max_confidence),
            alternatives=tuple((i, p) for i, p in ranked if i != answer.intent),
            entities=self._entities(text, answer.intent, answer),
            source="llm",
            llm_call=classified.call,
        )

    def _entities(self, text: str, intent: str, answer: IntentAnswer | None = None) -> list[Entity]:
        """The entities of the types `intent` can use: those in `text`, then those the LLM's
        `answer` names that resolve to a known id (any other is dropped)."""
        types = self.entity_types.get(intent, set()) | {"ticket"}
        found = self.extractor.extract(text, types)
        for entity_type, value in (answer.entities if answer else {}).items():
            named = self._resolve(entity_type, value) if entity_type in types else None
            if named is not None and all(e.type != entity_type for e in found):
                found.append(named)
        return found

    def _resolve(self, entity_type: str, value: str) -> Entity | None:
        """The known entity a name (or an id) stands for, through the enterprise's aliases."""
        if (entity_type, value.strip().lower()) in self._known_ids:
            return Entity(entity_type, value.strip().lower(), value, 1.0)
        matches = self.extractor.extract(value, {entity_type})
        return matches[0] if matches else None


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
    return bool(_HUMAN.search(text.lower()))


def one_time_code(text: str) -> str | None:
    """Return the six-digit code in a reply such as "123456", "code is 123 456" or "der Code
    lautet 123456"."""
    match = _CODE.match(text.replace(" ", "").replace("-", "")) if len(text) < 60 else None
    return match[1] if match else None


def choice(text: str, options: list[str]) -> int | None:
    """Return the index of the option a reply picks ("2", "the second", "die zweite", "la
    segunda", "le premier", an option's id)."""
    clean = _CHOICE_PREFIX.sub("", normalise(text)).strip(" .!")
    if clean in _ONE_ALONE:
        return 0
    first_word = clean.split(" ")[0] if clean else ""
    if first_word in _ORDINALS and _ORDINALS[first_word] < len(options):
        return _ORDINALS[first_word]
    for index, option in enumerate(options):
        if option.replace("_", " ") in clean:
            return index
    return None
