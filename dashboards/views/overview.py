"""Overview: the headline KPIs against the previous period, and how they moved day by day."""

import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar
from pipelines.metrics import rate_labels
from pipelines.report import format_value

filters = sidebar()
st.title("Overview")
before_start, before_end = filters.previous
st.caption(
    f"{filters.start} – {filters.end}, against {before_start} – {before_end} (UTC days; an "
    "interaction counts on the day it started). Strict deflection is the headline: resolved "
    "without a ticket, not rejected, and no re-contact within the window. Savings count "
    "verified resolutions only (an action that succeeded, or confirmed by the employee); the "
    "expected figure adds unconfirmed answers at their intent's confirmation rate."
)
tiles, trend, acted = queries.overview(filters)
ui.tiles(tiles)
assumed = queries.savings_basis(filters).figures["assumed_baseline_share"]
if assumed:
    st.caption(
        f"{format_value(assumed, 'share')} of the verified hours saved rest on assumed "
        "baselines, not the company's own ticket history: see *What the savings rest on* under "
        "Productivity impact."
    )
if trend.is_empty():
    ui.empty(ui.NO_ROWS)
    st.stop()
left, right = st.columns(2)
with left:
    ui.chart(charts.volume_chart(trend), trend, "interactions-per-day")
with right:
    ui.chart(charts.rates_chart(trend, rate_labels()), trend, "rates-per-day")
ui.chart(charts.savings_chart(trend), trend, "savings-per-day")

if acted is not None:
    st.subheader("Resolved before reported")
    st.caption(
        "Whole company, by the weeks the period touches: lock-outs unlocked before the employee "
        "asked, outage notices, and the tickets that never existed because reports were linked "
        "to one major incident."
    )
    ui.figures(
        {
            "Unlocked before asked": (acted["resolved_before_reported"], "count"),
            "Share of unlocks before asked": (acted["share_of_unlocks_before_reported"], "rate"),
            "Outage notices": (acted["outage_notices"], "count"),
            "Tickets avoided": (acted["tickets_avoided"], "count"),
        }
    )
