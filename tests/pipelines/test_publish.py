"""Publishing: readers get exactly the working copy, at once, and keep the build they opened."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import PublishError, publish_warehouse, published_files
from pipelines.warehouse import connect
from tests.conftest import OtherProcess

WRITER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("insert into main.numbers values (-1, 'half-written')")
print("writing", flush=True)
sys.stdin.readline()
"""
READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
for line in sys.stdin:
    print(connection.execute("select count(*) from main.numbers").fetchone()[0], flush=True)
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def change(work: Path, step: int) -> None:
    """What a build does to the file: a first load, then new rows appended, a few recent rows
    deleted and a small table replaced."""
    connection = connect(work)
    connection.execute("create table if not exists main.numbers (n bigint, label varchar)")
    first, count = (0, 1_000_000) if step == 0 else (1_000_000 + step * 20_000, 20_000)
    connection.execute(
        "insert into main.numbers select range, md5(range::varchar) from range(?, ?)",
        [first, first + count],
    )
    connection.execute("delete from main.numbers where n % 1009 = 0 and n >= ?", [first - 50_000])
    connection.execute(
        "create or replace table main.summary as select n % 13 as bucket, count(*) as n "
        "from main.numbers group by 1"
    )
    connection.close()


def rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select count(*) from main.numbers").fetchone()[0]


def refuses_while_written(work: Path, published: Path) -> None:
    """Publishing fails while another process has the working copy open for writing."""
    with OtherProcess(WRITER, str(work)) as writer:
        assert writer.readline() == "writing"
        with pytest.raises(PublishError, match="being written by another process"):
            publish_warehouse(work, published)


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "work" / "warehouse.duckdb", tmp_path / "warehouse.duckdb"


def test_every_publish_holds_exactly_the_working_copy(paths: tuple[Path, Path]) -> None:
    work, published = paths
    written = []
    for step in range(5):
        change(work, step)
        result = publish_warehouse(work, published)
        assert digest(published) == digest(work)
        assert published.stat().st_nlink == 2  # the published name and one slot
        written.append(result.written)
    # the first two publishes fill the slots; later ones write only the changed blocks
    assert all(later < result.bytes / 4 for later in written[2:])


def test_a_reader_keeps_the_build_it_opened(paths: tuple[Path, Path]) -> None:
    work, published = paths
    change(work, 0)
    publish_warehouse(work, published)
    with OtherProcess(READER, str(published)) as reader:
        first = int(reader.ask("count"))
        for step in (1, 2):  # the second publish comes back to the slot the reader has open
            change(work, step)
            result = publish_warehouse(work, published)
        assert result.written == result.bytes  # so it made a fresh copy instead of patching
        assert int(reader.ask("count")) == first
    assert digest(published) == digest(work) and rows(published) > first


def test_a_connection_of_this_process_is_respected_too(paths: tuple[Path, Path]) -> None:
    work, published = paths
    change(work, 0)
    publish_warehouse(work, published)
    with duckdb.connect(str(published), read_only=True) as reader:
        first = reader.execute("select count(*) from main.numbers").fetchone()[0]
        for step in (1, 2):
            change(work, step)
            result = publish_warehouse(work, published)
        assert result.written == result.bytes
        assert reader.execute("select count(*) from main.numbers").fetchone()[0] == first
    assert digest(published) == digest(work)


def test_an_interrupted_patch_is_never_trusted(paths: tuple[Path, Path]) -> None:
    work, published = paths
    for step in (0, 1):
        change(work, step)
        publish_warehouse(work, published)
    free_slot = next(
        path
        for path in published_files(published)[1:3]
        if path.stat().st_ino != published.stat().st_ino
    )
    with free_slot.open("r+b") as handle:  # a patch cut short: a block half written
        handle.seek(3 * 4096 + 100)
        handle.write(b"torn" * 1000)
    free_slot.with_name(free_slot.name + ".patching").touch()
    change(work, 2)
    result = publish_warehouse(work, published)
    assert result.written == result.bytes
    assert digest(published) == digest(work)
    assert not free_slot.with_name(free_slot.name + ".patching").exists()


def test_a_working_copy_being_written_is_not_published(paths: tuple[Path, Path]) -> None:
    work, published = paths
    change(work, 0)
    publish_warehouse(work, published)
    before = digest(published)
    refuses_while_written(work, published)
    assert digest(published) == before
    publish_warehouse(work, published)  # once the writer is done
    assert rows(published) == rows(work)


def test_the_lock_on_the_working_copy_conflicts_with_a_duckdb_writer(
    paths: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a writer that opens the working copy just after publishing checkpointed it
    work, published = paths
    change(work, 0)
    monkeypatch.setattr("pipelines.publish._checkpoint", lambda _: 262_144)
    refuses_while_written(work, published)
    assert not published.exists()
