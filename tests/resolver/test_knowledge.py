"""The knowledge base sends an article only when the question is about it."""

import pytest

from catalogue import cached_catalogue
from resolver.knowledge import KnowledgeBase
from settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    catalogue = cached_catalogue(PROJECT_ROOT / "data" / "catalogue")
    return KnowledgeBase(catalogue.articles, background=catalogue.background_texts())


@pytest.mark.parametrize(
    ("question", "expected", "sent"),
    [
        # a request is not a fault: the article about the thing asked for wins
        ("how do I hook up a second monitor", "hardware-troubleshooting", "second-monitor"),
        ("I need a new headset for calls", "hardware-troubleshooting", "request-new-laptop"),
        (
            "my laptop is super slow since the last update",
            "hardware-troubleshooting",
            "slow-laptop",
        ),
        (
            "the meeting room screen won't show my laptop",
            "hardware-troubleshooting",
            "meeting-room-display",
        ),
        ("what's the guest wifi password for a visitor?", "wifi-troubleshooting", "guest-wifi"),
        # the intent's own article when the question is about it
        ("my laptop won't turn on", "hardware-troubleshooting", "hardware-troubleshooting"),
        ("wifi keeps dropping every few minutes", "wifi-troubleshooting", "wifi-troubleshooting"),
    ],
)
def test_the_article_sent_is_the_one_the_question_is_about(
    knowledge: KnowledgeBase, question: str, expected: str, sent: str
) -> None:
    hit = knowledge.grounded(question, [expected])
    assert hit is not None and hit.article.id == sent


def test_no_article_is_sent_without_evidence(knowledge: KnowledgeBase) -> None:
    assert (
        knowledge.grounded("what is on the canteen menu on friday", ["printer-troubleshooting"])
        is None
    )
    assert knowledge.grounded("zzz qqq", ["wifi-troubleshooting"]) is None


def test_similarities_score_every_article(knowledge: KnowledgeBase) -> None:
    scores = knowledge.similarities("how do I connect a second monitor")
    assert scores.shape == (len(knowledge.articles),)
    best = knowledge.articles[int(scores.argmax())]
    assert (
        best.id == "second-monitor"
        and knowledge.search("how do I connect a second monitor").article is best
    )
