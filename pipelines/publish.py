"""Publish the working warehouse for readers, whole and at once.

DuckDB lets one process write a database file and blocks that writer while any other process has
the file open, even read-only. So pipelines never write the file readers use: they write a
working copy (`settings.work_warehouse_path`) and publish it, reading it under a shared lock so
that no other process writes it meanwhile.

Two slot files beside the published one take turns (`.warehouse.duckdb.slot-a` and `-b`); the
published name is a hard link to one of them. Publishing brings the other slot up to date with
the working copy, flushes it to disk and moves the published name to it with an atomic rename:
a reader opening the warehouse gets either the old build or the new one, never a mix, and a
reader still holding the old file keeps reading it undisturbed.

A DuckDB file is a header followed by fixed-size blocks, each starting with a checksum of its
contents, and an incremental build changes a few percent of them. So a slot is brought up to
date by writing only the blocks whose checksum differs from the working copy's. That needs the
slot to be closed everywhere: DuckDB holds a shared lock on a file while any connection has it
open, so the slot is patched only under an exclusive lock, and only if this process does not
have it open either. Otherwise, and the first time, the slot becomes a fresh copy. A marker
file stands beside a slot while it is being patched, so a patch that was interrupted is never
trusted. The same publishing is done for `ops.duckdb`, the small file of run and quality records,
by writing it anew.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb

from pipelines.warehouse import connect

OPS_TABLES = ("pipeline_runs", "builds", "dq_results", "model_runs")
SLOTS = ("slot-a", "slot-b")
HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers
CHECKSUM_BYTES = 8  # the start of every block: the checksum of its contents
PUBLISHING_SUFFIXES = (".patching", ".copying", ".linking")


@dataclass(frozen=True)
class Published:
    """A published file: where, how big, how many bytes publishing wrote and how long it took."""

    path: Path
    bytes: int
    seconds: float
    written: int

    def sizes(self) -> str:
        """Its size and what publishing wrote, for people: `2,899 MB, 137 MB written`."""
        return f"{self.bytes / 1e6:,.0f} MB, {self.written / 1e6:,.0f} MB written"


class PublishError(RuntimeError):
    """The working warehouse could not be published; the published one is unchanged."""


def publish_warehouse(work: Path, published: Path) -> Published:
    """Checkpoint the working warehouse and publish its contents at `published`. The working
    copy is read under a shared lock, so no other process writes it meanwhile."""
    began = time.perf_counter()
    block_size = _checkpoint(work)
    with work.open("rb") as source, _one_publisher(published):
        if not _try_lock(source, fcntl.LOCK_SH):
            raise PublishError(_BEING_WRITTEN.format(work=work))
        slot = _free_slot(published)
        written = _refresh_slot(source, slot, block_size)
        _link_atomically(slot, published)
        size = published.stat().st_size
    return Published(published, size, time.perf_counter() - began, written)


_BEING_WRITTEN = (
    "{work} is being written by another process (an ingest, import or build); publish again "
    "when it has finished"
)


def _checkpoint(work: Path) -> int:
    """Write the working warehouse's log into its file; return its block size."""
    try:
        connection = connect(work)
    except duckdb.IOException as error:
        raise PublishError(_BEING_WRITTEN.format(work=work)) from error
    try:
        connection.execute("checkpoint")
        return connection.execute(
            "select block_size from pragma_database_size() where database_name = current_database()"
        ).fetchone()[0]
    finally:
        connection.close()


def published_files(published: Path) -> list[Path]:
    """The published file, its slots and the files publishing writes while it runs."""
    slots = _slots(published)
    leftovers = [
        path.with_name(path.name + suffix)
        for path in (published, *slots)
        for suffix in PUBLISHING_SUFFIXES
    ]
    return [published, *slots, *leftovers, _lock_file(published)]


def _lock_file(published: Path) -> Path:
    return published.with_name(f".{published.name}.lock")


@contextmanager
def _one_publisher(published: Path) -> Iterator[None]:
    """One publisher at a time per published file (a build from the command line and a pipeline
    run could finish together): the next one waits."""
    with _lock_file(published).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _slots(published: Path) -> list[Path]:
    return [published.with_name(f".{published.name}.{name}") for name in SLOTS]


def _identity(path: Path) -> tuple[int, int] | None:
    """The file a path names (device and inode), or None when there is none."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _free_slot(published: Path) -> Path:
    """The slot the published name does not point at: readers opening the warehouse now do
    not get it."""
    current = _identity(published)
    return next(slot for slot in _slots(published) if current is None or _identity(slot) != current)


def _refresh_slot(source: BinaryIO, slot: Path, block_size: int) -> int:
    """Make `slot` hold exactly the working copy open as `source`, on disk; return the bytes
    written. (The working copy is read only through `source`: closing any other descriptor
    of it would drop this process's lock on it.)"""
    marker = slot.with_name(slot.name + ".patching")
    if slot.exists() and not marker.exists() and not _open_in_this_process(slot):
        with slot.open("r+b") as handle:
            if _try_lock(handle, fcntl.LOCK_EX):
                marker.touch()
                _sync_directory(slot.parent)
                written = _patch(source, handle, block_size)
                if written is not None:
                    marker.unlink()
                    return written
    return _copy_fresh(source, slot, marker)


def _open_in_this_process(path: Path) -> bool:
    """Whether this process has the file open. Locks never conflict within one process, so the
    lock cannot tell; where the process's open files cannot be listed, assume it is open."""
    descriptors = Path("/proc/self/fd")
    if not descriptors.is_dir():
        return True
    identity = _identity(path)
    for descriptor in descriptors.iterdir():
        try:
            status = os.stat(descriptor)
        except OSError:
            continue
        if (status.st_dev, status.st_ino) == identity:
            return True
    return False


def _try_lock(handle: BinaryIO, kind: int) -> bool:
    """Lock the whole file, shared (`fcntl.LOCK_SH`) or exclusive (`fcntl.LOCK_EX`), without
    waiting; False when another process holds a lock that conflicts. DuckDB holds a shared
    lock on a file it reads and an exclusive one on a file it writes."""
    try:
        fcntl.lockf(handle, kind | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _patch(source: BinaryIO, handle: BinaryIO, block_size: int) -> int | None:
    """Write into the open slot the header and every block of `source` whose checksum
    differs, cut the slot to `source`'s size and flush it; return the bytes written, or None
    when `source` is not laid out in blocks of `block_size`."""
    reading, target = source.fileno(), handle.fileno()
    size = os.fstat(reading).st_size
    if size < HEADER_BYTES or (size - HEADER_BYTES) % block_size:
        return None
    written = 0
    for offset in range(HEADER_BYTES, size, block_size):
        if os.pread(reading, CHECKSUM_BYTES, offset) != os.pread(target, CHECKSUM_BYTES, offset):
            written += os.pwrite(target, os.pread(reading, block_size, offset), offset)
    written += os.pwrite(target, os.pread(reading, HEADER_BYTES, 0), 0)
    os.ftruncate(target, size)
    os.fsync(target)
    return written


def _copy_fresh(source: BinaryIO, slot: Path, marker: Path) -> int:
    """Replace `slot` by a new copy of `source`, flushed to disk (a reader of the old slot
    keeps its file); return the bytes written."""
    staging = slot.with_name(slot.name + ".copying")
    size = os.fstat(source.fileno()).st_size
    with staging.open("wb") as copy:
        offset = 0
        while offset < size:  # in the kernel, from the descriptor that holds the lock
            sent = os.sendfile(copy.fileno(), source.fileno(), offset, size - offset)
            if not sent:
                raise PublishError(f"{staging} came out short: the working copy shrank")
            offset += sent
        os.fsync(copy.fileno())
    os.replace(staging, slot)
    marker.unlink(missing_ok=True)
    _sync_directory(slot.parent)
    return size


def _link_atomically(slot: Path, published: Path) -> None:
    """Point the published name at `slot` in one rename."""
    link = published.with_name(published.name + ".linking")
    link.unlink(missing_ok=True)
    os.link(slot, link)
    os.replace(link, published)
    _sync_directory(published.parent)


def _sync_directory(directory: Path) -> None:
    """Flush a directory's entries (new names, renames) to disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish_ops(work: Path, ops_file: Path) -> Published:
    """Publish the working warehouse's `ops` tables (runs, builds, quality results) as a small
    database of their own (tables in its main schema; `attach ... as ops` to read them as
    ops.pipeline_runs), so a failed run is visible even though the warehouse was not published."""
    began = time.perf_counter()
    staging = ops_file.with_name(f"{ops_file.stem}-publishing.tmp")
    staging.unlink(missing_ok=True)
    connection = duckdb.connect(str(staging))
    try:
        connection.execute(f"attach '{work}' as work (read_only)")
        present = {
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'work' "
                "and schema_name = 'ops'"
            ).fetchall()
        }
        for table in OPS_TABLES:
            if table in present:
                connection.execute(f"create table main.{table} as select * from work.ops.{table}")
    finally:
        connection.close()
    os.replace(staging, ops_file)
    size = ops_file.stat().st_size
    return Published(ops_file, size, time.perf_counter() - began, size)


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a published file; it never blocks or breaks a pipeline."""
    return duckdb.connect(str(path), read_only=True)
