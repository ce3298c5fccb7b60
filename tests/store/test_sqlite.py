import os
import sqlite3

import pytest

from custody.store import SchemaMismatch, StoreError, open_store, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS item_name ON item(name);
"""


def test_new_store_gets_schema_and_meta(tmp_path):
    path = str(tmp_path / "sub" / "s.db")
    conn = open_store(path, kind="demo", schema_version=1, schema=SCHEMA)
    with transaction(conn):
        conn.execute("INSERT INTO item(name) VALUES ('a')")
    conn.close()
    conn = open_store(path, kind="demo", schema_version=1, schema=SCHEMA)
    assert conn.execute("SELECT name FROM item").fetchall() == [("a",)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rollback_on_error(tmp_path):
    conn = open_store(str(tmp_path / "s.db"), kind="demo", schema_version=1, schema=SCHEMA)
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO item(name) VALUES ('a')")
        raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM item").fetchone()[0] == 0


def test_other_kind_and_version_refused(tmp_path):
    path = str(tmp_path / "s.db")
    open_store(path, kind="demo", schema_version=1, schema=SCHEMA).close()
    with pytest.raises(StoreError, match="not 'other'"):
        open_store(path, kind="other", schema_version=1, schema=SCHEMA)
    with pytest.raises(SchemaMismatch):
        open_store(path, kind="demo", schema_version=2, schema=SCHEMA)


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        open_store(str(tmp_path / "none.db"), kind="demo", schema_version=1, schema=SCHEMA, create=False)


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
def test_corrupt_store_is_a_clear_error(tmp_path, damage):
    path = str(tmp_path / "s.db")
    conn = open_store(path, kind="demo", schema_version=1, schema=SCHEMA)
    with transaction(conn):
        conn.executemany("INSERT INTO item(name) VALUES (?)", [(f"n{i}" * 50,) for i in range(2000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        if damage == "garbage":
            handle.write(b"not a database at all" * 10)
        else:
            handle.truncate(size // 3)
    with pytest.raises(StoreError):
        open_store(path, kind="demo", schema_version=1, schema=SCHEMA)
    # and the file is still there for inspection: nothing deleted behind the user's back
    assert os.path.exists(path)
    assert isinstance(sqlite3.sqlite_version, str)


def test_foreign_sqlite_database_is_left_alone(tmp_path):
    path = str(tmp_path / "other.db")
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (body TEXT)")
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="not a custody store"):
        open_store(path, kind="demo", schema_version=1, schema=SCHEMA)
    check = sqlite3.connect(path)
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"notes"}
