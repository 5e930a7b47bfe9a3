"""Ask IT: a web chat with the real resolution engine, as the signed-in employee (or, in demo
mode on the simulated enterprise, as whichever of its employees the viewer picks)."""

import streamlit as st

from dashboards import access, assistant, ui
from markup.markdown import close_lists
from resolver.engine import RequestError
from resolver.identity import DEMO, OIDC
from settings import get_settings


def show(message: dict[str, str]) -> None:
    """One chat bubble: the employee's words as plain text, the engine's replies as markdown
    with nothing active in it (each list closed, so the sentence after a menu is not taken
    into its last item), and what the engine understood and did under them."""
    with st.chat_message(message["role"]):
        if message["role"] == "user":
            st.text(message["text"])
        else:
            st.markdown(ui.inert(close_lists(message["text"])))
        if message["details"]:
            st.caption(ui.inert(message["details"]))


def demo_user() -> str:
    """Demo mode: the simulated enterprise's employee the viewer chose to act as."""
    if not assistant.simulated_enterprise():
        st.info(
            "Demo mode acts only as employees of the simulated enterprise, and this server uses "
            "a real directory: set the UNTICKET_OIDC_* settings so people sign in and chat as "
            "themselves.",
            icon=":material/info:",
        )
        st.stop()
    people = {person["employee_id"]: person for person in assistant.directory()}
    return st.selectbox(
        "You are",
        list(people),
        format_func=lambda e: f"{people[e]['name']}, {people[e]['title']} ({e})",
        key="ask_user",
        on_change=assistant.reset,
    )


def signed_in_user(viewer: access.Viewer) -> str:
    """Sign-in mode: the signed-in employee, found in the directory by their user claim."""
    person = assistant.employee(viewer.identity)
    if person is None:
        st.warning(
            f"You are signed in as {ui.inert(viewer.identity or viewer.name)}, but the directory "
            "has no employee with that identity, so Ask IT cannot act for you. Ask IT to link "
            "your account.",
            icon=":material/person_off:",
        )
        st.stop()
    st.text(f"You are {person.name}, {person.title} ({person.employee_id})")
    return person.employee_id


viewer = access.current(get_settings())
st.title("Ask IT")
st.caption(
    "The resolution engine on the web channel: it resets passwords, unlocks accounts, fixes "
    "VPN clients, grants access after approval and answers IT questions; it opens a ticket "
    "only when it must. Every message is logged like any other channel's."
)
user = demo_user() if viewer.demo else signed_in_user(viewer)
st.button("New conversation", on_click=assistant.reset, icon=":material/add_comment:")

for message in assistant.history():
    show(message)
if text := st.chat_input("Describe the problem, e.g. I forgot my password"):
    try:
        assistant.send(user, text, DEMO if viewer.demo else OIDC)
    except RequestError as error:
        st.warning(ui.inert(str(error)))
    else:
        for message in assistant.history()[-2:]:
            show(message)

if viewer.demo and assistant.has_phone():
    with st.sidebar:
        st.subheader("Your phone")
        st.caption("One-time codes the enterprise sends to your registered phone, newest first.")
        for sms in assistant.phone(user):
            st.markdown(
                f"**{ui.inert(sms['subject'])}**: {ui.inert(sms['body'])}  \n_{sms['created_at']}_"
            )
