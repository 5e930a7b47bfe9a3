"""The pipeline's train-and-score step: retrain what changed, score the warehouse, record it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from models.intents import examples_fingerprint, load_or_train
from resolver.catalogue import load_catalogue
from unticket.settings import Settings


@dataclass(frozen=True)
class ModelsOutcome:
    """What the step did: rows scored into marts, and a one-line summary."""

    rows_scored: int
    summary: str


def train_and_score(settings: Settings, connection: duckdb.DuckDBPyConnection) -> ModelsOutcome:
    """Make sure the intent classifier for the current catalogue is trained (cached by a hash
    of its examples); later models train and score here too."""
    catalogue = load_catalogue(settings.catalogue_dir)
    load_or_train(catalogue.examples, settings.models_dir)
    fingerprint = examples_fingerprint(catalogue.examples)[:12]
    return ModelsOutcome(rows_scored=0, summary=f"intent classifier {fingerprint} ready")
