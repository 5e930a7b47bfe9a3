"""Apply a trained text model to the rows of a file, in batches (memory stays flat and
progress can be shown on large files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

BATCH_ROWS = 2000


class TextModel(Protocol):
    """A model that labels texts with a confidence, like `models.categorizer.Categorizer`."""

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, confidence) of each text."""
        ...


def label_rows(
    model: TextModel,
    rows: list[dict[str, str]],
    text_column: str,
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Add `predicted_label` and `confidence` to every row from its `text_column`, in batches
    of `BATCH_ROWS` (`on_rows` hears how many were done); a row without text gets an empty
    label and confidence 0. Return how many rows had no text."""
    texts = [(row.get(text_column) or "").strip() for row in rows]
    for start in range(0, len(rows), BATCH_ROWS):
        batch = range(start, min(start + BATCH_ROWS, len(rows)))
        wanted = [i for i in batch if texts[i]]
        found = dict(zip(wanted, model.predict([texts[i] for i in wanted]), strict=True))
        for i in batch:
            label, confidence = found.get(i, ("", 0.0))
            rows[i]["predicted_label"] = label
            rows[i]["confidence"] = f"{confidence:.4f}"
        if on_rows is not None:
            on_rows(len(batch))
    return sum(1 for text in texts if not text)
