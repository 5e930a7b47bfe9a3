"""Text in Slack's mrkdwn, shown as typed: links (`<url|text>`), `<!channel>` and `<@user>`
mentions all start with `<`, so the three characters Slack reserves are escaped."""

from __future__ import annotations


def escape_mrkdwn(text: str) -> str:
    """`text` with `&`, `<` and `>` escaped as Slack asks: nothing in it links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
