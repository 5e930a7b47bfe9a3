"""Text in Slack's mrkdwn, shown as typed: links (`<url|text>`), `<!channel>` and `<@user>`
mentions all start with `<`, so the three characters Slack reserves are escaped. The engine's
markdown becomes mrkdwn (`to_mrkdwn`), with the same escaping, so nothing in it links either."""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)


def escape_mrkdwn(text: str) -> str:
    """`text` with `&`, `<` and `>` escaped as Slack asks: nothing in it links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """The engine's markdown as Slack's mrkdwn, escaped: `**bold**` becomes `*bold*`,
    `*italic*` `_italic_`, a heading a bold line, a link "text (address)" (plain, so it cannot
    hide where it goes); lists and code are written the same in both."""
    text = _LINK.sub(lambda m: m[2] if m[1] in ("", m[2]) else f"{m[1]} ({m[2]})", markdown)
    text = _EMPHASIS.sub(r"_\1_", escape_mrkdwn(text))
    text = _STRONG.sub(r"*\2*", text)
    return _HEADING.sub(r"*\1*", text)
