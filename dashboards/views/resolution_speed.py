"""Resolution speed: how long resolution took, p50/p90 by outcome, intent and channel, and
each intent against its pre-automation baseline."""

import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar

filters = sidebar()
st.title("Resolution speed")
st.caption(
    "Time to resolution = resolved − first message. Working hours count only the employee's "
    "office working time. An escalation is resolved when its ticket is (MTTR here means mean "
    "time to *resolve*)."
)
dimension = (
    st.segmented_control(
        "p50 and p90 by",
        queries.SPEED_DIMENSIONS,
        default="intent",
        key="speed_dimension",
        help="By intent, each intent's p50 is shown against its baseline.",
    )
    or "intent"
)
speed = queries.resolution_speed(filters, dimension)
distribution = speed.distribution
if distribution.is_empty():
    ui.empty(ui.NO_ROWS)
    st.stop()
buckets = [label for _, label in queries.SPEED_BUCKETS]
figure = charts.distribution_chart(ui.named(distribution), buckets)
ui.chart(figure, distribution, "speed-distribution")

st.subheader(f"p50 and p90 by {dimension}")
ui.chart(
    charts.percentiles_chart(ui.named(speed.percentiles), dimension),
    speed.percentiles,
    f"speed-by-{dimension}",
)
st.caption(
    "The baseline is the working hours a ticket for the intent took before automation: the "
    "median of imported ticket history, else the catalogue's assumption (on hover, and the "
    "download's column baseline_source)."
)
