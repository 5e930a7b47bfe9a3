"""Answer from knowledge: TF-IDF retrieval over the catalogue's articles, and the evidence that
an article is about what was asked before it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from catalogue import Article
from models.text import FastTfidfUnion, normalise


@dataclass(frozen=True)
class Hit:
    """An article and how similar it is to the question (cosine, 0..1)."""

    article: Article
    score: float


@dataclass(frozen=True)
class EvidenceRule:
    """When an article is about what was asked.

    `about` is the least similarity for the article the intent points to; `better` the least
    for another article to replace it, and `margin` how much closer that article must be.
    """

    about: float = 0.12
    better: float = 0.55
    margin: float = 0.2


class KnowledgeBase:
    """Finds the article that best answers a question.

    Each article is indexed as several short documents (its title with its keywords, each of
    its example questions, in every language the catalogue has them, and its body); an article
    scores as its best-matching document, so a short question is compared with short texts of
    the same kind. How much a word weighs is learnt from the articles together with
    `background`, the texts employees write (the intent examples, in every language), so the
    words every request uses ("what is", "mein", "mi") weigh little in any language.
    """

    def __init__(self, articles: dict[str, Article], background: Sequence[str] = ()) -> None:
        if not articles:
            raise ValueError("the knowledge base needs at least one article")
        self.articles = list(articles.values())
        self._index = {article.id: n for n, article in enumerate(self.articles)}
        documents, owners = [], []
        for index, article in enumerate(self.articles):
            texts = [
                f"{article.title} {' '.join(article.keywords)}",
                *article.questions,
                article.body,
            ]
            documents.extend(normalise(text) for text in texts)
            owners.extend([index] * len(texts))
        self._starts = np.flatnonzero(np.diff(np.array(owners), prepend=-1))  # first document
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        vectorizer.fit(documents + [normalise(text) for text in background])
        weights = vectorizer.transform(documents).T.tocsr()  # one row per term
        # Most terms are the background's only: rows for the documents' terms alone, so a
        # question's few terms are looked up in a small table (`_rows`: term -> row, or -1).
        used = np.flatnonzero(np.diff(weights.indptr))
        self._document_weights = weights[used].toarray().astype(np.float32)
        self._rows = np.full(len(vectorizer.vocabulary_), -1, dtype=np.intp)
        self._rows[used] = np.arange(len(used))
        self._fast = FastTfidfUnion([vectorizer])

    def similarities(self, question: str) -> np.ndarray:
        """Each article's similarity to the question (its best document's cosine), in
        `articles` order; zeros when no word of the question is in the index."""
        indices, values = self._fast.features(normalise(question))
        rows = self._rows[indices]
        found = rows >= 0
        if not found.any():
            return np.zeros(len(self.articles))
        per_document = values[found].astype(np.float32) @ self._document_weights[rows[found]]
        return np.maximum.reduceat(per_document, self._starts)

    def search(self, question: str) -> Hit | None:
        """Return the best article for a question, or None if nothing matches at all."""
        scores = self.similarities(question)
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            return None
        return Hit(self.articles[best], float(scores[best]))

    def grounded(
        self, question: str, expected: list[str], rule: EvidenceRule = EvidenceRule()
    ) -> Hit | None:
        """The article to send for a question the intent model points at `expected` articles.

        Another article wins when it is clearly closer to the question (the request is about
        something else: "I need a second monitor" is not a fault); an expected article is sent
        only when the question is about it; otherwise None, and the caller asks or offers a
        person instead of guessing.
        """
        scores = self.similarities(question)
        best = int(np.argmax(scores))
        candidates = [self._index[a] for a in expected if a in self._index]
        closest = max(candidates, key=lambda n: scores[n], default=None)
        expected_score = float(scores[closest]) if closest is not None else 0.0
        if (
            best not in candidates
            and scores[best] >= rule.better
            and scores[best] >= expected_score + rule.margin
        ):
            return Hit(self.articles[best], float(scores[best]))
        if closest is not None and expected_score >= rule.about:
            return Hit(self.articles[closest], expected_score)
        return None


def summarise(article: Article, max_steps: int = 6) -> str:
    """Render an article as a chat answer: its title and its numbered steps."""
    lines = article.body.splitlines()
    steps = [line.strip() for line in lines if line.strip()[:2].rstrip(".").isdigit()]
    shown = "\n".join(steps[:max_steps]) if steps else article.body[:600]
    return f"**{article.title}**\n{shown}"
