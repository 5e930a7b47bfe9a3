"""Learning: the training examples proposed from escalations an agent resolved under a known
intent, to accept or reject (`learning.candidates`, as `unticket models review` does). Each
decision records the signed-in person (in demo mode, "demo") and the time; accepted examples
retrain the intent model at the next nightly run, kept only if it does not score worse."""

import streamlit as st

from dashboards import access, ui
from learning.candidates import ACCEPTED, REJECTED, Candidate, decide, open_candidates, pending
from settings import get_settings

ANY = "any"


def reviewer(viewer: access.Viewer) -> str:
    """Who decides: the signed-in person, or "demo" in demo mode."""
    return "demo" if viewer.demo else viewer.identity or viewer.name


def record(ids: list[int], decision: str, name: str) -> None:
    """Record a decision on candidates (a button's callback), and say so on the next run."""
    store = open_candidates(get_settings().data_dir)
    try:
        decide(store, ids, decision, name)
    finally:
        store.close()
    st.session_state["learning_done"] = f"{len(ids)} {decision} by {name}"


def show(candidate: Candidate, name: str) -> None:
    """One candidate: the employee's words as plain text, the evidence, and the two buttons."""
    with st.container(border=True):
        st.caption(
            f"#{candidate.candidate_id} · {candidate.language} · proposed intent "
            f"**{ui.inert(candidate.intent)}** · {ui.inert(candidate.evidence)}"
        )
        st.text(candidate.text)
        accept, reject, _ = st.columns([1, 1, 6])
        ids = [candidate.candidate_id]
        accept.button(
            "Accept", key=f"accept-{candidate.candidate_id}", on_click=record,
            args=(ids, ACCEPTED, name), icon=":material/check:",
        )  # fmt: skip
        reject.button(
            "Reject", key=f"reject-{candidate.candidate_id}", on_click=record,
            args=(ids, REJECTED, name), icon=":material/close:",
        )  # fmt: skip


settings = get_settings()
name = reviewer(access.current(settings))
st.title("Learning")
st.caption(
    "Requests the engine did not understand, which an agent then resolved under a known intent: "
    "accept one to teach it to the intent model. Accepted examples retrain the model at the next "
    "nightly run, and the new model is kept only if it scores no worse on the held-out "
    "paraphrases. Your decisions are recorded under your name."
)
if done := st.session_state.pop("learning_done", None):
    st.success(ui.inert(done), icon=":material/done:")

store = open_candidates(settings.data_dir)
try:
    waiting = pending(store)
finally:
    store.close()
if not waiting:
    ui.empty(
        "No candidate examples waiting for review. They are proposed by the nightly pipeline "
        "(`unticket pipeline run nightly`) from escalations the service desk resolved."
    )
    st.stop()

left, right = st.columns(2)
intent = left.selectbox("Proposed intent", [ANY, *sorted({c.intent for c in waiting})])
language = right.selectbox("Language", [ANY, *sorted({c.language for c in waiting})])
shown = [c for c in waiting if intent in (ANY, c.intent) and language in (ANY, c.language)]
st.button(
    f"Accept all {len(shown)} shown", key="accept-all", on_click=record,
    args=([c.candidate_id for c in shown], ACCEPTED, name), icon=":material/done_all:",
)  # fmt: skip
for candidate in shown:
    show(candidate, name)
