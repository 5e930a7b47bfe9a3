"""The shared sidebar: period, departments, channels, intents and languages, kept for the whole
session so they follow the reader from page to page. Channels, intents and languages are shown
by their display names and filtered by their ids."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from dashboards import ui
from dashboards.queries import Filters, WarehouseStatus, warehouse_status

DEFAULT_DAYS = 28
PERIOD = "filter_period"
CHOICES = {  # key: (label, placeholder, options of the warehouse status, column)
    "filter_departments": ("Departments", "All departments", "departments", "department"),
    "filter_channels": ("Channels", "All channels", "channels", "channel"),
    "filter_intents": ("Intents", "All intents", "intents", "intent"),
    "filter_languages": ("Languages", "All languages", "languages", "language"),
}


def default_period(status: WarehouseStatus) -> tuple[date, date]:
    """The last four weeks of data (all of it when there is less)."""
    assert status.first_day is not None and status.last_day is not None
    start = max(status.first_day, status.last_day - timedelta(days=DEFAULT_DAYS - 1))
    return start, status.last_day


def period_of(value: Any, status: WarehouseStatus) -> tuple[date, date]:
    """The chosen period, clipped to the data; a half-picked range counts as one day."""
    days = [day for day in (value if isinstance(value, tuple | list) else (value,)) if day]
    if not days:
        return default_period(status)
    assert status.first_day is not None and status.last_day is not None
    start = min(max(days[0], status.first_day), status.last_day)
    end = min(max(days[-1], start), status.last_day)
    return start, end


def _sanitize(status: WarehouseStatus) -> None:
    """Drop remembered choices the newly published data no longer has."""
    state = st.session_state
    for key, (_, _, options, _) in CHOICES.items():
        if key in state:
            state[key] = [v for v in state[key] if v in getattr(status, options)]
    first, last = status.first_day, status.last_day
    if PERIOD in state and any(not first <= day <= last for day in state[PERIOD] if day):
        del state[PERIOD]


def reset() -> None:
    """Forget every filter (the reset button's callback)."""
    for key in (PERIOD, *CHOICES):
        st.session_state.pop(key, None)


def sidebar() -> Filters:
    """Render the filters and return them; stop the page with an empty state when the
    warehouse holds nothing to filter yet."""
    status = warehouse_status()
    if not status.ready:
        ui.empty(ui.status_message(status))
        st.stop()
    _sanitize(status)
    with st.sidebar:
        st.subheader("Filters")
        period = st.date_input(
            "Period (UTC days)",
            value=default_period(status),
            min_value=status.first_day,
            max_value=status.last_day,
            key=PERIOD,
            persist_state="session",
        )
        chosen = {
            key: st.multiselect(
                label,
                sorted(getattr(status, options), key=ui.name_of(column)),
                format_func=ui.name_of(column),
                key=key,
                placeholder=placeholder,
                persist_state="session",
            )
            for key, (label, placeholder, options, column) in CHOICES.items()
        }
        st.button(
            "Reset filters", on_click=reset, icon=":material/restart_alt:", key="filter_reset"
        )
        if status.data_through and status.published_at:
            st.caption(
                f"Data through {status.data_through:%Y-%m-%d %H:%M} UTC, "
                f"published {status.published_at:%Y-%m-%d %H:%M} UTC."
            )
    start, end = period_of(period, status)
    return Filters(
        start,
        end,
        tuple(chosen["filter_departments"]),
        tuple(chosen["filter_channels"]),
        tuple(chosen["filter_intents"]),
        tuple(chosen["filter_languages"]),
    )
