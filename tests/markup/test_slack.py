"""Slack mrkdwn: what an employee typed stays text, whichever of Slack's markup it holds."""

import pytest

from markup.slack import escape_mrkdwn, to_mrkdwn


@pytest.mark.parametrize(
    ("typed", "posted"),
    [
        ("<!channel> reboot now", "&lt;!channel&gt; reboot now"),
        ("<https://evil.example/sso|re-verify>", "&lt;https://evil.example/sso|re-verify&gt;"),
        ("<@U024BE7LH> approve", "&lt;@U024BE7LH&gt; approve"),
        ("R&D &lt;team&gt;", "R&amp;D &amp;lt;team&amp;gt;"),  # `&` first: nothing decodes twice
        ("*bold* _and_ ~plain~", "*bold* _and_ ~plain~"),
    ],
)
def test_slacks_three_reserved_characters_are_escaped(typed: str, posted: str) -> None:
    assert escape_mrkdwn(typed) == posted


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**Fix a printer**\n1. Open **Settings**", "*Fix a printer*\n1. Open *Settings*"),
        ("an *aside* and __strong__", "an _aside_ and *strong*"),
        ("see [the guide](https://it.example/vpn)", "see the guide (https://it.example/vpn)"),
        ("## Steps", "*Steps*"),
        ("<!channel> **now**", "&lt;!channel&gt; *now*"),  # escaped first: nothing mentions
        ("snake_case and 2 * 3", "snake_case and 2 * 3"),
    ],
)
def test_the_engines_markdown_becomes_escaped_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn
