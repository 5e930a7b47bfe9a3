"""Whose account is this about? Spot requests that target someone other than the requester.

Playbooks only ever act on the requester's own account whatever the text says; this check lets
the engine refuse clearly ("I can only reset your own password") instead of silently acting on
the requester when they asked about someone else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_ROLES = (
    r"boss|manager|colleague|co-?worker|team ?mate|ceo|cfo|cto|cio|coo|president|director|"
    r"intern|assistant|friend|wife|husband|partner|son|daughter|employee|someone else|"
    r"somebody else|another user|everyone|everybody|all users|new hire|new starter|contractor"
)
_OBJECTS = r"password|passcode|pw|account|login|log-?in|mfa|2fa|authenticator|access|credentials"
_POSSESSIVE = re.compile(
    rf"\b(?!(?:my|our|me|it|its|that|this|what|who|there|here|let)\b)([a-z][\w.-]*)'s\s+(?:\w+\s+)?(?:{_OBJECTS})\b",
    re.IGNORECASE,
)
_ROLE_TARGET = re.compile(
    rf"\b(?:for|of|unlock|reset|add|give)\s+(?:the\s+|my\s+|our\s+|a\s+|an\s+)?(?:{_ROLES})\b",
    re.IGNORECASE,
)
# German, Spanish and French: a preposition or genitive and a possessive before the role
# ("das Passwort meines Chefs", "für meine Kollegin", "de mi jefe", "pour mon collègue").
_OTHER_ROLES = (
    r"chef(?:in|s)?|kolleg(?:e|en|in)|vorgesetzte[nrm]?|mitarbeiter(?:in|s)?|praktikant(?:in|en)?|"
    r"assistent(?:in|en)?|teamleiter(?:in|s)?|frau|mann|freund(?:in|es)?|jemand(?:en)? anderes?|"
    r"jef[ea]s?|compa(?:ñ|n)er[oa]s?|colegas?|gerente|director(?:a)?|becari[oa]|asistente|"
    r"espos[oa]|amig[oa]|otr[oa] (?:usuario|persona)|alguien m(?:á|a)s|"
    r"chef(?:fe)?|coll(?:è|e)gues?|manag(?:er|euse)|directeur|directrice|stagiaire|"
    r"assistante?|mari|ami(?:e)?|quelqu'un d'autre|un autre utilisateur"
)
_OTHER_LANGUAGES_TARGET = re.compile(
    r"\b(?:(?:f(?:ü|ue)r|von|de|del|para|a|al|pour|à|du)\s+"
    r"(?:meine[snmr]?|unsere[snmr]?|mi|mis|nuestr[oa]|mon|ma|mes|notre|nos)"
    r"|meine[sr]|unsere[sr])\s+"
    r"(?:neue[nrms]?\s+|nuev[oa]\s+|nouvel(?:le)?\s+)?"
    rf"(?:{_OTHER_ROLES})\b",
    re.IGNORECASE,
)
_HANDLE = re.compile(
    r"\b(?:for|of|add|unlock|reset|give)\s+([a-z0-9._%+-]+@[a-z0-9.-]+|[a-z]+\.[a-z]+\d*|[eE]\d{6})\b",
    re.IGNORECASE,
)


def other_person_reference(
    text: str, requester_refs: set[str], lookup: Callable[[str], str | None]
) -> str | None:
    """Return the phrase naming someone other than the requester, or None if there is none.

    `requester_refs` holds the requester's own id, username and e-mail (lower-case);
    `lookup` maps a username, e-mail or id to an employee id when the directory knows it.
    """
    for pattern in (_POSSESSIVE, _ROLE_TARGET):
        match = pattern.search(text)
        if match and not _names_requester(match, requester_refs):
            return match[0]
    match = _OTHER_LANGUAGES_TARGET.search(text)
    if match:
        return match[0]
    for match in _HANDLE.finditer(text):
        handle = match[1].lower()
        if handle not in requester_refs and lookup(handle) is not None:
            return match[0]
    return None


def _names_requester(match: re.Match[str], requester_refs: set[str]) -> bool:
    groups = [g for g in match.groups() if g]
    return bool(groups) and groups[0].lower() in requester_refs
