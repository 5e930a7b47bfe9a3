"""Articles the knowledge base learned: drafts a person approved (`learning.drafts`), kept in
the data dir's learning store (`learning.sqlite`, mode 0600) beside the proposals and the
reviewers' decisions.

The engine answers from the catalogue's articles plus these (`with_learned_articles`), and a
running server picks up a new approval within a poll (`LearnedKnowledge.poll`: one read of a
version counter that every approval raises).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from catalogue import Article, Catalogue
from resolver.connectors.embedded import open_sqlite
from resolver.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from resolver.engine import Engine

LEARNING_STORE = "learning.sqlite"
LEARNED_PREFIX = "learned-"  # every learned article's id starts with it
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)

LEARNED_SCHEMA = """
create table if not exists learned_articles (
    article_id text primary key,
    draft_id text not null unique,      -- the approved draft (`learning.drafts`)
    markdown text not null,             -- front matter and body, as a catalogue article file
    approved_by text not null,
    approved_at text not null
);
create table if not exists knowledge_version (
    id integer primary key check (id = 1),
    version integer not null
);
insert or ignore into knowledge_version (id, version) values (1, 0);
"""


def open_learning_store(data_dir: Path) -> sqlite3.Connection:
    """Open (creating it if needed) the data dir's learning store, the learned articles'
    tables included; every commit is durable. Other modules add their own tables."""
    store = open_sqlite(data_dir / LEARNING_STORE, synchronous="full")
    store.executescript(LEARNED_SCHEMA)
    return store


def parse_learned(markdown: str) -> Article:
    """A learned article from its markdown: YAML front matter between `---` lines, then the
    body, as a catalogue article file."""
    match = _FRONT_MATTER.match(markdown)
    if match is None:
        raise ValueError("a learned article starts with YAML front matter between '---' lines")
    return Article(**yaml.safe_load(match[1]), body=match[2].strip())


def learned_articles(data_dir: Path) -> dict[str, Article]:
    """The approved articles of the data dir's learning store, by id (none without a store)."""
    if not (data_dir / LEARNING_STORE).exists():
        return {}
    store = open_learning_store(data_dir)
    try:
        rows = store.execute(
            "select article_id, markdown from learned_articles order by article_id"
        ).fetchall()
    finally:
        store.close()
    return {row["article_id"]: parse_learned(row["markdown"]) for row in rows}


def knowledge_version(data_dir: Path) -> int:
    """How many times learned articles changed (0 without a store): cheap to poll."""
    path = data_dir / LEARNING_STORE
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as store:
        try:
            row = store.execute("select version from knowledge_version").fetchone()
        except sqlite3.OperationalError:  # the store exists, its tables not yet
            return 0
    return int(row[0]) if row else 0


def with_learned_articles(catalogue: Catalogue, data_dir: Path) -> Catalogue:
    """A copy of the catalogue whose articles include the data dir's learned ones, for one
    engine (the copy's `articles` may be replaced by `LearnedKnowledge.poll`)."""
    articles = {**catalogue.articles, **learned_articles(data_dir)}
    return catalogue.model_copy(update={"articles": articles})


class LearnedKnowledge:
    """Keeps a running engine's knowledge in step with approvals: `poll` (cheap: one read of
    the knowledge version) rebuilds the knowledge base when learned articles changed."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.version = knowledge_version(data_dir)
        self.catalogue_articles = {
            key: article
            for key, article in engine.catalogue.articles.items()
            if not key.startswith(LEARNED_PREFIX)
        }

    def poll(self) -> bool:
        """Reload the learned articles if their version changed; return whether it did."""
        version = knowledge_version(self.data_dir)
        if version == self.version:
            return False
        articles = {**self.catalogue_articles, **learned_articles(self.data_dir)}
        catalogue = self.engine.catalogue
        knowledge = KnowledgeBase(articles, background=catalogue.background_texts())
        catalogue.articles = articles  # the engine and its playbooks share this catalogue
        self.engine.knowledge = knowledge
        self.version = version
        return True
