"""Loading and building the warehouse: `ingest`, `build` and `import ...`.

Each runs the pipeline's own steps (`pipelines/steps.py`) as a recorded run `cli:<command>`,
under the data dir's pipeline lock, exactly as the scheduled flows do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from settings import Engine, get_settings
from unticket.cli.common import console, err, recorded_command

if TYPE_CHECKING:
    import duckdb

    from pipelines.steps import LoadOutcome
    from pipelines.warehouse import LoadSummary

app = typer.Typer()


import_app = typer.Typer(
    help="Import ticket history and the employee roster into the warehouse.", no_args_is_help=True
)


def _print_load(outcome: LoadOutcome, where_quarantined: str) -> None:
    """Print rows read / loaded / quarantined, why rows were quarantined and where to find
    them, and the loader's notes."""
    summary = outcome.load
    if summary is None:
        return
    console.print(
        f"{escape(summary.source)}: {summary.rows_read:,} read, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined"
    )
    for reason, number in summary.reasons.items():
        console.print(f"  [yellow]quarantined[/yellow] {number:,} × {escape(reason)}")
    for note in summary.notes:
        console.print(f"  [dim]{escape(note)}[/dim]")
    if summary.rows_quarantined:
        console.print(f"[dim]{where_quarantined}[/dim]")


@app.command()
def ingest() -> None:
    """Load new events from the event log into the warehouse (incremental, idempotent).

    Example: unticket ingest
    """
    from pipelines import steps

    with recorded_command("ingest", get_settings()) as run, err.status("ingesting events"):
        outcome = run.add(steps.ingest(run.settings))
    _print_load(
        outcome,
        "Quarantined lines are in raw.event_quarantine with file, line and reason: "
        'unticket sql "select * from raw.event_quarantine"',
    )


@app.command()
def build(
    engine: Annotated[
        Engine | None,
        typer.Option(
            help="The engine dbt runs on (default: UNTICKET_ENGINE, else duckdb). spark runs "
            "Spark in this process on UNTICKET_SPARK_MASTER (local[*]) and copies the marts "
            "into the same warehouse."
        ),
    ] = None,
) -> None:
    """Build the warehouse (reference data from the catalogue, then `dbt build`, incremental
    when it can be) and publish it for readers. `unticket pipeline run nightly` also checks data
    quality before publishing.

    Example: unticket build --engine spark
    """
    from pipelines import steps
    from pipelines.transform import engine_label

    settings = get_settings()
    if engine is not None:
        settings = settings.model_copy(update={"engine": engine})
    kept = ". The last published warehouse is still in place."
    where = engine_label(settings)
    with recorded_command("build", settings, after_failure=kept) as run:
        with err.status(f"building the warehouse on {where} (dbt build: models and tests)"):
            built = run.add(steps.transform(settings))
        for warning in built.warnings:
            console.print(f"[yellow]warning[/yellow] {escape(warning)}")
        console.print(f"Built the warehouse ({built.summary}) in {built.seconds:.1f} s")
        with err.status("publishing"):
            published = run.add(steps.publish(settings))
        run.published = True
    console.print(
        f"Published {settings.warehouse_path} ({published.summary}) in {published.seconds:.1f} s"
    )


def _run_import(load: Callable[[duckdb.DuckDBPyConnection], LoadSummary]) -> None:
    """Import one file as a recorded run and print its summary, or a clear error."""
    from pipelines import steps

    with recorded_command("import", get_settings()) as run, err.status("importing"):
        outcome = run.add(steps.import_file(run.settings, load))
    _print_load(outcome, 'Quarantined rows: unticket sql "select * from raw.import_quarantine"')


@import_app.command("servicenow")
def import_servicenow_command(
    file: Annotated[Path, typer.Argument(help="Incident table or audit-log export (.csv[.gz]).")],
) -> None:
    """Import a ServiceNow incident export: the incident table or the audit/event-log form.

    Example: unticket import servicenow incident_event_log.csv.gz
    """
    from pipelines.importers.servicenow import import_servicenow

    _run_import(lambda connection: import_servicenow(file, connection))


@import_app.command("xes")
def import_xes_command(
    file: Annotated[Path, typer.Argument(help="IEEE XES event log (.xes or .xes.gz).")],
    source: Annotated[
        str | None, typer.Option(help="Source name (default: from the file).")
    ] = None,
) -> None:
    """Import an IEEE XES event log: one ticket per trace, with its activity history.

    Example: unticket import xes bpic2013_incidents.xes.gz
    """
    from pipelines.importers.xes import import_xes

    _run_import(lambda connection: import_xes(file, connection, source))


@import_app.command("csv")
def import_csv_command(
    file: Annotated[Path, typer.Argument(help="Another tool's CSV export.")],
    mapping: Annotated[
        Path, typer.Option(help="Column mapping (YAML), e.g. data/mappings/jsm.yml.")
    ],
) -> None:
    """Import any tool's ticket export through a column mapping.

    Example: unticket import csv jira.csv --mapping data/mappings/jsm.yml
    """
    from pipelines.importers.csv_mapping import import_csv

    _run_import(lambda connection: import_csv(file, mapping, connection))


@import_app.command("roster")
def import_roster_command(
    file: Annotated[Path, typer.Argument(help="CSV with employee_id, name, department, ...")],
) -> None:
    """Import the employee roster (department, location, manager, loaded hourly cost).

    Example: unticket import roster employees.csv
    """
    from pipelines.importers.roster import import_roster

    _run_import(lambda connection: import_roster(file, connection))
