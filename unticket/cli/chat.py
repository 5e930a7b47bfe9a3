"""Talking to the engine (`ask`, `chat`, `outbox`) and running it (`serve`, `watch-lockouts`)."""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape

from markup.markdown import plain_text
from settings import get_settings
from unticket.cli.common import As, console, count, err, fail, open_runtime

app = typer.Typer()


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

    runtime = open_runtime()
    try:
        reply = runtime.engine.handle(InboundMessage(user, text, channel, credential=CLI))
    except RequestError as error:
        fail(str(error))
    finally:
        runtime.close()
    if as_json:
        console.print_json(json.dumps(asdict(reply)))
        return
    console.print(escape(plain_text(reply.reply)))
    details = f"intent={reply.intent} confidence={reply.confidence} outcome={reply.outcome}"
    if reply.ticket_id:
        details += f" ticket={reply.ticket_id}"
    console.print(f"[dim]{escape(details)} interaction={reply.interaction_id}[/dim]")


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

    runtime = open_runtime()
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
            console.print(f"[bold cyan]unticket>[/bold cyan] {escape(plain_text(reply.reply))}")
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

    runtime = open_runtime()
    try:
        notifier = runtime.connectors.notifier
        if not isinstance(notifier, EmbeddedNotifier):
            fail("messages go out by e-mail or SMS here; the outbox is the demo enterprise's")
        person = runtime.connectors.directory.find_person(user)
        if person is None:
            fail(f"nobody called {user!r} in the directory; try an id such as E000100")
        for message in notifier.messages_for(person.employee_id)[-last:]:
            console.print(
                f"[dim]{escape(str(message['created_at']))}[/dim] "
                f"[bold]{escape(message['subject'])}[/bold]: "
                f"{escape(plain_text(message['body']))}"
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
    runtime = open_runtime(settings)
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
    runtime = open_runtime(settings)
    directory = runtime.connectors.directory
    seen: set[Lockout] = set()
    polls = offers = 0
    try:
        if not isinstance(directory, LockoutSource):
            fail(f"the {settings.directory} directory cannot list locked accounts")
        seconds = interval or settings.lockout_poll_seconds
        with err.status(f"watching for lock-outs every {seconds:g} s (Ctrl+C stops)"):
            while True:
                for offer in poll_lockouts(runtime.engine, directory, seen):  # type: ignore[arg-type]
                    offers += 1
                    console.print(
                        f"offered {escape(offer.employee_id)} a verified unlock "
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
        f"{count(polls, 'poll')}, {count(offers, 'unlock offer')}, "
        f"{count(len(seen), 'lock-out')} in force"
    )
