"""Open and check PostgreSQL stores (a shared team ledger: `--db postgresql://...`).

The same contract as the SQLite files: one store per database (or per schema, when the URL's
`options=-c search_path=NAME` selects one), a `custody_meta` table recording `kind` and
`schema_version`, checked at open; a database that already holds other tables is refused, never
added to. Connections are in autocommit mode, like the SQLite ones: a statement outside
`Database.transaction()` commits by itself.

Write transactions take a transaction-scoped advisory lock (`pg_advisory_xact_lock`) keyed by
the store's schema and kind, so writers are serialised as they are by SQLite's write lock: an
append reads the tree size after it holds the lock and keeps it until COMMIT or ROLLBACK, and a
client that dies mid-batch has its transaction rolled back (and the lock freed) by the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from custody.store.database import Cursor, Database, DriverMissing

try:
    import psycopg
    from psycopg import sql
except ModuleNotFoundError as exc:  # `pip install custody` leaves the PostgreSQL driver out
    raise DriverMissing("postgres", exc.name or "psycopg") from exc

from custody.store.dialect import POSTGRES
from custody.store.sqlite import SchemaMismatch, StoreError

_META = "CREATE TABLE IF NOT EXISTS custody_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class PostgresDatabase(Database):
    """`Database` on a psycopg connection in autocommit mode; write transactions hold an advisory lock
    keyed by the store so that writers are serialised as SQLite's are."""

    dialect = POSTGRES

    def __init__(self, name: str, pg: psycopg.Connection, lock_key: int) -> None:
        super().__init__(name)
        self._pg = pg
        self._lock_key = lock_key
        self._streams = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """`Database.execute` on PostgreSQL; a lost or refused connection is a StoreError."""
        try:
            return self._pg.execute(self.dialect.sql(sql), params)
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """`Database.executemany` on PostgreSQL; a lost or refused connection is a StoreError."""
        if not rows:
            return
        try:
            with self._pg.cursor() as cursor:
                cursor.executemany(self.dialect.sql(sql), rows)
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[Any]:
        """`Database.stream` through a server-side cursor; a lost connection is a StoreError."""
        # A named (server-side) cursor: psycopg's ordinary cursor would hold the whole result in
        # this process. WITH HOLD lets it live outside a transaction (the connection autocommits),
        # so several streams can be read interleaved; the server keeps the result, not the client.
        self._streams += 1
        try:
            with self._pg.cursor(name=f"custody_stream_{self._streams}", withhold=True) as cursor:
                cursor.itersize = size
                cursor.execute(self.dialect.sql(sql), params)
                while rows := cursor.fetchmany(size):
                    yield from rows
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """`Database.insert_rows` through COPY; a lost connection is a StoreError."""
        if not rows:
            return
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        try:
            with self._pg.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """`Database.transaction` holding the store's advisory lock until COMMIT or ROLLBACK."""
        try:
            with self._pg.transaction():
                self._pg.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                yield self
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.name}: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        self._pg.close()


def open_postgres(url: str, *, kind: str, schema_version: int, schema: str, create: bool) -> PostgresDatabase:
    """Open (and create, when allowed, in an empty database or schema) the PostgreSQL store at `url`
    for capability `kind`. Raises StoreError for an unreachable server, failed authentication or a
    foreign database, SchemaMismatch for another schema version."""
    conn, key = connect(url, kind=kind, schema_version=schema_version, schema=schema, create=create)
    return PostgresDatabase(display_url(url), conn, key)


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def connect(
    url: str, *, kind: str, schema_version: int, schema: str, create: bool
) -> tuple[psycopg.Connection, int]:
    """A checked connection to the store at `url`, and the advisory-lock key for its writers."""
    name = display_url(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__  # one line, libpq's own words
        raise StoreError(f"{name}: cannot connect to PostgreSQL: {reason}") from exc
    try:
        row = conn.execute("SELECT current_schema()").fetchone()
        if row is None or row[0] is None:
            raise StoreError(f"{name}: no schema to use (check search_path)")
        lock_key = _lock_key(str(row[0]), kind)
        tables = {
            str(r[0])
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
        if tables and "custody_meta" not in tables:
            raise StoreError(f"{name}: a PostgreSQL database that is not a custody store")
        if not tables and not create:
            raise StoreError(f"{name}: no such store")
        with conn.transaction():
            # two processes creating the same new store: the second waits, then finds it made
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            conn.execute(_META)
            found = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM custody_meta")}
            if not found:
                for statement in POSTGRES.ddl(schema):
                    conn.execute(statement)
                conn.cursor().executemany(
                    "INSERT INTO custody_meta(key, value) VALUES (%s, %s)",
                    [("kind", kind), ("schema_version", str(schema_version))],
                )
        if found and found.get("kind") != kind:
            raise StoreError(f"{name}: holds a {found.get('kind')!r} store, not {kind!r}")
        if found and found.get("schema_version") != str(schema_version):
            written = found.get("schema_version")
            raise SchemaMismatch(f"{name}: schema version {written}, this custody needs {schema_version}")
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"{name}: not usable as a custody store: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    return conn, lock_key


def _lock_key(schema_name: str, kind: str) -> int:
    """A signed 64-bit advisory-lock key, one per store."""
    digest = hashlib.sha256(f"custody:{schema_name}:{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
