"""The `unticket` command: a thin layer over the library, one module per command group.
Every command honours `UNTICKET_DATA_DIR`, so two data dirs never interfere; the commands that
load, build or report run the pipeline's own steps as recorded runs, like the flows.

| module | commands |
|---|---|
| `chat` | ask, chat, outbox, serve, watch-lockouts |
| `enterprise` | simulate, enterprise init |
| `warehouse` | ingest, build, import servicenow / xes / csv / roster |
| `analytics` | dashboard, kpis, sql, export, report |
| `evaluate` | eval understanding |
| `approvals`, `tickets`, `pipeline`, `models`, `apikey` | their group's commands |
"""

import typer

from unticket.cli import (
    analytics,
    apikey,
    approvals,
    chat,
    enterprise,
    evaluate,
    knowledge,
    models,
    pipeline,
    tickets,
    warehouse,
)

app = typer.Typer(
    help="Unticket: a system of resolution for IT support.\n\n"
    'Example: unticket ask "I forgot my password" --as E000100',
    no_args_is_help=True,
    add_completion=False,
)
for commands in (chat.app, enterprise.app, warehouse.app, analytics.app):
    app.add_typer(commands)
app.add_typer(approvals.app, name="approvals")
app.add_typer(tickets.app, name="tickets")
app.add_typer(enterprise.enterprise_app, name="enterprise")
app.add_typer(warehouse.import_app, name="import")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(models.app, name="models")
app.add_typer(apikey.app, name="apikey")
app.add_typer(evaluate.app, name="eval")
app.add_typer(knowledge.app, name="knowledge")
