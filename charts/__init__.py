"""Every chart the product draws, for the dashboards and the report alike: one builder per figure.

`kpis` (volume, deflection, speed, productivity, priorities), `health` (pipeline runs, data
quality), `style` (colours and the shared look) and `inert` (every text a figure draws escaped:
labels may be what employees wrote). Builders take the figure's rows as a polars DataFrame and
query nothing.
"""

from charts.health import quality_chart, runs_chart
from charts.inert import inert_figure
from charts.kpis import (
    definitions_chart,
    deflection_chart,
    distribution_chart,
    false_deflection_chart,
    impact_chart,
    impact_heatmap,
    language_deflection_chart,
    pareto_chart,
    percentiles_chart,
    priorities_chart,
    ranking_chart,
    rates_chart,
    savings_chart,
    volume_chart,
)

__all__ = [
    "definitions_chart",
    "deflection_chart",
    "distribution_chart",
    "false_deflection_chart",
    "impact_chart",
    "impact_heatmap",
    "inert_figure",
    "language_deflection_chart",
    "pareto_chart",
    "percentiles_chart",
    "priorities_chart",
    "quality_chart",
    "ranking_chart",
    "rates_chart",
    "runs_chart",
    "savings_chart",
    "volume_chart",
]
