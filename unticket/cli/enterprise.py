"""The embedded demo enterprise: `simulate` a company on it, `enterprise init` an empty one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from settings import Settings, get_settings
from unticket.cli.common import console, err, fail

if TYPE_CHECKING:
    from resolver.simulation import SimulationSummary

app = typer.Typer()
enterprise_app = typer.Typer(help="The embedded demo enterprise.", no_args_is_help=True)


@app.command()
def simulate(
    employees: Annotated[int, typer.Option(help="Employees in the simulated company.")] = 2000,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 90,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed and start give the same events.")
    ] = 7,
    start: Annotated[
        str | None,
        typer.Option(help="First simulated day, YYYY-MM-DD (default: DAYS before today)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Delete this data dir's events, enterprise and warehouse first.")
    ] = False,
) -> None:
    """Simulate a company's employees talking to the real engine, and summarise the outcomes.

    Example: unticket simulate --employees 2000 --days 90 --seed 7 --replace
    """
    from pipelines.data_dir import clear_generated, holds_generated
    from resolver.simulation import run_simulation

    settings = get_settings()
    if holds_generated(settings) and not replace:
        fail(
            f"{settings.data_dir} already holds events or an enterprise; add --replace to start "
            "over, or set UNTICKET_DATA_DIR to another folder"
        )
    try:
        first_day = date.fromisoformat(start) if start else date.today() - timedelta(days=days)
    except ValueError:
        fail(f"--start {start!r} is not a date; use YYYY-MM-DD, e.g. 2026-08-01")
    clear_generated(settings)
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"))
    with Progress(*columns, TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task("days", total=days)
        try:
            summary = run_simulation(
                settings,
                employees=employees,
                days=days,
                seed=seed,
                start=first_day,
                on_day=lambda n: progress.advance(task, n),
            )
        except ValueError as error:
            fail(str(error))
        progress.update(task, completed=days)
    _print_summary(summary, settings)


def _print_summary(summary: SimulationSummary, settings: Settings) -> None:
    """Print the simulation's outcomes, proactive offers and throughput."""
    table = Table(
        title=f"{summary.interactions:,} interactions over {summary.days} days from {summary.start}"
    )
    table.add_column("outcome")
    table.add_column("interactions", justify="right")
    table.add_column("share", justify="right")
    for outcome, number in summary.outcomes.items():
        label = outcome or "pending (still open)"
        table.add_row(label, f"{number:,}", f"{number / summary.interactions:.1%}")
    console.print(table)
    console.print(
        f"{summary.proactive_offers:,} unlocks offered before anyone asked (channel proactive), "
        f"{summary.resolved_before_asked:,} taken up and resolved; "
        f"{summary.outages_detected:,} outages detected, {summary.outage_notices:,} reporters "
        "told."
    )
    console.print(
        f"{summary.messages:,} messages, {summary.tickets:,} tickets, "
        f"{summary.seconds:.1f} s ({summary.interactions_per_second:,.0f} interactions/s). "
        f"Events: {settings.events_dir}"
    )


@enterprise_app.command("init")
def enterprise_init(
    employees: Annotated[int, typer.Option(help="Employees to generate.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generate the demo enterprise into an empty data dir.

    Example: unticket enterprise init --employees 500 --seed 3
    """
    from resolver.runtime import create_enterprise

    settings = get_settings()
    try:
        number = create_enterprise(settings, employees, seed)
    except ValueError as error:
        fail(str(error))
    console.print(f"Generated {number:,} employees into {settings.state_db}")
