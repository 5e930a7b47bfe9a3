"""Knowledge gaps and topics: clusters of what employees ask about, requests the engine did
not understand, draft knowledge articles, article drafts from resolved escalations to review
(`learning.drafts`, as `unticket knowledge drafts` does: each decision records the signed-in
person, "demo" in demo mode, and the time), and spikes."""

from contextlib import closing
from datetime import UTC, datetime

import polars as pl
import streamlit as st

import charts
from catalogue import cached_catalogue
from dashboards import access, queries, ui
from dashboards.filters import sidebar
from learning.drafts import (
    Draft,
    DraftError,
    approval_log,
    approvals,
    approve_draft,
    draft_intents,
    draft_markdown,
    edit_draft,
    list_drafts,
    open_drafts,
    reject_draft,
    steps_from_markdown,
)
from settings import get_settings

DRAFTS_SHOWN = 5


def reviewer(viewer: access.Viewer) -> str:
    """Who decides: the signed-in person, or "demo" in demo mode."""
    return "demo" if viewer.demo else viewer.identity or viewer.name


def decide(action: str, draft_id: str, name: str) -> None:
    """Approve, edit or reject a draft (a button's callback); say what happened next run."""
    settings = get_settings()
    intents = draft_intents(cached_catalogue(settings.catalogue_dir))
    now = datetime.now(UTC)
    store = open_drafts(settings.data_dir)
    try:
        if action == "approve":
            with closing(approval_log(settings)) as log:
                article = approve_draft(store, draft_id, name, intents, now, log=log)
            done = f"Approved by {name}: the engine answers with {article.id} within a minute."
        elif action == "reject":
            reject_draft(store, draft_id, name, now)
            done = f"Rejected by {name}: it will not be proposed again."
        else:
            state = st.session_state
            edit_draft(
                store, draft_id, name, intents, now, title=state[f"title-{draft_id}"],
                steps=steps_from_markdown(state[f"steps-{draft_id}"]),
                intent=state[f"intent-{draft_id}"],
            )  # fmt: skip
            done = f"Edited by {name}."
        st.session_state["drafts_done"] = done
    except DraftError as error:
        st.session_state["drafts_error"] = str(error)
    finally:
        store.close()


def learned_table(approved: pl.DataFrame, since: pl.DataFrame | None) -> pl.DataFrame:
    """Each learned article (`learning.drafts.approvals`) with its approval day, who approved
    it, and its answered, deflected and confirmed counts since then (0 without answers; null
    while the warehouse has no kpi_article_deflection_daily)."""
    counts = ("answered", "deflected", "confirmed")
    empty = pl.DataFrame(schema={"article_id": pl.String, **dict.fromkeys(counts, pl.Int64)})
    joined = approved.join(empty if since is None else since, on="article_id", how="left")
    if since is not None:
        joined = joined.with_columns(pl.col(counts).fill_null(0))
    return joined.select(
        "article_id", "title", "intent", pl.col("approved_at").dt.date().alias("approved_on"),
        "approved_by", *counts,
    ).sort("approved_on", "article_id", descending=[True, False])  # fmt: skip


def review(draft: Draft, name: str, intents: list[str]) -> None:
    """One pending draft: its markdown (employee text made inert), the edit fields, and the
    Approve, Save edits and Reject buttons."""
    key = draft.draft_id
    with st.container(border=True):
        st.markdown(ui.inert(draft_markdown(draft)))
        st.caption(ui.inert(f"Draft {key} · tickets: {', '.join(draft.ticket_ids)}"))
        st.text_input("Title", draft.title, key=f"title-{key}")
        st.selectbox(
            "Intent", intents, index=intents.index(draft.intent) if draft.intent in intents
            else 0, key=f"intent-{key}",
        )  # fmt: skip
        steps = "\n".join(f"{n}. {step}" for n, step in enumerate(draft.steps, 1))
        st.text_area("Steps (markdown, one per line)", steps, key=f"steps-{key}")
        approve, edit, reject, _ = st.columns([1, 1, 1, 4])
        for column, action, label in (
            (approve, "approve", "Approve"), (edit, "edit", "Save edits"),
            (reject, "reject", "Reject"),
        ):  # fmt: skip
            column.button(label, key=f"{action}-{key}", on_click=decide, args=(action, key, name))


filters = sidebar()
st.title("Knowledge gaps and topics")

st.subheader("Topics")
topics, requests, spikes = queries.knowledge(filters)
if topics is None or topics.is_empty():
    ui.empty(
        "Topic discovery has not run yet: run `unticket pipeline run nightly` (its "
        "train-and-score step writes marts.topics)."
    )
else:  # the columns of models.topics.TOPICS_SCHEMA
    ranked = topics.sort("size", descending=True, maintain_order=True)
    chart = ranked.head(20).with_columns(topic=queries.text_of(ranked.head(20), "top_terms"))
    st.plotly_chart(
        charts.ranking_chart(chart, "size", "topic", "Largest topics"), key="chart-topics"
    )
    ui.table(topics, "topics")
    drafts = ranked.filter(pl.col("draft_markdown").fill_null("") != "").head(DRAFTS_SHOWN)
    if not drafts.is_empty():
        st.subheader("Draft knowledge articles")
        st.caption(
            "Drafted from each topic's requests; a person must review them before publishing."
        )
        for row in drafts.iter_rows(named=True):
            with st.expander(ui.inert(row["draft_title"] or "")):
                st.markdown(ui.inert(row["draft_markdown"]))  # drafted from what employees wrote

st.subheader("Article drafts to review")
st.caption(
    "Drafted each night from escalations the service desk resolved with the same fix. Approve "
    "one and the engine answers with it; every decision is recorded under your name."
)
if done := st.session_state.pop("drafts_done", None):
    st.success(ui.inert(done))
if problem := st.session_state.pop("drafts_error", None):
    st.error(ui.inert(problem))
settings = get_settings()
drafts_store = open_drafts(settings.data_dir)
try:
    pending = list_drafts(drafts_store)
finally:
    drafts_store.close()
if not pending:
    ui.empty(
        "No article drafts waiting for review. The nightly pipeline (`unticket pipeline run "
        "nightly`) drafts them from escalations resolved with a note."
    )
name = reviewer(access.current(settings))
for pending_draft in pending:
    review(pending_draft, name, draft_intents(cached_catalogue(settings.catalogue_dir)))

st.subheader("Learned articles")
st.caption(
    "Approved drafts the engine answers with, and since each approval: the interactions it "
    "answered, how many it deflected (strictly: not escalated, not rejected, not re-contacted) "
    "and how many employees confirmed it worked."
)
drafts_store = open_drafts(settings.data_dir)
try:
    approved = approvals(drafts_store)
finally:
    drafts_store.close()
if approved.is_empty():
    ui.empty("No learned articles yet: approve a draft above and the engine answers with it.")
else:
    since_approval = queries.learned_article_deflection()
    if since_approval is None:
        ui.empty(
            "The warehouse has no article deflection yet: run `unticket pipeline run nightly` "
            "(its dbt build writes marts.kpi_article_deflection_daily)."
        )
    ui.table(learned_table(approved, since_approval), "learned-articles")

st.subheader("Unrecognised requests")
st.caption("What employees wrote when the engine did not understand them (secrets redacted).")
if requests.is_empty():
    ui.empty(ui.NO_ROWS)
else:
    top = requests.head(15)
    figure = charts.ranking_chart(top, "times", "request", "Most frequent unrecognised requests")
    st.plotly_chart(figure, key="chart-unrecognized")
    ui.table(requests, "unrecognized-requests")

st.subheader("Spikes")
if spikes is None or spikes.is_empty():
    ui.empty(
        "Spike detection has not run yet: run `unticket pipeline run nightly` (it writes "
        "marts.spikes)."
    )
else:
    ui.table(spikes.sort("started_at", descending=True), "spikes")  # newest episode first
