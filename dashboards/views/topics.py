"""Knowledge gaps and topics: clusters of what employees ask about, requests the engine did
not understand, draft knowledge articles, and spikes."""

import polars as pl
import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar

DRAFTS_SHOWN = 5

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
