"""Slack mrkdwn: what an employee typed stays text, whichever of Slack's markup it holds."""

import pytest

from markup.slack import escape_mrkdwn


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
