"""The pipeline's ticket categoriser (models/ticket_categories.py) on the Kaggle IT-ticket set.

The Kaggle topics stand in for a company's imported categories: the dbt seed
`category_intent_map` maps them (source `kaggle`) to intents, as the warehouse would. The
pipeline's training path (`training_set`, capped at `MAX_TRAINING_TICKETS`, then
`train_with_holdout`) runs on the set's training rows only, so its own hold-out metrics are the
ones `ops.model_runs` would record, and its training time is the nightly step's cost when the
history changes. The shipped model is then scored once on the set's official hold-out (every row
whose 0-based number satisfies `row % 5 == 4`, never trained or tuned on), by intent, with the
share and accuracy of its confident predictions (probability >= `MIN_CONFIDENCE`).

Run: .venv/bin/python bench/models_ticket_categories.py
"""

from __future__ import annotations

import csv
import sys
import time
from datetime import datetime, timedelta

import numpy as np
import polars as pl

# the set, its columns and its hold-out rule, as the categoriser's own benchmark has them
from models_categorizer import KAGGLE, LABEL, TEXT, is_holdout

from models.categorizer import read_csv_rows
from models.ticket_categories import (
    MAX_TRAINING_TICKETS,
    MIN_CONFIDENCE,
    holdout_metrics,
    train_with_holdout,
    training_set,
)
from settings import PROJECT_ROOT

SEED_MAP = PROJECT_ROOT / "dbt" / "seeds" / "category_intent_map.csv"


def kaggle_intents() -> dict[str, str]:
    """The seed's mapping of the Kaggle topics to intents."""
    with SEED_MAP.open(newline="", encoding="utf-8") as handle:
        return {row["category"]: row["intent"] for row in csv.DictReader(handle)
                if row["source"] == "kaggle"}  # fmt: skip


def as_history(rows: list[tuple[int, dict[str, str]]], intents: dict[str, str]) -> pl.DataFrame:
    """Kaggle rows shaped like the pipeline's `history_texts` (file order as opening order)."""
    start = datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "ticket_key": [f"kaggle:{number}" for number, _ in rows],
            "text": [row[TEXT] for _, row in rows],
            "intent": [intents.get(row[LABEL], "unmapped") for _, row in rows],
            "opened_at": [start + timedelta(minutes=number) for number, _ in rows],
        }
    )


def run() -> dict:
    """Train as the pipeline does on the training rows; score the official hold-out once."""
    intents = kaggle_intents()
    _, rows = read_csv_rows(KAGGLE)
    numbered = list(enumerate(rows))
    history = as_history([(n, r) for n, r in numbered if not is_holdout(n)], intents)
    training = training_set(history)
    started = time.perf_counter()
    model, metrics = train_with_holdout(training.frame)
    seconds = time.perf_counter() - started
    holdout = as_history([(n, r) for n, r in numbered if is_holdout(n)], intents)
    texts, labels = holdout["text"].to_list(), holdout["intent"].to_list()
    started = time.perf_counter()
    official = holdout_metrics(model, texts, labels)
    per_second = len(texts) / (time.perf_counter() - started)
    return {
        "mapping": intents,
        "training_rows": training.frame.height,
        "intents": sorted(set(training.frame["intent"])),
        "pipeline_holdout": metrics,
        "training_seconds": seconds,
        "official_holdout": official,
        "tickets_per_second": per_second,
        "majority_share": float(np.mean(np.asarray(labels) == max(set(labels), key=labels.count))),
    }


def main() -> int:
    """Print the figures."""
    figures = run()
    print(f"Kaggle topics -> intents (dbt seed): {figures['mapping']}")
    print(
        f"training rows used: {figures['training_rows']:,} (cap {MAX_TRAINING_TICKETS:,}), "
        f"{len(figures['intents'])} intents: {', '.join(figures['intents'])}"
    )
    print(f"training with the pipeline's hold-out split: {figures['training_seconds']:.0f} s")
    for name in ("pipeline_holdout", "official_holdout"):
        m = figures[name]
        print(
            f"{name.replace('_', ' ')} ({m['holdout_rows']:,} rows): accuracy "
            f"{m['holdout_accuracy']:.4f}, macro-F1 {m['holdout_macro_f1']:.4f}; "
            f"{m['confident_share']:.1%} reach {MIN_CONFIDENCE}, of which "
            f"{m['confident_accuracy']:.1%} right"
        )
    print(f"majority intent's share of the official hold-out: {figures['majority_share']:.1%}")
    print(f"predicting {figures['tickets_per_second']:,.0f} tickets/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
