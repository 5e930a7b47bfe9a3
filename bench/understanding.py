"""How well the engine understands phrasing it was not trained on.

1. Macro-F1 of the intent classifier on the team's held-out paraphrases (data/eval/).
2. Through the whole engine, on the Rasa helpdesk-assistant utterances in
   ../shared/data/it-helpdesk-intent-utterances/ (evaluation only, never trained on):
   password_reset recognised as password_reset, problem_email as email_issue, human_handoff
   that escalates to a person, and out_of_scope utterances that trigger any action.

Run: .venv/bin/python bench/understanding.py
"""

from __future__ import annotations

import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml
from sklearn.metrics import classification_report, f1_score

from resolver.engine import InboundMessage
from resolver.events import read_events
from resolver.identity import CLI
from resolver.runtime import build_runtime
from settings import PROJECT_ROOT, Settings

RASA = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "it-helpdesk-intent-utterances"
    / "rasa_helpdesk_assistant_nlu.flat.csv"
)
ACTION_EVENTS = {"verification_requested", "approval_requested", "action_executed"}


def paraphrase_scores(runtime) -> None:
    """Print macro-F1 and a per-intent report on the held-out paraphrases."""
    paraphrases = yaml.safe_load((PROJECT_ROOT / "data" / "eval" / "paraphrases.yml").read_text())
    texts = [t for utterances in paraphrases.values() for t in utterances]
    truth = [i for i, utterances in paraphrases.items() for _ in utterances]
    predicted = runtime.engine.understander.classifier.predict_many(texts)
    print(f"held-out paraphrases: {len(texts)} utterances, {len(paraphrases)} intents")
    print(f"  macro-F1 {f1_score(truth, predicted, average='macro'):.3f} (goal >= 0.95)")
    print(classification_report(truth, predicted, digits=3, zero_division=0))


def rasa_utterances() -> dict[str, list[str]]:
    """The Rasa utterances by their own intent labels."""
    by_intent: dict[str, list[str]] = {}
    with RASA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent.setdefault(row["intent"], []).append(row["text"])
    return by_intent


def first_turn(runtime, employee: str, text: str) -> tuple[str | None, set[str]]:
    """Send one utterance as a new conversation; return the intent and its event types."""
    engine = runtime.engine
    reply = engine.handle(InboundMessage(employee, text, "api", credential=CLI))
    events = read_events(engine.settings.events_dir)
    kinds = {e["event_type"] for e in events if e["interaction_id"] == reply.interaction_id}
    return reply.intent, kinds | ({"ticket_opened"} if reply.ticket_id else set())


def rasa_scores(runtime) -> None:
    """Print the engine's figures on the Rasa helpdesk utterances."""
    if not RASA.exists():
        print(f"skipped: {RASA} not found")
        return
    utterances = rasa_utterances()
    employees = [f"E{n:06d}" for n in range(100, 2000)]
    results: dict[str, Counter] = {}
    for label in ("password_reset", "problem_email", "human_handoff", "out_of_scope"):
        counts: Counter = Counter()
        for index, text in enumerate(utterances[label]):
            employee = employees[(hash(label) % 500 + index * 3) % len(employees)]
            intent, kinds = first_turn(runtime, employee, text)
            counts["total"] += 1
            counts[f"intent:{intent}"] += 1
            counts["escalated"] += "ticket_opened" in kinds
            counts["action"] += bool(kinds & ACTION_EVENTS)
            runtime.engine.handle(InboundMessage(employee, "bye", "api", credential=CLI))
        results[label] = counts
    share = lambda c, key: c[key] / c["total"]  # noqa: E731
    pr, pe, hh, oos = (
        results[k] for k in ("password_reset", "problem_email", "human_handoff", "out_of_scope")
    )
    print("Rasa helpdesk-assistant utterances (evaluation only), through the engine:")
    print(
        f"  password_reset -> password_reset: {share(pr, 'intent:password_reset'):.3f} "
        f"of {pr['total']} (goal >= 0.9)"
    )
    print(
        f"  problem_email  -> email_issue:    {share(pe, 'intent:email_issue'):.3f} "
        f"of {pe['total']} (goal >= 0.8)"
    )
    print(
        f"  human_handoff  -> escalated:      {share(hh, 'escalated'):.3f} "
        f"of {hh['total']} (goal >= 0.85)"
    )
    print(f"  out_of_scope   -> any action:     {oos['action']} of {oos['total']} (goal: none)")
    for label, counts in results.items():
        top = ", ".join(
            f"{k.removeprefix('intent:')} {v}"
            for k, v in counts.most_common()
            if k.startswith("intent:")
        )
        print(f"    {label}: {top}")


def main() -> int:
    """Run both evaluations in a throw-away data dir."""
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(Settings(data_dir=Path(data_dir), events_fsync="never"))
        paraphrase_scores(runtime)
        rasa_scores(runtime)
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
