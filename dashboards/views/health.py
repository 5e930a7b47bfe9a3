"""Pipeline and data health: how fresh the published warehouse is, the recent pipeline runs
and their steps, and the latest data-quality results."""

from datetime import UTC, datetime

import polars as pl
import streamlit as st

import charts
from dashboards import queries, ui
from pipelines.report import format_value

st.title("Pipeline and data health")
status = queries.warehouse_status()
runs, results, builds, model_runs = queries.health()

age = status.published_at and (datetime.now(UTC) - status.published_at).total_seconds() / 3600
failed = 0 if results.is_empty() else results.filter(~pl.col("success")).height
freshness = {
    "Warehouse published": f"{format_value(age, 'duration')} ago" if age is not None else "never",
    "Data through (UTC)": f"{status.data_through:%Y-%m-%d %H:%M}" if status.data_through else "-",
    "Last pipeline run": "none yet" if runs.is_empty() else f"{runs['status'][0]}",
    "Latest data quality": "no results"
    if results.is_empty()
    else f"{failed} of {results.height} failed",
}
for column, (label, value) in zip(st.columns(4), freshness.items(), strict=True):
    column.metric(label, value, border=True)
if not status.exists:
    ui.empty(ui.NO_WAREHOUSE)

st.subheader("Pipeline runs")
if runs.is_empty():
    ui.empty(f"No pipeline runs recorded yet: {ui.RUN_PIPELINE}.")
else:
    ui.chart(charts.runs_chart(runs), runs.drop("steps"), "pipeline-runs")
    ui.table(runs.drop("steps"), "pipeline-runs", downloadable=False)
    run_id = st.selectbox("Steps of run", runs["run_id"].to_list(), format_func=lambda r: r[:8])
    ui.table(queries.steps_of(runs, run_id), "run-steps")

st.subheader("Data quality")
if results.is_empty():
    ui.empty(f"No data-quality results yet: {ui.RUN_PIPELINE} (it validates before publishing).")
else:
    st.caption(
        f"Run {results['run_id'][0][:8]}, checked {results['checked_at'][0]:%Y-%m-%d %H:%M} UTC."
    )
    ui.chart(charts.quality_chart(results), results, "data-quality")

for frame, title, name in (
    (builds, "Warehouse builds", "builds"),
    (model_runs, "Model training and scoring", "model-runs"),
):
    if not frame.is_empty():
        st.subheader(title)
        ui.table(frame, name)
