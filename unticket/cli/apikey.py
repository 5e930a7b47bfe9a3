"""`unticket apikey`: create, list and revoke the HTTP API's keys for trusted integrations.

A key is printed once, when it is created, as the last word of the output (scripts can take it
with `| tail -1`); only its hash is kept. A new key works on a running server at once; a revoked
one is refused within a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from resolver.apikeys import ApiKeyError, ApiKeys
from resolver.identity import SCOPE_HELP, SCOPES
from settings import get_settings
from unticket.cli.common import console, err, fail

app = typer.Typer(
    help="API keys for integrations calling the HTTP API (scopes: "
    + "; ".join(f"{scope}: {text}" for scope, text in SCOPE_HELP.items())
    + ").",
    no_args_is_help=True,
)


def _keys() -> ApiKeys:
    """The data dir's key store."""
    return ApiKeys(get_settings().api_keys_db)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. intranet.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"A scope to grant (repeat for more): {', '.join(SCOPES)}."),
    ],
) -> None:
    """Create a key and print it once (only its hash is stored).

    Example: unticket apikey create --name intranet --scope messages:act_as
    """
    keys = _keys()
    try:
        key = keys.create(name, scope, datetime.now(UTC))
    except ApiKeyError as error:
        fail(str(error))
    finally:
        keys.close()
    scopes = escape(", ".join(sorted(set(scope))))
    err.print(
        f"Created API key [bold]{escape(name)}[/bold] ({scopes}). It is shown "
        "only now: keep it in the integration's secret store. Send it as "
        "'Authorization: Bearer <key>'."
    )
    print(key)


@app.command("list")
def list_keys() -> None:
    """List the keys: name, scopes, when created and revoked (never the keys themselves).

    Example: unticket apikey list
    """
    keys = _keys()
    try:
        found = keys.list()
    finally:
        keys.close()
    if not found:
        console.print("No API keys yet: `unticket apikey create --name NAME --scope SCOPE`.")
        return
    table = Table("name", "scopes", "created", "revoked")
    for key in found:
        table.add_row(
            escape(key.name),
            escape(" ".join(sorted(key.scopes))),
            f"{key.created_at:%Y-%m-%d %H:%M} UTC",
            f"{key.revoked_at:%Y-%m-%d %H:%M} UTC" if key.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: requests with it are refused within a second, also on a running server.

    Example: unticket apikey revoke intranet
    """
    keys = _keys()
    try:
        keys.revoke(name, datetime.now(UTC))
    except ApiKeyError as error:
        fail(str(error))
    finally:
        keys.close()
    console.print(f"Revoked API key {escape(name)}.")
