"""Ask IT: a web chat with the real resolution engine, as one of the directory's employees."""

import streamlit as st

from dashboards import assistant
from resolver.engine import RequestError


def show(message: dict[str, str]) -> None:
    """One chat bubble, with what the engine understood and did under its replies."""
    with st.chat_message(message["role"]):
        st.markdown(message["text"])
        if message["details"]:
            st.caption(message["details"])


st.title("Ask IT")
st.caption(
    "The resolution engine on the web channel: it resets passwords, unlocks accounts, fixes "
    "VPN clients, grants access after approval and answers IT questions; it opens a ticket "
    "only when it must. Every message is logged like any other channel's."
)
people = {person["employee_id"]: person for person in assistant.directory()}
user = st.selectbox(
    "You are",
    list(people),
    format_func=lambda e: f"{people[e]['name']}, {people[e]['title']} ({e})",
    key="ask_user",
    on_change=assistant.reset,
)
st.button("New conversation", on_click=assistant.reset, icon=":material/add_comment:")

for message in assistant.history():
    show(message)
if text := st.chat_input("Describe the problem, e.g. I forgot my password"):
    try:
        assistant.send(user, text)
    except RequestError as error:
        st.warning(str(error))
    else:
        for message in assistant.history()[-2:]:
            show(message)

with st.sidebar:
    st.subheader("Your phone")
    st.caption("One-time codes the enterprise sends to your registered phone, newest first.")
    for sms in assistant.phone(user):
        st.markdown(f"**{sms['subject']}**: {sms['body']}  \n_{sms['created_at']}_")
