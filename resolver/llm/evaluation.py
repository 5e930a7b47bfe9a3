"""How well the intent model, the LLM provider, and the two together (the LLM asked only below
its threshold, as the engine does) understand labelled messages: the team's held-out
paraphrases (`data/eval/paraphrases/<lang>.yml`, never trained on) and a company's own labelled
CSV. Figures: accuracy, the wrong-answer rate (confident and wrong: at or above the act
threshold on the wrong intent, where the engine would act on a mistake), latency p50/p95 and
cost per 1,000 messages. No events are written: these messages belong to no interaction.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.paraphrases import Labelled
from resolver.llm.provider import LlmCall
from resolver.understanding import Understander, Understanding

COLUMNS = ("text", "intent")
MAX_PROBLEMS_SHOWN = 5
LOCAL, LLM, TOGETHER = "local model", "LLM", "local + LLM"


class LabelledFileError(ValueError):
    """A labelled CSV that cannot be evaluated; the message says where and why."""


def read_labelled_csv(path: Path, intents: Collection[str]) -> list[Labelled]:
    """The rows of a CSV with the columns text and intent; every row needs text and an intent
    of the catalogue (`intents`), else LabelledFileError names the lines (never their text)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            found = reader.fieldnames or []
            if not set(COLUMNS) <= set(found):
                raise LabelledFileError(
                    f"{path} needs the columns {','.join(COLUMNS)} in its header line "
                    f"(it has: {','.join(found) or 'no header'})"
                )
            rows = [(reader.line_num, row) for row in reader]
    except OSError as error:
        raise LabelledFileError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise LabelledFileError(f"{path} is not UTF-8 text: save it as UTF-8 CSV") from None
    except csv.Error as error:
        raise LabelledFileError(f"{path} is not a well-formed CSV: {error}") from None
    cases, problems = [], []
    for line, row in rows:
        text, intent = ((row.get(column) or "").strip() for column in COLUMNS)
        if not text:
            problems.append(f"line {line}: no text")
        elif intent not in intents:
            problems.append(f"line {line}: intent {intent!r} is not in the catalogue")
        else:
            cases.append(Labelled(text, "", intent))
    if problems:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + (
            f"; and {more} more" if more > 0 else ""
        )
        raise LabelledFileError(f"{path}: {shown}")
    if not cases:
        raise LabelledFileError(f"{path} has a header but no rows")
    return cases


def spread(cases: list[Labelled], limit: int | None) -> list[Labelled]:
    """At most `limit` of the cases, evenly spread over the list (so every intent shows)."""
    if limit is None or limit >= len(cases):
        return cases
    step = len(cases) / limit
    return [cases[int(n * step)] for n in range(limit)]


@dataclass(frozen=True)
class Judged:
    """One way's answer for one message: its intent (None: no answer), confidence, the time it
    took and the LLM call it made, if any (`asked`: whether the LLM was to be asked)."""

    intent: str | None
    confidence: float
    seconds: float
    call: LlmCall | None = None
    asked: bool = False


@dataclass(frozen=True)
class Scores:
    """One way's figures over a set of messages; `calls` counts the LLM calls by outcome
    (`skipped`: not made while the provider cooled down after a failure)."""

    name: str
    messages: int
    accuracy: float
    wrong_rate: float
    p50_ms: float
    p95_ms: float
    cost_per_1000: float
    calls: Counter[str]


def score(
    name: str,
    cases: list[Labelled],
    judged: list[Judged],
    act_confidence: float,
    prices: tuple[float, float],
) -> Scores:
    """The figures of one way's answers to `cases`."""
    right = [j.intent == c.intent for c, j in zip(cases, judged, strict=True)]
    wrong = [
        j.intent is not None and j.intent != c.intent and j.confidence >= act_confidence
        for c, j in zip(cases, judged, strict=True)
    ]
    milliseconds = np.array([j.seconds * 1000 for j in judged])
    cost = sum(j.call.cost(*prices) for j in judged if j.call is not None)
    calls = Counter(j.call.outcome if j.call else "skipped" for j in judged if j.asked)
    return Scores(
        name=name,
        messages=len(cases),
        accuracy=float(np.mean(right)),
        wrong_rate=float(np.mean(wrong)),
        p50_ms=float(np.percentile(milliseconds, 50)),
        p95_ms=float(np.percentile(milliseconds, 95)),
        cost_per_1000=cost / len(cases) * 1000,
        calls=calls,
    )


def evaluate(
    understander: Understander,
    cases: list[Labelled],
    act_confidence: float,
    prices: tuple[float, float],
    on_message: Callable[[], None] = lambda: None,
) -> list[Scores]:
    """Understand every case with the local model and, when the understander has an LLM
    provider, with the LLM alone and the two together; return each way's figures."""
    local: list[Judged] = []
    alone: list[Judged] = []
    together: list[Judged] = []
    for case in cases:
        started = time.perf_counter()
        understood = understander.understand(case.text)
        local.append(Judged(understood.intent, understood.confidence, _since(started)))
        if understander.llm is not None:
            answer = _ask_llm(understander, case.text, understood)
            alone.append(answer)
            below = understood.confidence < understander.llm.below_confidence
            together.append(_together(local[-1], answer) if below else local[-1])
        on_message()
    ways = [(LOCAL, local), (LLM, alone), (TOGETHER, together)]
    return [score(name, cases, judged, act_confidence, prices) for name, judged in ways if judged]


def _ask_llm(understander: Understander, text: str, local: Understanding) -> Judged:
    """The LLM's answer alone: its intent when valid, else no answer."""
    started = time.perf_counter()
    understood = understander.llm_understanding(text, local)
    used = understood.source == "llm"
    return Judged(
        understood.intent if used else None,
        understood.confidence if used else 0.0,
        _since(started),
        understood.llm_call,
        asked=True,
    )


def _together(local: Judged, llm: Judged) -> Judged:
    """What the engine does below the threshold: the LLM's answer when valid, else the local
    model's; it takes both their times."""
    chosen = llm if llm.intent is not None else local
    return Judged(
        chosen.intent, chosen.confidence, local.seconds + llm.seconds, llm.call, asked=True
    )


def _since(started: float) -> float:
    """Seconds since `started` (a `perf_counter` reading)."""
    return time.perf_counter() - started
