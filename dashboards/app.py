"""The Unticket dashboards: only the router. Each page is one file in `pages/`.

Run: unticket dashboard (or: streamlit run dashboards/app.py)
"""

import streamlit as st

from dashboards.queries import QueryError

st.set_page_config(page_title="Unticket", page_icon=":material/support_agent:", layout="wide")

PAGES = {
    "Outcomes": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/deflection.py", title="Deflection", icon=":material/alt_route:"),
        st.Page("pages/resolution_speed.py", title="Resolution speed", icon=":material/timer:"),
        st.Page("pages/productivity.py", title="Productivity impact", icon=":material/work:"),
    ],
    "What next": [
        st.Page("pages/priorities.py", title="Automation priorities", icon=":material/bolt:"),
        st.Page("pages/topics.py", title="Knowledge gaps and topics", icon=":material/topic:"),
    ],
    "Operations": [
        st.Page(
            "pages/health.py", title="Pipeline and data health", icon=":material/monitor_heart:"
        ),
        st.Page("pages/ask_it.py", title="Ask IT", icon=":material/chat:"),
    ],
}

try:
    st.navigation(PAGES).run()
except QueryError as error:
    st.error(str(error), icon=":material/error:")
