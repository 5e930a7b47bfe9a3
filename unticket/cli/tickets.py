"""`unticket tickets`: the embedded ticket queue, as the service desk sees it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from unticket.cli.common import console, fail, open_runtime

app = typer.Typer(help="The embedded ticket queue (the service desk's view).", no_args_is_help=True)


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
) -> None:
    """Move a ticket to a new status, as a service-desk agent would.

    Example: unticket tickets update INC0000042 resolved
    """
    from resolver.connectors.base import ConnectorError

    runtime = open_runtime()
    try:
        runtime.engine.update_ticket(ticket_id, status)
        console.print(f"{escape(ticket_id)} is now {escape(status)}")
    except ConnectorError as error:
        fail(str(error))
    finally:
        runtime.close()
