"""Productivity impact: employee time lost and saved by department and intent, and how
concentrated lost time is (the Pareto curve)."""

import streamlit as st

import charts
from dashboards import queries, ui
from dashboards.filters import sidebar
from pipelines.report import format_value

filters = sidebar()
st.title("Productivity impact")
st.caption(
    "Lost time = working hours to resolution × the intent's blocking factor, plus a context "
    "switch per ticket; its cost uses each employee's loaded hourly cost. Hours saved "
    "(verified) = for resolutions that were verified or confirmed, the intent's baseline lost "
    "time − actual, at most the baseline."
)
by_department, by_intent, matrix = queries.productivity(filters)
if by_department.is_empty():
    ui.empty(ui.NO_ROWS)
    st.stop()
totals = {
    ("Lost hours", "hours"): by_department["lost_hours"].sum(),
    ("Cost of lost time", "usd"): by_department["lost_cost_usd"].sum(),
    ("Hours saved (verified)", "hours"): by_department["hours_saved"].sum(),
    ("Cost saved (verified)", "usd"): by_department["cost_saved_usd"].sum(),
}
for column, ((label, unit), value) in zip(st.columns(4), totals.items(), strict=True):
    column.metric(label, format_value(value, unit), border=True)

left, right = st.columns(2)
with left:
    ui.chart(
        charts.impact_chart(by_department, "department"), by_department, "impact-by-department"
    )
with right:
    ui.chart(charts.impact_chart(ui.named(by_intent), "intent"), by_intent, "impact-by-intent")
ui.chart(charts.impact_heatmap(ui.named(matrix)), matrix, "lost-hours-department-intent")

st.subheader("What the savings rest on")
basis = queries.savings_basis(filters)
ui.figures(
    {
        "Hours saved (verified)": (basis.figures["hours_saved"], "hours"),
        "Hours saved (expected)": (basis.figures["expected_hours_saved"], "hours"),
        "Cost saved per support interaction": (
            basis.figures["cost_saved_per_support_interaction"],
            "usd",
        ),
        "Verified hours on assumed baselines": (basis.figures["assumed_baseline_share"], "share"),
    }
)
st.caption(
    "Verified: actions that succeeded and resolutions the employee confirmed, with no re-contact. "
    "Expected adds answers nobody confirmed, at the share of that intent's answers employees "
    "confirmed, for needs the system can resolve by itself. A baseline is assumed unless the "
    "company's own ticket history maps to the intent. An hour costs each employee's loaded "
    "hourly cost from the roster, else the catalogue default "
    f"({format_value(basis.costs['default_hourly_cost'], 'usd')}); this period's verified "
    f"resolutions averaged {format_value(basis.costs['mean_hourly_cost'], 'usd')} an hour."
)
ui.table(basis.baselines, "savings-basis")

st.subheader("Where lost time concentrates")
level = st.radio(
    "Items", ["ticket", "issue_type"], horizontal=True, format_func=lambda v: v.replace("_", " ")
)
curve = queries.pareto(filters, level)
if curve.is_empty():
    ui.empty(
        "No resolved tickets opened in this period to rank: widen the period or clear a filter."
    )
    st.stop()
share = curve["share_of_items_driving_80pct"][0]
noun = "tickets" if level == "ticket" else "issue types"
st.markdown(f"### {share:.0%} of {noun} cause 80 % of lost time")
whose = (
    "only the engine's, of the chosen departments, channels and languages (imported history "
    "has none of them)"
    if filters.departments or filters.channels or filters.languages
    else "imported history and the engine's tickets"
)
items = f"{curve['items'][0]:,} {noun}" + ("" if level == "ticket" else " of the tickets")
st.caption(
    f"All {items} opened {filters.start} – {filters.end} and resolved: {whose}. HappySignals' "
    "benchmark: about 13 % of tickets drive 80 % of lost time."
)
ui.chart(charts.pareto_chart(curve, level), curve, f"pareto-{level}")
