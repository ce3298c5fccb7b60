"""A cache of file digests for re-audits of the same environment.

Hashing every RECORD entry of a large environment reads gigabytes; a warm re-audit only needs to
hash files that changed. A cached digest is reused only when the file's size, mtime, ctime and
inode all match what was seen when it was hashed. ctime cannot be set back by an unprivileged
process (touching a file back to its old mtime still moves its ctime), so a file rewritten by code
running as the user is hashed again. The cache is as trustworthy as the user account that owns it:
after a suspected compromise, audit with `--rehash`.
"""

from __future__ import annotations

import os
import sqlite3

from custody.store import StoreError, open_store, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    algorithm TEXT NOT NULL,
    digest TEXT NOT NULL
);
"""
_Key = tuple[int, int, int, int, str]


def _key(info: os.stat_result, algorithm: str) -> _Key:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, algorithm)


class DigestCache:
    """Digests by path, valid while (size, mtime, ctime, inode, algorithm) is unchanged."""

    def __init__(self, path: str) -> None:
        """Open or create the cache at `path`. Raises `StoreError` if it is unusable."""
        self.conn = open_store(path, kind="digest-cache", schema_version=1, schema=_SCHEMA)
        try:
            rows = self.conn.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, algorithm, digest FROM digest"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{path}: unreadable digest cache: {exc}") from exc
        self.known: dict[str, tuple[_Key, str]] = {
            row[0]: ((row[1], row[2], row[3], row[4], row[5]), row[6]) for row in rows
        }
        self.fresh: dict[str, tuple[_Key, str]] = {}

    def lookup(self, path: str, info: os.stat_result, algorithm: str) -> str | None:
        hit = self.known.get(path)
        return hit[1] if hit is not None and hit[0] == _key(info, algorithm) else None

    def remember(self, path: str, info: os.stat_result, algorithm: str, digest: str) -> None:
        self.fresh[path] = (_key(info, algorithm), digest)

    def close(self) -> None:
        """Write what was hashed in this run, then close."""
        try:
            if self.fresh:
                with transaction(self.conn):
                    self.conn.executemany(
                        "INSERT OR REPLACE INTO digest VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(path, *key, digest) for path, (key, digest) in self.fresh.items()],
                    )
        except sqlite3.Error:
            pass  # a cache that cannot be written only costs the next run some hashing
        finally:
            self.conn.close()
