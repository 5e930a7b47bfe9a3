"""What a data dir holds beyond the shipped catalogue, and how to start it over.

Generated files: the event log, the embedded enterprise's state, the working and published
warehouses and the ops file. Trained models are generated too but kept: they are a cache.
"""

from __future__ import annotations

import shutil

from pipelines.publish import published_files
from pipelines.steps import lock_path, pipeline_lock
from resolver.events import event_files
from resolver.outage import poll_lock_path
from settings import Settings

SQLITE_SUFFIXES = ("", "-wal", "-shm")


def holds_generated(settings: Settings) -> bool:
    """Whether the data dir already holds events or an enterprise."""
    return bool(event_files(settings.events_dir)) or settings.state_db.exists()


def clear_generated(settings: Settings) -> None:
    """Remove a data dir's events, enterprise state and the warehouse built from them (trained
    models stay cached). It waits for a running pipeline to end, and keeps the pipeline's lock
    file so that a run waiting on it still excludes the next one."""
    with pipeline_lock(settings):
        shutil.rmtree(settings.events_dir, ignore_errors=True)
        _clear_work(settings)
        _clear_published(settings)
        _clear_enterprise(settings)


def _clear_work(settings: Settings) -> None:
    lock = lock_path(settings)
    for path in settings.work_warehouse_path.parent.iterdir():
        if path == lock:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _clear_published(settings: Settings) -> None:
    for path in published_files(settings.warehouse_path):
        path.unlink(missing_ok=True)
    settings.ops_path.unlink(missing_ok=True)


def _clear_enterprise(settings: Settings) -> None:
    for suffix in SQLITE_SUFFIXES:
        settings.state_db.with_name(settings.state_db.name + suffix).unlink(missing_ok=True)
    poll_lock_path(settings.state_db).unlink(missing_ok=True)
