"""Run the CLI as `python -m unticket`."""

from unticket.cli import app

app()
