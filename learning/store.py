"""The learning store: one SQLite file in the data dir (`learning.sqlite`, mode 0600: it holds
what employees wrote, redacted) for the proposals the system makes and what reviewers decided.
Each module of `learning` creates and migrates its own tables in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from resolver.connectors.embedded import open_sqlite

LEARNING_STORE = "learning.sqlite"


def open_learning_store(data_dir: Path) -> sqlite3.Connection:
    """Open (creating it if needed) the data dir's learning store; every commit is durable."""
    return open_sqlite(data_dir / LEARNING_STORE, synchronous="full")
