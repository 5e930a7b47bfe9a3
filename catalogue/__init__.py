"""The catalogue: intents, playbooks, knowledge articles, policy and costs, read from `data/`.

The catalogue is data, not code. This package only reads and validates it; the engine
(`resolver`), the models (`models`) and the pipelines all read it from here.
"""

from catalogue.loading import CatalogueError, cached_catalogue, load_catalogue, read_by_language
from catalogue.schema import Article, Catalogue, Intent, Playbook

__all__ = [
    "Article",
    "Catalogue",
    "CatalogueError",
    "Intent",
    "Playbook",
    "cached_catalogue",
    "load_catalogue",
    "read_by_language",
]
