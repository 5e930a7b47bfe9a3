"""Hostile text for the display tests: what an attacker typed, and how to find markup of it
that a page would still draw live."""

from __future__ import annotations

import re
from typing import Any

# What four employees of an attacker test sent: a phishing link plotly would draw in a chart.
PHISHING = '<a href="https://evil.example/sso">IT: re-verify your account here</a> <b>urgent</b>'
# A cell a spreadsheet would run (OWASP: CSV injection).
FORMULA = '=HYPERLINK("https://evil.example","x")'
# The tags plotly draws in any text of a figure (its `<br>`, `<b>`, `<a href>` ... subset).
PLOTLY_TAG = re.compile(r"<\s*/?\s*(?:a|b|br|em|i|span|sub|sup)(?:[\s/>]|$)", re.IGNORECASE)
# Markdown that renders HTML or links: a tag or a `](` not escaped with a backslash, a bare URL.
LIVE_MARKDOWN = re.compile(r"(?<!\\)<[a-z/!]|(?<!\\)\]\(|https?://", re.IGNORECASE)


def strings(value: Any) -> list[str]:
    """Every string in a JSON-like value (a figure's JSON, a Slack message), keys excluded."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings(item)]
    return []


def live_plotly_markup(figure: Any) -> list[str]:
    """The strings of a figure's JSON in which plotly would draw a tag (a link, bold, ...)."""
    return [text for text in strings(figure) if PLOTLY_TAG.search(text)]
