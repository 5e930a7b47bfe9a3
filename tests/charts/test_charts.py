"""The charts package on its own: what each builder draws from a DataFrame, and every text
from the warehouse shown as typed."""

from __future__ import annotations

import html
from datetime import date, datetime

import plotly.graph_objects as go
import polars as pl
import pytest

import charts
from charts.style import COLORS
from dashboards.queries import SPEED_BUCKETS
from tests.hostile import PHISHING, live_plotly_markup, strings


def test_deflection_chart_draws_the_rates() -> None:
    frame = pl.DataFrame(
        {
            "channel": ["slack", "web"],
            "strict_deflection_rate": [0.8, 0.5],
            "support_interactions": [10, 4],
        }
    )
    figure = charts.deflection_chart(frame, "channel")
    assert isinstance(figure, go.Figure)
    assert list(figure.data[0].x) == [0.8, 0.5]
    assert list(figure.data[0].text) == ["80% of 10", "50% of 4"]


def test_language_deflection_chart_sets_the_rates_of_each_language_side_by_side() -> None:
    frame = pl.DataFrame(
        {
            "language": ["English", "German"],
            "strict_deflection_rate": [0.6, 0.4],
            "auto_resolution_rate": [0.5, 0.25],
            "support_interactions": [10, 4],
        }
    )
    labels = {"strict_deflection_rate": "strict", "auto_resolution_rate": "auto"}
    figure = charts.language_deflection_chart(frame, labels)
    strict, auto = figure.data
    assert [strict.name, auto.name] == ["strict", "auto"]
    assert list(strict.y) == list(auto.y) == ["English", "German"]
    assert list(strict.x) == [0.6, 0.4] and list(auto.x) == [0.5, 0.25]
    assert list(strict.text) == ["60% of 10", "40% of 4"]
    assert figure.layout.barmode == "group"
    assert figure.layout.title.text == "Deflection by language"


def test_pareto_chart_marks_the_share_driving_80_percent() -> None:
    curve = pl.DataFrame(
        {
            "cumulative_share_of_items": [0.25, 0.5, 1.0],
            "cumulative_share_of_lost_time": [0.6, 0.85, 1.0],
            "share_of_items_driving_80pct": [0.5] * 3,
        }
    )
    figure = charts.pareto_chart(curve, "ticket")
    assert list(figure.data[0].x) == [0.0, 0.25, 0.5, 1.0]
    assert figure.data[1].text == ("50% of tickets cause 80 % of lost time",)
    assert [shape.type for shape in figure.layout.shapes] == ["line", "line"]


def test_distribution_and_heatmap_charts() -> None:
    buckets = [label for _, label in SPEED_BUCKETS]
    distribution = pl.DataFrame(
        {
            "outcome": ["answered", "escalated"],
            "bucket": ["< 1 min", "> 3 days"],
            "interactions": [5, 2],
        }
    )
    figure = charts.distribution_chart(distribution, buckets)
    assert [trace.name for trace in figure.data] == ["answered", "escalated"]
    assert list(figure.layout.xaxis.categoryarray) == [html.escape(b, quote=False) for b in buckets]

    matrix = pl.DataFrame(
        {
            "department": ["eng", "eng", "hr"],
            "intent": ["vpn", "mfa", "vpn"],
            "lost_hours": [1.0, 2.0, 3.0],
        }
    )
    heatmap = charts.impact_heatmap(matrix).data[0]
    assert list(heatmap.y) == ["eng", "hr"]
    assert heatmap.z.tolist() == [[1.0, 2.0], [3.0, 0.0]]


def test_quality_and_runs_charts_group_by_outcome() -> None:
    results = pl.DataFrame(
        {
            "suite": ["raw", "raw", "marts"],
            "severity": ["critical", "warning", "critical"],
            "success": [True, False, False],
        }
    )
    names = {trace.name: sum(trace.y) for trace in charts.quality_chart(results).data}
    assert names == {"passed": 1, "warning": 1, "critical": 1}
    runs = pl.DataFrame(
        {
            "status": ["succeeded", "failed"],
            "started_at": [datetime(2026, 9, 1)] * 2,
            "duration_seconds": [10.0, 3.0],
            "flow": ["nightly", "hourly"],
        }
    )
    assert [trace.name for trace in charts.runs_chart(runs).data] == ["succeeded", "failed"]


TEXT_COLUMNS = [
    "intent",
    "department",
    "channel",
    "language",
    "outcome",
    "bucket",
    "request",
    "status",
    "flow",
    "suite",
]
NUMBER_COLUMNS = [
    "strict_deflection_rate",
    "auto_resolution_rate",
    "support_interactions",
    "false_deflections",
    "recontacts",
    "interactions",
    "p50_working_hours",
    "p90_working_hours",
    "baseline_working_hours",
    "lost_hours",
    "lost_cost_usd",
    "hours_saved",
    "cost_saved_usd",
    "times",
    "duration_seconds",
]


def hostile_frame() -> pl.DataFrame:
    """Two rows of any query's result as the charts read it: `PHISHING` in every text
    column, numbers in the others."""
    return pl.DataFrame(
        {name: [PHISHING, PHISHING + " 2"] for name in TEXT_COLUMNS}
        | {name: [1.0, 2.0] for name in NUMBER_COLUMNS}
        | {"started_at": [datetime(2026, 9, 1), datetime(2026, 9, 2)], "success": [True, False]}
        | {"severity": ["warning", "critical"]}
    )


HOSTILE_CHARTS = {
    "deflection": lambda f: charts.deflection_chart(f, "department"),
    "false deflections": charts.false_deflection_chart,
    "language": lambda f: charts.language_deflection_chart(
        f, {"strict_deflection_rate": PHISHING, "auto_resolution_rate": PHISHING + " 2"}
    ),
    "distribution": lambda f: charts.distribution_chart(f, [PHISHING, PHISHING + " 2"]),
    "percentiles": lambda f: charts.percentiles_chart(f, "channel"),
    "impact": lambda f: charts.impact_chart(f, "department"),
    "heatmap": charts.impact_heatmap,
    "ranking": lambda f: charts.ranking_chart(f, "times", "request", PHISHING),
    "priorities": lambda f: charts.priorities_chart(f.rename({"intent": "issue_type"}), "x"),
    "runs": charts.runs_chart,
    "quality": charts.quality_chart,
}


@pytest.mark.parametrize("name", list(HOSTILE_CHARTS))
def test_every_chart_shows_text_from_the_warehouse_as_typed(name: str) -> None:
    figure = HOSTILE_CHARTS[name](hostile_frame())
    shown = figure.to_plotly_json()
    # plotly draws <a href>, <b>, <br> ... in labels, texts, hovers, legends and titles
    assert live_plotly_markup(shown) == []
    escaped = html.escape(PHISHING, quote=False)
    assert any(text.startswith(escaped) for text in strings(shown))  # shown, as typed


def test_priorities_chart_ranks_by_what_the_ranking_comes_from() -> None:
    rows = pl.DataFrame(
        {"issue_type": ["vpn", "printer"], "expected_hours_saved_per_month": [9.0, 4.0]}
        | {"lost_hours": [1.0, 7.0]}
    )
    model = charts.priorities_chart(rows, "automation_model")
    assert list(model.data[0].x) == [9.0, 4.0]
    assert model.layout.title.text == "Expected hours saved per month"
    fallback = charts.priorities_chart(rows, "lost_hours")
    assert list(fallback.data[0].x) == [1.0, 7.0]
    assert "not yet the automation model" in fallback.layout.title.text


def test_rate_lines_are_named_by_the_labels_given() -> None:
    keys = [
        "strict_deflection_rate",
        "ai_ran_or_positive_rate",
        "bot_effectiveness_rate",
        "lenient_deflection_rate",
    ]
    weeks = pl.DataFrame({"week": [datetime(2026, 9, 7)]} | {key: [0.5] for key in keys})
    labels = {key: f"label of {key}" for key in [*keys, "auto_resolution_rate"]}
    figure = charts.definitions_chart(weeks, labels)
    assert [trace.name for trace in figure.data] == [labels[key] for key in keys]
    days = pl.DataFrame(
        {"day": [datetime(2026, 9, 7)], "strict_deflection_rate": [0.5]}
        | {"auto_resolution_rate": [0.25]}
    )
    names = [trace.name for trace in charts.rates_chart(days, labels).data]
    assert names == [labels["strict_deflection_rate"], labels["auto_resolution_rate"]]


def test_a_resolution_in_no_working_time_is_labelled_on_its_bar() -> None:
    speed = pl.DataFrame(
        {
            "intent": ["Fix a VPN connection problem", "Reset your password"],
            "p50_working_hours": [0.0, 2.5],
            "p90_working_hours": [0.004, 30.0],
            "baseline_working_hours": [6.0, 2.0],
            "baseline_source": ["Catalogue assumption", "Company history"],
        }
    )
    p50, p90, baseline = charts.percentiles_chart(speed, "intent").data
    assert list(p50.x) == [0.0, 2.5]  # the true values: no bar drawn longer than it is
    assert list(p50.text) == ["0 s", "2.5 h"]  # ... and the bar of 0 s reads "0 s"
    assert list(p90.text) == ["14 s", "30.0 h"]
    assert (p50.textposition, p50.cliponaxis) == ("outside", False)
    assert list(baseline.customdata) == ["Catalogue assumption", "Company history"]
    assert "baseline from %{customdata}" in baseline.hovertemplate


def partial_trend() -> pl.DataFrame:
    """Three days of the overview's trend, the last one the partial day the data runs through:
    its three interactions so far all deflected."""
    return pl.DataFrame(
        {
            "day": [date(2026, 9, 25), date(2026, 9, 26), date(2026, 9, 27)],
            "interactions": [40, 38, 3],
            "support_interactions": [30, 28, 3],
            "strict_deflection_rate": [0.6, 0.5, 1.0],
            "auto_resolution_rate": [0.3, 0.25, 1.0],
            "hours_saved": [5.0, 4.0, 0.5],
            "cost_saved_usd": [500.0, 400.0, 50.0],
            "is_partial_day": [False, False, True],
        }
    )


def test_the_partial_day_is_left_out_of_the_rate_lines_and_hatched_in_the_bars() -> None:
    trend = partial_trend()
    labels = {"strict_deflection_rate": "strict", "auto_resolution_rate": "auto"}
    rates = charts.rates_chart(trend, labels)
    for line in rates.data:
        assert [str(day)[:10] for day in line.x] == ["2026-09-25", "2026-09-26"]
        assert 1.0 not in list(line.y)  # no spike
    volume, savings = charts.volume_chart(trend), charts.savings_chart(trend)
    for figure in (volume, savings):
        assert [list(bar.marker.pattern.shape) for bar in figure.data] == [["", "", "/"]] * len(
            figure.data
        )
    for figure, note in (
        (rates, "partial day: left out"),
        (volume, "partial day: data so far"),
        (savings, "partial day: data so far"),
    ):
        (column,) = figure.layout.shapes  # the partial day's column, shaded
        assert (str(column.x0), str(column.x1)) == ("2026-09-26 12:00:00", "2026-09-27 12:00:00")
        assert [annotation.text for annotation in figure.layout.annotations] == [note]
    whole = trend.drop("is_partial_day")  # rows that do not say (the report's): every day drawn
    assert len(charts.rates_chart(whole, labels).data[0].x) == 3
    assert not charts.volume_chart(whole).layout.shapes


def test_outcomes_keep_their_colours_when_named() -> None:
    rows = pl.DataFrame(
        {"outcome": ["Auto-resolved", "escalated"], "bucket": ["< 1 min"] * 2}
        | {"interactions": [3, 1]}
    )
    named, by_id = charts.distribution_chart(rows, ["< 1 min"]).data
    assert (named.name, named.marker.color) == ("Auto-resolved", COLORS["primary"])
    assert (by_id.name, by_id.marker.color) == ("escalated", COLORS["alert"])
