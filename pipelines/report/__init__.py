"""The scheduled IT-leader report: one self-contained HTML file and a JSON summary beside it.

The report covers the last complete period before an as-of day — `week`: the ISO week (Monday to
Sunday), `month`: the calendar month — and compares it with the period before. It shows the
headline KPIs (from `pipelines.kpis`, restricted to the period), deflection by intent and by
channel, resolution speed against the pre-automation baseline, hours and cost saved, what to
automate next, and the data-quality status. Charts are plotly figures; plotly.js is inlined once,
so the file opens offline. When a Slack incoming webhook is configured, a short summary is posted.

One module per job: `periods` (bounds, labels, the default as-of day), `figures` (the KPI table
and the report's SQL over the marts), `build` (`Report`, `build_report`), `formatting`, `html`
(`render_html`; its charts come from the `charts` package the dashboards draw with), `files`
(the JSON summary, `write_report`) and `slack` (the Slack summary and its delivery). Everything
is importable from `pipelines.report` itself.
"""

from pipelines.kpis import deflection_by
from pipelines.report.build import Report, build_report
from pipelines.report.figures import (
    DQ_FAILURES_SQL,
    DQ_LATEST_SQL,
    SAVINGS_SQL,
    SPEED_SQL,
    TOP_PRIORITIES,
    Priorities,
    assumptions,
    automation_priorities,
    compare,
    data_quality,
    resolution_speed,
    savings_by_intent,
    summarise,
    summarise_periods,
    table_exists,
)
from pipelines.report.files import ReportPaths, report_summary, write_report
from pipelines.report.formatting import change_tone, format_change, format_value, headline_rows
from pipelines.report.html import (
    DEFLECTION_COLUMNS,
    SAVINGS_COLUMNS,
    SPEED_COLUMNS,
    TEMPLATES,
    render_html,
)
from pipelines.report.periods import (
    PERIODS,
    Period,
    data_span,
    default_as_of,
    period_bounds,
    period_label,
)
from pipelines.report.slack import DeliveryError, post_to_slack, slack_message

__all__ = [
    "DEFLECTION_COLUMNS",
    "DQ_FAILURES_SQL",
    "DQ_LATEST_SQL",
    "PERIODS",
    "SAVINGS_COLUMNS",
    "SAVINGS_SQL",
    "SPEED_COLUMNS",
    "SPEED_SQL",
    "TEMPLATES",
    "TOP_PRIORITIES",
    "DeliveryError",
    "Period",
    "Priorities",
    "Report",
    "ReportPaths",
    "assumptions",
    "automation_priorities",
    "build_report",
    "change_tone",
    "compare",
    "data_quality",
    "data_span",
    "default_as_of",
    "deflection_by",
    "format_change",
    "format_value",
    "headline_rows",
    "period_bounds",
    "period_label",
    "post_to_slack",
    "render_html",
    "report_summary",
    "resolution_speed",
    "savings_by_intent",
    "slack_message",
    "summarise",
    "summarise_periods",
    "table_exists",
    "write_report",
]
