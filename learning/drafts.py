"""Knowledge-article drafts from the escalations the service desk resolved, reviewed by a person.

The nightly train-and-score step (`refresh_drafts`) clusters the engine's escalations resolved
with a note (the employee's request and the redacted resolution note, clustered by
`models.topics.discover_topics`). A cluster becomes a draft when at least `MIN_MEMBERS` of its
tickets were closed with the same fix (resolution category and assignment group: its
*dominant fix*) and their notes share steps (`models.topics.draft_article`). A draft holds a
title, symptoms (the cluster's representative requests), steps, the intent most of those
tickets were escalated under (else the one their resolution category maps to in the seed
`category_intent_map`), keywords (the cluster's top terms) and the tickets it came from.

Its id is a hash of the dominant fix and intent, so the next night updates a pending draft
instead of adding another, and never brings back one a person rejected or approved.

With the optional LLM provider configured (`llm_base_url`), each new draft and each pending one
no reviewer has edited is written by the LLM from its representative requests and its tickets'
resolution notes (`resolver.llm.tasks.draft_article`: redacted before they leave, the answer
checked and refused whole when it does not fit, keeping the extractive draft); `written_by`
records where a draft's title and steps came from (`notes`, or `llm:<model>`) and every call is
an `llm_called` event of the service desk in the engine's event log. Off, nothing is sent.

A reviewer (`unticket knowledge drafts`, or the dashboards' Topics page: both call the
functions below) edits, approves or rejects a pending draft; every decision records who and
when. An approved draft becomes the article `learned-<slug>` in the learning store and the
knowledge-base version is bumped: the engine builds its knowledge from the catalogue's
articles plus `learned_articles` and a running server reloads when `knowledge_version`
changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from catalogue import Article, Catalogue
from models.topics import (
    NON_TOPIC_INTENTS,
    REQUEST_MESSAGES,
    Topic,
    TopicParameters,
    discover_topics,
    draft_article,
)
from redaction import redact, redact_user_ref
from resolver.connectors.embedded import add_missing_columns
from resolver.events import Event, EventLog, new_event, random_ids
from resolver.learned import LEARNED_PREFIX, open_learning_store, parse_learned
from resolver.llm.tasks import draft_article as llm_draft_article
from vocabulary import SERVICE_DESK

if TYPE_CHECKING:
    from resolver.llm import LlmCall, LlmProvider
    from settings import Settings

MIN_MEMBERS = 5  # tickets closed with the cluster's dominant fix
SYMPTOMS = 5  # representative requests: the symptoms, and the learned article's questions
STATUSES = ("pending", "approved", "rejected")
# Intents an escalation may have been made under that say nothing about the need.
VAGUE_INTENTS = frozenset({"human_handoff", "out_of_scope", "unmapped", "greeting", "thanks"})
FALLBACK_INTENT = "it_question"
WRITTEN_BY_NOTES = "notes"  # `written_by` of a draft whose steps are its notes' common sentences
WRITTEN_BY_LLM = "llm:"  # followed by the model's name
_STEP_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(.*\S)\s*$")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")

SCHEMA = """
create table if not exists article_drafts (
    draft_id text primary key,          -- hash of the dominant fix: stable across runs
    status text not null default 'pending'
        check (status in ('pending', 'approved', 'rejected')),
    title text not null,
    intent text not null,
    steps text not null,                -- JSON list of strings
    symptoms text not null,             -- JSON list: the cluster's representative requests
    keywords text not null,             -- JSON list: the cluster's top terms
    ticket_ids text not null,           -- JSON list: the tickets it came from
    resolution_category text,
    assignment_group text,
    drafted_at text not null,
    updated_at text not null,
    edited_by text,
    edited_at text,
    decided_by text,
    decided_at text,
    article_id text,
    written_by text not null default 'notes'  -- 'notes', or 'llm:<model>'
);
"""
# Columns added since the table was first created: (table, column, declaration).
ADDED_COLUMNS = (("article_drafts", "written_by", "text not null default 'notes'"),)

RESOLVED_ESCALATIONS_SQL = (
    REQUEST_MESSAGES
    + """
opened as (

    select distinct ticket_id, interaction_id
    from raw.events
    where event_type = 'ticket_opened' and interaction_id is not null

),

category_intents as (

    select lower(category) as category, min(intent) as intent
    from reference.category_intent_map
    group by all

)

select
    tickets.ticket_key as id,
    tickets.ticket_id,
    string_agg(requests.text, ' ' order by requests.turn) as request,
    tickets.resolution_note as note,
    tickets.intent,
    category_intents.intent as category_intent,
    tickets.resolution_category,
    tickets.assignment_group,
    tickets.resolved_at as at,
from marts.fct_tickets as tickets
inner join opened on tickets.ticket_id = opened.ticket_id
inner join requests on opened.interaction_id = requests.interaction_id
left join category_intents on lower(tickets.resolution_category) = category_intents.category
where tickets.source = 'unticket' and tickets.resolution_note is not null
group by all
order by id
"""
)


class DraftError(ValueError):
    """A draft that does not exist, or a decision that cannot be made on it."""


@dataclass(frozen=True)
class Proposal:
    """A draft as the clustering proposes it, before it is saved."""

    draft_id: str
    title: str
    intent: str
    steps: tuple[str, ...]
    symptoms: tuple[str, ...]
    keywords: tuple[str, ...]
    ticket_ids: tuple[str, ...]
    resolution_category: str | None
    assignment_group: str | None
    written_by: str = WRITTEN_BY_NOTES


@dataclass(frozen=True, kw_only=True)
class Draft(Proposal):
    """A saved draft (its proposal as reviewers may have edited it) and what they did with it."""

    status: str
    drafted_at: str
    updated_at: str
    edited_by: str | None
    edited_at: str | None
    decided_by: str | None
    decided_at: str | None
    article_id: str | None


@dataclass(frozen=True)
class SaveOutcome:
    """What saving the night's proposals did."""

    added: int = 0
    updated: int = 0
    kept: int = 0  # already approved or rejected: left as the reviewer decided

    @property
    def summary(self) -> str:
        """One line for the pipeline's log."""
        return (
            f"article drafts: {self.added} new, {self.updated} updated, "
            f"{self.kept} already reviewed"
        )


def open_drafts(data_dir: Path) -> sqlite3.Connection:
    """The learning store with the drafts' tables created (and migrated) if needed."""
    store = open_learning_store(data_dir)
    store.executescript(SCHEMA)
    add_missing_columns(store, ADDED_COLUMNS)
    return store


def resolved_escalations(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The engine's tickets resolved with a note: id (ticket key), ticket_id, request (what the
    employee asked, redacted when logged), note, intent (escalated under), category_intent (the
    resolution category's intent in the seed, or null), resolution_category, assignment_group,
    at (resolved)."""
    return connection.sql(RESOLVED_ESCALATIONS_SQL, params=[list(NON_TOPIC_INTENTS)]).pl()


def propose_drafts(
    escalations: pl.DataFrame,
    intents: Collection[str],
    seed: int = 0,
    min_members: int = MIN_MEMBERS,
) -> list[Proposal]:
    """Cluster resolved escalations (`resolved_escalations`) and propose a draft for each
    cluster with at least `min_members` tickets closed by its dominant fix whose notes share
    steps; `intents` are the catalogue's support intents a draft may be filed under. One
    proposal per dominant fix: the larger cluster wins."""
    if escalations.is_empty():
        return []
    documents = escalations.with_columns(
        text=pl.concat_str([pl.col("request"), pl.col("note")], separator=". ")
    )
    by_id = {row["id"]: row for row in documents.iter_rows(named=True)}
    topics = discover_topics(
        documents, seed=seed, parameters=TopicParameters(min_mean_size=min_members)
    )
    proposals: dict[str, Proposal] = {}
    for topic in topics:
        proposal = _proposal(topic, by_id, intents, min_members)
        known = proposals.get(proposal.draft_id) if proposal else None
        if proposal and (known is None or len(proposal.ticket_ids) > len(known.ticket_ids)):
            proposals[proposal.draft_id] = proposal
    return sorted(proposals.values(), key=lambda p: (-len(p.ticket_ids), p.draft_id))


def save_proposals(
    store: sqlite3.Connection, proposals: Iterable[Proposal], at: datetime
) -> SaveOutcome:
    """Add new drafts and refresh pending ones (keeping a reviewer's edits of the title,
    steps and intent); approved and rejected drafts stay as they were decided."""
    added = updated = kept = 0
    stamp = _stamp(at)
    with _transaction(store):
        for proposal in proposals:
            row = store.execute(
                "select status, edited_at from article_drafts where draft_id = ?",
                [proposal.draft_id],
            ).fetchone()
            if row is None:
                store.execute(
                    "insert into article_drafts (draft_id, title, intent, steps, symptoms, "
                    "keywords, ticket_ids, resolution_category, assignment_group, drafted_at, "
                    "updated_at, written_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        proposal.draft_id, proposal.title, proposal.intent,
                        _json(proposal.steps), _json(proposal.symptoms),
                        _json(proposal.keywords), _json(proposal.ticket_ids),
                        proposal.resolution_category, proposal.assignment_group, stamp, stamp,
                        proposal.written_by,
                    ],
                )  # fmt: skip
                added += 1
            elif row["status"] != "pending":
                kept += 1
            else:
                _refresh(store, proposal, stamp, edited=row["edited_at"] is not None)
                updated += 1
    return SaveOutcome(added, updated, kept)


def refresh_drafts(
    connection: duckdb.DuckDBPyConnection,
    data_dir: Path,
    catalogue: Catalogue,
    seed: int = 0,
    at: datetime | None = None,
    *,
    llm: LlmProvider | None = None,
    log: EventLog | None = None,
) -> str:
    """The pipeline's step: propose drafts from the warehouse's resolved escalations, have
    `llm` (when given) write the ones no reviewer has touched, recording each call in `log`,
    and save them in the data dir's learning store; return a summary line."""
    if llm is not None and log is None:
        raise ValueError("drafting with an LLM needs the event log its calls are recorded in")
    now = at or datetime.now(UTC)
    escalations = resolved_escalations(connection)
    proposals = propose_drafts(escalations, draft_intents(catalogue), seed=seed)
    store = open_drafts(data_dir)
    try:
        written = ""
        if llm is not None and log is not None:
            notes = dict(zip(escalations["ticket_id"], escalations["note"], strict=True))
            proposals, written = write_with_llm(store, proposals, notes, llm, log, now)
        return save_proposals(store, proposals, now).summary + written
    finally:
        store.close()


def write_with_llm(
    store: sqlite3.Connection,
    proposals: list[Proposal],
    notes: Mapping[str, str],
    llm: LlmProvider,
    log: EventLog,
    at: datetime,
) -> tuple[list[Proposal], str]:
    """The proposals, each new or unedited pending one's title and steps written by `llm`
    from its symptoms and its tickets' resolution notes (`notes` by ticket id) where its answer
    is accepted (the extractive draft otherwise); every call made is written to `log` as an
    `llm_called` event. Also a summary to add to the step's line."""
    written: list[Proposal] = []
    calls: list[LlmCall] = []
    for proposal in proposals:
        if _rewritable(store, proposal.draft_id):
            ticket_notes = [notes[t] for t in proposal.ticket_ids if notes.get(t)]
            drafted = llm_draft_article(llm, list(proposal.symptoms), ticket_notes)
            if drafted.call is not None:
                calls.append(drafted.call)
            if drafted.answer is not None:
                proposal = replace(
                    proposal,
                    title=" ".join(drafted.answer.title.split()),
                    steps=tuple(" ".join(step.split()) for step in drafted.answer.steps),
                    written_by=WRITTEN_BY_LLM + llm.model,
                )
        written.append(proposal)
    log.append_durably([llm_event(call, at) for call in calls])
    by_llm = sum(p.written_by != WRITTEN_BY_NOTES for p in written)
    return written, f"; {by_llm} written by the LLM ({len(calls)} calls)"


def llm_event(call: LlmCall, at: datetime) -> Event:
    """The `llm_called` event of a drafting call (the service desk's, in no interaction)."""
    return new_event(
        "llm_called", event_id=random_ids(), occurred_at=at, interaction_id=None,
        employee_id=None, channel=SERVICE_DESK, **call.event_fields(),
    )  # fmt: skip


def draft_intents(catalogue: Catalogue) -> list[str]:
    """The intents a draft may be filed under: the catalogue's support intents."""
    return sorted(intent.id for intent in catalogue.intents.values() if intent.support)


def list_drafts(store: sqlite3.Connection, status: str | None = "pending") -> list[Draft]:
    """Drafts with a status (all of them for None), the most tickets first."""
    if status is not None and status not in STATUSES:
        raise DraftError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    rows = store.execute(
        "select * from article_drafts where ? is null or status = ? order by draft_id",
        [status, status],
    ).fetchall()
    drafts = [_draft(row) for row in rows]
    return sorted(drafts, key=lambda draft: (-len(draft.ticket_ids), draft.draft_id))


def get_draft(store: sqlite3.Connection, draft_id: str) -> Draft:
    """One draft by its id or an unambiguous start of it (at least 4 characters)."""
    wanted = draft_id.strip().lower()
    if len(wanted) < 4:
        raise DraftError("give at least the first 4 characters of the draft id")
    rows = store.execute(
        "select * from article_drafts where draft_id like ? || '%'", [wanted]
    ).fetchall()
    if not rows:
        raise DraftError(f"no draft {draft_id!r}: `unticket knowledge drafts list` shows them")
    if len(rows) > 1:
        raise DraftError(f"{draft_id!r} starts several drafts' ids: give more of it")
    return _draft(rows[0])


def edit_draft(
    store: sqlite3.Connection,
    draft_id: str,
    reviewer: str,
    intents: Collection[str],
    at: datetime,
    *,
    title: str | None = None,
    steps: Iterable[str] | None = None,
    intent: str | None = None,
) -> Draft:
    """Change a pending draft's title, steps or intent, recording who edited it and when."""
    draft = _pending(store, draft_id)
    new_title = _clean_title(title) if title is not None else draft.title
    new_steps = _clean_steps(steps) if steps is not None else draft.steps
    new_intent = _checked_intent(intent, intents) if intent is not None else draft.intent
    with _transaction(store):
        store.execute(
            "update article_drafts set title = ?, steps = ?, intent = ?, edited_by = ?, "
            "edited_at = ? where draft_id = ? and status = 'pending'",
            [
                new_title, _json(new_steps), new_intent, _reviewer(reviewer), _stamp(at),
                draft.draft_id,
            ],
        )  # fmt: skip
    return get_draft(store, draft.draft_id)


def approve_draft(
    store: sqlite3.Connection,
    draft_id: str,
    reviewer: str,
    intents: Collection[str],
    at: datetime,
    *,
    log: EventLog,
) -> Article:
    """Approve a pending draft: it becomes the article `learned-<slug>` in the learning store,
    and the knowledge version is bumped so running engines reload; then its `article_approved`
    event is written durably to `log` (the store first, as the engine's `Recorder` does: no
    event tells of an approval the store does not have). Return the article."""
    draft = _pending(store, draft_id)
    _checked_intent(draft.intent, intents)
    who, stamp = _reviewer(reviewer), _stamp(at)
    with _transaction(store):
        article_id = _free_article_id(store, draft)
        markdown = article_markdown(article_id, draft)
        store.execute(
            "update article_drafts set status = 'approved', decided_by = ?, decided_at = ?, "
            "article_id = ? where draft_id = ?",
            [who, stamp, article_id, draft.draft_id],
        )
        store.execute(
            "insert into learned_articles (article_id, draft_id, markdown, approved_by, "
            "approved_at) values (?, ?, ?, ?, ?)",
            [article_id, draft.draft_id, markdown, who, stamp],
        )
        store.execute("update knowledge_version set version = version + 1 where id = 1")
    log.append_durably([approval_event(article_id, draft, who, at)])
    return parse_learned(markdown)


def approval_event(article_id: str, draft: Draft, reviewer: str, at: datetime) -> Event:
    """The `article_approved` event of a draft approved as `article_id` (the service desk's,
    in no interaction; the reviewer as a user reference, `[REDACTED]` if it may be a secret)."""
    return new_event(
        "article_approved", event_id=random_ids(), occurred_at=at, interaction_id=None,
        employee_id=None, channel=SERVICE_DESK, article_id=article_id, draft_id=draft.draft_id,
        intent=draft.intent, approved_by=redact_user_ref(reviewer),
    )  # fmt: skip


def approval_log(settings: Settings) -> EventLog:
    """The event log approvals are written to: the engine's, fsynced as the settings say."""
    return EventLog(settings.events_dir, fsync=settings.events_fsync == "always")


def reject_draft(store: sqlite3.Connection, draft_id: str, reviewer: str, at: datetime) -> Draft:
    """Reject a pending draft, recording who and when; it is never proposed again."""
    draft = _pending(store, draft_id)
    with _transaction(store):
        store.execute(
            "update article_drafts set status = 'rejected', decided_by = ?, decided_at = ? "
            "where draft_id = ?",
            [_reviewer(reviewer), _stamp(at), draft.draft_id],
        )
    return get_draft(store, draft.draft_id)


def approvals(store: sqlite3.Connection) -> pl.DataFrame:
    """Each learned article with who approved it and when: article_id, draft_id, title,
    intent, approved_by, approved_at (UTC)."""
    rows = store.execute(
        "select learned.article_id, learned.draft_id, drafts.title, drafts.intent, "
        "learned.approved_by, learned.approved_at from learned_articles as learned "
        "join article_drafts as drafts using (draft_id) order by learned.approved_at"
    ).fetchall()
    schema = {
        "article_id": pl.String, "draft_id": pl.String, "title": pl.String,
        "intent": pl.String, "approved_by": pl.String, "approved_at": pl.String,
    }  # fmt: skip
    frame = pl.DataFrame([dict(row) for row in rows], schema=schema, orient="row")
    return frame.with_columns(pl.col("approved_at").str.to_datetime(time_zone="UTC"))


def draft_markdown(draft: Draft) -> str:
    """A draft as the markdown a reviewer reads and edits: title, symptoms, steps (and who
    wrote them, when an LLM did)."""
    lines = [
        f"# {draft.title}",
        "",
        f"*Intent: {draft.intent}. Drafted from {len(draft.ticket_ids)} resolved tickets "
        f"({draft.resolution_category or 'no category'}, "
        f"{draft.assignment_group or 'no group'}).*",
        "",
        *([f"*{written_by_llm(draft)}*", ""] if draft.written_by != WRITTEN_BY_NOTES else []),
        "## Symptoms",
        "",
        *(f'- "{symptom}"' for symptom in draft.symptoms),
        "",
        "## Steps",
        "",
        *(f"{number}. {step}" for number, step in enumerate(draft.steps, 1)),
    ]
    return "\n".join(lines) + "\n"


def written_by_llm(draft: Draft) -> str:
    """What a reviewer is told of a draft an LLM wrote."""
    model = draft.written_by.removeprefix(WRITTEN_BY_LLM)
    edited = f", then edited by {draft.edited_by}" if draft.edited_by else ""
    return (
        f"Drafted by the LLM ({model}) from the resolution notes of these "
        f"{len(draft.ticket_ids)} tickets{edited}: check the steps before approving."
    )


def steps_from_markdown(text: str) -> tuple[str, ...]:
    """The steps of an edited text: each numbered or bulleted line (or each non-empty line
    when there are none), without its marker."""
    lines = [line for line in text.splitlines() if line.strip()]
    marked = [match[1] for line in lines if (match := _STEP_LINE.match(line))]
    return _clean_steps(marked or lines)


def article_markdown(article_id: str, draft: Draft) -> str:
    """A draft as a catalogue article file: front matter (id, title, intents, keywords,
    questions) and the numbered steps as its body."""
    front = {
        "id": article_id,
        "title": draft.title,
        "intents": [draft.intent],
        "keywords": list(draft.keywords),
        "questions": list(draft.symptoms),
    }
    steps = "\n".join(f"{number}. {step}" for number, step in enumerate(draft.steps, 1))
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n\n## Steps\n\n{steps}\n"


def slug(title: str) -> str:
    """Lower-case words of a title joined by hyphens, at most 60 characters."""
    words = _SLUG_JUNK.sub("-", title.lower()).strip("-")
    return words[:60].rstrip("-") or "article"


def _proposal(
    topic: Topic,
    by_id: Mapping[str, dict],
    intents: Collection[str],
    min_members: int,
) -> Proposal | None:
    """The draft of one topic, or None when too few of its tickets share a fix with steps."""
    members = [by_id[member] for member in topic.member_ids]
    fixes = Counter((m["resolution_category"], m["assignment_group"]) for m in members)
    (category, group), count = fixes.most_common(1)[0]
    if count < min_members:
        return None
    fixed = [
        m for m in members if (m["resolution_category"], m["assignment_group"]) == (category, group)
    ]
    symptoms = representative_requests([m["request"] for m in fixed], SYMPTOMS)
    focused = replace(topic, examples=symptoms, member_ids=tuple(m["id"] for m in fixed))
    draft = draft_article(focused, {m["id"]: m["note"] for m in fixed})
    if not draft.steps:
        return None
    intent = _dominant_intent(fixed, intents)
    key = "\x1f".join((intent, category or "", group or ""))
    return Proposal(
        draft_id=hashlib.sha256(key.encode()).hexdigest()[:12],
        title=draft.title,
        intent=intent,
        steps=draft.steps,
        symptoms=draft.symptoms,
        keywords=tuple(topic.top_terms),
        ticket_ids=tuple(sorted(m["ticket_id"] for m in fixed)),
        resolution_category=category,
        assignment_group=group,
    )


def representative_requests(requests: list[str], count: int) -> tuple[str, ...]:
    """The `count` distinct requests closest to their TF-IDF centroid (words and character
    n-grams), most typical first; ties in the order given."""
    distinct = list(dict.fromkeys(redact(request).strip() for request in requests if request))
    if len(distinct) <= 1:
        return tuple(distinct[:count])
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = normalize(vectors.fit_transform(distinct))
    closeness = np.asarray(matrix @ np.asarray(matrix.mean(axis=0)).ravel()).ravel()
    order = sorted(range(len(distinct)), key=lambda index: (-closeness[index], index))
    return tuple(distinct[index] for index in order[:count])


def _dominant_intent(members: list[dict], intents: Collection[str]) -> str:
    """The intent most tickets were escalated under, else the one most resolution categories
    map to, else the general IT question."""
    for column in ("intent", "category_intent"):
        found = Counter(
            m[column] for m in members if m[column] in intents and m[column] not in VAGUE_INTENTS
        )
        if found:
            return max(found.items(), key=lambda item: (item[1], item[0]))[0]
    return FALLBACK_INTENT


def _refresh(store: sqlite3.Connection, proposal: Proposal, stamp: str, edited: bool) -> None:
    """Refresh a pending draft from tonight's proposal; a reviewer's edits are kept."""
    store.execute(
        "update article_drafts set symptoms = ?, keywords = ?, ticket_ids = ?, updated_at = ? "
        "where draft_id = ?",
        [
            _json(proposal.symptoms), _json(proposal.keywords), _json(proposal.ticket_ids),
            stamp, proposal.draft_id,
        ],
    )  # fmt: skip
    if not edited:
        store.execute(
            "update article_drafts set title = ?, steps = ?, intent = ?, written_by = ? "
            "where draft_id = ?",
            [
                proposal.title, _json(proposal.steps), proposal.intent, proposal.written_by,
                proposal.draft_id,
            ],
        )  # fmt: skip


def _rewritable(store: sqlite3.Connection, draft_id: str) -> bool:
    """Whether tonight's text may replace a draft's: it is new, or pending and unedited."""
    row = store.execute(
        "select status, edited_at from article_drafts where draft_id = ?", [draft_id]
    ).fetchone()
    return row is None or (row["status"] == "pending" and row["edited_at"] is None)


def _pending(store: sqlite3.Connection, draft_id: str) -> Draft:
    draft = get_draft(store, draft_id)
    if draft.status != "pending":
        raise DraftError(
            f"draft {draft.draft_id} was already {draft.status} by {draft.decided_by} "
            f"at {draft.decided_at}"
        )
    return draft


def _free_article_id(store: sqlite3.Connection, draft: Draft) -> str:
    """`learned-<slug of the title>`, with the draft id's start when another has that id."""
    article_id = LEARNED_PREFIX + slug(draft.title)
    taken = store.execute(
        "select 1 from learned_articles where article_id = ?", [article_id]
    ).fetchone()
    return f"{article_id}-{draft.draft_id[:6]}" if taken else article_id


def _checked_intent(intent: str, intents: Collection[str]) -> str:
    if intent not in intents:
        raise DraftError(f"unknown intent {intent!r}: use one of {', '.join(sorted(intents))}")
    return intent


def _clean_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise DraftError("a draft needs a title")
    return cleaned[:200]


def _clean_steps(steps: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(" ".join(step.split()) for step in steps if step.strip())
    if not cleaned:
        raise DraftError("a draft needs at least one step")
    return cleaned


def _reviewer(reviewer: str) -> str:
    cleaned = reviewer.strip()
    if not cleaned:
        raise DraftError("say who decides (the signed-in person, or --as NAME)")
    return cleaned[:200]


def _draft(row: sqlite3.Row) -> Draft:
    values = dict(row)
    for column in ("steps", "symptoms", "keywords", "ticket_ids"):
        values[column] = tuple(json.loads(values[column]))
    return Draft(**values)


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@contextmanager
def _transaction(store: sqlite3.Connection) -> Iterator[None]:
    """`begin immediate` … `commit` (rollback on error) on an autocommit connection."""
    store.execute("begin immediate")
    try:
        yield
    except BaseException:
        store.execute("rollback")
        raise
    store.execute("commit")
