"""`unticket eval`: how well the engine understands labelled messages, the local intent model
side by side with the optional LLM provider."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from unticket.cli.common import console, count, err, fail

if TYPE_CHECKING:
    from models.paraphrases import Labelled
    from resolver.llm.evaluation import Scores
    from settings import Settings

app = typer.Typer(help="Evaluate the engine on labelled messages.", no_args_is_help=True)


@app.command("understanding")
def understanding_command(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Your own labelled messages: a UTF-8 CSV with columns text,intent."
        ),
    ] = None,
    languages: Annotated[
        list[str] | None,
        typer.Option(
            "--language", help="Only the held-out paraphrases in this language; repeatable."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="At most this many messages of each set, evenly spread."),
    ] = None,
) -> None:
    """Run the team's held-out paraphrases (data/eval/paraphrases/) and, with --file, your own
    labelled messages through the local intent model and, when UNTICKET_LLM_BASE_URL is set,
    the LLM provider (alone, and asked only below its threshold as the engine does). Prints
    accuracy, the wrong-answer rate (confident and wrong: at or above act_confidence on the
    wrong intent), latency p50/p95 and cost per 1,000 messages, side by side.

    Example: unticket eval understanding --file labelled.csv --limit 200
    """
    from catalogue import cached_catalogue
    from models.paraphrases import held_out
    from resolver.llm.evaluation import LabelledFileError, read_labelled_csv, spread
    from settings import get_settings

    settings = get_settings()
    paraphrases = held_out()
    known = sorted({case.language for case in paraphrases})
    unknown = sorted(set(languages or ()) - set(known))
    if unknown:
        fail(f"no held-out paraphrases in {', '.join(unknown)}; choose from {', '.join(known)}")
    chosen = [case for case in paraphrases if not languages or case.language in languages]
    sets = [("held-out paraphrases", spread(chosen, limit))]
    if file is not None:
        intents = cached_catalogue(settings.catalogue_dir).intents
        try:
            sets.append((file.name, spread(read_labelled_csv(file, intents), limit)))
        except LabelledFileError as error:
            fail(f"{error}. Intents are the ids in data/catalogue/intents.yml.")
    _compare(settings, sets)


def _compare(settings: Settings, sets: list[tuple[str, list[Labelled]]]) -> None:
    """Evaluate each set with a progress bar, then print its table and a summary."""
    from resolver.llm.evaluation import evaluate
    from resolver.runtime import open_understander

    prices = (settings.llm_price_per_1k_input, settings.llm_price_per_1k_output)
    total = sum(len(cases) for _, cases in sets)
    started = time.perf_counter()
    results = []
    with ExitStack() as stack:
        with err.status("loading the intent model (trained on first use)"):
            understander = stack.enter_context(open_understander(settings))
        below = understander.llm.below_confidence if understander.llm else None
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=err) as shown:
            for name, cases in sets:
                task = shown.add_task(f"understanding {name}", total=len(cases))
                advance = lambda task=task: shown.advance(task)  # noqa: E731
                scores = evaluate(understander, cases, settings.act_confidence, prices, advance)
                results.append((name, scores))
    for name, scores in results:
        console.print(_table(name, scores, settings.act_confidence, below))
    _summary(results, total, time.perf_counter() - started, settings)


def _table(name: str, scores: list[Scores], act: float, below: float | None) -> Table:
    """One set's figures, a column for each way of understanding."""
    from resolver.llm.evaluation import TOGETHER

    table = Table(
        title=f"{escape(name)} ({count(scores[0].messages, 'message')})",
        caption=f"wrong answers: confident and wrong (at or above act_confidence {act:.2f})",
    )
    table.add_column("")
    for way in scores:
        together = way.name == TOGETHER and below is not None
        table.add_column(f"{TOGETHER} below {below:.2f}" if together else way.name, justify="right")
    rows = {
        "accuracy": [f"{s.accuracy:.1%}" for s in scores],
        "wrong-answer rate": [f"{s.wrong_rate:.1%}" for s in scores],
        "latency p50": [f"{s.p50_ms:,.1f} ms" for s in scores],
        "latency p95": [f"{s.p95_ms:,.1f} ms" for s in scores],
        "cost per 1,000 messages": [f"{s.cost_per_1000:,.2f}" for s in scores],
    }
    for label, cells in rows.items():
        table.add_row(label, *cells)
    return table


def _summary(
    results: list[tuple[str, list[Scores]]], total: int, seconds: float, settings: Settings
) -> None:
    """What was run, how the LLM calls went, and what to set next."""
    from resolver.llm.evaluation import LLM

    console.print(f"{count(total, 'message')} evaluated in {seconds:,.1f} s.")
    if not settings.llm_base_url:
        console.print(
            "No LLM provider configured: set UNTICKET_LLM_BASE_URL and UNTICKET_LLM_MODEL "
            "to compare one (README, 'Using your own LLM')."
        )
        return
    calls: Counter[str] = Counter()
    for _, scores in results:
        calls.update(*(way.calls for way in scores if way.name == LLM))
    outcomes = ", ".join(f"{outcome} {n:,}" for outcome, n in sorted(calls.items()))
    console.print(f"LLM calls ({escape(settings.llm_model)}): {outcomes}.")
    if calls["error"] or calls["timeout"] or calls["skipped"]:
        console.print(
            "[yellow]Some calls failed or were skipped while the provider cooled down: check "
            "that the endpoint answers, or raise UNTICKET_LLM_TIMEOUT_SECONDS.[/yellow]"
        )
    if not (settings.llm_price_per_1k_input or settings.llm_price_per_1k_output):
        console.print(
            "Costs are 0: set UNTICKET_LLM_PRICE_PER_1K_INPUT and _OUTPUT for cost figures."
        )
