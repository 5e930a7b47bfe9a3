"""`unticket pipeline`: run a Prefect flow once, or serve the flows on their schedules."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from settings import Settings, get_settings
from unticket.cli.common import console, err, fail

app = typer.Typer(
    help="Run the Prefect pipelines once, or serve them on their schedules.", no_args_is_help=True
)

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


@app.command("run")
def pipeline_run(
    flow: Annotated[str, typer.Argument(help="One of: " + ", ".join(FLOW_NAMES) + ".")],
) -> None:
    """Run one flow now, to completion (no Prefect server needed), and print its steps.

    Example: unticket pipeline run nightly
    """
    from pipelines.orchestration import configure_prefect, run_flow

    if flow not in FLOW_NAMES:
        fail(f"unknown flow {flow!r}; choose one of: {', '.join(FLOW_NAMES)}")
    settings = get_settings()
    configure_prefect(settings)
    try:
        with err.status(f"running the {flow} flow (Prefect)"):
            run_id = run_flow(flow)
    except Exception as error:
        _print_run(settings, None)
        fail(f"the {flow} run failed: {error}. The last good warehouse is still published.")
    _print_run(settings, run_id)


def _print_run(settings: Settings, run_id: str | None) -> None:
    """Print the steps of a recorded run (the latest one when `run_id` is None)."""
    from pipelines.steps import read_run

    run = read_run(settings.ops_path, run_id)
    if run is None:
        return
    table = Table(
        "step", "seconds", "summary", title=f"{run.flow} run {run.run_id[:8]}: {run.status}"
    )
    for step in run.steps:
        table.add_row(step["step"], f"{step['seconds']:.1f}", escape(step["summary"]))
        for warning in step["warnings"]:
            table.add_row("", "", f"[yellow]warning[/yellow] {escape(warning)}")
    console.print(table)
    seconds = "" if run.duration_seconds is None else f" in {run.duration_seconds:.1f} s"
    console.print(f"{run.status}{seconds}; runs are in ops.pipeline_runs")


@app.command("serve")
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
