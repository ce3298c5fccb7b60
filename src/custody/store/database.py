"""`Database`: one store connection, whichever backend, speaking the portable SQL of
`custody.store.dialect`.

`open_database(target, ...)` opens a path or `sqlite:///PATH` as an SQLite file (WAL, checked
with `quick_check`) and `postgresql://...` as a PostgreSQL database (`custody.store.postgres`,
imported only then); both check the store's `custody_meta` (kind, schema version) and refuse
foreign databases. Capabilities then run the same statements on either through `execute`,
`executemany` and `transaction`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from custody.errors import EXIT_USAGE, MissingExtraError
from custody.store.dialect import SQLITE, Dialect
from custody.store.sqlite import StoreError, open_store, transaction

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DriverMissing(MissingExtraError, StoreError):
    """A `postgresql://` store was asked for, but the 'postgres' extra (psycopg) is not installed.

    Both a `MissingExtraError` (the message names the extra to install) and a `StoreError`, so
    every caller that already turns an unusable store into a one-line error handles it too.
    Uncaught, it exits 2 as every `MissingExtraError` does (the MRO would otherwise give
    `StoreError`'s 3): installing the extra is something the user can do.
    """

    exit_code: ClassVar[int] = EXIT_USAGE


class Cursor(Protocol):
    """What both drivers' cursors give back."""

    def fetchone(self) -> Any:
        """The next row, or None when there is none."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...

    def fetchmany(self, size: int) -> list[Any]:
        """Up to `size` of the remaining rows (an empty list at the end)."""
        ...

    def __iter__(self) -> Iterator[Any]: ...


class Database:
    """A store connection: portable statements in, rows out; `transaction()` for writes.

    This class is the SQLite backend; `custody.store.postgres.PostgresDatabase` overrides it.
    """

    dialect: Dialect = SQLITE

    def __init__(self, name: str, conn: sqlite3.Connection | None = None) -> None:
        self.name = name  # for messages: a path, or a PostgreSQL URL without its password
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement (portable SQL, `?` placeholders) and return its cursor."""
        return self._sqlite().execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters (nothing for no rows)."""
        if rows:
            self._sqlite().executemany(sql, rows)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[Any]:
        """The rows of a query that may return millions, read `size` at a time: client memory stays
        flat (SQLite cursors step through the table; PostgreSQL uses a server-side cursor)."""
        cursor = self._sqlite().execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield from rows

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert (the backend's fastest way: SQLite executemany, PostgreSQL COPY).
        `table` and `columns` are the caller's own identifiers, never user input."""
        marks = ", ".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction, committed on success and rolled back on any exception; writers
        are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock held to COMMIT)."""
        with transaction(self._sqlite()):
            yield self

    def close(self) -> None:
        """Close the connection (a second close does nothing)."""
        if self._conn is not None:
            self._conn.close()

    def _sqlite(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn


def is_postgres_url(target: str) -> bool:
    """True for a `postgresql://` or `postgres://` URL: a store `open_database` opens with psycopg."""
    return target.startswith(POSTGRES_SCHEMES)


def sqlite_path(target: str) -> str:
    """`sqlite:///rel.db` -> `rel.db`, `sqlite:////abs.db` -> `/abs.db`, a plain path as it is."""
    return target[len("sqlite:///") :] if target.startswith("sqlite:///") else target


def open_database(
    target: str, *, kind: str, schema_version: int, schema: str, create: bool = True
) -> Database:
    """Open (and create, when allowed) the store at `target` for capability `kind`.

    `schema` is portable DDL (see `custody.store.dialect`). Raises `StoreError` for an
    unreachable server, failed authentication, a corrupt or foreign store, `SchemaMismatch`
    for another schema version.
    """
    if is_postgres_url(target):
        from custody.store import postgres  # noqa: PLC0415 - psycopg only for PostgreSQL stores

        return postgres.open_postgres(
            target, kind=kind, schema_version=schema_version, schema=schema, create=create
        )
    path = sqlite_path(target)
    return Database(
        path, open_store(path, kind=kind, schema_version=schema_version, schema=schema, create=create)
    )
