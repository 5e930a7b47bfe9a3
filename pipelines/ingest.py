"""Ingest the engine's event log into `raw.events`, incrementally and idempotently.

For each event file, only what was appended since the last run is read, and only up to its last
complete line: a batch the engine is still writing is left for the next run. A partial last line
in a file nobody has written to for `STALE_AFTER_SECONDS` (a writer killed mid-write) is
quarantined, and so is a line longer than `MAX_LINE_BYTES`, found without reading the file through
and never handed to DuckDB. A symbolic link (the file or its folder) or anything else that is not
a regular file is refused unread, with one quarantine row (line 0) saying why.

A batch of whole files goes straight from DuckDB's typed JSON reader into `raw.events`, every row
checked as it is read; a problem line, a value of the wrong type or a repeated id rolls that
back, and the batch takes the careful path: parsed into a temporary table, a file with any
problem re-read line by line, its malformed lines sent to `raw.event_quarantine` with the file,
line and reason while its good lines load. Each batch of files is one transaction that also
records how far each file was read, and rows are keyed by `event_id`, so a crash mid-run and a
re-run never duplicate or lose an event.

This module is one of the few DuckDB-specific places (`read_json`, `read_text`, JSON
functions), so the dbt models downstream stay portable SQL.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import duckdb

from pipelines.warehouse import EVENT_FIELDS, LoadSummary, excerpt
from resolver.events import EVENT_TYPES, SCHEMA_VERSION, event_files

STALE_AFTER_SECONDS = 600
BATCH_BYTES = 512 * 1024 * 1024  # JSON read per transaction; bounds memory whatever the backlog
MAX_LINE_BYTES = 1 << 20  # a longer line is quarantined unread (no event comes near it)
_TAIL_CHUNK = 1 << 16
_COPY_CHUNK = 1 << 20
_PROBE = 1 << 12


@dataclass(frozen=True)
class Segment:
    """The part of one event file that this run reads."""

    path: Path
    start_byte: int
    end_byte: int
    complete: bool  # False: the segment ends in a partial line of a stopped writer


def _after_last_newline(handle: BinaryIO, floor: int, position: int) -> int:
    """Byte offset just after the last newline between `floor` and `position` (else `floor`)."""
    while position > floor:
        start = max(floor, position - _TAIL_CHUNK)
        handle.seek(start)
        found = handle.read(position - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return floor


def _next_newline(handle: BinaryIO, position: int, end: int) -> int:
    """Byte offset of the first newline between `position` and `end` (else `end`)."""
    while position < end:
        handle.seek(position)
        found = handle.read(min(_COPY_CHUNK, end - position)).find(b"\n")
        if found >= 0:
            return position + found
        position += _COPY_CHUNK
    return end


def _chunks(handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The bytes from `start` to `end`, a chunk at a time (fewer if the file is shorter)."""
    handle.seek(start)
    while start < end:
        chunk = handle.read(min(_COPY_CHUNK, end - start))
        if not chunk:
            return
        start += len(chunk)
        yield chunk


def _count_newlines(handle: BinaryIO, start: int, end: int) -> int:
    """How many newlines the bytes from `start` to `end` hold."""
    return sum(chunk.count(b"\n") for chunk in _chunks(handle, start, end))


def _refusal(path: Path) -> str | None:
    """Why an event file is not read (None when it can be): a symbolic link, in place of the
    file or of its folder, is never followed, a path DuckDB would take for a pattern is not
    given to it, and only a regular file that opens is read."""
    if path.is_symlink() or path.parent.is_symlink():
        return "symbolic link refused"
    if any(char in str(path) for char in "*?["):  # DuckDB would read every file they match
        return "wildcard (*, ? or [) in the path refused"
    if not stat.S_ISREG(path.lstat().st_mode):
        return "not a regular file"
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC))
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    return None


def plan_segments(
    events_dir: Path, connection: duckdb.DuckDBPyConnection
) -> tuple[list[Segment], dict[str, str]]:
    """Decide what to read from each event file, from what earlier runs loaded; return the
    segments and the files refused unread, each with the reason."""
    loaded = dict(
        connection.execute("select source_file, bytes_loaded from raw.event_files").fetchall()
    )
    segments, refused = [], {}
    now = time.time()
    for path in event_files(events_dir):
        reason = _refusal(path)
        if reason is not None:
            refused[str(path)] = reason
            continue
        status = path.lstat()
        bytes_done = loaded.get(str(path), 0)
        if status.st_size <= bytes_done:
            continue
        with path.open("rb") as handle:
            end = _after_last_newline(handle, bytes_done, status.st_size)
        stale = now - status.st_mtime > STALE_AFTER_SECONDS
        if end < status.st_size and stale:
            segments.append(Segment(path, bytes_done, status.st_size, False))
        elif end > bytes_done:
            segments.append(Segment(path, bytes_done, end, True))
    return segments, refused


def _refuse(
    connection: duckdb.DuckDBPyConnection, refused: dict[str, str], summary: LoadSummary
) -> None:
    """Quarantine each refused file once, as line 0 without its content."""
    known = {
        row[0]
        for row in connection.execute(
            "select source_file from raw.event_quarantine where source_line = 0"
        ).fetchall()
    }
    for name, reason in refused.items():
        if name not in known:
            connection.execute(
                "insert into raw.event_quarantine values (?, 0, ?, null, now())", [name, reason]
            )
            summary.count_reason(reason)


def _has_newline(handle: BinaryIO, start: int, end: int) -> bool:
    """Whether the bytes from `start` to `end` hold a newline (a short probe usually tells)."""
    handle.seek(start)
    if b"\n" in handle.read(min(_PROBE, end - start)):
        return True
    return b"\n" in handle.read(max(0, end - start - _PROBE))


def _long_lines(segment: Segment, limit: int = MAX_LINE_BYTES) -> list[tuple[int, int]]:
    """The byte spans (newline excluded) of the segment's lines longer than `limit`.

    Any line that long covers a whole stretch of `limit // 2` bytes of the segment cut into
    such stretches, so only a stretch without a newline (most show one in their first bytes)
    is looked at further: the file is not read through."""
    spans = []
    step = limit // 2
    with segment.path.open("rb") as handle:
        position = segment.start_byte
        while position < segment.end_byte:
            stop = min(position + step, segment.end_byte)
            if _has_newline(handle, position, stop):
                position = stop
                continue
            start = _after_last_newline(handle, segment.start_byte, position)
            end = _next_newline(handle, stop, segment.end_byte)
            if end - start > limit:
                spans.append((start, end))
            position = end + 1
    return spans


def _first_line(segment: Segment) -> int:
    """The line number, in the whole file, of the segment's first line."""
    with segment.path.open("rb") as handle:
        return _count_newlines(handle, 0, segment.start_byte) + 1


def _is_whole_file(segment: Segment) -> bool:
    """Whether the segment is its whole file as it is now (from the first byte to the last)."""
    return segment.start_byte == 0 and segment.end_byte == segment.path.stat().st_size


def _segment_file(segment: Segment, scratch: Path, long_lines: list[tuple[int, int]]) -> Path:
    """The file DuckDB reads: the event file itself, or a copy of just the new bytes with each
    long line left empty (so the lines after it keep their numbers)."""
    if _is_whole_file(segment) and not long_lines:
        return segment.path
    copy = scratch / f"segment-{len(list(scratch.iterdir()))}.jsonl"
    with segment.path.open("rb") as source, copy.open("wb") as target:
        position = segment.start_byte
        for start, end in [*long_lines, (segment.end_byte, segment.end_byte)]:
            target.writelines(_chunks(source, position, start))
            position = end
    return copy


def _stage_long_lines(
    connection: duckdb.DuckDBPyConnection, segment: Segment, long_lines: list[tuple[int, int]]
) -> None:
    """Put the segment's long lines into `parsed` as problems: their number, size and first
    characters, nothing more."""
    rows = []
    with segment.path.open("rb") as handle:
        line, counted = _first_line(segment), segment.start_byte
        for start, end in long_lines:
            line += _count_newlines(handle, counted, start)
            counted = start
            handle.seek(start)
            shown = excerpt(handle.read(4 * 80).decode("utf-8", errors="replace"))
            reason = f"line of {end - start:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit"
            rows.append((str(segment.path), line, shown, reason))
    connection.executemany(
        "insert into parsed (source_file, source_line, raw_line, problem) values (?, ?, ?, ?)",
        rows,
    )


_TYPED_COLUMNS = {
    "event_id": "varchar",
    "schema_version": "integer",
    "event_type": "varchar",
    "occurred_at": "timestamp",
    "interaction_id": "varchar",
    "employee_id": "json",  # kept as JSON so that a number is caught, not turned into text
    "channel": "varchar",
    **EVENT_FIELDS,
}
_PARSED_COLUMNS = (
    "source_file varchar, source_line bigint, raw_line varchar, event_id varchar, "
    "schema_version integer, event_type varchar, occurred_at timestamp, interaction_id varchar, "
    "employee_id varchar, channel varchar, "
    + ", ".join(f"{name} {kind}" for name, kind in EVENT_FIELDS.items())
    + ", problem varchar"
)


def _shown(text_sql: str) -> str:
    """SQL for a value from an event line as a reason quotes it: control characters replaced,
    at most 80 characters."""
    return f"left(regexp_replace({text_sql}, '[[:cntrl:]]', '?', 'g'), 80)"


_EVENT_TYPE_TEXT = "coalesce(event_type, 'null')"


def _problem(checks_first: list[str]) -> str:
    """SQL for a row's problem (null when the row is good): `checks_first`, then the rules
    every event obeys, written over typed columns."""
    types = ", ".join(f"'{t}'" for t in sorted(EVENT_TYPES))
    rules = [
        *checks_first,
        "when event_id is null or event_id = '' then 'missing event_id'",
        "when schema_version is null then 'missing schema_version'",
        f"when schema_version <> {SCHEMA_VERSION} then 'unknown schema_version ' || schema_version",
        f"when event_type is null or event_type not in ({types}) "
        f"then 'unknown event_type ' || {_shown(_EVENT_TYPE_TEXT)}",
        "when occurred_at is null then 'occurred_at is not an ISO 8601 time: null'",
        # a broken clock's time; the models order events by microseconds x 1000 in 64 bits
        "when occurred_at < timestamp '2000-01-01' or occurred_at >= timestamp '2262-01-01' "
        "then 'occurred_at out of range (2000 to 2261): ' || occurred_at",
        "when (interaction_id is null or interaction_id = '') "
        "and event_type not in ('ticket_status_changed', 'article_approved', 'llm_called') "
        "then 'missing interaction_id'",
        "when channel is null or channel = '' then 'missing channel'",
    ]
    return "case " + " ".join(rules) + " end"


def _create_parsed(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create or replace temp table parsed ({_PARSED_COLUMNS})")


_READ_JSON = (
    "read_json($files, format = 'newline_delimited', filename = true, columns = {"
    + ", ".join(f"'{n}': '{k.upper()}'" for n, k in _TYPED_COLUMNS.items())
    + "})"
)
_EMPLOYEE_CHECK = (
    "when json_type(employee_id) not in ('VARCHAR', 'NULL') then 'employee_id is not a string'"
)


def _stage_fast(connection: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """Parse whole files with DuckDB's typed JSON reader into `parsed` (no line numbers).

    A value of the wrong type makes the reader fail: the caller then reads per file, and the
    failing file line by line."""
    connection.execute(
        "create or replace temp table file_names (readable varchar, original varchar)"
    )
    connection.executemany(
        "insert into file_names values (?, ?)",
        [(str(path), name) for name, path in files.items()],
    )
    connection.execute(
        f"""
        insert into parsed
        select
            file_names.original, null, null, event_id, schema_version, event_type, occurred_at,
            interaction_id, json_extract_string(employee_id, '$'), channel,
            {", ".join(EVENT_FIELDS)}, {_problem([_EMPLOYEE_CHECK])}
        from {_READ_JSON}
        inner join file_names on filename = file_names.readable
        """,
        {"files": [str(path) for path in files.values()]},
    )


def _stage_lines(connection: duckdb.DuckDBPyConnection, segment: Segment, readable: Path) -> None:
    """Parse one segment line by line into `parsed`, numbering lines as in the original file,
    with a reason for every line that is not valid JSON or has a value of the wrong type."""
    texts = ", ".join(f"json_extract_string(doc, '$.{name}') as {name}" for name in EVENT_FIELDS)
    typed = ", ".join(
        f"try_cast({name} as {kind}) as {name}" if kind != "varchar" else name
        for name, kind in EVENT_FIELDS.items()
    )
    type_checks = [
        "when not valid then 'not valid JSON'",
        "when json_type(doc) <> 'OBJECT' then 'not a JSON object'",
        "when json_type(doc, '$.employee_id') not in ('VARCHAR', 'NULL') "
        "then 'employee_id is not a string'",
        "when schema_text is not null and schema_version is null "
        f"then 'unknown schema_version ' || {_shown('schema_text')}",
        "when occurred_text is not null and occurred_at is null "
        f"then 'occurred_at is not an ISO 8601 time: ' || {_shown('occurred_text')}",
        *(
            f"when {name}_text is not null and {name} is null then '{name} is not a {kind}'"
            for name, kind in EVENT_FIELDS.items()
            if kind != "varchar"
        ),
    ]
    kept_texts = ", ".join(
        f"{name} as {name}_text" for name, kind in EVENT_FIELDS.items() if kind != "varchar"
    )
    connection.execute(
        f"""
        insert into parsed
        with lines as (
            select n + ? - 1 as source_line, line
            from (
                select unnest(lines) as line, generate_subscripts(lines, 1) as n
                from (select string_split(content, chr(10)) as lines from read_text(?))
            )
            where line <> ''
        ),
        checked as (
            select *, json_valid(line) as valid, case when json_valid(line) then line end as doc
            from lines
        ),
        texts as (
            select
                source_line, line, valid, doc,
                json_extract_string(doc, '$.event_id') as event_id,
                json_extract(doc, '$.schema_version')::varchar as schema_text,
                json_extract_string(doc, '$.event_type') as event_type,
                json_extract_string(doc, '$.occurred_at') as occurred_text,
                json_extract_string(doc, '$.interaction_id') as interaction_id,
                json_extract_string(doc, '$.employee_id') as employee_id,
                json_extract_string(doc, '$.channel') as channel,
                {texts}
            from checked
        ),
        typed as (
            select
                source_line, line, valid, doc, event_id, schema_text, event_type, occurred_text,
                interaction_id, employee_id, channel, {typed}, {kept_texts},
                try_cast(schema_text as integer) as schema_version,
                try_cast(occurred_text as timestamp) as occurred_at,
            from texts
        )
        select
            ?, source_line, left(line, 10000), event_id, schema_version, event_type, occurred_at,
            interaction_id, employee_id, channel, {", ".join(EVENT_FIELDS)},
            {_problem(type_checks)}
        from typed
        """,
        [_first_line(segment), str(readable), str(segment.path)],
    )


def _files_needing_lines(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Files read whole whose rows include a bad one: re-read them line by line for numbers."""
    rows = connection.execute(
        "select distinct source_file from parsed where problem is not null and source_line is null"
    ).fetchall()
    return {row[0] for row in rows}


def _stage_whole_files(connection: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> set[str]:
    """Read files whole, all at once or, if that fails, one by one; return those that failed."""
    try:
        _stage_fast(connection, files)
        return set()
    except duckdb.Error:
        connection.execute("delete from parsed")
    failed = set()
    for name, path in files.items():
        try:
            _stage_fast(connection, {name: path})
        except duckdb.Error:
            failed.add(name)
    return failed


def _stage(
    connection: duckdb.DuckDBPyConnection,
    segments: list[Segment],
    scratch: Path,
    long_lines: dict[str, list[tuple[int, int]]],
) -> None:
    """Decode every segment: whole files fast, and any file with a problem line by line."""
    _create_parsed(connection)
    readable = {
        str(s.path): _segment_file(s, scratch, long_lines.get(str(s.path), [])) for s in segments
    }
    by_name = {str(s.path): s for s in segments}
    slow: set[str] = {str(s.path) for s in segments if not s.complete} | set(long_lines)
    fast = {name: path for name, path in readable.items() if name not in slow}
    if fast:
        slow |= _stage_whole_files(connection, fast)
    slow |= _files_needing_lines(connection)
    if slow:
        connection.execute(
            "delete from parsed where source_file in (select unnest(?))", [sorted(slow)]
        )
        for name in sorted(slow):
            _stage_lines(connection, by_name[name], readable[name])
    for name, spans in long_lines.items():
        _stage_long_lines(connection, by_name[name], spans)


def _load(connection: duckdb.DuckDBPyConnection, summary: LoadSummary) -> None:
    read = connection.execute("select count(*) from parsed").fetchone()[0]
    summary.rows_read += read
    for reason, count in connection.execute(
        "select problem, count(*) from parsed where problem is not null group by 1 order by 2 desc"
    ).fetchall():
        summary.count_reason(reason, count)
    connection.execute(
        """
        insert or replace into raw.event_quarantine
        select source_file, source_line, problem, raw_line, now()
        from parsed where problem is not null
        """
    )
    repeats = connection.execute(
        "select count(*) - count(distinct event_id) from parsed"
    ).fetchone()
    # the first copy of an id wins; ranking rows costs, so only when the batch repeats an id
    first_copy_only = (
        "qualify row_number() over (partition by event_id order by source_file, source_line) = 1"
        if repeats[0]
        else ""
    )
    fields = ", ".join(EVENT_FIELDS)
    before = connection.execute("select count(*) from raw.events").fetchone()[0]
    connection.execute(
        f"""
        insert into raw.events by name
        select
            event_id, schema_version, event_type, occurred_at, interaction_id,
            employee_id, channel, {fields}, source_file, source_line, now() as loaded_at
        from parsed
        where problem is null
            and event_id not in (
                -- an event keeps its time, so only loaded events of the batch's time span can
                -- share an id with it: this keeps the check's cost to the batch, not the table
                select event_id from raw.events
                where occurred_at between
                    (select min(occurred_at) from parsed) and (select max(occurred_at) from parsed)
            )
        {first_copy_only}
        """
    )
    after = connection.execute("select count(*) from raw.events").fetchone()[0]
    summary.rows_loaded += after - before
    duplicates = summary.rows_read - summary.rows_quarantined - summary.rows_loaded
    if duplicates:
        summary.notes = [n for n in summary.notes if "already loaded" not in n]
        summary.notes.append(f"{duplicates:,} events were already loaded (same event_id)")


_INSERT_CHECKED = f"""
insert into raw.events by name
select
    event_id, schema_version, event_type, occurred_at, interaction_id,
    json_extract_string(employee_id, '$') as employee_id, channel, {", ".join(EVENT_FIELDS)},
    filename as source_file, cast($stamp as timestamp) as loaded_at
from {_READ_JSON}
where case when ({_problem([_EMPLOYEE_CHECK])}) is null then true
    else error('a problem line: the batch takes the careful path') end
"""
# The checks below find the transaction's rows by their loaded_at given as a value, not as
# now(): a value lets the scan skip every committed row group by its statistics.
_BATCH_SPAN = """
select count(*) - count(distinct hash(event_id)), min(occurred_at), max(occurred_at)
from raw.events where loaded_at = $stamp
"""
_LOADED_IN_SPAN = """
select count(*) from raw.events
where loaded_at <> $stamp and occurred_at between $first and $last
"""
_LOADED_AGAIN = """
select count(*) from raw.events as loaded
where loaded.loaded_at <> $stamp and loaded.occurred_at between $first and $last
    and loaded.event_id in (select event_id from raw.events where loaded_at = $stamp)
"""


def _repeats_in_transaction(connection: duckdb.DuckDBPyConnection, stamp: datetime) -> bool:
    """Whether the rows this transaction inserted (loaded_at = `stamp`) repeat an id among
    themselves (or two ids share a hash), or repeat a loaded event of their time span (see
    `_load`); the semi-join runs only when loaded events share the span."""
    repeats, first, last = connection.execute(_BATCH_SPAN, {"stamp": stamp}).fetchone()
    if repeats:
        return True
    span = {"stamp": stamp, "first": first, "last": last}
    if not connection.execute(_LOADED_IN_SPAN, span).fetchone()[0]:
        return False
    return connection.execute(_LOADED_AGAIN, span).fetchone()[0] > 0


def _load_clean_files(
    connection: duckdb.DuckDBPyConnection, batch: list[Segment], summary: LoadSummary
) -> bool:
    """The common case in one read: whole files of good events with ids not seen before go
    straight from the files into `raw.events`, checked as they are read. Any problem line,
    value of the wrong type or repeated id rolls the batch back and returns False, and the
    careful path (`_stage`, `_load`) reads it again, quarantining or skipping what it must."""
    if not all(s.complete and _is_whole_file(s) for s in batch):
        return False
    connection.execute("begin transaction")
    try:
        stamp = connection.execute("select cast(now() as timestamp)").fetchone()[0]
        paths = [str(s.path) for s in batch]
        inserted = connection.execute(_INSERT_CHECKED, {"files": paths, "stamp": stamp})
        loaded = inserted.fetchone()
        if _repeats_in_transaction(connection, stamp):
            connection.execute("rollback")
            return False
        _record_files(batch, connection)
        connection.execute("commit")
    except duckdb.Error:
        connection.execute("rollback")
        return False
    except BaseException:
        connection.execute("rollback")
        raise
    summary.rows_read += loaded[0]
    summary.rows_loaded += loaded[0]
    return True


def _record_files(segments: list[Segment], connection: duckdb.DuckDBPyConnection) -> None:
    connection.executemany(
        "insert or replace into raw.event_files values (?, ?, now())",
        [(str(segment.path), segment.end_byte) for segment in segments],
    )


def _batches(segments: list[Segment], max_bytes: int) -> list[list[Segment]]:
    """Group segments, in order, into batches of at most `max_bytes` (one segment at least)."""
    batches: list[list[Segment]] = [[]]
    size = 0
    for segment in segments:
        length = segment.end_byte - segment.start_byte
        if batches[-1] and size + length > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(segment)
        size += length
    return batches


def ingest_events(
    events_dir: Path,
    connection: duckdb.DuckDBPyConnection,
    on_file: Callable[[Path], None] | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> LoadSummary:
    """Load every new event into `raw.events`; return what happened.

    Files are loaded in batches of about `batch_bytes`, each in one transaction together with
    the record of how far each file was read: a crash loses at most the batch in flight, and
    the re-run starts from there, so nothing is duplicated or lost.
    """
    summary = LoadSummary(source="events")
    segments, refused = plan_segments(events_dir, connection)
    _refuse(connection, refused, summary)
    if not segments:
        summary.notes.append("no new events")
        return summary
    for batch in _batches(segments, batch_bytes):
        for segment in batch:
            if on_file:
                on_file(segment.path)
        long_lines = {str(s.path): spans for s in batch if (spans := _long_lines(s))}
        if not long_lines and _load_clean_files(connection, batch, summary):
            continue
        with tempfile.TemporaryDirectory(prefix="unticket-ingest-") as scratch:
            # temp tables only: raw is untouched
            _stage(connection, batch, Path(scratch), long_lines)
            connection.execute("begin transaction")
            try:
                _load(connection, summary)
                _record_files(batch, connection)
                connection.execute("commit")
            except BaseException:
                connection.execute("rollback")
                raise
    connection.execute("drop table if exists parsed; drop table if exists file_names")
    incomplete = sum(not s.complete for s in segments)
    if incomplete:
        summary.notes.append(f"{incomplete} file(s) ended in a partial line from a stopped writer")
    return summary
