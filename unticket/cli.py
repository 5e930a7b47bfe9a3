"""The `unticket` command: a thin layer over the library. Every command honours
`UNTICKET_DATA_DIR`, so two data dirs never interfere."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from unticket.apikey_commands import apikey_app
from unticket.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb

    from pipelines.kpis import Headline
    from pipelines.warehouse import LoadSummary
    from resolver.simulation import SimulationSummary

app = typer.Typer(
    help="Unticket: a system of resolution for IT support.\n\n"
    'Example: unticket ask "I forgot my password" --as E000100',
    no_args_is_help=True,
    add_completion=False,
)
approvals_app = typer.Typer(help="Look at and decide access approvals.", no_args_is_help=True)
tickets_app = typer.Typer(
    help="The embedded ticket queue (the service desk's view).", no_args_is_help=True
)
enterprise_app = typer.Typer(help="The embedded demo enterprise.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")
app.add_typer(tickets_app, name="tickets")
app.add_typer(enterprise_app, name="enterprise")
import_app = typer.Typer(
    help="Import ticket history and the employee roster into the warehouse.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
pipeline_app = typer.Typer(
    help="Run the Prefect pipelines once, or serve them on their schedules.", no_args_is_help=True
)
app.add_typer(pipeline_app, name="pipeline")
models_app = typer.Typer(
    help="Train models on a company's own history, and apply them to files.", no_args_is_help=True
)
models_train_app = typer.Typer(help="Train a model from a labelled CSV.", no_args_is_help=True)
models_predict_app = typer.Typer(help="Apply a trained model to a CSV.", no_args_is_help=True)
models_app.add_typer(models_train_app, name="train")
models_app.add_typer(models_predict_app, name="predict")
app.add_typer(models_app, name="models")
app.add_typer(apikey_app, name="apikey")
console = Console()
err = Console(stderr=True)

As = Annotated[str, typer.Option("--as", help="Who is asking: employee id, username or e-mail.")]


def _runtime(settings: Settings | None = None):
    from resolver.connectors.configured import ConfigurationError
    from resolver.runtime import build_runtime

    try:
        return build_runtime(settings or get_settings())
    except ConfigurationError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=2)


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="What the employee writes.")],
    user: As,
    channel: Annotated[str, typer.Option(help="Channel to ask on.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print the full reply as JSON.")] = False,
) -> None:
    """Send one message and print the reply; the conversation continues with the next `ask`.

    Example: unticket ask "I forgot my password" --as E000100
    """
    from resolver.engine import InboundMessage, RequestError
    from resolver.identity import CLI

    runtime = _runtime()
    try:
        reply = runtime.engine.handle(InboundMessage(user, text, channel, credential=CLI))
    except RequestError as error:
        _fail(str(error))
        return
    finally:
        runtime.close()
    if as_json:
        console.print_json(json.dumps(asdict(reply)))
        return
    console.print(escape(reply.reply))
    details = f"intent={reply.intent} confidence={reply.confidence} outcome={reply.outcome}"
    if reply.ticket_id:
        details += f" ticket={reply.ticket_id}"
    console.print(f"[dim]{details} interaction={reply.interaction_id}[/dim]")


@app.command()
def chat(
    user: As,
    channel: Annotated[str, typer.Option(help="Channel to chat on.")] = "cli",
) -> None:
    """Chat with the engine interactively; an empty line or Ctrl-D ends it.

    Example: unticket chat --as E000100
    """
    from resolver.engine import InboundMessage, RequestError
    from resolver.identity import CLI

    runtime = _runtime()
    console.print(
        "[dim]Type your message. One-time codes go to your phone: see `unticket outbox`.[/dim]"
    )
    try:
        while True:
            try:
                text = console.input("[bold]you>[/bold] ").strip()
            except EOFError:
                break
            if not text:
                break
            try:
                reply = runtime.engine.handle(InboundMessage(user, text, channel, credential=CLI))
            except RequestError as error:
                err.print(f"[red]{escape(str(error))}[/red]")
                continue
            console.print(f"[bold cyan]unticket>[/bold cyan] {escape(reply.reply)}")
    finally:
        runtime.close()


@app.command()
def outbox(
    user: As,
    last: Annotated[int, typer.Option(help="How many messages to show.")] = 5,
) -> None:
    """Show what the embedded enterprise delivered to an employee's phone (codes, passwords).

    Example: unticket outbox --as E000100 --last 1
    """
    from resolver.connectors.embedded import EmbeddedNotifier

    runtime = _runtime()
    try:
        notifier = runtime.connectors.notifier
        if not isinstance(notifier, EmbeddedNotifier):
            _fail("messages go out by e-mail or SMS here; the outbox is the demo enterprise's")
            return
        person = runtime.connectors.directory.find_person(user)
        if person is None:
            _fail(f"nobody called {user!r} in the directory; try an id such as E000100")
            return
        for message in notifier.messages_for(person.employee_id)[-last:]:
            console.print(
                f"[dim]{message['created_at']}[/dim] "
                f"[bold]{message['subject']}[/bold]: {message['body']}"
            )
    finally:
        runtime.close()


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings, 8080).")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs), Slack and Teams when configured (Slack over
    Socket Mode too when UNTICKET_SLACK_APP_TOKEN is set); in the background, watch for
    lock-outs and outages (UNTICKET_WATCH_LOCKOUTS, UNTICKET_DETECT_OUTAGES) and file tickets
    queued while the ITSM was down.

    Example: unticket serve --port 8080
    """
    import uvicorn

    from resolver.api import create_app

    settings = get_settings()
    runtime = _runtime(settings)
    host, port = host or settings.host, port or settings.port
    # uvicorn stops gracefully on SIGTERM, then raises it again: exit normally instead, so the
    # runtime is closed and the stop is logged.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:  # uvicorn logs the address once it listens; requests are not logged
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="info", access_log=False)
    finally:
        runtime.close()
        err.print(f"Stopped serving the API on {host}:{port}")


@app.command("watch-lockouts")
def watch_lockouts(
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between polls (default UNTICKET_LOCKOUT_POLL_SECONDS, 60)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Poll once and stop.")] = False,
) -> None:
    """Watch the directory for accounts locked by failed sign-ins and offer each locked-out
    employee a verified unlock before they ask (what `unticket serve` does in the background),
    until Ctrl+C.

    Example: unticket watch-lockouts --once
    """
    from resolver.proactive import Lockout, LockoutSource, poll_lockouts

    settings = get_settings()
    runtime = _runtime(settings)
    directory = runtime.connectors.directory
    seen: set[Lockout] = set()
    polls = offers = 0
    try:
        if not isinstance(directory, LockoutSource):
            _fail(f"the {settings.directory} directory cannot list locked accounts")
        seconds = interval or settings.lockout_poll_seconds
        with err.status(f"watching for lock-outs every {seconds:g} s (Ctrl+C stops)"):
            while True:
                for offer in poll_lockouts(runtime.engine, directory, seen):  # type: ignore[arg-type]
                    offers += 1
                    console.print(
                        f"offered {offer.employee_id} a verified unlock "
                        f"[dim](interaction {offer.interaction_id})[/dim]"
                    )
                polls += 1
                if once:
                    break
                time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    console.print(
        f"{_count(polls, 'poll')}, {_count(offers, 'unlock offer')}, "
        f"{_count(len(seen), 'lock-out')} in force"
    )


def _count(number: int, noun: str) -> str:
    """'1 poll', '2 polls'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


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
        _fail(str(error))
    with err.status("preparing the resolution engine for Ask IT (its models and enterprise)"):
        _runtime(settings).close()  # trains what is missing now, not on the first chat
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


def _clear_generated(settings: Settings) -> None:
    """Remove a data dir's events, enterprise state and the warehouse built from them (trained
    models stay cached)."""
    from pipelines.publish import published_files
    from resolver.outage import poll_lock_path

    shutil.rmtree(settings.events_dir, ignore_errors=True)
    shutil.rmtree(settings.work_warehouse_path.parent, ignore_errors=True)
    for path in published_files(settings.warehouse_path):
        path.unlink(missing_ok=True)
    settings.ops_path.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        settings.state_db.with_name(settings.state_db.name + suffix).unlink(missing_ok=True)
    poll_lock_path(settings.state_db).unlink(missing_ok=True)


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
    from resolver.events import event_files
    from resolver.simulation import run_simulation

    settings = get_settings()
    if (event_files(settings.events_dir) or settings.state_db.exists()) and not replace:
        _fail(
            f"{settings.data_dir} already holds events or an enterprise; add --replace to start "
            "over, or set UNTICKET_DATA_DIR to another folder"
        )
    try:
        first_day = date.fromisoformat(start) if start else date.today() - timedelta(days=days)
    except ValueError:
        _fail(f"--start {start!r} is not a date; use YYYY-MM-DD, e.g. 2026-08-01")
        return
    _clear_generated(settings)
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
            _fail(str(error))
            return
        progress.update(task, completed=days)
    _print_summary(summary, settings)


def _print_summary(summary: SimulationSummary, settings: Settings) -> None:
    table = Table(
        title=f"{summary.interactions:,} interactions over {summary.days} days from {summary.start}"
    )
    table.add_column("outcome")
    table.add_column("interactions", justify="right")
    table.add_column("share", justify="right")
    for outcome, count in summary.outcomes.items():
        label = outcome or "pending (still open)"
        table.add_row(label, f"{count:,}", f"{count / summary.interactions:.1%}")
    console.print(table)
    console.print(
        f"{summary.proactive_offers:,} unlocks offered before anyone asked (channel proactive), "
        f"{summary.resolved_before_asked:,} taken up and resolved."
    )
    console.print(
        f"{summary.messages:,} messages, {summary.tickets:,} tickets, "
        f"{summary.seconds:.1f} s ({summary.interactions_per_second:,.0f} interactions/s). "
        f"Events: {settings.events_dir}"
    )


def _print_load(summary: LoadSummary) -> None:
    """Print rows read / loaded / quarantined and why."""
    console.print(
        f"{summary.source}: {summary.rows_read:,} read, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined"
    )
    for reason, count in summary.reasons.items():
        console.print(f"  [yellow]quarantined[/yellow] {count:,} × {escape(reason)}")
    for note in summary.notes:
        console.print(f"  [dim]{escape(note)}[/dim]")


@app.command()
def ingest() -> None:
    """Load new events from the event log into the warehouse (incremental, idempotent).

    Example: unticket ingest
    """
    from pipelines.ingest import ingest_events
    from pipelines.warehouse import connect

    settings = get_settings()
    connection = connect(settings.work_warehouse_path)
    try:
        with err.status("ingesting events"):
            summary = ingest_events(settings.events_dir, connection)
    finally:
        connection.close()
    _print_load(summary)
    if summary.rows_quarantined:
        console.print(
            "[dim]Quarantined lines are in raw.event_quarantine with file, line and reason: "
            'unticket sql "select * from raw.event_quarantine"[/dim]'
        )


@app.command()
def build() -> None:
    """Build the warehouse (reference data from the catalogue, then `dbt build`, incremental
    when it can be) and publish it for readers. `unticket pipeline run nightly` also checks data
    quality before publishing.

    Example: unticket build
    """
    from pipelines.publish import PublishError, publish_ops, publish_warehouse
    from pipelines.transform import build_warehouse

    settings = get_settings()
    began = time.perf_counter()
    with err.status("building the warehouse (dbt build: models and tests)"):
        result = build_warehouse(settings)
    built = time.perf_counter()
    for warning in result.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(warning)}")
    for failure in result.failures:
        err.print(f"[red]failed[/red] {escape(failure)}")
    publish_ops(settings.work_warehouse_path, settings.ops_path)
    if not result.success:
        _fail("the build failed; fix the failures above and run `unticket build` again")
    kind = "full" if result.full_refresh else "incremental"
    console.print(f"Built {result.nodes} dbt nodes ({kind} build) in {built - began:.1f} s")
    try:
        with err.status("publishing"):
            published = publish_warehouse(settings.work_warehouse_path, settings.warehouse_path)
    except PublishError as error:
        _fail(f"{error}. The last published warehouse is still in place.")
    console.print(
        f"Published {published.path} ({published.sizes()}) in {time.perf_counter() - built:.1f} s"
    )


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
        _fail(f"the marts are not built ({error}); run `unticket build`")
        return
    finally:
        connection.close()
    _print_headline(figures)


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
        _fail("no warehouse yet: run `unticket ingest` and `unticket build`")
    return duckdb.connect(str(settings.warehouse_path), read_only=True, config=config or {})


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _print_headline(figures: Headline) -> None:
    table = Table(title="Headline KPIs (all time)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    rows = [
        ("Interactions", f"{figures.interactions:,}"),
        ("Support interactions (small talk excluded)", f"{figures.support_interactions:,}"),
        ("Deflection rate, strict (headline)", _percent(figures.strict_deflection_rate)),
        ("Auto-resolution rate", _percent(figures.auto_resolution_rate)),
        ("Escalation rate", _percent(figures.escalation_rate)),
        ("False-deflection rate (of resolved)", _percent(figures.false_deflection_rate)),
        ("Deflection rate, lenient (never a headline)", _percent(figures.lenient_deflection_rate)),
        ("Median time to resolution", f"{figures.median_minutes_to_resolution or 0:,.1f} min"),
        ("Employee hours saved", f"{figures.hours_saved:,.0f} h"),
        ("Cost saved", f"${figures.cost_saved_usd:,.0f}"),
        (
            "Share of tickets causing 80 % of lost time",
            _percent(figures.tickets_share_driving_80pct),
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
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
        _fail(f"{error}".splitlines()[0] + "; `unticket sql` reads the warehouse only")
        return
    except duckdb.Error as error:
        _fail(f"{error}".splitlines()[0])
        return
    finally:
        connection.close()
    table = Table(*columns)
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

    if file_format not in ("parquet", "csv"):
        _fail("--format must be parquet or csv")
    directory.mkdir(parents=True, exist_ok=True)
    connection = _open_built_warehouse()
    try:
        marts = [
            r[0]
            for r in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "order by 1"
            ).fetchall()
        ]
        for mart in marts:
            target = directory / f"{mart}.{file_format}"
            connection.execute(f"copy marts.{mart} to '{target}' (format {file_format})")
            console.print(f"wrote {target}")
    finally:
        connection.close()
    if not marts:
        _fail("no marts yet: run `unticket build`")


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
    import duckdb

    from pipelines.report import (
        PERIODS,
        DeliveryError,
        build_report,
        headline_rows,
        post_to_slack,
        report_summary,
        write_report,
    )

    if period not in PERIODS:
        _fail("--period must be week or month")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD, e.g. 2026-10-05")
        return
    settings = get_settings()
    connection = _open_built_warehouse()
    try:
        built = build_report(connection, period, day)
    except duckdb.Error as error:
        _fail(f"the marts are not built ({str(error).splitlines()[0]}); run `unticket build`")
        return
    finally:
        connection.close()
    directory = output or settings.reports_dir
    try:
        paths = write_report(built, directory)
    except OSError as error:
        _fail(f"could not write the report into {directory}: {error.strerror or error}")
        return
    table = Table(title=f"{built.label}, against {built.previous_label}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("change", justify="right")
    for row in headline_rows(built.kpis):
        table.add_row(*map(escape, row))
    console.print(table)
    for note in built.notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}")
    console.print(f"Data quality: {built.data_quality['message']}")
    console.print(f"Wrote {paths.html}\n  and {paths.json}")
    webhook = settings.report_slack_webhook_url
    if webhook is not None and webhook.get_secret_value():
        try:
            post_to_slack(report_summary(built, paths), webhook.get_secret_value())
        except DeliveryError as error:
            _fail(f"{error}. The report is written: {paths.html}")
            return
        console.print("Posted the summary to Slack.")


def _run_import(load: Callable[[duckdb.DuckDBPyConnection], LoadSummary]) -> None:
    """Run one import against the warehouse and print its summary, or a clear error."""
    from pipelines.importers.common import ImportFailed
    from pipelines.warehouse import connect

    settings = get_settings()
    connection = connect(settings.work_warehouse_path)
    try:
        with err.status("importing"):
            summary = load(connection)
    except ImportFailed as error:
        _fail(f"{error} (nothing was imported)")
        return
    finally:
        connection.close()
    _print_load(summary)
    if summary.rows_quarantined:
        console.print(
            '[dim]Quarantined rows: unticket sql "select * from raw.import_quarantine"[/dim]'
        )


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
        count = create_enterprise(settings, employees, seed)
    except ValueError as error:
        _fail(str(error))
        return
    console.print(f"Generated {count:,} employees into {settings.state_db}")


@approvals_app.command("list")
def approvals_list(user: As) -> None:
    """List the approvals waiting on you.

    Example: unticket approvals list --as E000042
    """
    runtime = _runtime()
    try:
        person = runtime.connectors.directory.find_person(user)
        if person is None:
            _fail(f"nobody called {user!r} in the directory")
            return
        for approval in runtime.connectors.approvals.pending_for(person.employee_id):
            console.print(
                f"{approval.approval_id}: {approval.requester_id} asks for "
                f"{approval.resource_type} {approval.resource_id}"
            )
    finally:
        runtime.close()


@approvals_app.command("decide")
def approvals_decide(
    approval_id: Annotated[str, typer.Argument(help="The approval, e.g. APR-1A2B3C4D.")],
    decision: Annotated[str, typer.Argument(help="approve or deny")],
    user: As,
) -> None:
    """Approve or deny an access request you were asked to decide.

    Example: unticket approvals decide APR-1A2B3C4D approve --as E000042
    """
    from resolver.engine import RequestError
    from resolver.identity import CLI

    mapping = {"approve": "approved", "deny": "denied"}
    if decision not in mapping:
        _fail("decision must be 'approve' or 'deny'")
    runtime = _runtime()
    try:
        result = runtime.engine.decide_approval(user, approval_id, mapping[decision], CLI)
        console.print(result.message)
    except RequestError as error:
        _fail(str(error))
    finally:
        runtime.close()


@tickets_app.command("list")
def tickets_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved tickets.")] = False,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
) -> None:
    """List tickets in the embedded queue, newest first.

    Example: unticket tickets list --open
    """
    runtime = _runtime()
    try:
        where = "where status not in ('resolved', 'closed')" if open_only else ""
        rows = runtime.store.query(
            "select ticket_id, status, priority, title from tickets "
            f"{where} order by seq desc limit ?",
            limit,
        )
        for row in rows:
            line = f"{row['ticket_id']} [{row['status']}] {row['priority']} {row['title']}"
            console.print(escape(line))
    finally:
        runtime.close()


@tickets_app.command("update")
def tickets_update(
    ticket_id: Annotated[str, typer.Argument(help="The ticket, e.g. INC0000042.")],
    status: Annotated[str, typer.Argument(help="new, in_progress, on_hold, resolved or closed")],
) -> None:
    """Move a ticket to a new status, as a service-desk agent would.

    Example: unticket tickets update INC0000042 resolved
    """
    from resolver.connectors.base import ConnectorError

    runtime = _runtime()
    try:
        runtime.engine.update_ticket(ticket_id, status)
        console.print(f"{ticket_id} is now {status}")
    except ConnectorError as error:
        _fail(str(error))
    finally:
        runtime.close()


FLOW_NAMES = (
    "nightly",
    "hourly",
    "ingest",
    "import",
    "validate",
    "transform",
    "train-and-score",
    "publish",
    "report",
    "weekly-report",
)


@pipeline_app.command("run")
def pipeline_run(
    flow: Annotated[str, typer.Argument(help="One of: " + ", ".join(FLOW_NAMES) + ".")],
) -> None:
    """Run one flow now, to completion (no Prefect server needed), and print its steps.

    Example: unticket pipeline run nightly
    """
    from pipelines.orchestration import configure_prefect, run_flow

    if flow not in FLOW_NAMES:
        _fail(f"unknown flow {flow!r}; choose one of: {', '.join(FLOW_NAMES)}")
    settings = get_settings()
    configure_prefect(settings)
    try:
        with err.status(f"running the {flow} flow (Prefect)"):
            run_id = run_flow(flow)
    except Exception as error:
        _print_run(settings, None)
        _fail(f"the {flow} run failed: {error}. The last good warehouse is still published.")
        return
    _print_run(settings, run_id)


def _print_run(settings: Settings, run_id: str | None) -> None:
    """Print the steps of a recorded run (the latest one when `run_id` is None)."""
    import duckdb

    if not settings.ops_path.exists():
        return
    with duckdb.connect(str(settings.ops_path), read_only=True) as connection:
        row = connection.execute(
            "select run_id, flow, status, duration_seconds, steps from pipeline_runs "
            "where run_id = coalesce(?, run_id) order by started_at desc limit 1",
            [run_id],
        ).fetchone()
    if row is None:
        return
    table = Table("step", "seconds", "summary", title=f"{row[1]} run {row[0][:8]}: {row[2]}")
    for step in json.loads(row[4]):
        table.add_row(step["step"], f"{step['seconds']:.1f}", escape(step["summary"]))
        for warning in step["warnings"]:
            table.add_row("", "", f"[yellow]warning[/yellow] {escape(warning)}")
    console.print(table)
    console.print(f"{row[2]} in {row[3]:.1f} s; runs are in ops.pipeline_runs")


@pipeline_app.command("serve")
def pipeline_serve(
    port: Annotated[int, typer.Option(help="Port of the local Prefect server.")] = 4200,
) -> None:
    """Serve the scheduled flows (hourly, nightly, weekly report) until stopped. Uses the
    Prefect server in PREFECT_API_URL, or starts a local one (UI at http://127.0.0.1:PORT).

    Example: unticket pipeline serve --port 4200
    """
    import os

    from pipelines.flows import SCHEDULES
    from pipelines.orchestration import configure_prefect, local_server, serve_schedules

    configure_prefect(get_settings())
    for schedule in SCHEDULES:
        console.print(f"{schedule.flow:>14}  {schedule.cron:<12} {schedule.description}")
    if os.environ.get("PREFECT_API_URL"):
        serve_schedules()
        return
    err.print("Starting a local Prefect server (about 20 s)…")
    with local_server(port) as api_url:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        os.environ["PREFECT_API_URL"] = api_url
        console.print(f"Prefect UI: {api_url.removesuffix('/api')}  (Ctrl+C stops)")
        with temporary_settings({PREFECT_API_URL: api_url}):  # Prefect read its settings already
            serve_schedules()


@models_train_app.command("categorizer")
def models_train_categorizer(
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
    import time

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
        _fail(f"{error}; name the right ones with --text-column and --label-column")
        return
    except CategorizerError as error:
        _fail(str(error))
        return
    _print_rows_used(len(data.texts), len(set(data.labels)), data.skipped)
    started = time.perf_counter()
    metrics: dict[str, float] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err) as progress:
        if folds:
            task = progress.add_task("cross-validating (folds)", total=folds)
            try:
                metrics = cross_validate(
                    data.texts,
                    data.labels,
                    folds,
                    seed,
                    on_fold=lambda n: progress.update(task, completed=n),
                )
            except CategorizerError as error:
                _fail(f"{error}; pass fewer --folds, or --folds 0 to skip cross-validation")
                return
        task = progress.add_task("training on every row", total=1)
        try:
            model = train_categorizer(data.texts, data.labels, seed)
        except CategorizerError as error:
            _fail(str(error))
            return
        progress.update(task, completed=1)
    model.info["metrics"].update(metrics)
    try:
        info_path = model.save(output)
    except CategorizerError as error:
        _fail(str(error))
        return
    except OSError as error:
        _fail(f"could not write {output}: {error.strerror or error}; choose another --output")
        return
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


@models_predict_app.command("categorizer")
def models_predict_categorizer(
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
    import time

    from models.categorizer import (
        Categorizer,
        CategorizerError,
        MissingColumnError,
        read_csv_rows,
        require_columns,
        write_csv_rows,
    )

    try:
        model = Categorizer.load(model_file)
        columns, rows = read_csv_rows(input_file)
        require_columns(columns, [text_column], input_file)
    except MissingColumnError as error:
        _fail(f"{error}; name the right one with --text-column")
        return
    except CategorizerError as error:
        _fail(str(error))
        return
    started = time.perf_counter()
    texts = [(row.get(text_column) or "").strip() for row in rows]
    chunk = 2000
    columns_shown = (TextColumn("categorising"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns_shown, TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task("rows", total=len(rows))
        for start in range(0, len(rows), chunk):
            part = range(start, min(start + chunk, len(rows)))
            wanted = [i for i in part if texts[i]]
            found = dict(zip(wanted, model.predict([texts[i] for i in wanted]), strict=True))
            for i in part:
                label, confidence = found.get(i, ("", 0.0))
                rows[i]["predicted_label"] = label
                rows[i]["confidence"] = f"{confidence:.4f}"
            progress.advance(task, len(part))
    extra = [name for name in ("predicted_label", "confidence") if name not in columns]
    try:
        write_csv_rows(output, columns + extra, rows)
    except OSError as error:
        _fail(f"could not write {output}: {error.strerror or error}; choose another --output")
        return
    seconds = time.perf_counter() - started
    blank = sum(1 for text in texts if not text)
    rate = len(rows) / seconds if seconds else 0.0
    console.print(
        f"Categorised {len(rows) - blank:,} rows ({blank:,} without text) in {seconds:,.1f} s "
        f"({rate:,.0f} rows/s) into {len(model.labels)} categories"
    )
    console.print(f"Wrote {output}")
