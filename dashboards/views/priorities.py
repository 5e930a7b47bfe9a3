"""Automation priorities: what to automate next, each score beside its inputs, and a what-if
for an issue type and an automation rate."""

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
        "Score = expected hours saved per month if automated = forecast monthly volume × "
        "predicted lost hours per occurrence × automatability; cost = hours × loaded hourly cost."
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
    suggested = round(100 * (row.get("automatability") or 0.5))
    rate = right.slider("Automation rate", 0, 100, suggested, step=5, format="%d%%")
    projected = what_if(row, issue, rate / 100)
    hours, cost = st.columns(2)
    hours.metric(
        "Projected hours saved per month", format_value(projected.hours_saved_per_month, "hours")
    )
    cost.metric(
        "Projected cost saved per month", format_value(projected.cost_saved_per_month, "usd")
    )
    st.caption("Forecast monthly volume × lost hours per occurrence × the rate; × hourly cost.")
