"""The pipeline's train-and-score step: retrain what changed, score the warehouse, record it.

Scores land in the `marts` schema of the working warehouse, beside the dbt marts, and are
published with them: `marts.topics` (clusters of unresolved requests and unmapped tickets) and
`marts.spikes` (volume spikes per intent and office). Each model's run is a row of
`ops.model_runs`, with a hash of the data it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from models.intents import examples_fingerprint, load_or_train
from models.registry import data_hash, record_model_run
from models.spikes import detect_spikes, interaction_counts, spike_episodes
from models.topics import topics_table
from resolver.catalogue import load_catalogue
from unticket.settings import Settings

SEED = 7


@dataclass
class ModelsOutcome:
    """What the step did: rows scored into marts, and one line per model."""

    rows_scored: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The models' lines, joined."""
        return "; ".join(self.lines)


def write_mart(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace `marts.<table>` with a frame's rows, in one statement; return the row count."""
    connection.execute("create schema if not exists marts")
    connection.register("scored", frame.to_arrow())
    try:
        connection.execute(f"create or replace table marts.{table} as select * from scored")
    finally:
        connection.unregister("scored")
    return frame.height


def _frame_hash(frame: pl.DataFrame) -> str:
    return data_hash(frame.height, int(frame.hash_rows(seed=SEED).sum()) if frame.height else 0)


def _score_topics(connection: duckdb.DuckDBPyConnection, run_id: str) -> str:
    topics = topics_table(connection, seed=SEED)
    rows = write_mart(connection, "topics", topics)
    record_model_run(
        connection, run_id, "topics", version=_frame_hash(topics)[:12], trained=True,
        hash_of_data=_frame_hash(topics), training_rows=int(topics["size"].sum() or 0),
        rows_scored=rows, metrics={"topics": rows},
    )  # fmt: skip
    return f"{rows} topics"


def _score_spikes(connection: duckdb.DuckDBPyConnection, run_id: str) -> str:
    counts = interaction_counts(connection)
    episodes = spike_episodes(detect_spikes(counts))
    rows = write_mart(connection, "spikes", episodes)
    record_model_run(
        connection, run_id, "spikes", version=_frame_hash(counts)[:12], trained=True,
        hash_of_data=_frame_hash(counts), training_rows=counts.height, rows_scored=rows,
        metrics={"episodes": rows},
    )  # fmt: skip
    return f"{rows} spike episodes"


def train_and_score(
    settings: Settings, connection: duckdb.DuckDBPyConnection, run_id: str
) -> ModelsOutcome:
    """Make sure the intent classifier for the current catalogue is trained, then score the
    warehouse: topics and spikes."""
    catalogue = load_catalogue(settings.catalogue_dir)
    load_or_train(catalogue.examples, settings.models_dir)
    outcome = ModelsOutcome()
    outcome.lines.append(f"intent classifier {examples_fingerprint(catalogue.examples)[:12]}")
    for score in (_score_topics, _score_spikes):
        outcome.lines.append(score(connection, run_id))
    outcome.rows_scored = sum(
        connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
        for table in ("topics", "spikes")
    )
    return outcome
