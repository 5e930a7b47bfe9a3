"""Topic discovery: what employees need that the engine does not yet handle, and article drafts.

Two inputs, clustered separately: the request messages of interactions the engine did not
resolve (unrecognised, escalated, or answered with the answer rejected), and imported tickets
whose category did not map to an intent (`intent = 'unmapped'`). Each document is one
interaction (its request messages joined) or one ticket (title and description).

Clustering: TF-IDF of words (1-2 grams, stop words, greetings and redaction markers removed) and
of character 3-5 grams (robust to typos), reduced by TruncatedSVD to at most `max_components`
dimensions and L2-normalised, then KMeans (4 seeded initialisations) for every k in `k_range`
up to the number of texts / `min_mean_size`; the k with the best silhouette (cosine) wins, so
tiny inputs make one topic. Documents are sorted by id first: the same rows and seed give the
same topics in any order. Topics are numbered by size.

Each topic reports its top terms (the word n-grams whose mean TF-IDF in the topic most exceeds
the mean over all documents), its size, its trend (documents in the last 4 weeks against the 4
weeks before, up to the latest document) and the documents closest to its centroid. Its `kind`
follows a transparent rule: when at least half of its documents are knowledge-gap signals (the
engine did not understand, `unrecognized`, or its answer was rejected, `answer_rejected`) it is
a `knowledge_gap`; otherwise (mostly escalations and tickets that people had to handle) it is an
`automation_candidate`.

`draft_article` turns a topic and the resolution notes of its documents into a knowledge article
draft for a person to review: the most common note sentences become its steps. Every row of
`marts.topics` carries its topic's draft (`draft_title`, `draft_markdown`); the warehouse holds
no resolution notes for them, so these drafts list the symptoms and leave the steps to the
reviewer; `learning.drafts` drafts reviewable articles, with steps, from escalations resolved
with a note.

`TOPICS_SCHEMA` is the contract of `marts.topics`: the producer writes exactly these columns and
types (`models.pipeline.write_mart` checks), and the dashboards read them by these names.

Texts and notes pass through `redaction.redact` before anything is computed from them
(interaction texts were redacted when logged, imported tickets may not have been), so no
example, top term or draft carries a secret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import duckdb
import numpy as np
import polars as pl
from scipy.sparse import csr_matrix, hstack, issparse
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from models.text import normalise
from redaction import redact

KNOWLEDGE_GAP_SIGNALS = frozenset({"unrecognized", "answer_rejected"})
DRAFT_STATUS = "draft, needs review"
TREND_WINDOW = timedelta(weeks=4)
# Words that carry no topic: English stop words, what is left of negative contractions once
# split at the apostrophe ("won't" gives "won"), greetings and sign-offs, the redaction marker.
STOP_WORDS = sorted(
    ENGLISH_STOP_WORDS
    | {"aren", "couldn", "didn", "doesn", "don", "hasn", "haven", "isn", "wasn", "won", "wouldn"}
    | {"cheers", "dear", "hello", "hey", "hi", "oi", "regards", "thank", "thanks"}
    | {"redacted"}
)
# Detected intents whose messages say nothing about the need (small talk is read from
# marts.dim_intents; asking for a person is a support intent but not a topic).
NON_TOPIC_INTENTS = ("human_handoff",)
# A sentence ends at . ! or ? before a word that does not go on in lower case ("employee no.
# + manager" is one sentence), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\sa-z+&,;:)-])|\n+")
REDACTION_MARKER = "[REDACTED]"
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
_PUNCTUATION = re.compile(r"[^\w\s]")

TOPICS_SCHEMA = {
    "source": pl.String,
    "topic_id": pl.Int64,
    "kind": pl.String,
    "size": pl.Int64,
    "top_terms": pl.List(pl.String),
    "last_4_weeks": pl.Int64,
    "previous_4_weeks": pl.Int64,
    "trend": pl.String,
    "knowledge_gap_share": pl.Float64,
    "examples": pl.List(pl.String),
    "draft_title": pl.String,
    "draft_markdown": pl.String,
}

# The employee's requests, as CTEs to open a query with: each message the engine understood
# as neither small talk nor NON_TOPIC_INTENTS (the query's one parameter), without the bare
# one-time codes (digits only). Topics and article drafts read requests through it.
REQUEST_MESSAGES = """
with

small_talk as (

    select intent from marts.dim_intents where is_small_talk
    union all
    select unnest(?::varchar[])

),

requests as (

    select
        messages.interaction_id,
        messages.turn,
        messages.text,
    from raw.events as messages
    inner join raw.events as detections
        on detections.interaction_id = messages.interaction_id
        and detections.occurred_at = messages.occurred_at
        and detections.event_type = 'intent_detected'
    where messages.event_type = 'message_received'
        and detections.intent not in (select intent from small_talk)
        and not regexp_full_match(trim(messages.text), '[0-9]*')

),
"""

INTERACTION_TEXTS = (
    REQUEST_MESSAGES
    + """
answered as (

    select distinct interaction_id from raw.events where event_type = 'knowledge_answered'

)

select
    interactions.interaction_id as id,
    string_agg(requests.text, ' ' order by requests.turn) as text,
    interactions.started_at as at,
    interactions.intent,
    case
        when interactions.outcome = 'unrecognized' then 'unrecognized'
        when interactions.feedback = 'rejected' and answered.interaction_id is not null
            then 'answer_rejected'
        else 'escalated'
    end as signal,
from marts.fct_interactions as interactions
inner join requests on interactions.interaction_id = requests.interaction_id
left join answered on interactions.interaction_id = answered.interaction_id
where interactions.outcome in ('unrecognized', 'escalated')
    or (interactions.outcome = 'answered' and interactions.feedback = 'rejected')
group by all
order by id
"""
)

UNMAPPED_TICKET_TEXTS = """
select
    tickets.ticket_key as id,
    concat_ws('. ', raw_tickets.title, raw_tickets.description) as text,
    tickets.opened_at as at,
    tickets.category,
    'ticket' as signal,
from marts.fct_tickets as tickets
inner join raw.tickets as raw_tickets
    on tickets.source = raw_tickets.source and tickets.ticket_id = raw_tickets.ticket_id
where tickets.intent = 'unmapped'
    and coalesce(raw_tickets.title, raw_tickets.description) is not null
order by id
"""


@dataclass(frozen=True)
class Topic:
    """One cluster of similar documents."""

    topic_id: int
    top_terms: tuple[str, ...]
    size: int
    last_4_weeks: int
    previous_4_weeks: int
    trend: str
    examples: tuple[str, ...]
    member_ids: tuple[str, ...]
    signals: tuple[tuple[str, int], ...]
    kind: str

    @property
    def knowledge_gap_share(self) -> float:
        """The share of the topic's documents that are knowledge-gap signals."""
        gaps = sum(count for signal, count in self.signals if signal in KNOWLEDGE_GAP_SIGNALS)
        return gaps / self.size if self.size else 0.0


@dataclass(frozen=True)
class ArticleDraft:
    """A knowledge article drafted from a topic, for a person to review before publishing."""

    topic_id: int
    title: str
    symptoms: tuple[str, ...]
    steps: tuple[str, ...]
    status: str
    markdown: str


@dataclass(frozen=True)
class TopicParameters:
    """The knobs of the clustering (defaults suit a few hundred to a few thousand texts)."""

    k_range: tuple[int, int] = (2, 15)  # numbers of clusters tried
    min_mean_size: int = 5  # k is at most the number of texts / this
    max_components: int = 50  # TruncatedSVD dimensions
    silhouette_sample: int = 2000  # texts the silhouette is computed on, beyond that many
    top_terms: int = 6
    examples: int = 3


def interaction_texts(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The request text of every interaction the engine did not resolve: columns id, text, at,
    intent, signal (`unrecognized`, `answer_rejected` or `escalated`).

    Request messages are the employee messages the engine classified (replies to its prompts,
    such as codes, yes/no and feedback, are not), without small talk, requests for a person
    and bare numbers (menu choices).
    """
    return connection.sql(INTERACTION_TEXTS, params=[list(NON_TOPIC_INTENTS)]).pl()


def unmapped_ticket_texts(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Imported tickets whose category maps to no intent: columns id (ticket key), text (title
    and description), at (opened), category, signal (`ticket`)."""
    return connection.sql(UNMAPPED_TICKET_TEXTS).pl()


def discover_topics(
    frame: pl.DataFrame,
    text_column: str = "text",
    seed: int = 0,
    *,
    id_column: str = "id",
    time_column: str = "at",
    signal_column: str = "signal",
    parameters: TopicParameters | None = None,
) -> list[Topic]:
    """Cluster the texts of `frame` into topics, largest first; deterministic for a seed.

    `frame` needs the text, id and time columns; the signal column is optional (without it
    every document counts as an escalation). Empty texts are ignored; no text gives no topic,
    and fewer than 2 × `min_mean_size` texts give one topic.
    """
    knobs = parameters or TopicParameters()
    documents = frame.filter(
        pl.col(text_column).is_not_null() & (pl.col(text_column).str.strip_chars() != "")
    ).sort(id_column)
    if documents.is_empty():
        return []
    texts = [redact(text) for text in documents[text_column].to_list()]
    words = _word_vectorizer(len(texts))
    try:
        word_matrix = words.fit_transform(texts)
    except ValueError:  # only stop words: nothing to tell the texts apart by
        word_matrix = csr_matrix((len(texts), 0))
    points = _embed(texts, word_matrix, seed, knobs)
    labels = _cluster(points, seed, knobs)
    vocabulary = words.get_feature_names_out() if word_matrix.shape[1] else np.array([])
    signals = (
        documents[signal_column].fill_null("escalated").to_list()
        if signal_column in documents.columns
        else ["escalated"] * len(texts)
    )
    context = _Context(
        texts=texts,
        ids=[str(value) for value in documents[id_column].to_list()],
        times=documents[time_column].to_list(),
        signals=signals,
        points=points,
        word_matrix=csr_matrix(word_matrix),
        vocabulary=vocabulary,
        knobs=knobs,
    )
    topics = [_topic(context, labels == label) for label in np.unique(labels)]
    topics.sort(key=lambda topic: (-topic.size, topic.top_terms, topic.member_ids))
    return [replace(topic, topic_id=number) for number, topic in enumerate(topics)]


def topics_frame(
    topics: list[Topic], source: str, resolutions: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Topics as rows for a `marts.topics` table (`TOPICS_SCHEMA`), `source` naming their input
    (e.g. `interactions` or `tickets`), each with its article draft (`draft_article` on the
    `resolutions` notes of its documents, none by default)."""
    drafts = [draft_article(topic, resolutions or {}) for topic in topics]
    rows = [
        {
            "source": source,
            "topic_id": topic.topic_id,
            "kind": topic.kind,
            "size": topic.size,
            "top_terms": list(topic.top_terms),
            "last_4_weeks": topic.last_4_weeks,
            "previous_4_weeks": topic.previous_4_weeks,
            "trend": topic.trend,
            "knowledge_gap_share": topic.knowledge_gap_share,
            "examples": list(topic.examples),
            "draft_title": draft.title,
            "draft_markdown": draft.markdown,
        }
        for topic, draft in zip(topics, drafts, strict=True)
    ]
    return pl.DataFrame(rows, schema=TOPICS_SCHEMA)


def topics_table(connection: duckdb.DuckDBPyConnection, seed: int = 0) -> pl.DataFrame:
    """The rows of a `marts.topics` table: the topics of unresolved interactions (source
    `interactions`) and of unmapped tickets (source `tickets`), with their article drafts."""
    return pl.concat(
        [
            topics_frame(discover_topics(interaction_texts(connection), seed=seed), "interactions"),
            topics_frame(discover_topics(unmapped_ticket_texts(connection), seed=seed), "tickets"),
        ]
    )


def draft_article(topic: Topic, resolutions: Mapping[str, str], max_steps: int = 6) -> ArticleDraft:
    """Draft a knowledge article from a topic and the resolution notes of its documents
    (`resolutions` maps a document id to its note; ids outside the topic are ignored).

    Title: the most representative example's first sentence (the top terms when it has none).
    Symptoms: the representative
    examples. Steps: the `max_steps` sentences found in most notes (deduplicated ignoring case
    and punctuation; a sentence of a single note counts only when there is a single note), in
    the order they usually appear in a note.
    """
    notes = [redact(resolutions[member]) for member in topic.member_ids if resolutions.get(member)]
    steps = _common_sentences(notes, max_steps)
    first = _sentences(topic.examples[0]) if topic.examples else []
    title = first[0] if first else ", ".join(topic.top_terms) or f"Topic {topic.topic_id}"
    title = title[:1].upper() + title[1:]
    markdown = _article_markdown(topic, title, steps, len(notes))
    return ArticleDraft(topic.topic_id, title, topic.examples, steps, DRAFT_STATUS, markdown)


@dataclass(frozen=True)
class _Context:
    """What every topic of one clustering is computed from."""

    texts: list[str]
    ids: list[str]
    times: list[datetime | None]
    signals: list[str]
    points: np.ndarray
    word_matrix: csr_matrix
    vocabulary: np.ndarray
    knobs: TopicParameters


def _word_vectorizer(documents: int) -> TfidfVectorizer:
    """Word 1-2 grams; a term must occur twice unless the input is tiny."""
    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        stop_words=STOP_WORDS,
        min_df=2 if documents >= 20 else 1,
    )


def _embed(
    texts: list[str], word_matrix: csr_matrix, seed: int, knobs: TopicParameters
) -> np.ndarray:
    """Unit vectors of the texts: word and character TF-IDF, reduced by TruncatedSVD to at
    most `max_components` dimensions (and fewer than the distinct texts)."""
    characters = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1
    )
    try:
        features = hstack([word_matrix, characters.fit_transform(texts)]).tocsr()
    except ValueError:  # no character n-gram either (texts of one or two letters)
        features = csr_matrix(word_matrix)
    distinct = len(set(texts))
    components = min(knobs.max_components, distinct - 1, features.shape[1] - 1)
    if components >= 2:
        features = TruncatedSVD(n_components=components, random_state=seed).fit_transform(features)
    dense = features.toarray() if issparse(features) else np.asarray(features)
    return normalize(dense)


def _cluster(points: np.ndarray, seed: int, knobs: TopicParameters) -> np.ndarray:
    """KMeans labels for the k of best silhouette, with k at most the number of distinct
    texts and the number of texts / `min_mean_size` (so fewer than 2 × `min_mean_size` texts,
    or texts without features, make one cluster). Single-threaded: faster on inputs this
    small, and never oversubscribed."""
    low, high = knobs.k_range
    count = len(points)
    best_labels, best_score = np.zeros(count, dtype=int), -1.0
    if not points.any():
        return best_labels
    distinct = len(np.unique(points.round(9), axis=0))
    sample = knobs.silhouette_sample if count > knobs.silhouette_sample else None
    with threadpool_limits(limits=1):
        for k in range(low, min(high, count // knobs.min_mean_size, distinct) + 1):
            labels, score = _kmeans(points, k, seed, sample)
            if score > best_score:
                best_labels, best_score = labels, score
    return best_labels


def _kmeans(points: np.ndarray, k: int, seed: int, sample: int | None) -> tuple[np.ndarray, float]:
    """KMeans labels for k clusters and their silhouette (-1 when fewer than two clusters)."""
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(points)
    if len(np.unique(labels)) < 2:
        return labels, -1.0
    score = silhouette_score(points, labels, metric="cosine", sample_size=sample, random_state=seed)
    return labels, float(score)


def _topic(context: _Context, members: np.ndarray) -> Topic:
    """Describe the documents selected by the boolean mask `members`."""
    indices = np.flatnonzero(members)
    signals = Counter(context.signals[i] for i in indices)
    gap_share = sum(signals[s] for s in KNOWLEDGE_GAP_SIGNALS) / len(indices)
    recent, previous = _trend_counts([context.times[i] for i in indices], context.times)
    return Topic(
        topic_id=-1,
        top_terms=_top_terms(context, members),
        size=len(indices),
        last_4_weeks=recent,
        previous_4_weeks=previous,
        trend=_trend(recent, previous),
        examples=_examples(context, indices),
        member_ids=tuple(sorted(context.ids[i] for i in indices)),
        signals=tuple(sorted(signals.items())),
        kind="knowledge_gap" if gap_share >= 0.5 else "automation_candidate",
    )


def _top_terms(context: _Context, members: np.ndarray) -> tuple[str, ...]:
    """Word n-grams most over-represented in the topic; a term whose words are all already
    listed is skipped."""
    if not len(context.vocabulary):
        return ()
    inside = np.asarray(context.word_matrix[members].mean(axis=0)).ravel()
    overall = np.asarray(context.word_matrix.mean(axis=0)).ravel()
    lift = inside - overall if members.sum() < len(members) else inside
    chosen: list[str] = []
    covered: set[str] = set()
    for index in np.lexsort((context.vocabulary, -lift)):
        if lift[index] <= 0 or len(chosen) == context.knobs.top_terms:
            break
        term = str(context.vocabulary[index])
        if not set(term.split()) <= covered:
            chosen.append(term)
            covered.update(term.split())
    return tuple(chosen)


def _examples(context: _Context, indices: np.ndarray) -> tuple[str, ...]:
    """The distinct texts closest to the topic's centroid."""
    centroid = context.points[indices].mean(axis=0)
    closeness = context.points[indices] @ centroid
    order = indices[np.lexsort((indices, -closeness))]
    examples: list[str] = []
    seen: set[str] = set()
    for index in order:
        key = normalise(context.texts[index])
        if key not in seen:
            seen.add(key)
            examples.append(context.texts[index])
        if len(examples) == context.knobs.examples:
            break
    return tuple(examples)


def _trend_counts(
    times: list[datetime | None], all_times: list[datetime | None]
) -> tuple[int, int]:
    """Documents in the 4 weeks up to the latest document of the input, and the 4 before."""
    known = [t for t in all_times if t is not None]
    if not known:
        return 0, 0
    latest = max(known)
    recent = sum(1 for t in times if t is not None and latest - TREND_WINDOW < t <= latest)
    previous = sum(
        1 for t in times if t is not None and latest - 2 * TREND_WINDOW < t <= latest - TREND_WINDOW
    )
    return recent, previous


def _trend(recent: int, previous: int) -> str:
    """`rising` or `falling` when the last 4 weeks differ from the 4 before by at least a
    quarter and at least 3 documents, else `steady`."""
    change = recent - previous
    if abs(change) >= 3 and abs(change) >= 0.25 * max(previous, 1):
        return "rising" if change > 0 else "falling"
    return "steady"


def _sentences(text: str) -> list[str]:
    """The sentences of a text, stripped of list markers."""
    parts = (_LIST_MARKER.sub("", part) for part in _SENTENCE_END.split(text))
    return [part.strip() for part in parts if part.strip()]


def _common_sentences(notes: list[str], limit: int) -> tuple[str, ...]:
    """The sentences in most notes (each counted once per note, and in two notes at least
    when there are several), without those that had a secret redacted (a pasted password is
    no step), grouped by the most frequent note each comes from and in that note's order, so
    the steps of one fix read together."""
    found: Counter[str] = Counter()
    wording: dict[str, str] = {}
    homes: dict[str, tuple[int, int, int]] = {}  # key -> (-note frequency, note, position)
    keyed = [[normalise(_PUNCTUATION.sub(" ", s)) for s in _sentences(note)] for note in notes]
    note_counts = Counter(tuple(keys) for keys in keyed)
    for number, (note, keys) in enumerate(zip(notes, keyed, strict=True)):
        for position, (key, sentence) in enumerate(zip(keys, _sentences(note), strict=True)):
            if not key or key in keys[:position] or REDACTION_MARKER in sentence:
                continue
            found[key] += 1
            wording.setdefault(key, sentence)
            home = (-note_counts[tuple(keys)], number, position)
            homes[key] = min(homes.get(key, home), home)
    least = min(2, len(notes))
    chosen = sorted(
        (key for key in found if found[key] >= least), key=lambda key: (-found[key], key)
    )
    chosen = chosen[:limit]
    chosen.sort(key=lambda key: (homes[key], key))
    return tuple(wording[key] for key in chosen)


def _article_markdown(topic: Topic, title: str, steps: tuple[str, ...], notes: int) -> str:
    """The draft as markdown, with its review status in the front matter."""
    lines = [
        "---",
        f"status: {DRAFT_STATUS}",
        f"topic_id: {topic.topic_id}",
        f"top_terms: [{', '.join(topic.top_terms)}]",
        "---",
        "",
        f"# {title}",
        "",
        f"*Drafted from {topic.size} similar requests and {notes} resolution notes. "
        "A person must check it before it is published.*",
        "",
        "## Symptoms",
        "",
        *(f'- "{symptom}"' for symptom in topic.examples),
        "",
        "## Steps",
        "",
        *(f"{number}. {step}" for number, step in enumerate(steps, 1)),
    ]
    if not steps:
        lines.append("No resolution notes yet: write the steps.")
    return "\n".join(lines) + "\n"
