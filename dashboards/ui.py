"""Building blocks every page uses: KPI tiles, charts and tables with a CSV download, the
display names of ids, and empty states that say what to run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import polars as pl
import polars.selectors as cs
import streamlit as st

from dashboards.queries import CORE_MARTS, WarehouseStatus, warehouse_status
from pipelines.report import format_change, format_value
from vocabulary import names

RUN_PIPELINE = "run `unticket pipeline run nightly`"
NO_WAREHOUSE = (
    f"No data yet: {RUN_PIPELINE} to build and publish the warehouse "
    "(`make demo` simulates a company first)."
)
NO_MARTS = f"The warehouse has no marts yet: {RUN_PIPELINE} to build them."
NO_INTERACTIONS = (
    f"No interactions yet: chat on the Ask IT page (or `unticket simulate`), then {RUN_PIPELINE}."
)
NO_ROWS = "Nothing in this period with these filters: widen the period or clear a filter."
DELTA_COLORS = {"higher": "normal", "lower": "inverse", "neutral": "off"}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
_FORMULA = r"^([=+\-@\t\r])"


# Links, images, raw HTML, LaTeX and Streamlit's `:color[...]` directives start with these; a
# bare URL (`http://`, `www.`, an e-mail address) is linked at its `:`, `.` or `@`.
_ACTIVE_MARKDOWN = re.compile(r"[\\\[\]<>$`@]|(?<=\w):(?=//)|(?<=\bwww)\.", re.IGNORECASE)


def inert(text: str) -> str:
    """Markdown of text that may come from employees, with nothing in it that links, loads or
    runs: links, images, HTML, bare URLs, LaTeX and code are shown as the characters typed;
    emphasis and lists stay."""
    return _ACTIVE_MARKDOWN.sub(lambda match: "\\" + match[0], text)


def status_message(status: WarehouseStatus) -> str:
    """What to do about a warehouse that is not ready."""
    if not status.exists:
        return NO_WAREHOUSE
    return NO_INTERACTIONS if status.marts >= CORE_MARTS else NO_MARTS


def empty(message: str) -> None:
    """An empty state: what is missing and what to do about it."""
    st.info(message, icon=":material/info:")


def named(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the pages show it: intents (and issue types), outcomes, channels, feedback
    and baseline sources by their display names (`vocabulary.names`; intents by the published
    warehouse's catalogue labels). Downloads keep the ids."""
    return names.named(frame, warehouse_status().intent_labels)


def name_of(column: str) -> Callable[[str], str]:
    """How a filter or picker shows the ids of a column: by their display names."""
    shown = names.column_names(warehouse_status().intent_labels).get(column, {})
    return lambda value: names.display_name(value, shown)


def _text(value: Any) -> str:
    """A nested value (list, struct) as JSON text for a CSV cell."""
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, default=str)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as CSV, nested columns written as JSON text. A text cell a spreadsheet would
    run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return, e.g.
    `=HYPERLINK(...)`) gets a leading `'`, so it opens as the text it is; numbers stay numbers."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    flat = frame.with_columns(
        pl.col(name).map_elements(_text, return_dtype=pl.String) for name in nested
    )
    texts = cs.string(include_categorical=True).cast(pl.String)
    return flat.with_columns(texts.str.replace(_FORMULA, "'$1")).write_csv().encode()


def download(frame: pl.DataFrame, name: str) -> None:
    """A button downloading the frame as `<name>.csv`."""
    st.download_button(
        "Download CSV",
        csv_bytes(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def chart(figure: go.Figure, frame: pl.DataFrame, name: str) -> None:
    """A chart and the download of the data it draws (`frame`, with the ids)."""
    st.plotly_chart(figure, key=f"chart-{name}", config={"displaylogo": False})
    download(frame, name)


def table(frame: pl.DataFrame, name: str, downloadable: bool = True) -> None:
    """A table, ids shown by their display names, and its download with the ids
    (`downloadable=False` when a chart just above already offers the same rows)."""
    st.dataframe(named(frame), hide_index=True, key=f"table-{name}")
    if downloadable:
        download(frame, name)


def tiles(kpis: list[dict[str, Any]], per_row: int = 4) -> None:
    """KPI tiles with the change against the previous period, green when it moved the
    right way."""
    for first in range(0, len(kpis), per_row):
        for column, kpi in zip(st.columns(per_row), kpis[first : first + per_row], strict=False):
            column.metric(
                kpi["label"],
                format_value(kpi["value"], kpi["unit"]),
                delta=None if kpi["change"] is None else format_change(kpi),
                delta_color=DELTA_COLORS[kpi["better"]],
                help=f"Previous period: {format_value(kpi['previous'], kpi['unit'])}",
                border=True,
            )
            if beside := kpi.get("beside_kpi"):
                shown = format_value(beside["value"], beside["unit"])
                column.caption(f"expected: {shown}", help=beside["label"])


def figures(values: dict[str, tuple[Any, str]]) -> None:
    """A row of bordered figures without a comparison: label → (value, unit)."""
    for column, (label, (value, unit)) in zip(st.columns(len(values)), values.items(), strict=True):
        column.metric(label, format_value(value, unit), border=True)
