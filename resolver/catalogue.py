"""The catalogue: intents, playbooks, knowledge articles, policy and costs, loaded from `data/`.

The catalogue is data, not code. This module only reads and validates it, so a mistake in a
YAML file fails loudly at start-up with the file and field named.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

EntityType = Literal["application", "group", "device", "ticket"]


class CatalogueError(ValueError):
    """The catalogue on disk is missing or malformed."""


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
    intents: list[str] = []
    keywords: list[str] = []
    questions: list[str] = []
    body: str


class Catalogue(BaseModel):
    """Everything the engine reads from `data/catalogue/`."""

    intents: dict[str, Intent]
    playbooks: dict[str, Playbook]
    articles: dict[str, Article]
    examples: dict[str, list[str]]
    policy: dict[str, Any]
    costs: dict[str, Any]
    enterprise: dict[str, Any]

    def intent(self, intent_id: str) -> Intent:
        """Return one intent by id."""
        return self.intents[intent_id]

    def approval_roles(self, policy_name: str, privilege: str) -> list[str]:
        """Return the roles that must approve a resource of this privilege under a policy."""
        return list(self.policy[policy_name][privilege])


# libyaml's loader when PyYAML was built with it: the same safe subset, several times faster
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError as error:
        raise CatalogueError(f"catalogue file missing: {path}") from error
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: not valid YAML: {error}") from error


def parse_article(path: Path) -> Article:
    """Parse one markdown article with YAML front matter between `---` lines."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise CatalogueError(f"{path}: an article starts with YAML front matter ('---')")
    _, front, body = text.split("---", 2)
    try:
        return Article(**yaml.load(front, Loader=_SAFE_LOADER), body=body.strip())
    except (yaml.YAMLError, ValidationError, TypeError) as error:
        raise CatalogueError(f"{path}: bad front matter: {error}") from error


def _check_links(catalogue: Catalogue) -> None:
    for intent in catalogue.intents.values():
        if intent.playbook_id and intent.playbook_id not in catalogue.playbooks:
            raise CatalogueError(f"intent {intent.id}: unknown playbook {intent.playbook_id}")
        if intent.article_id and intent.article_id not in catalogue.articles:
            raise CatalogueError(f"intent {intent.id}: unknown article {intent.article_id}")
    for playbook in catalogue.playbooks.values():
        for step in playbook.steps:
            if step.switch_to and step.switch_to not in catalogue.playbooks:
                raise CatalogueError(f"playbook {playbook.id}: unknown playbook {step.switch_to}")
            if step.article and step.article not in catalogue.articles:
                raise CatalogueError(f"playbook {playbook.id}: unknown article {step.article}")
    unknown = set(catalogue.examples) - set(catalogue.intents)
    if unknown:
        raise CatalogueError(f"examples.yml names unknown intents: {sorted(unknown)}")


def load_catalogue(directory: Path) -> Catalogue:
    """Load and cross-check the whole catalogue from a directory."""
    try:
        intents = {i["id"]: Intent(**i) for i in _read_yaml(directory / "intents.yml")["intents"]}
        playbooks = {
            p.stem: Playbook(**_read_yaml(p))
            for p in sorted((directory / "playbooks").glob("*.yml"))
        }
    except (ValidationError, TypeError, KeyError) as error:
        raise CatalogueError(f"{directory}: {error}") from error
    articles = {a.id: a for a in map(parse_article, sorted((directory / "knowledge").glob("*.md")))}
    catalogue = Catalogue(
        intents=intents,
        playbooks=playbooks,
        articles=articles,
        examples=_read_yaml(directory / "examples.yml"),
        policy=_read_yaml(directory / "policy.yml"),
        costs=_read_yaml(directory / "costs.yml"),
        enterprise=_read_yaml(directory / "enterprise.yml"),
    )
    _check_links(catalogue)
    return catalogue


@lru_cache(maxsize=4)
def cached_catalogue(directory: Path) -> Catalogue:
    """Load a catalogue once per process."""
    return load_catalogue(directory)
