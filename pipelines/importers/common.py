"""What every ticket-history importer shares: reading an export, parsing its text in SQL,
quarantine, batch bookkeeping and the transactional replace of tickets.

Reading: polars reads the whole file (`.csv` or `.csv.gz`) with every column as text, and the
frame is registered in DuckDB as `export_rows`; all checks and parsing then run in SQL, so a
large export imports in seconds.

Missing values: surrounding spaces are trimmed; an empty value or `?` (ServiceNow's audit
export) is missing.

Times are stored as naive timestamps meaning UTC. A value with an explicit offset (ISO 8601 `Z`
or `+02:00`) is converted to UTC; a value without a zone — what most exports hold — is the
source's local time taken as-is, because the file does not say which zone that is.

Bookkeeping: an import of one file is one batch, `<source>-<first 16 hex digits of the file's
sha256>`, so importing the same file again is the same batch: its `raw.import_batches` row and
its `raw.import_quarantine` rows are replaced, and its tickets replace those with the same
(source, ticket_id). Everything runs in one transaction: on any error nothing is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse import LoadSummary, excerpt

EARLIEST, LATEST = "1970-01-01", "2200-01-01"
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}"
_ISO_OFFSET = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d.*(Z|[+-]\d{2}(:?\d{2})?)$"


class ImportFailed(Exception):  # noqa: N818 (the name the importers' callers use)
    """Nothing was imported (the warehouse is unchanged); the message says what to do next."""


@dataclass(frozen=True)
class Batch:
    """One import of one file into one source."""

    source: str
    path: Path
    sha256: str

    @property
    def batch_id(self) -> str:
        """The same file imported into the same source is always the same batch."""
        return f"{self.source}-{self.sha256[:16]}"


@dataclass(frozen=True)
class Export:
    """A CSV export read as text: the frame (the file's headers plus `source_row`, counting
    the header as row 1) and each header by its `column_key`."""

    path: Path
    frame: pl.DataFrame
    headers: dict[str, str]

    def column(self, *keys: str) -> str | None:
        """The file's header for the first of `keys` it has, or None."""
        return next((self.headers[key] for key in keys if key in self.headers), None)

    def describe_columns(self) -> str:
        """The file's headers, for error messages: how many and the first of them, escaped and
        cut short (the file could be anything)."""
        if not self.headers:
            return "no columns"
        listed = ", ".join(f"'{header}'" for header in self.headers.values())
        return f"{len(self.headers)} column(s): {excerpt(listed)}"


def open_batch(path: Path, source: str) -> Batch:
    """Check that `path` is a file and identify its batch by the sha256 of its bytes."""
    if not path.is_file():
        raise ImportFailed(f"{path} does not exist or is not a file: check the path and try again.")
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise ImportFailed(
            f"{path} could not be read ({error.strerror}): check its permissions."
        ) from error
    return Batch(source, path.resolve(), digest)


def column_key(header: str) -> str:
    """A header as a look-up key: lower case, every run of other characters as one `_`."""
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def read_export(path: Path) -> Export:
    """Read a `.csv` or `.csv.gz` export with every column as text (invalid UTF-8 replaced)."""
    try:
        frame = pl.read_csv(  # glob=False: a name like `*.csv` is that file, not a pattern
            path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True, glob=False
        )
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ImportFailed(
            f"{path} could not be read as CSV ({excerpt(str(error))}). Export it again as "
            "comma-separated CSV with a header row (optionally gzipped as .csv.gz)."
        ) from error
    headers: dict[str, str] = {}
    for header in frame.columns:
        headers.setdefault(column_key(header), header)
    return Export(path, frame.with_row_index("source_row", offset=2), headers)


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def text_sql(header: str | None) -> str:
    """SQL for a column's text: trimmed, empty and `?` as null; null when there is no column."""
    if header is None:
        return "null::varchar"
    return f"nullif(nullif(trim({sql_identifier(header)}), ''), '?')"


def timestamp_sql(text: str, formats: Sequence[str]) -> str:
    """SQL for a naive UTC timestamp from text: ISO 8601 (an offset is converted to UTC), else
    the first strptime format of `formats` that fits, else null."""
    listed = ", ".join(sql_literal(f) for f in formats)
    other = f"try_strptime({text}, [{listed}])" if formats else "null::timestamp"
    return f"""(case
        when regexp_matches({text}, '{_ISO_OFFSET}')
            then timezone('UTC', try_cast({text} as timestamptz))
        when regexp_matches({text}, '{_ISO_DATE}') then try_cast({text} as timestamp)
        else {other}
    end)"""


def integer_sql(text: str) -> str:
    """SQL for a whole number from text ("3" or "3.0"), else null."""
    number = f"try_cast({text} as double)"
    return f"(case when {number} = floor({number}) then try_cast({number} as integer) end)"


def number_sql(text: str) -> str:
    """SQL for a finite number from text, else null."""
    return f"(case when isfinite(try_cast({text} as double)) then try_cast({text} as double) end)"


def stage_export(
    connection: duckdb.DuckDBPyConnection,
    columns: Mapping[str, str | None],
    kinds: Mapping[str, str],
    date_formats: Sequence[str] = (),
) -> None:
    """Create temp table `staged` from `export_rows`: `source_row` and each field of `columns`
    (field: the file's header, or None) as cleaned text. A field named in `kinds` (a subset of
    `columns`; 'timestamp', 'integer' or 'number') holds its parsed value instead, with its text
    kept as `<field>_text`. A time outside EARLIEST..LATEST counts as unparseable: it is most
    likely a two-digit year read as a four-digit one."""
    parsers: dict[str, Callable[[str], str]] = {
        "timestamp": lambda text: timestamp_sql(text, date_formats),
        "integer": integer_sql,
        "number": number_sql,
    }
    selected = []
    for field, header in columns.items():
        if field in kinds:
            selected.append(f"{text_sql(header)} as {field}_text")
            selected.append(f"{parsers[kinds[field]](text_sql(header))} as {field}")
        else:
            selected.append(f"{text_sql(header)} as {field}")
    bounded = ", ".join(
        f"case when {field} >= '{EARLIEST}' and {field} < '{LATEST}' then {field} end as {field}"
        for field, kind in kinds.items()
        if kind == "timestamp"
    )
    connection.execute(
        f"""
        create or replace temp table staged as
        select * {f"replace ({bounded})" if bounded else ""}
        from (select source_row, {", ".join(selected)} from export_rows)
        """
    )


def reason_branches(
    required: Iterable[str], strict: Iterable[str], kinds: Mapping[str, str]
) -> str:
    """SQL `when` branches giving a row's quarantine reason: 'missing <field>' for each
    required field without a value, then 'unparseable <field>' for each strict parsed field
    whose text did not parse."""
    missing = [
        f"when {field}_text is null then 'missing {field}'"
        if field in kinds
        else f"when {field} is null then 'missing {field}'"
        for field in required
    ]
    unparseable = [
        f"when {field}_text is not null and {field} is null then 'unparseable {field}'"
        for field in strict
    ]
    return "\n".join(missing + unparseable)


def note_unparsed(
    connection: duckdb.DuckDBPyConnection,
    summary: LoadSummary,
    kinds: Mapping[str, str],
    strict: Iterable[str],
) -> None:
    """Add a note for each parsed field of `staged` that had values it could not parse."""
    for field in kinds:
        count, example = connection.execute(
            f"select count(*), any_value({field}_text) from staged "
            f"where {field}_text is not null and {field} is null"
        ).fetchone()
        if count:
            effect = "rows quarantined" if field in strict else "left empty"
            summary.notes.append(
                f"{field}: {count:,} value(s) could not be parsed ({effect}), "
                f"e.g. '{excerpt(example)}'"
            )


def quarantine(
    connection: duckdb.DuckDBPyConnection, batch: Batch, summary: LoadSummary, table: str
) -> None:
    """Replace the batch's quarantine rows with the rows of `table` that have a `reason`
    (with their row number and the original row as JSON) and count them by reason."""
    connection.execute("delete from raw.import_quarantine where import_batch = ?", [batch.batch_id])
    for reason, count in connection.execute(
        f"select reason, count(*) from {table} where reason is not null group by 1 order by 2 desc"
    ).fetchall():
        summary.count_reason(reason, count)
    connection.execute(
        f"""
        insert into raw.import_quarantine
        select ?, ?, ?, checked.source_row, checked.reason,
            json_merge_patch(to_json(export_rows), '{{"source_row": null}}')
        from {table} as checked
        inner join export_rows using (source_row)
        where checked.reason is not null
        order by checked.source_row
        """,
        [batch.batch_id, batch.source, str(batch.path)],
    )


def replace_tickets(
    connection: duckdb.DuckDBPyConnection,
    batch: Batch,
    tickets: str,
    activities: str | None = None,
) -> int:
    """Write the tickets of temp table `tickets` (raw.tickets columns by name, one row per
    ticket_id, without source and import_batch) over the source's tickets with the same
    ticket_id. Their old activities are removed and, when given, the rows of `activities`
    (raw.ticket_activities columns by name, without source) written. Returns tickets written."""
    _redact_free_text(connection, tickets)
    for table in ("raw.ticket_activities", "raw.tickets"):
        connection.execute(
            f"delete from {table} "
            f"where source = ? and ticket_id in (select ticket_id from {tickets})",
            [batch.source],
        )
    connection.execute(
        f"insert into raw.tickets by name select *, ? as source, ? as import_batch from {tickets}",
        [batch.source, batch.batch_id],
    )
    if activities is not None:
        connection.execute(
            f"insert into raw.ticket_activities by name select *, ? as source from {activities}",
            [batch.source],
        )
    return connection.execute(f"select count(*) from {tickets}").fetchone()[0]


def _redact_free_text(connection: duckdb.DuckDBPyConnection, tickets: str) -> None:
    """Redact secrets in the titles, descriptions and resolution notes of temp table
    `tickets`, as the engine does for chat: people paste passwords into tickets too, and
    history is a record as well."""
    from redaction import redact

    columns = {row[0] for row in connection.execute(f"describe {tickets}").fetchall()}
    free_text = [name for name in ("title", "description", "resolution_note") if name in columns]
    if not free_text:
        return
    if not connection.execute(
        "select 1 from duckdb_functions() where function_name = 'unticket_redact'"
    ).fetchone():
        connection.create_function("unticket_redact", redact, ["VARCHAR"], "VARCHAR")
    assignments = ", ".join(f"{name} = unticket_redact({name})" for name in free_text)
    connection.execute(f"update {tickets} set {assignments}")


def record_batch(connection: duckdb.DuckDBPyConnection, batch: Batch, summary: LoadSummary) -> None:
    """Write (or replace) the batch's row in `raw.import_batches`."""
    connection.execute(
        "insert or replace into raw.import_batches values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch.batch_id,
            batch.source,
            str(batch.path),
            batch.sha256,
            summary.rows_read,
            summary.rows_loaded,
            summary.rows_quarantined,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back if the block raises."""
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def run_import(
    connection: duckdb.DuckDBPyConnection,
    batch: Batch,
    rows: pl.DataFrame,
    load: Callable[[LoadSummary], None],
) -> LoadSummary:
    """Run `load` with `rows` (the source's rows as text, with `source_row`; for a CSV,
    `Export.frame`) registered as `export_rows`, and record the batch, all in one transaction;
    then drop the temp tables `load` made. `load` sets rows_loaded and quarantines; rows_read
    is the number of `rows`."""
    summary = LoadSummary(source=batch.source, rows_read=rows.height)
    connection.register("export_rows", rows)
    try:
        with transaction(connection):
            existing = _temp_tables(connection)
            load(summary)
            record_batch(connection, batch, summary)
            for name in _temp_tables(connection) - existing:
                connection.execute(f"drop table temp.{sql_identifier(name)}")
    finally:
        connection.unregister("export_rows")
    return summary


def _temp_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("select table_name from duckdb_tables() where temporary").fetchall()
    return {name for (name,) in rows}
