"""One SQLite connection with the store's schema, and the transaction every write runs in.

Error codes: E_IO (FileError: SQLite failed), E_FORMAT (FileError: a schema newer than this library's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..storage.errors import FileError
from . import schema


class Database:
    """The connection to the store at ``path`` (":memory:": a private in-memory one), prepared by schema.py.
    Raises FileError: E_IO if SQLite cannot open it, E_FORMAT for a schema newer than this library's."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            # isolation_level=None: no implicit transactions; _write() opens each one explicitly.
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as error:
            raise FileError(self.path, f"SQLite: {error}", code="E_IO") from None
        try:
            schema.prepare(self._db, self.path)
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, taking the write lock at once: committed if the block returns, rolled back if it
        raises anything, so a refused input writes nothing."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise FileError(self.path, f"SQLite: {error}", code="E_IO") from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:
            self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise FileError(self.path, f"SQLite: {error}", code="E_IO") from None
            raise

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise FileError(self.path, f"SQLite: {error}", code="E_IO") from None
