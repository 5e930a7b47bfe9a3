"""Keep secrets out of the record: redact passwords, codes, keys and card numbers from text.

Everything that is logged, put in a ticket or sent to the warehouse passes through `redact`.
It errs on the side of hiding too much: a redacted word costs nothing, a leaked password a lot.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_SECRET_WORDS = (
    r"pass(?:word|wd|code|phrase)?|pw|pwd|pin|secret|token|api[ _-]?key|credentials?|"
    r"otp|code"
)

# "my password is Hunter2!x", "pw: abc", "password=abc", "new passcode 1234"
_SECRET_AFTER_WORD = re.compile(
    rf"\b(?P<lead>(?:{_SECRET_WORDS})\b\s*"
    r"(?P<sep>is|was|=|:|should be|will be|set to|to)?\s*[\"']?)"
    r"(?P<secret>[^\s\"']{3,})",
    re.IGNORECASE,
)
# Words that follow "password is" in ordinary sentences and are not secrets.
_ORDINARY_WORDS = frozenset(
    [
        "expired",
        "wrong",
        "not",
        "incorrect",
        "invalid",
        "locked",
        "working",
        "broken",
        "reset",
        "rejected",
        "too",
        "the",
        "a",
        "an",
        "and",
        "or",
        "for",
        "my",
        "it",
        "this",
        "that",
        "still",
        "now",
        "again",
        "already",
        "correct",
        "right",
        "fine",
        "ok",
        "okay",
        "being",
        "changed",
        "blocked",
        "required",
        "needed",
        "missing",
        "lost",
        "forgotten",
        "forgot",
        "compromised",
        "stolen",
        "weak",
        "strong",
        "long",
        "short",
        "same",
        "different",
        "new",
        "old",
    ]
)
_PATTERNS = (
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\b(?:xox[abprs]|ghp|gho|glpat|sk)[-_][A-Za-z0-9_-]{10,}\b"),  # vendor tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),  # JWT
    re.compile(r"\b(?:\d[ -]?){13,19}\b"),  # payment card numbers
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
)
_CODE_ONLY = re.compile(r"^\s*\d{4,8}\s*$")


def _mask_secret(match: re.Match[str]) -> str:
    secret = match["secret"].rstrip(".,!?")
    looks_random = any(not char.isalpha() for char in secret)
    if secret.lower() in _ORDINARY_WORDS or not (match["sep"] or looks_random):
        return match[0]
    return f"{match['lead']}{MASK}"


def redact(text: str) -> str:
    """Return the text with anything that looks like a secret replaced by `[REDACTED]`."""
    redacted = _SECRET_AFTER_WORD.sub(_mask_secret, text)
    for pattern in _PATTERNS:
        redacted = pattern.sub(MASK, redacted)
    return redacted


def redact_code(text: str) -> str:
    """Redact a reply that may be a one-time code (sent while a code is awaited)."""
    return _CODE_ONLY.sub(MASK, redact(text))
