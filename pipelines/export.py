"""Export the warehouse's marts as files for other tools."""

from __future__ import annotations

from pathlib import Path

import duckdb

FORMATS = ("parquet", "csv")


def _literal(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    """`text` as a quoted SQL identifier."""
    return '"' + text.replace('"', '""') + '"'


def export_marts(
    connection: duckdb.DuckDBPyConnection, directory: Path, file_format: str
) -> list[Path]:
    """Write every mart to `directory/<mart>.<file_format>` (parquet or csv); return the files
    written, in the marts' order (none when nothing is built yet)."""
    if file_format not in FORMATS:
        raise ValueError(f"file format must be one of {', '.join(FORMATS)}, not {file_format!r}")
    marts = connection.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
    ).fetchall()
    written = []
    for (mart,) in marts:
        target = directory / f"{mart}.{file_format}"
        source, path = _identifier(mart), _literal(str(target))
        connection.execute(f"copy marts.{source} to {path} (format {file_format})")
        written.append(target)
    return written
