"""Read and cross-check the catalogue from its directory (`data/catalogue/` by default).

A mistake in a YAML file fails loudly at start-up with the file and field named.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from catalogue.schema import Article, Catalogue, Intent, Playbook


class CatalogueError(ValueError):
    """The catalogue on disk is missing or malformed."""


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
    _check_message_keys(catalogue)
    unknown = set(catalogue.examples) - set(catalogue.intents)
    if unknown:
        raise CatalogueError(f"examples/ names unknown intents: {sorted(unknown)}")


def _check_message_keys(catalogue: Catalogue) -> None:
    """Every text a playbook names (`success`, `say`, `confirm`) is a key of the English
    messages (`messages/en.yml`), which every translation follows."""
    english = catalogue.messages.get("en", {})
    for playbook in catalogue.playbooks.values():
        named = [playbook.confirm, *(t for s in playbook.steps for t in (s.success, s.say))]
        for key in filter(None, named):
            if key not in english:
                raise CatalogueError(f"playbook {playbook.id}: no message {key!r} in messages/en")


def read_by_language(directory: Path) -> dict[str, dict[str, list[str]]]:
    """Read a folder of `<language>.yml` files, each `{key: [text, ...]}`, by language code."""
    by_language = {path.stem: _read_yaml(path) or {} for path in sorted(directory.glob("*.yml"))}
    for language, texts in by_language.items():
        if not isinstance(texts, dict) or not all(isinstance(v, list) for v in texts.values()):
            raise CatalogueError(f"{directory / language}.yml: expected {{key: [text, ...]}}")
    return by_language


def read_messages(directory: Path) -> dict[str, dict[str, str]]:
    """Read a folder of `<language>.yml` message files, each `{key: text}`, by language code."""
    by_language = {path.stem: _read_yaml(path) or {} for path in sorted(directory.glob("*.yml"))}
    for language, texts in by_language.items():
        if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
            raise CatalogueError(f"{directory / language}.yml: expected {{key: text}}")
    return by_language


def merge_languages(by_language: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    """One `{key: [text, ...]}` holding every language's texts, in language order."""
    merged: dict[str, list[str]] = {}
    for texts in by_language.values():
        for key, values in texts.items():
            merged.setdefault(key, []).extend(values)
    return merged


def _with_translated_questions(articles: dict[str, Article], directory: Path) -> None:
    """Add the questions each language's file asks of an article to the article itself, so the
    knowledge base finds it whichever language the question is in."""
    for language, questions in read_by_language(directory).items():
        unknown = set(questions) - set(articles)
        if unknown:
            raise CatalogueError(f"{directory / language}.yml names unknown articles: {unknown}")
        for article_id, texts in questions.items():
            articles[article_id].questions.extend(texts)


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
    _with_translated_questions(articles, directory / "knowledge" / "questions")
    examples = read_by_language(directory / "examples")
    catalogue = Catalogue(
        intents=intents,
        playbooks=playbooks,
        articles=articles,
        examples=merge_languages(examples),
        examples_by_language=examples,
        messages=read_messages(directory / "messages"),
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
