"""What every command module shares: the consoles, the `--as` option, clear failures, the
engine's runtime, and recorded runs of the pipeline's steps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from pipelines.steps import PipelineRun
    from resolver.runtime import Runtime
    from settings import Settings

console = Console()
err = Console(stderr=True)

As = Annotated[str, typer.Option("--as", help="Who is asking: employee id, username or e-mail.")]


def fail(message: str) -> NoReturn:
    """Print `message` as an error (as text, never as markup) and exit with code 2."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=2)


def open_runtime(settings: Settings | None = None) -> Runtime:
    """The resolution engine and its connectors for `settings` (default: this process's), or
    exit with what is wrong in the configuration."""
    from resolver.connectors.configured import ConfigurationError
    from resolver.runtime import build_runtime
    from settings import get_settings

    try:
        return build_runtime(settings or get_settings())
    except ConfigurationError as error:
        fail(str(error))


def count(number: int, noun: str) -> str:
    """'1 poll', '2 polls'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@contextmanager
def recorded_command(
    command: str, settings: Settings, after_failure: str = ""
) -> Iterator[PipelineRun]:
    """Run a command's steps as the pipeline run `cli:<command>`: under the data dir's pipeline
    lock (waiting for a run in progress), recorded in `ops.pipeline_runs` whether it succeeds or
    fails. A step that fails ends the command (exit 2) with its message and `after_failure`."""
    from pipelines.publish import PublishError
    from pipelines.steps import StepError, recorded_run

    try:
        with ExitStack() as stack:
            with err.status("taking the data dir's pipeline lock (a run in progress ends first)"):
                run = stack.enter_context(recorded_run(f"cli:{command}", settings))
            yield run
    except (StepError, PublishError) as error:
        fail(f"{error}{after_failure}")
