"""Training examples from escalations an agent resolved under a known intent, kept only after a
person's review, and the nightly retraining that uses the accepted ones.

1. `propose_candidates` reads the working warehouse: every interaction that ended `escalated` or
   `unrecognized` whose ticket an agent resolved under a category that maps to a specific intent
   (seed `category_intent_map`, source `unticket`; not `human_handoff` or `out_of_scope`), where
   the engine's own understanding of it (its first `intent_detected`) was another intent, none,
   or below `act_confidence`. The employee's request (their first message that is not small
   talk, redacted when it was logged) becomes a candidate example of the agent's intent, with
   the evidence; a request for a person that the engine understood as one is not (its words
   say nothing of the need). An interaction is
   proposed once, so a rejected candidate never returns; a text that already is a training
   example (the catalogue's, or an accepted candidate's) is not proposed.
2. `pending`, `decide`: reviewers (`unticket models review`, the dashboards' Learning page)
   accept or reject candidates; each decision records who and when.
3. `retrain_intents`: when the accepted examples changed, train on the catalogue's examples plus
   them, score the current and the new model on the held-out paraphrases, and keep the new one
   (`models.kept_intents` pointer) only if its macro-F1 is not lower and no language's accuracy
   drops by more than `MAX_LANGUAGE_DROP`; the decision and both scores go to `ops.model_runs`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from catalogue import load_catalogue
from models.intents import examples_fingerprint, load_or_train
from models.kept_intents import KeptModel, artefact_name, kept_for, load_current, write_pointer
from models.paraphrases import IntentScores, Labelled, held_out, score_intents
from models.registry import record_model_run
from models.text import normalise
from resolver.learned import open_learning_store
from settings import Settings

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
NOT_SPECIFIC = ("human_handoff", "out_of_scope")  # intents no example can teach
MAX_LANGUAGE_DROP = 0.005  # accuracy a language may lose (0.5 point) for a better macro-F1
MODEL_NAME = "intents"

CANDIDATES_DDL = """
create table if not exists intent_candidates (
    candidate_id integer primary key autoincrement,
    interaction_id text not null unique,  -- proposed once: a rejected one never returns
    ticket_id text not null,
    language text not null,
    text text not null,                   -- the employee's request, redacted
    intent text not null,                 -- the intent the agent's resolution maps to
    resolution_category text not null,
    engine_intent text,                   -- what the engine understood (null: nothing)
    engine_confidence real,
    requested_at text not null,           -- when the interaction started (UTC)
    proposed_at text not null,
    status text not null default 'pending' check (status in ('pending', 'accepted', 'rejected')),
    decided_by text,
    decided_at text
);
create index if not exists intent_candidates_status on intent_candidates (status);
create table if not exists intent_retrains (
    examples_fingerprint text not null,   -- catalogue examples plus the accepted ones
    catalogue_fingerprint text not null,
    accepted_examples integer not null,
    kept integer not null,
    run_id text not null,
    decided_at text not null
);
"""

# The warehouse's escalations that an agent resolved under a mapped, specific intent, with the
# employee's request (their first message that is not small talk) and what the engine understood
# of it (DuckDB: the working warehouse, where `raw.events` is, as the other models read it).
CANDIDATES_SQL = """
with
mapped as (
    select category, intent from reference.category_intent_map
    where source = 'unticket' and intent not in (select unnest($not_specific::varchar[]))
),
resolved as (
    select tickets.ticket_id, tickets.resolution_category, mapped.intent
    from marts.fct_tickets as tickets
    inner join mapped on tickets.resolution_category = mapped.category
    where tickets.source = 'unticket' and tickets.resolved_at is not null
),
interactions as (
    select interaction_id, ticket_id, language, intent, started_at from marts.fct_interactions
    where outcome in ('escalated', 'unrecognized') and ticket_id is not null
),
small_talk as (
    select intent from marts.dim_intents where is_small_talk
),
requests as (
    -- the first message that is not small talk, with what the engine understood of it
    select messages.interaction_id, messages.text, detections.intent, detections.confidence
    from raw.events as messages
    left join raw.events as detections
        on detections.interaction_id = messages.interaction_id
        and detections.occurred_at = messages.occurred_at
        and detections.event_type = 'intent_detected'
    where messages.event_type = 'message_received'
        and messages.interaction_id in (select interaction_id from interactions)
        and trim(coalesce(messages.text, '')) <> ''
        and coalesce(detections.intent, '') not in (select intent from small_talk)
    qualify row_number() over (
        partition by messages.interaction_id
        order by messages.turn, messages.occurred_at, messages.event_id, detections.event_id
    ) = 1
),
understood as (
    select
        interactions.*, requests.text,
        -- a request for a person is handed over without a classification
        coalesce(requests.intent, case when interactions.intent = 'human_handoff'
            then interactions.intent end) as engine_intent,
        requests.confidence as engine_confidence
    from interactions
    inner join requests on interactions.interaction_id = requests.interaction_id
)
select
    understood.interaction_id, understood.ticket_id, understood.language, understood.text,
    resolved.intent, resolved.resolution_category, understood.engine_intent,
    understood.engine_confidence, understood.started_at as requested_at
from understood
inner join resolved on understood.ticket_id = resolved.ticket_id
where (understood.engine_intent is null
        or understood.engine_intent <> resolved.intent
        or coalesce(understood.engine_confidence, 0) < $act_confidence)
    -- words asking for a person (understood as such) say nothing of the need
    and not (understood.engine_intent = 'human_handoff'
        and coalesce(understood.engine_confidence, 1) >= $act_confidence)
order by understood.started_at, understood.interaction_id
"""


class CandidateError(ValueError):
    """A review that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """A proposed training example, the evidence for it and the review decision."""

    candidate_id: int
    interaction_id: str
    ticket_id: str
    language: str
    text: str
    intent: str
    resolution_category: str
    engine_intent: str | None
    engine_confidence: float | None
    requested_at: str
    status: str
    decided_by: str | None
    decided_at: str | None

    @property
    def evidence(self) -> str:
        """Why it is proposed: the agent's category, and what the engine understood."""
        if self.engine_intent is None:
            understood = "engine understood nothing"
        else:
            confidence = self.engine_confidence or 0.0
            understood = f"engine: {self.engine_intent} ({confidence:.2f})"
        return f"resolved as {self.resolution_category!r}; {understood}"


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retraining decided: `kept` is None when nothing was retrained."""

    summary: str
    kept: bool | None = None
    current: IntentScores | None = None
    candidate: IntentScores | None = None


def open_candidates(data_dir: Path) -> sqlite3.Connection:
    """The learning store with the candidates' tables created."""
    store = open_learning_store(data_dir)
    store.executescript(CANDIDATES_DDL)
    return store


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def training_texts(store: sqlite3.Connection, catalogue_examples: dict[str, list[str]]) -> set[str]:
    """Every training example already known (catalogue and accepted candidates), normalised."""
    known = {normalise(text) for texts in catalogue_examples.values() for text in texts}
    rows = store.execute("select text from intent_candidates where status = ?", [ACCEPTED])
    return known | {normalise(row["text"]) for row in rows}


def propose_candidates(
    settings: Settings, warehouse: duckdb.DuckDBPyConnection, store: sqlite3.Connection
) -> int:
    """Propose the warehouse's new candidate examples; return how many were proposed."""
    catalogue = load_catalogue(settings.catalogue_dir)
    rows = warehouse.execute(
        CANDIDATES_SQL,
        {"not_specific": list(NOT_SPECIFIC), "act_confidence": settings.act_confidence},
    ).fetchall()
    known = training_texts(store, catalogue.examples)
    proposed_at, proposed = _now(), 0
    store.execute("begin")
    try:
        for row in rows:
            interaction_id, ticket_id, language, text, intent, category = row[:6]
            engine_intent, engine_confidence, requested_at = row[6:]
            if intent not in catalogue.intents or normalise(text) in known:
                continue
            cursor = store.execute(
                "insert or ignore into intent_candidates (interaction_id, ticket_id, language, "
                "text, intent, resolution_category, engine_intent, engine_confidence, "
                "requested_at, proposed_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [interaction_id, ticket_id, language or "en", text, intent, category,
                 engine_intent, engine_confidence, str(requested_at), proposed_at],
            )  # fmt: skip
            proposed += cursor.rowcount
        store.execute("commit")
    except BaseException:
        store.execute("rollback")
        raise
    return proposed


def _candidate(row: sqlite3.Row) -> Candidate:
    return Candidate(**{field.name: row[field.name] for field in fields(Candidate)})


def candidates(
    store: sqlite3.Connection,
    status: str | None = PENDING,
    intent: str | None = None,
    language: str | None = None,
) -> list[Candidate]:
    """The candidates with this status (None: any), optionally of one intent and language."""
    rows = store.execute(
        "select * from intent_candidates where (? is null or status = ?) "
        "and (? is null or intent = ?) and (? is null or language = ?) order by candidate_id",
        [status, status, intent, intent, language, language],
    )
    return [_candidate(row) for row in rows]


def pending(
    store: sqlite3.Connection, intent: str | None = None, language: str | None = None
) -> list[Candidate]:
    """The candidates waiting for a review, optionally of one intent and language."""
    return candidates(store, PENDING, intent, language)


def decide(
    store: sqlite3.Connection, ids: Iterable[int], decision: str, reviewer: str
) -> list[int]:
    """Accept or reject candidates as `reviewer` (recorded with the time); return the ids
    decided. Unknown ids decide nothing and raise CandidateError naming them."""
    if decision not in (ACCEPTED, REJECTED):
        raise CandidateError(f"a decision is {ACCEPTED!r} or {REJECTED!r}, not {decision!r}")
    if not reviewer.strip():
        raise CandidateError("a decision needs the reviewer's name")
    wanted = sorted(set(ids))
    if not wanted:
        return []
    marks = ", ".join("?" * len(wanted))
    found = {
        row[0]
        for row in store.execute(
            f"select candidate_id from intent_candidates where candidate_id in ({marks})", wanted
        )
    }
    if missing := [n for n in wanted if n not in found]:
        raise CandidateError(f"no candidate with id {', '.join(map(str, missing))}")
    store.execute(
        f"update intent_candidates set status = ?, decided_by = ?, decided_at = ? "
        f"where candidate_id in ({marks})",
        [decision, reviewer.strip(), _now(), *wanted],
    )
    return wanted


def accepted_examples(store: sqlite3.Connection) -> dict[str, list[str]]:
    """The accepted candidates' texts by intent."""
    examples: dict[str, list[str]] = {}
    for candidate in candidates(store, ACCEPTED):
        examples.setdefault(candidate.intent, []).append(candidate.text)
    return examples


def with_accepted(
    catalogue_examples: dict[str, list[str]], accepted: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The catalogue's examples plus the accepted ones (each text once per intent)."""
    combined = {intent: list(texts) for intent, texts in catalogue_examples.items()}
    for intent, texts in accepted.items():
        known = {normalise(text) for text in combined.setdefault(intent, [])}
        combined[intent].extend(text for text in texts if normalise(text) not in known)
    return combined


def not_worse(current: IntentScores, new: IntentScores) -> bool:
    """The guard: macro-F1 not lower, and no language's accuracy lower by more than
    `MAX_LANGUAGE_DROP`."""
    if new.macro_f1 < current.macro_f1:
        return False
    return all(
        new.accuracy_by_language.get(language, 0.0) >= accuracy - MAX_LANGUAGE_DROP
        for language, accuracy in current.accuracy_by_language.items()
    )


def _last_fingerprint(store: sqlite3.Connection) -> str | None:
    row = store.execute(
        "select examples_fingerprint from intent_retrains order by rowid desc limit 1"
    ).fetchone()
    return row[0] if row else None


def retrain_intents(
    settings: Settings,
    warehouse: duckdb.DuckDBPyConnection,
    store: sqlite3.Connection,
    run_id: str,
    cases: Sequence[Labelled] | None = None,
) -> RetrainOutcome:
    """When the accepted examples changed since the last decision, train on the catalogue's
    examples plus them, and keep the new model only if it is not worse on the held-out
    paraphrases (`cases`, by default the team's) than the one the engine loads now."""
    catalogue = load_catalogue(settings.catalogue_dir)
    models_dir = settings.models_dir
    accepted = accepted_examples(store)
    combined = with_accepted(catalogue.examples, accepted)
    fingerprint = examples_fingerprint(combined)
    kept_now = kept_for(catalogue.examples, models_dir)
    current_fingerprint = kept_now.examples_fingerprint if kept_now else None
    if not accepted or fingerprint in (_last_fingerprint(store), current_fingerprint):
        return RetrainOutcome("intent model: accepted examples unchanged, not retrained")
    cases = list(held_out() if cases is None else cases)
    current = load_current(catalogue.examples, models_dir)
    new = load_or_train(combined, models_dir)
    current_scores, new_scores = score_intents(current, cases), score_intents(new, cases)
    kept = not_worse(current_scores, new_scores)
    added = sum(len(texts) for texts in combined.values()) - sum(
        len(texts) for texts in catalogue.examples.values()
    )
    if kept:
        write_pointer(
            models_dir,
            KeptModel(
                artefact=artefact_name(combined),
                catalogue_fingerprint=examples_fingerprint(catalogue.examples),
                examples_fingerprint=fingerprint,
                training_examples=added,
                kept_at=_now(),
                scores=new_scores.as_dict(),
            ),
        )
    store.execute(
        "insert into intent_retrains values (?, ?, ?, ?, ?, ?)",
        [fingerprint, examples_fingerprint(catalogue.examples), added, kept, run_id, _now()],
    )
    record_model_run(
        warehouse, run_id, MODEL_NAME, version=fingerprint, trained=True,
        hash_of_data=fingerprint, training_rows=sum(len(t) for t in combined.values()),
        rows_scored=len(cases),
        metrics={"kept": kept, "accepted_examples": added, "current": current_scores.as_dict(),
                 "candidate": new_scores.as_dict()},
    )  # fmt: skip
    verdict = "kept" if kept else "refused (scores worse), current model stays"
    summary = (
        f"intent model with {added} accepted examples {verdict}: macro-F1 "
        f"{current_scores.macro_f1:.3f} -> {new_scores.macro_f1:.3f}"
    )
    return RetrainOutcome(summary, kept, current_scores, new_scores)


def learn_from_escalations(
    settings: Settings, warehouse: duckdb.DuckDBPyConnection, run_id: str
) -> list[str]:
    """The pipeline's learning from resolved escalations: propose the new candidates, then
    retrain the intent model with the accepted ones (kept only if not worse); summary lines."""
    store = open_candidates(settings.data_dir)
    try:
        proposed = propose_candidates(settings, warehouse, store)
        waiting = len(pending(store))
        retrained = retrain_intents(settings, warehouse, store, run_id)
    finally:
        store.close()
    return [
        f"intent candidates: {proposed} proposed, {waiting} waiting for review "
        "(unticket models review)",
        retrained.summary,
    ]
