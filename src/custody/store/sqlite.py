"""Open, check and migrate SQLite stores.

A store is one SQLite file holding one capability's tables plus a `custody_meta` table that
records which capability (`kind`) and which schema version wrote it. Opening checks both, and
runs `PRAGMA quick_check` so that a truncated or corrupt file is reported as `StoreError` at
open time (callers turn that into "rebuild with ...") rather than as a crash later.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from custody.errors import StoreUnusableError
from custody.store.dialect import SQLITE


class StoreError(StoreUnusableError):
    """The store file is missing, unreadable, corrupt, or belongs to something else."""


class SchemaMismatch(StoreError):
    """The store was written by another schema version of the same capability."""


_META = "CREATE TABLE IF NOT EXISTS custody_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def open_store(
    path: str,
    *,
    kind: str,
    schema_version: int,
    schema: str,
    create: bool = True,
    check: bool = True,
) -> sqlite3.Connection:
    """Open (and create, when allowed) the store at `path` for capability `kind`.

    `schema` is the DDL (several statements, all `IF NOT EXISTS`) run when the store is new.
    Raises `StoreError` for a corrupt or foreign file, `SchemaMismatch` for another version.
    """
    if path != ":memory:":
        if not create and not os.path.exists(path):
            raise StoreError(f"{path}: no such store")
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if check:
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise StoreError(f"{path}: corrupt store ({row[0] if row else 'no answer'})")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "custody_meta" not in tables:
            # never add our tables to somebody else's database
            raise StoreError(f"{path}: an SQLite database that is not a custody store")
        conn.execute(_META)
        found = dict(conn.execute("SELECT key, value FROM custody_meta").fetchall())
        if not found:
            with transaction(conn):
                for statement in SQLITE.ddl(schema):
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO custody_meta(key, value) VALUES (?, ?)",
                    [("kind", kind), ("schema_version", str(schema_version))],
                )
        else:
            if found.get("kind") != kind:
                raise StoreError(f"{path}: holds a {found.get('kind')!r} store, not {kind!r}")
            if found.get("schema_version") != str(schema_version):
                written = found.get("schema_version")
                raise SchemaMismatch(f"{path}: schema version {written}, this custody needs {schema_version}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path}: corrupt or not a custody store: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed on success, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
