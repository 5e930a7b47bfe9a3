"""A small registry of trained artefacts: versioned files with their metrics and data hash.

Layout: `<models_dir>/<name>/<version>/model.pkl` and `meta.json` beside it, where the version is
the training time and the first characters of the training data's hash. Training data that has
not changed finds its artefact again by hash, so re-running the pipeline does not retrain.
Every training and scoring is also a row of `ops.model_runs` in the warehouse.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import sklearn

MODEL_RUNS_DDL = """
create schema if not exists ops;
create table if not exists ops.model_runs (
    run_id varchar not null,
    model varchar not null,
    version varchar not null,
    trained boolean not null,      -- false: an artefact for the same data was reused
    data_hash varchar not null,
    training_rows bigint,
    rows_scored bigint,
    metrics json,
    recorded_at timestamp not null,
    primary key (run_id, model)
);
"""


@dataclass
class Artefact:
    """A trained model's metadata (the model itself is in `path`)."""

    name: str
    version: str
    path: Path
    data_hash: str
    trained_at: str
    training_rows: int
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    sklearn_version: str = sklearn.__version__


def data_hash(*parts: object) -> str:
    """A stable sha256 of training data given as strings, numbers or sequences of them."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, default=str, sort_keys=True).encode())
    return digest.hexdigest()


def save_artefact(models_dir: Path, name: str, model: object, artefact: Artefact) -> Artefact:
    """Write a model and its metadata under a new version folder; return the metadata."""
    folder = models_dir / name / artefact.version
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / "model.pkl.tmp"
    with staging.open("wb") as handle:
        pickle.dump(model, handle)
    staging.replace(folder / "model.pkl")
    artefact.path = folder / "model.pkl"
    meta = {**asdict(artefact), "path": str(artefact.path)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    return artefact


def new_version(hash_of_data: str) -> str:
    """A version id: the training time (UTC) and the start of the data hash."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{hash_of_data[:8]}"


def _artefacts(models_dir: Path, name: str) -> Iterator[Artefact]:
    """The artefacts of `name` whose model file exists, newest first (versions sort by time).
    The model is the `model.pkl` beside each `meta.json`, so a moved models folder still works."""
    for meta in sorted((models_dir / name).glob("*/meta.json"), reverse=True):
        path = meta.with_name("model.pkl")
        if path.exists():
            yield Artefact(**{**json.loads(meta.read_text()), "path": path})


def find_artefact(models_dir: Path, name: str, hash_of_data: str) -> Artefact | None:
    """The newest artefact of `name` trained on exactly this data, if any."""
    return next((a for a in _artefacts(models_dir, name) if a.data_hash == hash_of_data), None)


def latest_artefact(models_dir: Path, name: str) -> Artefact | None:
    """The newest artefact of `name`, if any."""
    return next(_artefacts(models_dir, name), None)


def load_model(artefact: Artefact) -> Any:
    """Unpickle the model an artefact describes (artefacts are written by this product only)."""
    with artefact.path.open("rb") as handle:
        return pickle.load(handle)


def record_model_run(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    name: str,
    *,
    version: str,
    trained: bool,
    hash_of_data: str,
    training_rows: int,
    rows_scored: int,
    metrics: dict[str, Any],
) -> None:
    """Record that a pipeline run trained (or reused) a model and scored rows with it."""
    connection.execute(MODEL_RUNS_DDL)
    connection.execute(
        "insert or replace into ops.model_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            name,
            version,
            trained,
            hash_of_data,
            training_rows,
            rows_scored,
            json.dumps(metrics, default=str),
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
