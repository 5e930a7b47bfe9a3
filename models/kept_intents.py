"""Which intent model the engine loads: the catalogue's, or one the nightly retraining kept.

The retraining (`learning.candidates.retrain_intents`) trains on the catalogue's examples plus
the reviewed examples people accepted, and keeps the new model only if it scores no worse on
the held-out paraphrases. A kept model is named by a small pointer in the models dir,
`intents-current.json`: its artefact file, the fingerprint of the catalogue examples it was
made for and of everything it was trained on, and its scores. The engine reads the pointer at
start-up; a missing pointer, one made for other catalogue examples, or one whose artefact is
gone means the engine trains (or loads) the model of the catalogue's examples, as before.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path

from models.intents import (
    ARTEFACT_FORMAT,
    IntentClassifier,
    examples_fingerprint,
    load_or_train,
)

POINTER = "intents-current.json"


@dataclass(frozen=True)
class KeptModel:
    """The pointer to a kept intent model (`artefact` is a file name in the models dir)."""

    artefact: str
    catalogue_fingerprint: str
    examples_fingerprint: str
    training_examples: int
    kept_at: str
    scores: dict[str, object] = field(default_factory=dict)


def artefact_name(examples: dict[str, list[str]]) -> str:
    """The file `models.intents.load_or_train` caches the model of these examples in."""
    return f"intents-v{ARTEFACT_FORMAT}-{examples_fingerprint(examples)}.pkl"


def read_pointer(models_dir: Path) -> KeptModel | None:
    """The pointer to the kept model, or None when there is none or it cannot be read."""
    path = models_dir / POINTER
    try:
        return KeptModel(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_pointer(models_dir: Path, kept: KeptModel) -> None:
    """Point the engine at a kept model (atomically: a reader sees the old or the new one)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = models_dir / f"{POINTER}.tmp"
    partial.write_text(json.dumps(asdict(kept), indent=2), encoding="utf-8")
    partial.replace(models_dir / POINTER)


def kept_for(catalogue_examples: dict[str, list[str]], models_dir: Path) -> KeptModel | None:
    """The kept model if it was made for these catalogue examples and its artefact exists."""
    kept = read_pointer(models_dir)
    if kept is None or kept.catalogue_fingerprint != examples_fingerprint(catalogue_examples):
        return None
    return kept if (models_dir / kept.artefact).is_file() else None


def load_current(catalogue_examples: dict[str, list[str]], models_dir: Path) -> IntentClassifier:
    """The intent model the engine uses: the kept one for these catalogue examples, else the
    catalogue's own (trained and cached if needed)."""
    kept = kept_for(catalogue_examples, models_dir)
    if kept is None:
        return load_or_train(catalogue_examples, models_dir)
    with (models_dir / kept.artefact).open("rb") as handle:
        return pickle.load(handle)  # written by this product's retraining only
