"""Knowledge gaps and topics: clusters of what employees ask about, requests the engine did
not understand, draft knowledge articles, and spikes."""

import polars as pl
import streamlit as st

from dashboards import charts, queries, ui
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
else:
    label = queries.pick_column(topics, "top_terms", "label", "terms", "topic_id", "cluster_id")
    size = queries.pick_column(topics, "size", "interactions", "count")
    if label and size:
        ranked = topics.sort(size, descending=True).head(20)
        ranked = ranked.with_columns(topic=queries.text_of(ranked, label))
        figure = charts.ranking_chart(ranked, size, "topic", "Largest topics")
        st.plotly_chart(figure, key="chart-topics")
    ui.table(topics, "topics")
    draft = queries.pick_column(
        topics, "draft_article_markdown", "draft_markdown", "draft_article", "article_markdown"
    )
    if draft and label:
        st.subheader("Draft knowledge articles")
        drafts = topics.with_columns(title=queries.text_of(topics, label))
        drafts = drafts.filter(queries.text_of(topics, draft) != "").head(DRAFTS_SHOWN)
        for row in drafts.iter_rows(named=True):
            with st.expander(ui.inert(row["title"])):
                st.markdown(ui.inert(row[draft]))  # drafted from what employees wrote

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
    if "is_spike" in spikes.columns:
        spikes = spikes.filter(pl.col("is_spike"))
    latest = queries.pick_column(spikes, "bucket_start", "day", "detected_at")
    ui.table(spikes.sort(latest, descending=True) if latest else spikes, "spikes")
