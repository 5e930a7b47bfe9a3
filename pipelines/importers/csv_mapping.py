"""Import any tool's ticket export (Jira Service Management, Zendesk, Freshservice, ...) into
`raw.tickets` through a YAML column mapping; `data/mappings/jsm.yml` is the worked example.

The mapping names the source, the export's column for each raw.tickets field (a header, or a
list of headers of which the first present is used; matched case-insensitively), the strptime
formats of its dates (ISO 8601 is always accepted; times without a zone are stored as they are,
see `common`) and optional value maps for text fields such as priority and state (matched
case-insensitively; values not in the map are kept as they are):

    source: jsm
    columns: {ticket_id: Issue key, opened_at: Created, priority: Priority, ...}
    date_formats: ["%d/%b/%y %I:%M %p"]
    values: {priority: {Highest: "1 - Critical", ...}}

`ticket_id` and `opened_at` are required: a file without their columns fails, and a row
without their values (or a repeated ticket_id) is quarantined. How a ticket was fixed may be
mapped too: `resolution_note` (the resolution comment or close notes, redacted like titles and
descriptions), `resolution_category` (e.g. JSM's Resolution) and `assignment_group`. A mapped
column the file lacks leaves its field empty, with a note; other values that do not parse are
left empty and noted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.importers.common import (
    Batch,
    Export,
    ImportFailed,
    column_key,
    note_unparsed,
    open_batch,
    quarantine,
    read_export,
    reason_branches,
    replace_tickets,
    run_import,
    sql_literal,
    stage_export,
)
from pipelines.warehouse import LoadSummary, excerpt

TicketField = Literal[
    "ticket_id",
    "opened_at",
    "resolved_at",
    "closed_at",
    "state",
    "priority",
    "initial_priority",
    "category",
    "initial_category",
    "subcategory",
    "impact",
    "urgency",
    "assignment_group",
    "assignee",
    "requester",
    "location",
    "title",
    "description",
    "reassignments",
    "reopens",
    "resolution_note",
    "resolution_category",
]
KINDS = {
    "opened_at": "timestamp",
    "resolved_at": "timestamp",
    "closed_at": "timestamp",
    "reassignments": "integer",
    "reopens": "integer",
}
REQUIRED = ("ticket_id", "opened_at")


class ColumnMapping(BaseModel):
    """How one tool's CSV export maps onto raw.tickets (read from YAML)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    columns: dict[TicketField, str | list[str]]
    date_formats: list[str] = Field(default_factory=list)
    values: dict[TicketField, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_fields(self) -> ColumnMapping:
        missing = [field for field in REQUIRED if field not in self.columns]
        if missing:
            raise ValueError(f"columns must name the export's column for {', '.join(missing)}")
        not_text = sorted(set(self.values) & set(KINDS))
        if not_text:
            raise ValueError(f"values can only map text fields, not {', '.join(not_text)}")
        return self

    def headers(self, field: str) -> list[str]:
        """The headers a field may come from, in order of preference."""
        headers = self.columns[field]
        return [headers] if isinstance(headers, str) else headers


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong with a YAML file and where, without quoting its lines (YAML's own message
    shows them)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{excerpt(str(error.problem))} at line {mark.line + 1}, column {mark.column + 1}"
    return type(error).__name__


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a mapping file; raise ImportFailed saying what to fix."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ColumnMapping.model_validate(document)
    except OSError as error:
        raise ImportFailed(
            f"The mapping {path} could not be read ({error.strerror}): check the path."
        ) from error
    except UnicodeDecodeError as error:
        raise ImportFailed(f"The mapping {path} is not UTF-8 text: save it as UTF-8.") from error
    except yaml.YAMLError as error:
        raise ImportFailed(
            f"The mapping {path} is not valid YAML ({_yaml_problem(error)})"
        ) from error
    except ValidationError as error:
        problems = "; ".join(
            f"{excerpt('.'.join(str(part) for part in e['loc'])) or 'mapping'}: {e['msg']}"
            for e in error.errors()
        )
        raise ImportFailed(
            f"The mapping {path} needs fixing: {problems}. It needs `source`, `columns` (with "
            f"ticket_id and opened_at; fields: {', '.join(get_args(TicketField))}), and "
            "optionally `date_formats` and `values`."
        ) from error


def _headers(mapping: ColumnMapping, export: Export, mapping_path: Path) -> dict[str, str | None]:
    """Each mapped field's header in the file; fail when a required one is missing."""
    headers = {
        field: export.column(*(column_key(h) for h in mapping.headers(field)))
        for field in mapping.columns
    }
    missing = [field for field in REQUIRED if headers[field] is None]
    if missing:
        wanted = "; ".join(f"{field}: {excerpt(str(mapping.headers(field)))}" for field in missing)
        raise ImportFailed(
            f"{export.path} does not have the columns the mapping {mapping_path} requires "
            f"({wanted}). Found: {export.describe_columns()}. Export those columns, or fix "
            "`columns:` in the mapping."
        )
    return headers


def _mapped_sql(field: str, values: dict[str, str]) -> str:
    """SQL for a text field with its value map applied (case-insensitive)."""
    if not values:
        return field
    branches = " ".join(
        f"when {sql_literal(source.strip().lower())} then {sql_literal(target)}"
        for source, target in values.items()
    )
    return f"case lower({field}) {branches} else {field} end as {field}"


def _load(
    connection: duckdb.DuckDBPyConnection,
    batch: Batch,
    mapping: ColumnMapping,
    headers: dict[str, str | None],
    summary: LoadSummary,
) -> None:
    summary.notes.extend(
        f"{field}: the file has no column {mapping.headers(field)}, left empty"
        for field, header in headers.items()
        if header is None
    )
    kinds = {field: kind for field, kind in KINDS.items() if field in headers}
    stage_export(connection, headers, kinds, mapping.date_formats)
    connection.execute(
        f"""
        create or replace temp table checked as
        select *, case
            {reason_branches(REQUIRED, ["opened_at"], kinds)}
            when row_number() over (partition by ticket_id order by opened_at is null, source_row)
                > 1 then 'duplicate ticket_id'
        end as reason
        from staged
        """
    )
    note_unparsed(connection, summary, kinds, REQUIRED)
    quarantine(connection, batch, summary, "checked")
    fields = ", ".join(_mapped_sql(field, mapping.values.get(field, {})) for field in headers)
    connection.execute(
        f"create or replace temp table import_tickets as "
        f"select {fields} from checked where reason is null"
    )
    summary.rows_loaded = replace_tickets(connection, batch, "import_tickets")


def import_csv(
    path: Path, mapping_path: Path, connection: duckdb.DuckDBPyConnection
) -> LoadSummary:
    """Import a ticket export (`.csv` or `.csv.gz`) through a YAML mapping in one transaction;
    raise ImportFailed, leaving the warehouse unchanged, if the file or mapping is unusable."""
    mapping = load_mapping(mapping_path)
    batch = open_batch(path, mapping.source)
    export = read_export(path)
    headers = _headers(mapping, export, mapping_path)
    return run_import(
        connection,
        batch,
        export.frame,
        lambda summary: _load(connection, batch, mapping, headers, summary),
    )
