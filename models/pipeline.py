"""The pipeline's train-and-score step: retrain what changed, score the warehouse, record it.

Scores land in the `marts` schema of the working warehouse, beside the dbt marts, and are
published with them: `marts.ticket_categories` (the intent the ticket categoriser predicts for
imported tickets and escalations of an unspecified need), `marts.issue_impact` (lost time per
occurrence of each issue type: the impact model beside the category-median baseline),
`marts.automation_priorities` (what is left to automate, with every input of the score),
`marts.topics` (clusters of unresolved requests and unmapped tickets) and `marts.spikes` (volume
spikes per intent and office). Each model's run is a row of `ops.model_runs`, with a hash of
the data it saw; the categoriser's and the impact model's artefacts are versioned in the models
folder and reused while their training data is unchanged.

The marts other code reads are declared once, in `MART_SCHEMAS` (the topics' in
`models.topics.TOPICS_SCHEMA`): `write_mart` refuses a frame that does not follow its
declaration, and the dashboards select exactly the declared columns.

The categoriser runs first: a ticket it categorises confidently counts toward the predicted
intent's issue type in the impact and priority models (see `OCCURRENCES_SQL`, `REQUESTS_SQL`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import duckdb
import polars as pl

from catalogue import Catalogue, load_catalogue
from models.categorizer import Categorizer
from models.impact import ImpactFeatures, ImpactModel, evaluate, train_impact_model
from models.intents import examples_fingerprint, load_or_train
from models.priorities import (
    PRIORITY_COLUMNS,
    automation_priorities,
    default_loaded_hourly_cost,
    intents_frame,
    issue_type_expr,
)
from models.registry import (
    Artefact,
    data_hash,
    find_artefact,
    load_model,
    new_version,
    record_model_run,
    save_artefact,
)
from models.spikes import detect_spikes, interaction_counts, spike_episodes
from models.ticket_categories import (
    CATEGORIZER,
    TrainingSet,
    categorise,
    history_texts,
    no_categories,
    train_with_holdout,
    training_set,
    uncategorised,
)
from models.topics import TOPICS_SCHEMA, topics_table
from settings import Settings

SEED = 7

# `models.spikes.spike_episodes`: one row per spike episode of an intent at an office.
SPIKES_MART_SCHEMA: Mapping[str, pl.DataType] = {
    "intent": pl.String(),
    "location_id": pl.String(),
    "started_at": pl.Datetime("us"),
    "ended_at": pl.Datetime("us"),
    "buckets": pl.Int64(),
    "interactions": pl.Int64(),
    "expected": pl.Float64(),
    "peak_ratio": pl.Float64(),
    "peak_score": pl.Float64(),
}
# `models.priorities.automation_priorities`: one row per issue type, rank 1 saves the most.
PRIORITIES_MART_SCHEMA: Mapping[str, pl.DataType] = dict(
    zip(
        PRIORITY_COLUMNS,
        (
            pl.UInt32(), pl.String(), pl.UInt32(), pl.UInt32(), pl.Float64(), pl.Float64(),
            pl.Float64(), pl.Float64(), pl.Float64(), pl.String(), pl.UInt32(), pl.Float64(),
            pl.Float64(), pl.String(), pl.Float64(), pl.Float64(), pl.Float64(), pl.Float64(),
        ),
        strict=True,
    )
)  # fmt: skip
# The contract of every mart this step writes that the dashboards and the report read: the
# producer writes exactly these columns and types, readers select them by these names.
MART_SCHEMAS: Mapping[str, Mapping[str, pl.DataType]] = {
    "automation_priorities": PRIORITIES_MART_SCHEMA,
    "topics": TOPICS_SCHEMA,
    "spikes": SPIKES_MART_SCHEMA,
}


class MartContractError(ValueError):
    """A producer's frame does not follow its mart's declared schema."""


def check_mart(table: str, frame: pl.DataFrame) -> None:
    """Raise `MartContractError` unless the frame has exactly the columns and types
    `MART_SCHEMAS` declares for `marts.<table>` (marts without a declaration pass)."""
    declared = MART_SCHEMAS.get(table)
    if declared is not None and frame.schema != pl.Schema(declared):
        raise MartContractError(
            f"marts.{table} must have the columns {dict(pl.Schema(declared))}, "
            f"not {dict(frame.schema)}"
        )


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
    """Replace `marts.<table>` with a frame's rows, in one statement; return the row count.
    A mart with a declared schema (`MART_SCHEMAS`) must follow it (`check_mart`)."""
    check_mart(table, frame)
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


def _categorizer(settings: Settings, training: TrainingSet) -> tuple[Categorizer, Artefact, bool]:
    """The categoriser trained on exactly these tickets: the registry's, or a new one measured
    on a hold-out; and whether it was trained now."""
    hashed = _frame_hash(training.frame)
    found = find_artefact(settings.models_dir, CATEGORIZER, hashed)
    if found is not None:
        return load_model(found), found, False
    model, metrics = train_with_holdout(training.frame, seed=SEED)
    version = new_version(hashed)
    metrics = {**metrics, "labels": len(model.labels), "rare_intents": list(training.rare_intents)}
    params = {**model.info["params"], "seed": SEED, "labels": model.labels}
    artefact = Artefact(
        CATEGORIZER, version, settings.models_dir, hashed, version[:15], training.frame.height,
        metrics, params,
    )  # fmt: skip
    return model, save_artefact(settings.models_dir, CATEGORIZER, model, artefact), True


def _score_ticket_categories(
    settings: Settings, connection: duckdb.DuckDBPyConnection, run_id: str
) -> str:
    """Train (or reuse) the categoriser on imported history and write `marts.ticket_categories`;
    without enough history, write it empty and record why in `ops.model_runs`."""
    history = history_texts(connection)
    training = training_set(history)
    if training.skip_reason is not None:
        write_mart(connection, "ticket_categories", no_categories())
        record_model_run(
            connection, run_id, CATEGORIZER, version="none", trained=False,
            hash_of_data=_frame_hash(training.frame), training_rows=training.frame.height,
            rows_scored=0, metrics={"skipped": training.skip_reason},
        )  # fmt: skip
        return f"categoriser skipped: {training.skip_reason}"
    model, artefact, trained = _categorizer(settings, training)
    scored = categorise(model, uncategorised(connection, history), artefact.version)
    rows = write_mart(connection, "ticket_categories", scored)
    record_model_run(
        connection, run_id, CATEGORIZER, version=artefact.version, trained=trained,
        hash_of_data=artefact.data_hash, training_rows=artefact.training_rows, rows_scored=rows,
        metrics=artefact.metrics,
    )  # fmt: skip
    return (
        f"categoriser {artefact.version} (hold-out accuracy "
        f"{artefact.metrics['holdout_accuracy']:.3f}): {scored['is_confident'].sum()} of {rows} "
        "uncategorised tickets categorised"
    )


OCCURRENCES_SQL = """
with
intents as (select * from marts.dim_intents),
costs as (select * from raw.cost_settings),
categorised as (select * from marts.ticket_categories where is_confident),
median_blocking as (
    select median(blocking_factor) as blocking_factor from intents where is_support
)
select
    'unticket' as source, coalesce(categorised.predicted_intent, interactions.intent) as intent,
    null as category, interactions.channel,
    coalesce(interactions.department, 'unknown') as department,
    interactions.started_at as opened_at, interactions.lost_hours,
    categorised.predicted_intent is not null as is_categorised
from marts.fct_interactions as interactions
left join categorised on interactions.interaction_id = categorised.interaction_id
where interactions.is_support and interactions.outcome <> 'pending'
    and not interactions.is_deflected and interactions.lost_hours is not null
union all
select
    tickets.source, coalesce(categorised.predicted_intent, tickets.intent), tickets.category,
    'ticket' as channel, 'unknown', tickets.opened_at,
    tickets.working_hours_to_resolve * coalesce(intents.blocking_factor,
        median_blocking.blocking_factor) + costs.ticket_context_switch_minutes / 60.0,
    categorised.predicted_intent is not null
from marts.fct_tickets as tickets
left join categorised on tickets.ticket_key = categorised.ticket_key
cross join median_blocking
cross join costs
left join intents on coalesce(categorised.predicted_intent, tickets.intent) = intents.intent
where tickets.source <> 'unticket' and tickets.working_hours_to_resolve is not null
"""
# Every request, for the automation priorities (models/priorities.py): the engine's support
# interactions with a known outcome, deflected or not, with the requester's loaded hourly cost
# (the roster's, else the catalogue default: the figure the savings use), and every imported
# ticket; a confidently categorised one with the predicted intent, as in OCCURRENCES_SQL.
REQUESTS_SQL = """
with
categorised as (select * from marts.ticket_categories where is_confident)
select
    'unticket' as source, coalesce(categorised.predicted_intent, interactions.intent) as intent,
    null as category, interactions.started_at as opened_at, true as is_interaction,
    interactions.is_deflected, interactions.loaded_hourly_cost
from marts.fct_interactions as interactions
left join categorised on interactions.interaction_id = categorised.interaction_id
where interactions.is_support and interactions.outcome <> 'pending'
union all
select
    tickets.source, coalesce(categorised.predicted_intent, tickets.intent), tickets.category,
    tickets.opened_at, false, false, null
from marts.fct_tickets as tickets
left join categorised on tickets.ticket_key = categorised.ticket_key
where tickets.source <> 'unticket'
"""
IMPACT_FEATURES = ImpactFeatures(categorical=("issue_type", "channel", "department"))
# Priorities are computed as of just after the newest request, so that it counts.
JUST_AFTER = timedelta(seconds=1)


def occurrences(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every occurrence of an issue that was not deflected, with its lost hours: the engine's
    support interactions that still ended with a person, unresolved or re-contacted, and the
    imported tickets (lost time as in kpi_impact_pareto), with their issue type. This is the
    burden automation could still remove. An occurrence of an unspecified need that the ticket
    categoriser categorised confidently (`marts.ticket_categories`) has the predicted intent
    and `is_categorised` true."""
    frame = connection.sql(OCCURRENCES_SQL).pl()
    return frame.with_columns(issue_type_expr()).sort("opened_at")


def requests(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every request with its issue type (`REQUESTS_SQL`): what the automation priorities
    count what is left from, the engine's observed success on, and price by the roster."""
    return connection.sql(REQUESTS_SQL).pl().with_columns(issue_type_expr()).sort("opened_at")


def warehouse_priorities(
    connection: duckdb.DuckDBPyConnection, catalogue: Catalogue
) -> pl.DataFrame:
    """The automation priorities of the warehouse (`models.priorities`), as of just after its
    newest request: its occurrences' lost hours, its requests, the catalogue's intents, and the
    catalogue's loaded hourly cost where the roster has none."""
    asked = requests(connection)
    return automation_priorities(
        occurrences(connection), asked, intents_frame(catalogue),
        as_of=asked["opened_at"].max() + JUST_AFTER,
        default_hourly_cost=default_loaded_hourly_cost(catalogue),
    )  # fmt: skip


def _impact_model(
    settings: Settings, frame: pl.DataFrame, run_id: str, connection: duckdb.DuckDBPyConnection
) -> ImpactModel:
    """Train the impact model on the older 80 % (evaluated on the newest 20 %), refit on all,
    or reuse the artefact trained on exactly this data."""
    hashed = _frame_hash(frame)
    found = find_artefact(settings.models_dir, "impact", hashed)
    if found is None:
        cut = int(frame.height * 0.8)
        held = train_impact_model(frame[:cut], "lost_hours", IMPACT_FEATURES, seed=SEED)
        metrics = evaluate(held, frame[:cut], frame[cut:], "issue_type")
        model = train_impact_model(frame, "lost_hours", IMPACT_FEATURES, seed=SEED)
        version = new_version(hashed)
        found = save_artefact(
            settings.models_dir, "impact", model,
            Artefact("impact", version, settings.models_dir, hashed, version[:15], frame.height,
                     metrics, {"candidate": model.candidate, "cv_mae": model.cv_mae}),
        )  # fmt: skip
        trained = True
    else:
        model, trained = load_model(found), False
    record_model_run(
        connection, run_id, "impact", version=found.version, trained=trained,
        hash_of_data=hashed, training_rows=frame.height, rows_scored=frame.height,
        metrics=found.metrics,
    )  # fmt: skip
    return model


def _score_impact(
    settings: Settings, catalogue: Catalogue, connection: duckdb.DuckDBPyConnection, run_id: str
) -> str:
    frame = occurrences(connection)
    if frame.height < 50:
        for table in ("issue_impact", "automation_priorities"):
            connection.execute(f"drop table if exists marts.{table}")
        return "impact and priorities: fewer than 50 occurrences, nothing scored"
    model = _impact_model(settings, frame, run_id, connection)
    scored = frame.with_columns(pl.Series("predicted_lost_hours", model.predict(frame)))
    impact = scored.group_by("issue_type").agg(
        pl.len().alias("occurrences"),
        pl.col("lost_hours").mean().alias("actual_lost_hours_per_occurrence"),
        pl.col("lost_hours").median().alias("baseline_lost_hours_per_occurrence"),
        pl.col("predicted_lost_hours").mean().alias("predicted_lost_hours_per_occurrence"),
        pl.col("lost_hours").sum().alias("total_lost_hours"),
        pl.col("is_categorised").sum().alias("categorised_occurrences"),
    )
    write_mart(connection, "issue_impact", impact.sort("total_lost_hours", descending=True))
    priorities = warehouse_priorities(connection, catalogue)
    rows = write_mart(connection, "automation_priorities", priorities)
    return f"impact model on {frame.height:,} occurrences; {rows} issue types ranked"


def train_and_score(
    settings: Settings, connection: duckdb.DuckDBPyConnection, run_id: str
) -> ModelsOutcome:
    """Make sure the intent classifier for the current catalogue is trained, then score the
    warehouse: ticket categories, impact and automation priorities, topics and spikes."""
    catalogue = load_catalogue(settings.catalogue_dir)
    load_or_train(catalogue.examples, settings.models_dir)
    outcome = ModelsOutcome()
    outcome.lines.append(f"intent classifier {examples_fingerprint(catalogue.examples)[:12]}")
    outcome.lines.append(_score_ticket_categories(settings, connection, run_id))
    outcome.lines.append(_score_impact(settings, catalogue, connection, run_id))
    for score in (_score_topics, _score_spikes):
        outcome.lines.append(score(connection, run_id))
    outcome.rows_scored = sum(
        connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
        for table in (
            "ticket_categories",
            "issue_impact",
            "automation_priorities",
            "topics",
            "spikes",
        )
        if connection.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = ?",
            [table],
        ).fetchone()[0]
    )
    return outcome
