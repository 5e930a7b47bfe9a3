"""`unticket approvals`: the access requests waiting on an approver, and their decision."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from unticket.cli.common import As, console, fail, open_runtime

app = typer.Typer(help="Look at and decide access approvals.", no_args_is_help=True)

DECISIONS = {"approve": "approved", "deny": "denied"}


@app.command("list")
def approvals_list(user: As) -> None:
    """List the approvals waiting on you.

    Example: unticket approvals list --as E000042
    """
    runtime = open_runtime()
    try:
        person = runtime.connectors.directory.find_person(user)
        if person is None:
            fail(f"nobody called {user!r} in the directory")
        for approval in runtime.connectors.approvals.pending_for(person.employee_id):
            console.print(
                escape(
                    f"{approval.approval_id}: {approval.requester_id} asks for "
                    f"{approval.resource_type} {approval.resource_id}"
                )
            )
    finally:
        runtime.close()


@app.command("decide")
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

    if decision not in DECISIONS:
        fail("decision must be 'approve' or 'deny'")
    runtime = open_runtime()
    try:
        result = runtime.engine.decide_approval(user, approval_id, DECISIONS[decision], CLI)
        console.print(escape(result.message))
    except RequestError as error:
        fail(str(error))
    finally:
        runtime.close()
