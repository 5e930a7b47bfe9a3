"""Does learning from resolved escalations help? One simulated month, end to end.

In a throw-away data dir: simulate a month of a small enterprise (`resolver.simulation`, what
`unticket simulate` runs), ingest and build the warehouse, propose intent candidates from the
escalations the simulated service desk resolved (`learning.candidates`), accept those of the
first three weeks (as a reviewer would after reading them), retrain with the guard, and print:

- the intent model's accuracy on the engine's own escalations of the last week (the candidates'
  texts with their agent-resolved intents, never trained on) before and after;
- the held-out paraphrase scores (macro-F1, accuracy per language) of the current and the new
  model, and whether the guard kept the new one.

Run: .venv/bin/python -m bench.learning [--employees 1500] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from catalogue import load_catalogue
from learning.candidates import (
    ACCEPTED,
    Candidate,
    decide,
    open_candidates,
    pending,
    propose_candidates,
    retrain_intents,
    with_accepted,
)
from models.intents import IntentClassifier, load_or_train
from models.kept_intents import load_current
from models.paraphrases import IntentScores
from pipelines import steps
from pipelines.warehouse import connect
from resolver.simulation import run_simulation
from settings import Settings

START = date(2026, 9, 7)  # a Monday
DAYS = 28
TRAIN_DAYS = 21  # candidates of the first three weeks are accepted; the last week measures


def accuracy(classifier: IntentClassifier, cases: list[Candidate]) -> float:
    """Share of the candidates' texts the model gives their agent-resolved intent."""
    if not cases:
        return float("nan")
    predicted = classifier.predict_many([case.text for case in cases])
    return sum(p == case.intent for p, case in zip(predicted, cases, strict=True)) / len(cases)


def accepted_examples_of(accepted: list[Candidate]) -> dict[str, list[str]]:
    """The accepted candidates' texts by intent."""
    examples: dict[str, list[str]] = {}
    for candidate in accepted:
        examples.setdefault(candidate.intent, []).append(candidate.text)
    return examples


def scores_line(name: str, scores: IntentScores) -> str:
    """One model's held-out paraphrase scores on one line."""
    languages = "  ".join(f"{k} {v:.3f}" for k, v in scores.accuracy_by_language.items())
    return (
        f"  {name:8s} macro-F1 {scores.macro_f1:.3f}  accuracy {scores.accuracy:.3f}  ({languages})"
    )


def run(data_dir: Path, employees: int, seed: int) -> None:
    """Simulate, build, propose, accept, retrain and print the figures."""
    settings = Settings(data_dir=data_dir, events_fsync="never")
    began = time.perf_counter()
    summary = run_simulation(settings, employees=employees, days=DAYS, seed=seed, start=START)
    seconds = time.perf_counter() - began
    print(
        f"simulated {employees} employees, {DAYS} days: {summary.interactions:,} interactions, "
        f"{summary.tickets:,} tickets ({seconds:.0f} s)",
        flush=True,
    )
    steps.ingest(settings)
    steps.transform(settings)
    print(f"warehouse built ({time.perf_counter() - began:.0f} s)", flush=True)

    catalogue = load_catalogue(settings.catalogue_dir)
    before = load_current(catalogue.examples, settings.models_dir)
    store = open_candidates(data_dir)
    connection = connect(settings.work_warehouse_path)
    try:
        proposed = propose_candidates(settings, connection, store)
        cut = datetime.combine(START + timedelta(days=TRAIN_DAYS), datetime.min.time())
        found = pending(store)
        train = [c for c in found if datetime.fromisoformat(c.requested_at) < cut]
        test = [c for c in found if datetime.fromisoformat(c.requested_at) >= cut]
        print(
            f"candidates proposed: {proposed} (first 3 weeks {len(train)}, last week {len(test)})"
        )
        decide(store, [c.candidate_id for c in train], ACCEPTED, "bench")
        outcome = retrain_intents(settings, connection, store, "bench-learning")
    finally:
        connection.close()
        store.close()
    after = load_current(catalogue.examples, settings.models_dir)
    retrained = load_or_train(
        with_accepted(catalogue.examples, accepted_examples_of(train)), settings.models_dir
    )
    new = outcome.kept is not None
    print(f"retraining: {outcome.summary} ({time.perf_counter() - began:.0f} s)")
    print(f"accuracy on the last week's escalations ({len(test)} texts, agent-resolved intents):")
    print(f"  before {accuracy(before, test):.3f}   new model {accuracy(retrained, test):.3f}   "
          f"model the engine now loads {accuracy(after, test):.3f}")  # fmt: skip
    if new and outcome.current is not None and outcome.candidate is not None:
        print("held-out paraphrases:")
        print(scores_line("current", outcome.current))
        print(scores_line("new", outcome.candidate))
        print(f"guard: new model {'kept' if outcome.kept else 'refused'}")


def main() -> int:
    """Run the bench in a throw-away data dir."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        run(Path(data_dir), arguments.employees, arguments.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
