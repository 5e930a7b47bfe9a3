"""Routing escalations: the intent a ticket should be filed under when the engine never made the
need specific (the employee asked for a person, or was not understood), predicted from what they
wrote by the latest ticket categoriser trained on the company's history (the pipeline's
train-and-score step, `models/ticket_categories.py`).

The ticketing connectors file a ticket's intent under the ITSM's category (ServiceNow) or
request type (Jira), so the suggested intent routes the ticket to the queue that handles such
needs. Without a categoriser artefact, or below `MIN_CONFIDENCE`, nothing is suggested and the
ticket is filed as before. The model is loaded once, when the runtime starts.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

from models.categorizer import Categorizer
from models.registry import latest_artefact, load_model
from models.ticket_categories import CATEGORIZER, MIN_CONFIDENCE, is_unspecified

logger = logging.getLogger(__name__)
# What reading a damaged or foreign artefact (meta.json or pickle) can raise.
UNREADABLE = (
    OSError,
    ValueError,
    TypeError,
    EOFError,
    AttributeError,
    ImportError,
    pickle.UnpicklingError,
)


@dataclass(frozen=True)
class Suggestion:
    """The intent suggested for an escalation, its probability and the model that gave it."""

    intent: str
    confidence: float
    model_version: str

    @property
    def note(self) -> str:
        """A line for the ticket's description, so the service desk sees where it came from."""
        return (
            f"Suggested category: {self.intent} (confidence {self.confidence:.2f}, "
            f"ticket categoriser {self.model_version})"
        )


class Router:
    """Suggests an intent for escalations of an unspecified need."""

    def __init__(
        self, categorizer: Categorizer, model_version: str, min_confidence: float = MIN_CONFIDENCE
    ) -> None:
        self.categorizer = categorizer
        self.model_version = model_version
        self.min_confidence = min_confidence

    def suggest(self, intent: str | None, text: str) -> Suggestion | None:
        """The categoriser's intent for `text` when the engine's `intent` is unspecified and the
        prediction is confident; otherwise None."""
        if not is_unspecified(intent) or not text.strip():
            return None
        [(label, confidence)] = self.categorizer.predict([text])
        if confidence < self.min_confidence:
            return None
        return Suggestion(label, confidence, self.model_version)


def load_router(models_dir: Path) -> Router | None:
    """A router on the newest categoriser artefact in `models_dir`; None when there is none or
    it cannot be read (logged: the engine then files tickets without suggestions)."""
    try:
        artefact = latest_artefact(models_dir, CATEGORIZER)
        model = None if artefact is None else load_model(artefact)
    except UNREADABLE as error:
        logger.warning("ticket categoriser in %s unreadable, not routing: %s", models_dir, error)
        return None
    if artefact is None:
        return None
    if not isinstance(model, Categorizer):
        logger.warning("%s holds a %s, not a ticket categoriser", artefact.path, type(model))
        return None
    return Router(model, artefact.version)
