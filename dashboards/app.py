"""The Unticket dashboards: only the router, which decides from the viewer (`access.py`) which
pages they may open. Each page is one file in `views/`, not `pages/`: Streamlit runs the scripts
of a `pages/` folder directly, without this router, until the router's first run.

Run: unticket dashboard
"""

import streamlit as st

from dashboards import access, ui
from dashboards.queries import QueryError
from settings import get_settings

st.set_page_config(page_title="Unticket", page_icon=":material/support_agent:", layout="wide")


def analytics_pages() -> dict[str, list[st.Page]]:
    """The analytics pages, by section: for IT leaders and analysts."""
    return {
        "Outcomes": [
            st.Page("views/overview.py", title="Overview", icon=":material/dashboard:"),
            st.Page("views/deflection.py", title="Deflection", icon=":material/alt_route:"),
            st.Page("views/resolution_speed.py", title="Resolution speed", icon=":material/timer:"),
            st.Page("views/productivity.py", title="Productivity impact", icon=":material/work:"),
        ],
        "What next": [
            st.Page("views/priorities.py", title="Automation priorities", icon=":material/bolt:"),
            st.Page("views/topics.py", title="Knowledge gaps and topics", icon=":material/topic:"),
        ],
        "Operations": [
            st.Page(
                "views/health.py", title="Pipeline and data health", icon=":material/monitor_heart:"
            ),
            st.Page("views/learning.py", title="Learning", icon=":material/school:"),
        ],
    }


def pages_for(viewer: access.Viewer) -> dict[str, list[st.Page]]:
    """The pages this viewer may open; before sign-in only the sign-in page."""
    if not viewer.may_chat:
        return {"": [st.Page(access.sign_in, title="Sign in", icon=":material/login:")]}
    pages = analytics_pages() if viewer.sees_analytics else {}
    ask_it = st.Page("views/ask_it.py", title="Ask IT", icon=":material/chat:")
    pages.setdefault("Operations", []).append(ask_it)
    return pages


settings = get_settings()
viewer = access.current(settings)
if viewer.demo:
    if access.demo_address_refused():
        st.error(
            "Demo mode serves this machine only: start the dashboards with `unticket dashboard` "
            "(it listens on 127.0.0.1), or set the UNTICKET_OIDC_* settings to sign people in.",
            icon=":material/block:",
        )
        st.stop()
    st.warning(access.DEMO_NOTICE, icon=":material/science:")
    st.sidebar.caption("Demo mode: no sign-in, this machine only.")
elif viewer.signed_in:
    st.sidebar.text(f"Signed in as {viewer.name}")
    st.sidebar.button("Sign out", on_click=st.logout, icon=":material/logout:")

try:
    st.navigation(pages_for(viewer)).run()
except QueryError as error:
    st.error(ui.inert(str(error)), icon=":material/error:")  # DuckDB's reason may quote data
