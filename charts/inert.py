"""Every text a figure draws, escaped: labels may be what employees wrote, and plotly draws a
subset of HTML in them (`<a href>`, `<b>`, `<br>`, ...)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

# The attributes of a trace whose strings plotly draws as its HTML subset (`<a href>`, `<b>`,
# `<br>`, `<span style>`, ...): categories, bar texts, hover texts and custom data, names.
TRACE_TEXTS = ("x", "y", "text", "hovertext", "customdata", "name")


def _plain(value: Any) -> Any:
    """Strings, alone or in (nested) arrays, with `&`, `<` and `>` escaped; other values as is."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OU":
        return value  # numbers and dates
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    return value


def _plain_axis(axis: Any) -> None:
    """An axis's categories, tick texts and title escaped."""
    axis.update(
        categoryarray=_plain(axis.categoryarray),
        ticktext=_plain(axis.ticktext),
        title_text=_plain(axis.title.text),
    )


def inert_figure(figure: go.Figure) -> go.Figure:
    """The figure with every text it draws escaped — categories, tick labels, bar and hover
    texts, custom data, legend entries, titles — so plotly shows the tags it understands
    (`<a href>` links, `<b>`, `<br>`, ...) as the characters typed when they come from the
    warehouse (employees' text is data). Hover templates are ours and keep their markup."""
    for trace in figure.data:
        trace.update({key: _plain(trace[key]) for key in TRACE_TEXTS if key in trace})
    figure.for_each_xaxis(_plain_axis)
    figure.for_each_yaxis(_plain_axis)
    return figure.update_layout(title_text=_plain(figure.layout.title.text))
