"""What the engine says, in the employee's language: the message catalogue
(`data/catalogue/messages/<language>.yml`, `Catalogue.messages`).

English is the source: every key exists in `en.yml`, and a key a translation lacks is said in
English rather than not at all. Intent labels are `intent.<id>`: the English ones come from
`intents.yml`, the translations from the message files. A key with plural forms (`<key>.one`,
`<key>.other`) is looked up by its stem and picked by `count`.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import TYPE_CHECKING, Any

from catalogue import Catalogue
from vocabulary import DEFAULT_LANGUAGE

if TYPE_CHECKING:
    from resolver.turn import Turn

ENGLISH = DEFAULT_LANGUAGE.value
# Approvers are written to in English: the directory does not record anyone's language.
APPROVER_LANGUAGE = ENGLISH
# The masked destinations notifiers return (`mask_phone`, `mask_email`), said in any language.
_PHONE = re.compile(r"^the phone number ending (\S+)$")
_EMAIL = re.compile(r"^your e-mail address (\S+)$")


def plural_form(language: str, count: int) -> str:
    """`one` or `other`: French counts 0 as singular, English, German and Spanish only 1."""
    singular = count in (0, 1) if language == "fr" else count == 1
    return "one" if singular else "other"


def fields_of(template: str) -> set[str]:
    """The `{fields}` a text names."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


class Messages:
    """The catalogue's messages, by language, with English behind every translation."""

    def __init__(self, catalogue: Catalogue) -> None:
        labels = {f"intent.{i.id}": i.label for i in catalogue.intents.values()}
        self.by_language = {language: dict(texts) for language, texts in catalogue.messages.items()}
        self.by_language[ENGLISH] = labels | self.by_language.get(ENGLISH, {})

    @property
    def languages(self) -> list[str]:
        """The languages the engine speaks: those with a message file."""
        return sorted(self.by_language)

    def template(self, key: str, language: str) -> str:
        """The text of a key in a language, else in English."""
        text = self.by_language.get(language, {}).get(key)
        return text if text is not None else self.by_language[ENGLISH][key]

    def text(self, key: str, language: str, **fields: Any) -> str:
        """The message `key` in `language` (English when it has none), its `{fields}` filled
        in; with `count`, the plural form that count takes."""
        if "count" in fields and f"{key}.other" in self.by_language[ENGLISH]:
            key = f"{key}.{plural_form(language, fields['count'])}"
        return self.template(key, language).format(**fields)

    def say(self, turn: Turn, key: str, **fields: Any) -> None:
        """Add the message to the turn's reply, in its conversation's language."""
        turn.say(self.text(key, turn.convo.language, **fields))

    def term(self, kind: str, value: str, language: str) -> str:
        """A value of the data in words (`privilege.sensitive`, `ticket_status.on_hold`,
        `device.laptop`), or the value as written when the catalogue has no words for it."""
        key = f"{kind}.{value}"
        if key in self.by_language[ENGLISH]:
            return self.text(key, language)
        return value.replace("_", " ")

    def label(self, intent_id: str, language: str) -> str:
        """How the engine names an intent ("reset your password")."""
        return self.text(f"intent.{intent_id}", language)

    def destination(self, masked: str, language: str) -> str:
        """Where a code or password went, as a notifier said it (in English), in `language`."""
        phone, email = _PHONE.match(masked), _EMAIL.match(masked)
        if phone:
            return self.text("destination.phone", language, digits=phone[1])
        if email:
            return self.text("destination.email", language, address=email[1])
        return masked

    def join(self, items: list[str], language: str) -> str:
        """Items as a list in running text: "a", "a and b", "a, b and c"."""
        if len(items) < 2:
            return "".join(items)
        return self.text("list.and", language, first=", ".join(items[:-1]), last=items[-1])
