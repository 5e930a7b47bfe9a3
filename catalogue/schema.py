"""What the catalogue holds: intents, playbooks, knowledge articles, policy and costs.

Pydantic models, so a malformed file fails with the field named; `loading.py` reads them from
disk.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

EntityType = Literal["application", "group", "device", "ticket"]


class Intent(BaseModel):
    """One need the engine understands, and how it is handled."""

    id: str
    label: str
    support: bool
    automatable: bool
    blocking_factor: float = Field(ge=0, le=1)
    handling: str | dict[str, str]
    support_tier: str
    baseline_working_hours: float | None = Field(default=None, gt=0)
    entities: list[EntityType] = []

    @property
    def playbook_id(self) -> str | None:
        """The playbook that resolves this intent, if any."""
        return self.handling.get("playbook") if isinstance(self.handling, dict) else None

    @property
    def article_id(self) -> str | None:
        """The knowledge article that answers this intent, if any."""
        return self.handling.get("article") if isinstance(self.handling, dict) else None

    @property
    def handling_kind(self) -> str:
        """One of playbook, article, knowledge_search, handoff, small_talk, none."""
        if isinstance(self.handling, dict):
            return next(iter(self.handling))
        return self.handling


class PlaybookStep(BaseModel):
    """One step: a connector call, a switch to another playbook, or a knowledge answer."""

    call: str | None = None
    switch_to: str | None = None
    article: str | None = None
    when: str | None = None
    success: str | None = None
    say: str | None = None
    stop: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> PlaybookStep:
        kinds = [k for k in (self.call, self.switch_to, self.article) if k]
        if len(kinds) != 1:
            raise ValueError("a step needs exactly one of: call, switch_to, article")
        return self


class Playbook(BaseModel):
    """A resolution recipe: verification, approval policy and connector calls."""

    id: str
    intent: str
    description: str
    target: Literal["requester"]
    verification: Literal["none", "otp"]
    approval: str
    needs: EntityType | None = None
    steps: list[PlaybookStep]
    confirm: str | None = None


class Article(BaseModel):
    """A knowledge article: front matter plus a markdown body."""

    id: str
    title: str
    intents: list[str] = []  # the needs it answers: sent for them when the request is about it
    keywords: list[str] = []
    questions: list[str] = []
    body: str


class Catalogue(BaseModel):
    """Everything the engine reads from `data/catalogue/`."""

    intents: dict[str, Intent]
    playbooks: dict[str, Playbook]
    articles: dict[str, Article]
    examples: dict[str, list[str]]  # every language's examples of each intent, together
    examples_by_language: dict[str, dict[str, list[str]]]  # {language: {intent: [text, ...]}}
    messages: dict[str, dict[str, str]] = {}  # what the engine says: {language: {key: text}}
    policy: dict[str, Any]
    costs: dict[str, Any]
    enterprise: dict[str, Any]

    def articles_for(self, intent_id: str) -> list[str]:
        """The articles that answer an intent: its own first, then those whose front matter
        names it."""
        own = self.intents[intent_id].article_id
        named = [a.id for a in self.articles.values() if intent_id in a.intents and a.id != own]
        return [own, *named] if own else named

    def background_texts(self) -> list[str]:
        """Every example utterance, in every language: how employees write."""
        return [text for texts in self.examples.values() for text in texts]

    def intent(self, intent_id: str) -> Intent:
        """Return one intent by id."""
        return self.intents[intent_id]

    def approval_roles(self, policy_name: str, privilege: str) -> list[str]:
        """Return the roles that must approve a resource of this privilege under a policy."""
        return list(self.policy[policy_name][privilege])
