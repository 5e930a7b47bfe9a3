"""The markdown the engine writes (`**bold**`, `*italic*`, numbered and bulleted lists, `code`,
links), for the places that show it as plain text (the CLI, SMS, plain e-mail) and for the ones
that render it (Ask IT, Teams)."""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*\\])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s\\])\1(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s")


def plain_text(markdown: str) -> str:
    """The text as a person reads it where markdown is not rendered: emphasis marks, code
    ticks and heading marks dropped, a link as "text (address)", backslash escapes resolved.
    Lists and paragraphs keep their lines, which read the same as plain text."""
    text = _LINK.sub(lambda m: m[2] if m[1] in ("", m[2]) else f"{m[1]} ({m[2]})", markdown)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    return _ESCAPED.sub(r"\1", text)


def close_lists(markdown: str) -> str:
    """The text with a blank line after every list, so a sentence after a list's last item
    stays a paragraph of its own instead of running on inside that item."""
    lines = markdown.split("\n")
    closed: list[str] = []
    for previous, line in zip(["", *lines], lines, strict=False):
        ends_list = _LIST_ITEM.match(previous) and line.strip() and not line.startswith(" ")
        if ends_list and not _LIST_ITEM.match(line):
            closed.append("")
        closed.append(line)
    return "\n".join(closed)
