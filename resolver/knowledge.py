"""Answer from knowledge: TF-IDF retrieval over the catalogue's articles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from catalogue import Article
from models.text import FastTfidf, normalise


@dataclass(frozen=True)
class Hit:
    """An article and how similar it is to the question (cosine, 0..1)."""

    article: Article
    score: float


class KnowledgeBase:
    """Finds the article that best answers a question.

    Each article is indexed as several short documents (its title with its keywords, each of
    its example questions, its body); an article scores as its best-matching document, so a
    short question is compared with short texts of the same kind.
    """

    def __init__(self, articles: dict[str, Article]) -> None:
        if not articles:
            raise ValueError("the knowledge base needs at least one article")
        self.articles = list(articles.values())
        documents, owners = [], []
        for index, article in enumerate(self.articles):
            texts = [
                f"{article.title} {' '.join(article.keywords)}",
                *article.questions,
                article.body,
            ]
            documents.extend(normalise(text) for text in texts)
            owners.extend([index] * len(texts))
        self._owners = np.array(owners)
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self._document_weights = np.ascontiguousarray(
            vectorizer.fit_transform(documents).T.toarray()
        )
        self._fast = FastTfidf(vectorizer)

    def search(self, question: str) -> Hit | None:
        """Return the best article for a question, or None if nothing matches at all."""
        indices, values = self._fast.features(normalise(question))
        if not indices.size:
            return None
        scores = values @ self._document_weights[indices]
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            return None
        return Hit(self.articles[int(self._owners[best])], float(scores[best]))


def summarise(article: Article, max_steps: int = 6) -> str:
    """Render an article as a chat answer: its title and its numbered steps."""
    lines = article.body.splitlines()
    steps = [line.strip() for line in lines if line.strip()[:2].rstrip(".").isdigit()]
    shown = "\n".join(steps[:max_steps]) if steps else article.body[:600]
    return f"**{article.title}**\n{shown}"
