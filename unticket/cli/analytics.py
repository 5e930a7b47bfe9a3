"""Reading the published warehouse: `kpis`, `sql`, `export`, the `report` and the
`dashboard`."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from settings import get_settings
from unticket.cli.common import console, err, fail, open_runtime, recorded_command

if TYPE_CHECKING:
    import duckdb
    from rich.status import Status

    from pipelines.kpis import Headline
    from pipelines.report import Report, ReportPaths

app = typer.Typer()

# `unticket sql` is the analyst's entry point, not a file-system tool: no file, network or
# extension beyond the warehouse itself, and no query can switch that back on.
_WAREHOUSE_ONLY = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


def _open_built_warehouse(config: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (with DuckDB `config`), or stop with what to run first."""
    import duckdb

    settings = get_settings()
    if not settings.warehouse_path.exists():
        fail("no warehouse yet: run `unticket ingest` and `unticket build`")
    return duckdb.connect(str(settings.warehouse_path), read_only=True, config=config or {})


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve the dashboards on.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Without OpenID Connect sign-in (demo mode) only "
            "loopback is allowed; with UNTICKET_OIDC_ISSUER, UNTICKET_OIDC_CLIENT_ID and "
            "UNTICKET_OIDC_CLIENT_SECRET set, e.g. 0.0.0.0."
        ),
    ] = "127.0.0.1",
    headless: Annotated[
        bool, typer.Option("--headless", help="Do not open a browser (for servers and CI).")
    ] = False,
) -> None:
    """Serve the Streamlit dashboards (KPIs, deflection, resolution speed, productivity,
    automation priorities, topics, pipeline health and the Ask IT web chat) on the
    published warehouse of UNTICKET_DATA_DIR, until Ctrl+C. With OpenID Connect configured
    people sign in (it_leader and analyst roles see the analytics); without it the dashboards
    run in demo mode, on this machine only.

    Example: unticket dashboard --port 8501 --headless
    """
    from dashboards.server import DemoModeAddressError, check_address, serve

    settings = get_settings()
    try:
        check_address(settings, address)
    except DemoModeAddressError as error:
        fail(str(error))
    with err.status("preparing the resolution engine for Ask IT (its models and enterprise)"):
        open_runtime(settings).close()  # trains what is missing now, not on the first chat
    if settings.dashboard_sign_in_enabled:
        where = f"{settings.dashboard_url.rstrip('/')} (sign-in through {settings.oidc_issuer})"
    else:
        where = f"http://localhost:{port} (demo mode: no sign-in, this machine only)"
    console.print(f"Dashboards on {where} for {settings.data_dir} (Ctrl+C stops)")
    try:
        code = serve(settings, address, port, headless)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code=code)


@app.command()
def kpis() -> None:
    """Print the headline KPIs from the built warehouse.

    Example: unticket kpis
    """
    from pipelines.kpis import headline

    connection = _open_built_warehouse()
    try:
        figures = headline(connection)
    except Exception as error:
        fail(f"the marts are not built ({error}); run `unticket build`")
    finally:
        connection.close()
    _print_headline(figures)


def _print_headline(figures: Headline) -> None:
    """Print every headline KPI over all time, labelled and formatted as the report does."""
    from pipelines.kpis import ALL_TIME_KPIS
    from pipelines.report import format_value

    table = Table(title="Headline KPIs (all time)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for kpi in ALL_TIME_KPIS:
        table.add_row(kpi.label, format_value(getattr(figures, kpi.key), kpi.unit))
    console.print(table)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run on the warehouse (read-only).")],
    limit: Annotated[int, typer.Option(help="Most rows to print.")] = 50,
) -> None:
    """Run a read-only SQL query on the warehouse and print the result as a table. Queries
    read the warehouse only: no other file, network or extension (`unticket export` writes
    files).

    Example: unticket sql "select intent, count(*) from marts.fct_interactions group by 1"
    """
    import duckdb

    connection = _open_built_warehouse(_WAREHOUSE_ONLY)
    try:
        cursor = connection.execute(query)
        columns = [c[0] for c in cursor.description or []]
        rows = cursor.fetchmany(limit)
    except duckdb.PermissionException as error:
        fail(f"{error}".splitlines()[0] + "; `unticket sql` reads the warehouse only")
    except duckdb.Error as error:
        fail(f"{error}".splitlines()[0])
    finally:
        connection.close()
    table = Table(*map(escape, columns))
    for row in rows:
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    console.print(table)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write one file per mart into.")],
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Export every mart to Parquet (or CSV) files for other tools.

    Example: unticket export --format parquet exports/
    """
    from pipelines.export import FORMATS, export_marts

    if file_format not in FORMATS:
        fail("--format must be parquet or csv")
    directory.mkdir(parents=True, exist_ok=True)
    connection = _open_built_warehouse()
    try:
        written = export_marts(connection, directory, file_format)
    finally:
        connection.close()
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        fail("no marts yet: run `unticket build`")


@app.command()
def report(
    period: Annotated[
        str, typer.Option(help="week (last complete ISO week) or month (last complete month).")
    ] = "week",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Report on the period before this day, YYYY-MM-DD (default: today, or the day "
            "after the latest data in the warehouse if that is earlier)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Folder to write into (default: $UNTICKET_DATA_DIR/reports)."),
    ] = None,
) -> None:
    """Write the IT-leader report (HTML that opens offline, and a JSON summary) for the last
    complete week or month against the one before; post a summary to Slack if configured.

    Example: unticket report --period week --as-of 2026-10-05
    """
    from pipelines import steps
    from pipelines.report import PERIODS

    if period not in PERIODS:
        fail("--period must be week or month")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD, e.g. 2026-10-05")
    settings = get_settings()
    with recorded_command("report", settings) as run, err.status("writing the report") as status:
        shown = partial(_print_report, status)
        outcome = run.add(steps.report(settings, period, day, output, shown))
    if outcome.posted:
        console.print("Posted the summary to Slack.")


def _print_report(status: Status, report: Report, paths: ReportPaths) -> None:
    """Stop the spinner; print a written report's headline KPIs, notes and data quality, and
    its files."""
    from pipelines.report import headline_rows

    status.stop()
    table = Table(title=f"{report.label}, against {report.previous_label}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("change", justify="right")
    for row in headline_rows(report.kpis):
        table.add_row(*map(escape, row))
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}")
    console.print(f"Data quality: {escape(report.data_quality['message'])}")
    console.print(f"Wrote {paths.html}\n  and {paths.json}")
