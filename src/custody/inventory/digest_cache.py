"""A cache of file digests for re-audits of the same environment.

Hashing every RECORD entry of a large environment reads gigabytes; a warm re-audit only needs to
hash files that changed. A cached digest is reused only when the file's size, mtime, ctime and
inode all match what was seen when it was hashed. ctime cannot be set back by an unprivileged
process (touching a file back to its old mtime still moves its ctime), so a file rewritten by code
running as the user is hashed again. The cache is as trustworthy as the user account that owns it:
after a suspected compromise, audit with `--rehash`.

Digests are stored by group (one package directory, or one distribution's other files), one row
per group: a warm audit loads each group where it checks it (in parallel workers), and a group is
rewritten with only the files seen in its last check, so deleted files do not pile up.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3

from custody.store import SchemaMismatch, StoreError, open_store, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_group (
    grp TEXT PRIMARY KEY,
    entries TEXT NOT NULL
);
"""
_SCHEMA_VERSION = 4
Entries = dict[str, str]
"""path -> `stamp=digest` (see `_stamp`): one string per file, so a warm audit checks a file with
one string comparison and loads a group without converting each row."""


def _stamp(info: os.stat_result, algorithm: str) -> str:
    """What must be unchanged for a digest to be reused (RECORD's algorithm names never hold `=`,
    so the first `=` of a stored value ends its stamp)."""
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}:{algorithm}"


class DigestGroup:
    """The cached digests of one group, and what this run saw of it."""

    def __init__(self, key: str, known: dict[str, object]) -> None:
        self.key = key
        self.known = known
        """As stored: a value that is not a string never equals a stamp, so it is never reused."""
        self.current: Entries = {}
        self.changed = False

    def lookup(self, path: str, info: os.stat_result, algorithm: str) -> str | None:
        """The cached digest of `path` when its stat stamp (size, times, inode) and algorithm are
        unchanged, else None; a hit is kept for the next run."""
        hit = self.known.get(path)
        stamp = f"{_stamp(info, algorithm)}="
        if type(hit) is not str or not hit.startswith(stamp):
            return None
        self.current[path] = hit
        return hit[len(stamp) :]

    def remember(self, path: str, info: os.stat_result, algorithm: str, digest: str) -> None:
        """Keep the digest just computed for `path` with its stat stamp."""
        self.current[path] = f"{_stamp(info, algorithm)}={digest}"
        self.changed = True

    def update(self) -> Entries | None:
        """What to store for this group, or None when the stored row is still exact."""
        return self.current if self.changed or len(self.current) != len(self.known) else None


class DigestCache:
    """Digests by path, valid while (size, mtime, ctime, inode, algorithm) is unchanged.

    Safe to use from forked children: each process reads through its own connection; only the
    process that opened the cache writes, in `close()`.
    """

    def __init__(self, path: str) -> None:
        """Open or create the cache at `path`; one written by another custody version is started
        afresh (it only holds what can be recomputed). Raises `StoreError` if it is unusable."""
        self.path = path
        try:
            conn = _open(path)
        except SchemaMismatch:
            _remove_store(path)
            conn = _open(path)
        self._owner = os.getpid()
        self._conn: sqlite3.Connection | None = conn
        self._conn_pid = self._owner
        self._inherited: list[sqlite3.Connection] = []
        self.pending: dict[str, Entries] = {}

    def group(self, key: str) -> DigestGroup:
        """The group `key` as stored; empty when absent or unreadable (its files are hashed)."""
        try:
            row = (
                self._connection()
                .execute("SELECT entries FROM digest_group WHERE grp = ?", (key,))
                .fetchone()
            )
            stored = json.loads(row[0]) if row else {}
        except (sqlite3.Error, StoreError, ValueError, RecursionError):
            stored = {}
        # no per-row conversion (a warm audit loads ~100k rows): a value of another type is
        # never equal to the stamp it is compared with, so it is hashed again, never trusted
        return DigestGroup(key, stored if type(stored) is dict else {})

    def save(self, key: str, entries: Entries) -> None:
        """Queue `entries` as the new content of group `key` (written by `close()`)."""
        self.pending[key] = entries

    def close(self) -> None:
        """Write the groups that changed in this run, then close."""
        if os.getpid() != self._owner:
            return  # a forked child: its changes travel back to the parent, which writes them
        try:
            if self.pending:
                conn = self._connection()
                with transaction(conn):
                    conn.executemany(
                        "INSERT OR REPLACE INTO digest_group VALUES (?, ?)",
                        [
                            (key, json.dumps(entries, separators=(",", ":")))
                            for key, entries in self.pending.items()
                        ],
                    )
        except (sqlite3.Error, StoreError):
            pass  # a cache that cannot be written only costs the next run some hashing
        finally:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._conn_pid != os.getpid():
            # Never use a connection across fork(): the child opens its own. The inherited one is
            # kept referenced, never closed or collected here: closing SQLite's copy of the
            # parent's handle in the child could checkpoint or unlink files the parent still uses.
            if self._conn is not None:
                self._inherited.append(self._conn)
            self._conn = _open(self.path)
            self._conn_pid = os.getpid()
        return self._conn


def _open(path: str) -> sqlite3.Connection:
    # no quick_check: a damaged page fails the read of its group, which is then hashed afresh
    return open_store(path, kind="digest-cache", schema_version=_SCHEMA_VERSION, schema=_SCHEMA, check=False)


def _remove_store(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)
