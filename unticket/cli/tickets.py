"""`unticket tickets`: the embedded ticket queue, as the service desk sees it, and the sync
that records the changes made in the ticketing system."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from unticket.cli.common import console, count, err, fail, open_runtime

app = typer.Typer(
    help="The ticket queue (the service desk's view) and its sync with the ticketing system.",
    no_args_is_help=True,
)


@app.command("list")
def tickets_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved tickets.")] = False,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
) -> None:
    """List tickets in the embedded queue, newest first.

    Example: unticket tickets list --open
    """
    from resolver.connectors.embedded import EmbeddedTicketing

    runtime = open_runtime()
    try:
        for ticket in EmbeddedTicketing(runtime.store).latest_tickets(limit, open_only):
            line = f"{ticket.ticket_id} [{ticket.status}] {ticket.priority} {ticket.title}"
            console.print(escape(line))
    finally:
        runtime.close()


@app.command("update")
def tickets_update(
    ticket_id: Annotated[str, typer.Argument(help="The ticket, e.g. INC0000042.")],
    status: Annotated[str, typer.Argument(help="new, in_progress, on_hold, resolved or closed")],
    note: Annotated[
        str | None,
        typer.Option(help="How it was fixed, as the agent writes it (resolved or closed only)."),
    ] = None,
    category: Annotated[
        str | None, typer.Option(help='The resolution category, e.g. "Access / Password".')
    ] = None,
    group: Annotated[
        str | None, typer.Option(help='The assignment group that fixed it, e.g. "Network".')
    ] = None,
) -> None:
    """Move a ticket to a new status, as a service-desk agent would; resolving or closing it
    may say how it was fixed (the note is redacted before it is logged).

    Example: unticket tickets update INC0000042 resolved --note "Reset pw in AD" --category
    "Access / Password" --group "Service Desk L1"
    """
    from resolver.connectors.base import ConnectorError, Resolution
    from resolver.turn import RequestError
    from vocabulary import FINISHED_TICKET_STATUSES

    described = note is not None or category is not None or group is not None
    if described and status not in FINISHED_TICKET_STATUSES:
        fail(
            f"--note, --category and --group say how a ticket was fixed: use them with "
            f"resolved or closed, not {status}"
        )
    resolution = Resolution(note or "", category, group) if described else None
    runtime = open_runtime()
    try:
        runtime.engine.update_ticket(ticket_id, status, resolution=resolution)
        console.print(f"{escape(ticket_id)} is now {escape(status)}")
    except (ConnectorError, RequestError) as error:
        fail(str(error))
    finally:
        runtime.close()


@app.command("sync")
def tickets_sync() -> None:
    """Record the ticket changes made in the ticketing system (embedded, ServiceNow or Jira)
    since the last sync: one ticket_status_changed event, with the resolution of a resolved
    or closed ticket, for each ticket whose status is not the one last recorded. Running it
    again records nothing twice; `unticket serve` runs it every UNTICKET_TICKET_SYNC_MINUTES.

    Example: unticket tickets sync
    """
    from resolver.connectors.base import ConnectorError

    runtime = open_runtime()
    try:
        with err.status("asking the ticketing system for the tickets changed since the last sync"):
            summary = runtime.engine.sync_tickets()
    except ConnectorError as error:
        fail(f"{error}. Nothing was recorded; run `unticket tickets sync` again once it answers.")
    finally:
        runtime.close()
    changes = ", ".join(f"{status} {n:,}" for status, n in sorted(summary.recorded.items()))
    console.print(
        f"{count(summary.tickets_checked, 'ticket')} changed since "
        f"{summary.since:%Y-%m-%d %H:%M} UTC; "
        f"{count(summary.changes, 'status change')} recorded" + (f" ({changes})" if changes else "")
    )
