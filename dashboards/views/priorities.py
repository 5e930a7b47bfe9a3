"""Automation priorities: what is left to automate, each score beside its inputs, and a what-if
for an issue type and an automation rate that starts where comparable automation stands."""

import polars as pl
import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar
from models.priorities import PRIORITY_COLUMNS, what_if
from pipelines.report import format_value

filters = sidebar()
st.title("Automation priorities")
ranking = queries.priorities(filters)
if ranking.rows.is_empty():
    ui.empty(ui.NO_ROWS)
    st.stop()
rows = ranking.rows
if ranking.source == "automation_model":
    st.caption(
        "Score = expected hours saved per month if what is left were automated = remaining lost "
        "hours per month (forecast volume not deflected × lost hours per occurrence) × the "
        "automatable share of what is left: (automatability × comparable success − observed "
        "success) ÷ (1 − observed success), at least 0. Cost = hours × the loaded hourly cost "
        "(the roster's mean for the issue type's requesters, else the catalogue default)."
    )
    rows = rows.select(PRIORITY_COLUMNS)  # the mart's declared columns, the score's inputs
else:
    ui.empty(f"{ranking.note} For the model's ranking and the what-if, {ui.RUN_PIPELINE}.")
ui.chart(charts.priorities_chart(rows, ranking.source), rows, "automation-priorities")
ui.table(rows, "automation-priorities-table", downloadable=False)

if ranking.source == "automation_model":
    st.subheader("What if we automated it?")
    left, right = st.columns(2)
    issue = left.selectbox("Issue type", rows["issue_type"].to_list(), key="what_if_issue")
    row = rows.filter(pl.col("issue_type") == issue).row(0, named=True)
    start = round(100 * row["comparable_success"])  # where comparable automation stands
    rate = right.slider("Automation rate", 0, 100, start, step=1, format="%d%%")
    projected = what_if(row, issue, rate / 100)
    hours, cost = st.columns(2)
    hours.metric(
        "Projected hours saved per month", format_value(projected.hours_saved_per_month, "hours")
    )
    cost.metric(
        "Projected cost saved per month", format_value(projected.cost_saved_per_month, "usd")
    )
    st.caption(
        f"The rate starts at the observed success of comparable automated intents "
        f"({row['comparable_basis']}); the engine resolves "
        f"{format_value(row['observed_success'], 'rate')} of these requests today. Remaining "
        "lost hours per month × (rate − observed success) ÷ (1 − observed success); cost = "
        "hours × the issue type's loaded hourly cost."
    )
