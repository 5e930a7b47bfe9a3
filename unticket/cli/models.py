"""`unticket models`: train a model on a company's own labelled history, and apply it to files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from unticket.cli.common import console, err, fail

if TYPE_CHECKING:
    from learning.candidates import Candidate

app = typer.Typer(
    help="Train models on a company's own history, and apply them to files.", no_args_is_help=True
)
train_app = typer.Typer(help="Train a model from a labelled CSV.", no_args_is_help=True)
predict_app = typer.Typer(help="Apply a trained model to a CSV.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(predict_app, name="predict")


def _progress(*columns: ProgressColumn) -> Progress:
    """A progress display on stderr with the given columns and the time elapsed."""
    return Progress(*columns, TimeElapsedColumn(), console=err)


def _write_failed(output: Path, error: OSError) -> NoReturn:
    """Stop: `output` could not be written."""
    fail(f"could not write {output}: {error.strerror or error}; choose another --output")


@train_app.command("categorizer")
def train_categorizer_command(
    input_file: Annotated[
        Path, typer.Option("--input", help="Labelled ticket history (.csv or .csv.gz).")
    ],
    text_column: Annotated[str, typer.Option(help="Column holding the ticket text.")],
    label_column: Annotated[str, typer.Option(help="Column holding the category.")],
    output: Annotated[Path, typer.Option(help="Model file to write (a .json goes beside it).")],
    folds: Annotated[
        int, typer.Option(help="Cross-validation folds for the accuracy estimate (0: skip).")
    ] = 3,
    seed: Annotated[int, typer.Option(help="Random seed; the same data and seed agree.")] = 7,
) -> None:
    """Train a ticket categoriser on a company's labelled tickets, estimate its accuracy by
    cross-validation, and save it.

    Example: unticket models train categorizer --input history.csv.gz --text-column text --label-column category --output models/categorizer.pkl
    """  # noqa: E501
    from models.categorizer import (
        CategorizerError,
        MissingColumnError,
        check_training_data,
        cross_validate,
        read_labelled_csv,
        train_categorizer,
    )

    try:
        data = read_labelled_csv(input_file, text_column, label_column)
        check_training_data(data.texts, data.labels)
    except MissingColumnError as error:
        fail(f"{error}; name the right ones with --text-column and --label-column")
    except CategorizerError as error:
        fail(str(error))
    _print_rows_used(len(data.texts), len(set(data.labels)), data.skipped)
    started = time.perf_counter()
    metrics: dict[str, float] = {}
    with _progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as shown:
        if folds:
            task = shown.add_task("cross-validating (folds)", total=folds)
            try:
                metrics = cross_validate(
                    data.texts,
                    data.labels,
                    folds,
                    seed,
                    on_fold=lambda n: shown.update(task, completed=n),
                )
            except CategorizerError as error:
                fail(f"{error}; pass fewer --folds, or --folds 0 to skip cross-validation")
        task = shown.add_task("training on every row", total=1)
        try:
            model = train_categorizer(data.texts, data.labels, seed)
        except CategorizerError as error:
            fail(str(error))
        shown.update(task, completed=1)
    model.info["metrics"].update(metrics)
    try:
        info_path = model.save(output)
    except CategorizerError as error:
        fail(str(error))
    except OSError as error:
        _write_failed(output, error)
    seconds = time.perf_counter() - started
    if metrics:
        quality = (
            f"cross-validated accuracy {metrics['cv_accuracy']:.3f}, "
            f"macro-F1 {metrics['cv_macro_f1']:.3f} ({folds} folds)"
        )
    else:
        quality = f"training accuracy {model.info['metrics']['training_accuracy']:.3f} (optimistic)"
    console.print(f"{len(model.labels)} categories, {quality}; {seconds:,.1f} s")
    console.print(f"Saved {output}\n  and {info_path}")


def _print_rows_used(used: int, labels: int, skipped: list[tuple[int, str]]) -> None:
    """Print how many rows train the model and which were skipped, and why."""
    console.print(f"{used:,} rows used ({labels} categories), {len(skipped):,} skipped")
    reasons: dict[str, list[int]] = {}
    for number, reason in skipped:
        reasons.setdefault(reason, []).append(number)
    for reason, numbers in reasons.items():
        shown = ", ".join(map(str, numbers[:5])) + (", …" if len(numbers) > 5 else "")
        rows = "row" if len(numbers) == 1 else "rows"
        console.print(
            f"  [yellow]skipped[/yellow] {len(numbers):,} × {escape(reason)} ({rows} {shown})"
        )


@predict_app.command("categorizer")
def predict_categorizer_command(
    model_file: Annotated[
        Path, typer.Option("--model", help="Model written by `unticket models train`.")
    ],
    input_file: Annotated[Path, typer.Option("--input", help="Tickets (.csv or .csv.gz).")],
    text_column: Annotated[str, typer.Option(help="Column holding the ticket text.")],
    output: Annotated[
        Path, typer.Option(help="CSV to write: the input plus predicted_label and confidence.")
    ],
) -> None:
    """Categorise every row of a CSV with a trained categoriser. Rows without text get an empty
    predicted_label and confidence 0.

    Example: unticket models predict categorizer --model models/categorizer.pkl --input new.csv --text-column text --output categorised.csv
    """  # noqa: E501
    from models.categorizer import (
        Categorizer,
        CategorizerError,
        MissingColumnError,
        read_csv_rows,
        require_columns,
        write_csv_rows,
    )
    from pipelines.batch_predict import label_rows

    try:
        model = Categorizer.load(model_file)
        columns, rows = read_csv_rows(input_file)
        require_columns(columns, [text_column], input_file)
    except MissingColumnError as error:
        fail(f"{error}; name the right one with --text-column")
    except CategorizerError as error:
        fail(str(error))
    started = time.perf_counter()
    with _progress(TextColumn("categorising"), BarColumn(), MofNCompleteColumn()) as shown:
        task = shown.add_task("rows", total=len(rows))
        blank = label_rows(model, rows, text_column, lambda n: shown.advance(task, n))
    extra = [name for name in ("predicted_label", "confidence") if name not in columns]
    try:
        write_csv_rows(output, columns + extra, rows)
    except OSError as error:
        _write_failed(output, error)
    seconds = time.perf_counter() - started
    rate = len(rows) / seconds if seconds else 0.0
    console.print(
        f"Categorised {len(rows) - blank:,} rows ({blank:,} without text) in {seconds:,.1f} s "
        f"({rate:,.0f} rows/s) into {len(model.labels)} categories"
    )
    console.print(f"Wrote {output}")


def _ids(values: list[str] | None) -> list[int]:
    """Candidate ids given as repeated options and/or separated by commas."""
    ids = []
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            if not part.strip().isdigit():
                fail(f"{part.strip()!r} is not a candidate id; use the numbers the table shows")
            ids.append(int(part))
    return ids


@app.command("review")
def review_command(
    accept: Annotated[
        list[str] | None,
        typer.Option("--accept", help="Accept these candidate ids (3,7 or repeat)."),
    ] = None,
    reject: Annotated[
        list[str] | None,
        typer.Option("--reject", help="Reject these candidate ids (3,7 or repeat)."),
    ] = None,
    accept_all_shown: Annotated[
        bool, typer.Option("--accept-all-shown", help="Accept every candidate the filters show.")
    ] = False,
    intent: Annotated[str | None, typer.Option(help="Show only candidates of this intent.")] = None,
    language: Annotated[
        str | None, typer.Option(help="Show only candidates in this language (en, de, es, fr).")
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--as", help="Who reviews (default: your OS user name).")
    ] = None,
) -> None:
    """Review the training examples proposed from resolved escalations: list the pending ones,
    accept or reject them. Accepted examples retrain the intent model at the next nightly run,
    kept only if it does not score worse on the held-out paraphrases.

    Example: unticket models review --intent password_reset --language de (then, having
    read them: unticket models review --accept 3,7 --reject 5 --as alice, or
    unticket models review --intent vpn_issue --accept-all-shown)
    """
    import getpass

    from learning.candidates import (
        ACCEPTED,
        REJECTED,
        CandidateError,
        decide,
        open_candidates,
        pending,
    )
    from settings import get_settings

    accepted, rejected = _ids(accept), _ids(reject)
    if both := sorted(set(accepted) & set(rejected)):
        fail(f"ids {', '.join(map(str, both))} are both accepted and rejected: choose one")
    name = reviewer or getpass.getuser()
    store = open_candidates(get_settings().data_dir)
    try:
        shown = pending(store, intent, language)
        if accept_all_shown:
            accepted = sorted(set(accepted) | {c.candidate_id for c in shown})
        try:
            done = {
                ACCEPTED: decide(store, accepted, ACCEPTED, name),
                REJECTED: decide(store, rejected, REJECTED, name),
            }
        except CandidateError as error:
            fail(f"{error}; run `unticket models review` to see the pending ids")
        if not (accepted or rejected):
            _print_candidates(shown)
            return
        remaining = len(pending(store))
    finally:
        store.close()
    console.print(
        f"{len(done[ACCEPTED])} accepted, {len(done[REJECTED])} rejected by {escape(name)}; "
        f"{remaining} still pending. Accepted examples retrain the intent model at the next "
        "`unticket pipeline run nightly` (kept only if not worse)."
    )


def _print_candidates(shown: list[Candidate]) -> None:
    """Print the pending candidates as a table (employee text shown as typed, never as markup)."""
    if not shown:
        console.print("No candidates waiting for review (filters applied, if any).")
        return
    table = Table(title=f"{len(shown)} candidate examples waiting for review")
    for column in ("id", "lang", "text", "proposed intent", "evidence"):
        table.add_column(column, overflow="fold")
    for candidate in shown:
        table.add_row(
            str(candidate.candidate_id), candidate.language, escape(candidate.text),
            candidate.intent, escape(candidate.evidence),
        )  # fmt: skip
    console.print(table)
    console.print("Accept with --accept ID, reject with --reject ID (both take 3,7 or repeat).")
