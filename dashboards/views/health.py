"""Pipeline and data health: how fresh the published warehouse is, which run published it and
whether that run checked the data, the recent pipeline runs and their steps, and data-quality
results, those of another run said to be older (or newer) with their date."""

from datetime import UTC, datetime

import polars as pl
import streamlit as st

import charts
from dashboards import queries, ui
from pipelines.report import format_value


def _run(frame: pl.DataFrame) -> str:
    """The run of a one-run frame (a run, or its checks) as the page names it."""
    row = frame.row(0, named=True)
    return f"run {row['run_id'][:8]} ({row['flow'] or 'not recorded'})"


def _failed(checks: pl.DataFrame) -> str:
    """How many of a run's expectations failed."""
    return f"{checks.filter(~pl.col('success')).height} of {checks.height} failed"


st.title("Pipeline and data health")
status = queries.warehouse_status()
runs, published, checks, latest, builds, model_runs = queries.health()

age = status.published_at and (datetime.now(UTC) - status.published_at).total_seconds() / 3600
if published.is_empty():
    checked = "no run recorded"
else:
    checked = "none ran" if checks.is_empty() else _failed(checks)
freshness = {
    "Warehouse published": f"{format_value(age, 'duration')} ago" if age is not None else "never",
    "Data through (UTC)": f"{status.data_through:%Y-%m-%d %H:%M}" if status.data_through else "-",
    "Last pipeline run": "none yet" if runs.is_empty() else f"{runs['status'][0]}",
    "Checks of this warehouse": checked,
}
for column, (label, value) in zip(st.columns(4), freshness.items(), strict=True):
    column.metric(label, value, border=True)
if not status.exists:
    ui.empty(ui.NO_WAREHOUSE)
elif not published.is_empty():
    st.caption(
        f"The warehouse now published comes from {_run(published)}, finished "
        f"{published['finished_at'][0]:%Y-%m-%d %H:%M} UTC."
    )

st.subheader("Pipeline runs")
if runs.is_empty():
    ui.empty(f"No pipeline runs recorded yet: {ui.RUN_PIPELINE}.")
else:
    ui.chart(charts.runs_chart(runs), runs.drop("steps"), "pipeline-runs")
    ui.table(runs.drop("steps"), "pipeline-runs", downloadable=False)
    run_id = st.selectbox("Steps of run", runs["run_id"].to_list(), format_func=lambda r: r[:8])
    ui.table(queries.steps_of(runs, run_id), "run-steps")

st.subheader("Data quality")
if not checks.is_empty():
    st.caption(
        f"The checks of the warehouse now published: {_run(checks)}, checked "
        f"{checks['checked_at'][0]:%Y-%m-%d %H:%M} UTC."
    )
    title = f"Checks of {_run(checks)}: expectations by suite"
    ui.chart(charts.quality_chart(checks, title), checks, "data-quality")
elif not published.is_empty():
    st.warning(
        f"The warehouse now published ({_run(published)}) ran no data-quality checks: "
        f"`unticket build` publishes without them; {ui.RUN_PIPELINE} to check before publishing.",
        icon=":material/warning:",
    )
elif latest.is_empty():
    ui.empty(f"No data-quality results yet: {ui.RUN_PIPELINE} (it validates before publishing).")
if not latest.is_empty() and (checks.is_empty() or latest["run_id"][0] != checks["run_id"][0]):
    checked_at = latest["checked_at"][0]
    if published.is_empty():
        kind, which = (
            "Latest checks",
            "of a run not recorded as publishing the warehouse now in place",
        )
    elif checked_at < published["started_at"][0]:
        kind, which = "Older checks", "of an earlier warehouse, not the one now published"
    else:
        kind, which = (
            "Newer checks",
            "of a run that did not publish: the warehouse now published is older",
        )
    st.caption(f"{kind}, {which}: {_run(latest)}, checked {checked_at:%Y-%m-%d %H:%M} UTC.")
    title = f"{kind}, {_run(latest)}, {checked_at:%Y-%m-%d}: expectations by suite"
    ui.chart(charts.quality_chart(latest, title), latest, "data-quality-other-run")

for frame, title, name in (
    (builds, "Warehouse builds", "builds"),
    (model_runs, "Model training and scoring", "model-runs"),
):
    if not frame.is_empty():
        st.subheader(title)
        ui.table(frame, name)
