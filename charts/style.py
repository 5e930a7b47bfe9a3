"""The look every chart shares: its colours, a white compact layout, and heights that fit the
rows of a horizontal bar chart."""

from __future__ import annotations

import plotly.graph_objects as go

from charts.inert import inert_figure
from vocabulary.names import OUTCOME_NAMES

COLORS = {
    "primary": "#2a9d8f",
    "secondary": "#8ab17d",
    "dark": "#264653",
    "warm": "#f4a261",
    "alert": "#e76f51",
    "muted": "#adb5bd",
}
_OUTCOME_COLORS = {
    "auto_resolved": COLORS["primary"],
    "answered": COLORS["secondary"],
    "escalated": COLORS["alert"],
    "abandoned": COLORS["muted"],
    "unrecognized": COLORS["warm"],
}
# By id and by display name: an outcome has its colour however the rows name it.
OUTCOME_COLORS = _OUTCOME_COLORS | {OUTCOME_NAMES[o]: c for o, c in _OUTCOME_COLORS.items()}
STATUS_COLORS = {
    "succeeded": COLORS["primary"],
    "not_published": COLORS["warm"],
    "failed": COLORS["alert"],
    "running": COLORS["muted"],
}


def styled(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    """The charts' look: white, compact, legend below; every text shown as typed."""
    figure.update_layout(
        title=title,
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h", "y": -0.2},
    )
    return inert_figure(figure)


def duration_label(hours: float | None) -> str:
    """Hours as a bar's label, in the unit that reads best: 0 s, 40 s, 12 min, 2.5 h; none
    for a missing value."""
    if hours is None:
        return ""
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:,.1f} h"


def bar_height(rows: int) -> int:
    """Tall enough for one horizontal bar per row."""
    return max(260, 90 + 26 * rows)
