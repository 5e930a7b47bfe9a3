"""How well the engine understands phrasing it was not trained on, in every language it speaks.

1. The intent classifier on the team's held-out paraphrases (`data/eval/paraphrases/<lang>.yml`,
   written apart from the training examples and never trained on): accuracy and macro-F1 per
   language, and a per-intent report for English.
2. Calibration: a reliability table of the classifier's confidence on all held-out paraphrases
   and the expected calibration error (ECE, 10 equal-width bins of the top-class confidence).
3. Through the whole engine, the first turn of each held-out paraphrase: how often the engine
   took it the right way (the right intent, or no action for an out-of-scope request), asked a
   clarifying question or escalated, and the wrong-answer rate: an article sent that does not
   answer the intent, an action run for the wrong intent, or anything done for a request that
   is not IT's.
4. The Rasa helpdesk-assistant utterances in ../shared/data/it-helpdesk-intent-utterances/
   (evaluation only, never trained on): password_reset recognised as password_reset,
   problem_email as email_issue, human_handoff that escalates to a person, and out_of_scope
   utterances that trigger any action.

Run: .venv/bin/python -m bench.understanding
"""

from __future__ import annotations

import csv
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report, f1_score

from models.paraphrases import Labelled, held_out
from resolver.engine import InboundMessage
from resolver.events import read_events
from resolver.identity import CLI
from resolver.runtime import Runtime, build_runtime
from settings import PROJECT_ROOT, Settings

RASA = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "it-helpdesk-intent-utterances"
    / "rasa_helpdesk_assistant_nlu.flat.csv"
)
ACTION_EVENTS = {"verification_requested", "approval_requested", "action_executed"}
RELIABILITY_BINS = 10


def classifier_scores(runtime: Runtime, cases: list[Labelled]) -> None:
    """Print accuracy and macro-F1 per language, and the English per-intent report."""
    classifier = runtime.engine.understander.classifier
    print("held-out paraphrases, intent classifier:")
    for language in sorted({c.language for c in cases}):
        subset = [c for c in cases if c.language == language]
        truth = [c.intent for c in subset]
        predicted = classifier.predict_many([c.text for c in subset])
        accuracy = np.mean([t == p for t, p in zip(truth, predicted, strict=True)])
        f1 = f1_score(truth, predicted, average="macro", zero_division=0)
        goal = " (goal >= 0.95)" if language == "en" else ""
        print(
            f"  {language}: {len(subset):4d} utterances  accuracy {accuracy:.3f}  "
            f"macro-F1 {f1:.3f}{goal}"
        )
        if language == "en":
            english = classification_report(truth, predicted, digits=3, zero_division=0)
    print(english)


def calibration(runtime: Runtime, cases: list[Labelled]) -> None:
    """Print the reliability table and the expected calibration error."""
    classifier = runtime.engine.understander.classifier
    probabilities = classifier.probabilities([c.text for c in cases])
    confidence = probabilities.max(axis=1)
    labels = np.array(classifier.labels)
    correct = labels[probabilities.argmax(axis=1)] == np.array([c.intent for c in cases])
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    print("calibration on all held-out paraphrases (top-class confidence):")
    print("  confidence    n   mean confidence  accuracy")
    error = 0.0
    for n in range(RELIABILITY_BINS):
        inside = bins == n
        if not inside.any():
            continue
        mean_confidence, accuracy = confidence[inside].mean(), correct[inside].mean()
        error += inside.mean() * abs(mean_confidence - accuracy)
        print(
            f"  {edges[n]:.1f}-{edges[n + 1]:.1f}  {inside.sum():5d}  "
            f"{mean_confidence:15.3f}  {accuracy:8.3f}"
        )
    print(
        f"  expected calibration error (ECE): {error:.3f}  "
        f"(temperature {classifier.temperature:.2f})\n"
    )


def fresh_employees() -> Iterator[str]:
    """Employee ids of the embedded directory, one per utterance so each starts afresh."""
    yield from (f"E{n:06d}" for n in range(100, 10_000))


def engine_outcomes(runtime: Runtime, cases: list[Labelled], employees: Iterator[str]) -> None:
    """Print how the engine took each held-out paraphrase on its first turn, per language."""
    engine, catalogue = runtime.engine, runtime.engine.catalogue
    replies = []
    for case in cases:
        reply = engine.handle(InboundMessage(next(employees), case.text, "api", credential=CLI))
        replies.append(reply)
    by_interaction: dict[str, list[dict]] = defaultdict(list)
    for event in read_events(engine.settings.events_dir):
        by_interaction[event["interaction_id"]].append(event)
    tallies: dict[str, Counter] = defaultdict(Counter)
    wrong_examples = []
    for case, reply in zip(cases, replies, strict=True):
        events = by_interaction[reply.interaction_id]
        kinds = {e["event_type"] for e in events}
        articles = {e["article_id"] for e in events if e["event_type"] == "knowledge_answered"}
        acted = bool(kinds & ACTION_EVENTS) or bool(articles)
        support = catalogue.intent(case.intent).support
        right_intent = reply.intent == case.intent
        right_article = case.intent == "it_question" or articles <= set(
            catalogue.articles_for(case.intent)
        )
        wrong = (
            (acted and not support)
            or not right_article
            or ("action_executed" in kinds and not right_intent)
        )
        tally = tallies[case.language]
        tally["total"] += 1
        tally["understood"] += (right_intent or (not support and not acted)) and not wrong
        tally["wrong answer"] += wrong
        tally["clarified"] += "clarification_requested" in kinds
        tally["escalated"] += "ticket_opened" in kinds
        tally["out-of-scope acted on"] += bool(kinds & ACTION_EVENTS) and not support
        tally["own language"] += reply.language == case.language
        if wrong:
            wrong_examples.append((case, reply.intent, sorted(articles)))
    print("held-out paraphrases through the engine (first turn):")
    print(
        "  lang     n  understood  wrong answer  clarified  escalated  replied in its language"
        "  out-of-scope actions"
    )
    rows = [*sorted(tallies.items()), ("all", sum(tallies.values(), Counter()))]
    for language, t in rows:
        n, acted_on = t["total"], t["out-of-scope acted on"]
        print(
            f"  {language:4s} {n:5d}  {t['understood'] / n:10.3f}  {t['wrong answer'] / n:12.3f}"
            f"  {t['clarified'] / n:9.3f}  {t['escalated'] / n:9.3f}"
            f"  {t['own language'] / n:23.3f}  {acted_on:d}"
        )
    print(
        "  goals: understood >= 0.90 in English and 0.85 in each other language; "
        "wrong answers <= 0.02; out-of-scope actions: none"
    )
    wrong_examples.sort(key=lambda wrong: catalogue.intent(wrong[0].intent).support)
    for case, intent, articles in wrong_examples[:25]:
        print(f"    wrong: [{case.language}] {case.text!r} ({case.intent}) -> {intent} {articles}")
    print()


def rasa_utterances() -> dict[str, list[str]]:
    """The Rasa utterances by their own intent labels."""
    by_intent: dict[str, list[str]] = {}
    with RASA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent.setdefault(row["intent"], []).append(row["text"])
    return by_intent


def first_turn(runtime: Runtime, employee: str, text: str) -> tuple[str | None, set[str]]:
    """Send one utterance as a new conversation; return the intent and its event types."""
    engine = runtime.engine
    reply = engine.handle(InboundMessage(employee, text, "api", credential=CLI))
    events = read_events(engine.settings.events_dir)
    kinds = {e["event_type"] for e in events if e["interaction_id"] == reply.interaction_id}
    return reply.intent, kinds | ({"ticket_opened"} if reply.ticket_id else set())


def rasa_scores(runtime: Runtime, employees: Iterator[str]) -> None:
    """Print the engine's figures on the Rasa helpdesk utterances."""
    if not RASA.exists():
        print(f"skipped: {RASA} not found")
        return
    utterances = rasa_utterances()
    results: dict[str, Counter] = {}
    for label in ("password_reset", "problem_email", "human_handoff", "out_of_scope"):
        counts: Counter = Counter()
        for text in utterances[label]:
            intent, kinds = first_turn(runtime, next(employees), text)
            counts["total"] += 1
            counts[f"intent:{intent}"] += 1
            counts["escalated"] += "ticket_opened" in kinds
            counts["action"] += bool(kinds & ACTION_EVENTS)
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
    """Run every evaluation in a throw-away data dir."""
    cases = held_out()
    employees = fresh_employees()
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(Settings(data_dir=Path(data_dir), events_fsync="never"))
        classifier_scores(runtime, cases)
        calibration(runtime, cases)
        engine_outcomes(runtime, cases, employees)
        rasa_scores(runtime, employees)
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
