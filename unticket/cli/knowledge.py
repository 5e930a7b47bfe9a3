"""`unticket knowledge drafts`: review the knowledge articles drafted from resolved escalations
(the same functions as the dashboards' Topics page, `learning.drafts`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from unticket.cli.common import console, fail

if TYPE_CHECKING:
    import sqlite3

app = typer.Typer(help="The knowledge the engine answers from.", no_args_is_help=True)
drafts_app = typer.Typer(
    help="Review article drafts: list, show, approve or reject them.\n\n"
    "Example: unticket knowledge drafts approve 2986 --as alice@example.com",
    no_args_is_help=True,
)
app.add_typer(drafts_app, name="drafts")

DraftId = Annotated[str, typer.Argument(help="The draft's id, or its first 4+ characters.")]
Reviewer = Annotated[str, typer.Option("--as", help="Who decides (recorded with the decision).")]


@contextmanager
def _drafts_store() -> Iterator[sqlite3.Connection]:
    """The data dir's learning store; a draft error ends the command with its message."""
    from learning.drafts import DraftError, open_drafts
    from settings import get_settings

    store = open_drafts(get_settings().data_dir)
    try:
        yield store
    except DraftError as error:
        fail(str(error))
    finally:
        store.close()


def _intents() -> list[str]:
    from catalogue import cached_catalogue
    from learning.drafts import draft_intents
    from settings import get_settings

    return draft_intents(cached_catalogue(get_settings().catalogue_dir))


@drafts_app.command("list")
def drafts_list(
    status: Annotated[str, typer.Option(help="pending, approved, rejected, or all.")] = "pending",
) -> None:
    """List the drafts with a status, the most tickets first.

    Example: unticket knowledge drafts list --status all
    """
    from learning.drafts import list_drafts

    with _drafts_store() as store:
        drafts = list_drafts(store, None if status == "all" else status)
    if not drafts:
        console.print(
            f"No {'' if status == 'all' else status + ' '}drafts. The nightly pipeline drafts "
            "articles from escalations resolved with a note: `unticket pipeline run nightly`."
        )
    for draft in drafts:
        decided = f" by {draft.decided_by} at {draft.decided_at}" if draft.decided_by else ""
        console.print(
            escape(
                f"{draft.draft_id}  {draft.status}{decided}  {draft.intent}  "
                f"{len(draft.ticket_ids)} tickets  {draft.title}"
            )
        )
    console.print(f"{len(drafts)} drafts")


@drafts_app.command("show")
def drafts_show(draft_id: DraftId) -> None:
    """Show one draft as markdown, with the tickets it came from.

    Example: unticket knowledge drafts show 2986
    """
    from learning.drafts import draft_markdown, get_draft

    with _drafts_store() as store:
        draft = get_draft(store, draft_id)
    console.print(escape(f"draft {draft.draft_id} ({draft.status})"), highlight=False)
    console.print(escape(draft_markdown(draft)), highlight=False)
    console.print(escape(f"Tickets: {', '.join(draft.ticket_ids)}"), highlight=False)


@drafts_app.command("approve")
def drafts_approve(draft_id: DraftId, reviewer: Reviewer) -> None:
    """Approve a pending draft: it becomes a knowledge article the engine answers with (a
    running `unticket serve` picks it up within a minute).

    Example: unticket knowledge drafts approve 2986 --as alice@example.com
    """
    from learning.drafts import approval_log, approve_draft
    from settings import get_settings

    with _drafts_store() as store, closing(approval_log(get_settings())) as log:
        article = approve_draft(store, draft_id, reviewer, _intents(), datetime.now(UTC), log=log)
    console.print(escape(f"approved: article {article.id} ({article.title})"))


@drafts_app.command("reject")
def drafts_reject(draft_id: DraftId, reviewer: Reviewer) -> None:
    """Reject a pending draft; it is never proposed again.

    Example: unticket knowledge drafts reject 2986 --as alice@example.com
    """
    from learning.drafts import reject_draft

    with _drafts_store() as store:
        draft = reject_draft(store, draft_id, reviewer, datetime.now(UTC))
    console.print(escape(f"rejected: draft {draft.draft_id} ({draft.title})"))
