"""Deflection: strict deflection by intent, channel, department and language, the other
definitions beside it, false deflections and re-contacts, and the interactions behind the
figures."""

import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar
from pipelines.metrics import rate_labels
from vocabulary import RECORDED_OUTCOMES

OUTCOMES = [outcome.value for outcome in RECORDED_OUTCOMES]

filters = sidebar()
st.title("Deflection")
st.caption(
    "Strict deflection = support interactions resolved without a ticket (auto-resolved or "
    "answered), not rejected and not re-contacted about the same need within the window, ÷ all "
    "support interactions (small talk excluded)."
)
data = queries.deflection(filters)
if data.by_intent.is_empty():
    ui.empty(ui.NO_ROWS)
    st.stop()
*by_dimension, by_language = st.tabs(["By intent", "By channel", "By department", "By language"])
for tab, dimension, frame in zip(
    by_dimension,
    ["intent", "channel", "department"],
    [data.by_intent, data.by_channel, data.by_department],
    strict=True,
):
    with tab:
        figure = charts.deflection_chart(ui.named(frame), dimension)
        ui.chart(figure, frame, f"deflection-by-{dimension}")
with by_language:
    languages = data.by_language
    figure = charts.language_deflection_chart(ui.named(languages), rate_labels())
    ui.chart(figure, languages, "deflection-by-language")

st.subheader("The definitions side by side")
st.caption(
    "How other tools count, for comparing like with like (whole company, by week). "
    "ServiceNow-style: an automation ran or the employee confirmed. Moveworks-style: resolved ÷ "
    "(resolved + escalations the bot could have handled). Lenient counts everything not "
    "escalated, abandoned included: never a headline."
)
ui.chart(
    charts.definitions_chart(data.definitions, rate_labels()),
    data.definitions,
    "deflection-definitions",
)

st.subheader("False deflections and re-contacts")
st.caption("A false deflection is a resolution without a ticket followed by a re-contact.")
recontacts = data.false_deflections
ui.chart(charts.false_deflection_chart(ui.named(recontacts)), recontacts, "false-deflections")

st.subheader("Drill down to interactions")
left, middle, right = st.columns([2, 3, 1])
intents = data.by_intent["intent"].to_list()
intent = left.selectbox(
    "Intent",
    intents,
    index=None,
    format_func=ui.name_of("intent"),
    placeholder="All",
    key="drill_intent",
)
outcomes = middle.multiselect(
    "Outcomes",
    OUTCOMES,
    format_func=ui.name_of("outcome"),
    placeholder="All",
    key="drill_outcomes",
)
false_only = right.toggle("Only false deflections", key="drill_false_only")
rows = queries.interactions(filters, intent, tuple(outcomes), false_only)
st.caption(f"The newest {rows.height:,} interactions matching (at most 500).")
ui.table(rows, "interactions")
