"""The local advisory store: OSV records in SQLite (via custody.store), indexed by package.

A lookup reads the handful of records that name one package through the (ecosystem, name)
index; nothing scans the whole store. Records are kept as compact JSON of `Advisory`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from custody.advisories.model import Advisory, AdvisoryError, Affected, Event, Range
from custody.advisories.osv import parse_record
from custody.advisories.sources import RawRecord
from custody.artifacts.index import cache_dir
from custody.inventory import Ecosystem, canonical_name
from custody.store import StoreError, open_store, transaction

KIND = "advisories"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS advisory (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS affected (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, advisory_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_by_advisory ON affected(advisory_id);
CREATE TABLE IF NOT EXISTS feed (
    origin TEXT PRIMARY KEY,
    loaded_at REAL NOT NULL,
    records INTEGER NOT NULL
);
"""
REBUILD_HINT = "rebuild it with `custody db update` (or `custody db update --from PATH` offline)"


def default_store_path() -> str:
    """`CUSTODY_ADVISORY_DB`, else `advisories.sqlite` in the custody cache dir."""
    return os.environ.get("CUSTODY_ADVISORY_DB") or os.path.join(cache_dir(), "advisories.sqlite")


@dataclass(slots=True, kw_only=True)
class LoadStats:
    """What loading one source did: records loaded and failed, and the first few failures.

    An accumulator: the loader counts failures and keeps the first few while it streams records."""

    origin: str
    loaded: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    """The first few failures (`origin: reason`)."""


def _ecosystem_key(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0].lower()


def _name_key(ecosystem: str, name: str) -> str:
    eco = _ecosystem_key(ecosystem)
    if eco == "pypi":
        return canonical_name(name, Ecosystem.PYPI)
    if eco == "npm":
        return canonical_name(name, Ecosystem.NPM)
    return name


def to_json(advisory: Advisory) -> str:
    """The advisory as compact JSON (how the store keeps it)."""
    return json.dumps(asdict(advisory), separators=(",", ":"))


def from_json(text: str) -> Advisory:
    """An advisory from the store's JSON (`to_json`'s inverse)."""
    raw: dict[str, Any] = json.loads(text)
    affected = tuple(
        Affected(
            ecosystem=a["ecosystem"],
            name=a["name"],
            versions=tuple(a["versions"]),
            ranges=tuple(
                Range(type=r["type"], events=tuple(Event(**e) for e in r["events"])) for r in a["ranges"]
            ),
        )
        for a in raw.pop("affected")
    )
    raw["aliases"] = tuple(raw["aliases"])
    return Advisory(affected=affected, **raw)


class AdvisoryStore:
    """An open advisory store. Use `AdvisoryStore.open()`; close it (or use `with`)."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._cache: dict[str, Advisory] = {}

    @classmethod
    def open(cls, path: str | None = None, *, create: bool = False) -> AdvisoryStore:
        """Open the store; AdvisoryError (with the fix) when it is missing, corrupt or foreign."""
        path = path or default_store_path()
        if not create and not os.path.exists(path):
            raise AdvisoryError(
                f"no advisory store at {path}: build it with `custody db update` "
                "(or `custody db update --from PATH` offline)"
            )
        if create and os.path.exists(path) and (refusal := _not_ours(path)) == _FOREIGN_SQLITE:
            raise AdvisoryError(
                f"{path}: {refusal}; not using it as the advisory store (choose another --db)"
            )
        try:
            conn = open_store(path, kind=KIND, schema_version=SCHEMA_VERSION, schema=SCHEMA, create=create)
        except StoreError as exc:
            raise AdvisoryError(f"advisory store unusable ({exc}): {REBUILD_HINT}") from exc
        return cls(conn, path)

    def __enter__(self) -> AdvisoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store."""
        self.conn.close()

    def count(self) -> int:
        """How many advisories the store holds. Raises AdvisoryError for an unusable store."""
        try:
            row = self.conn.execute("SELECT count(*) FROM advisory").fetchone()
        except sqlite3.DatabaseError as exc:
            raise AdvisoryError(f"advisory store unusable ({exc}): {REBUILD_HINT}") from exc
        return int(row[0])

    def feeds(self) -> list[tuple[str, float, int]]:
        """(origin, load time as Unix seconds, records loaded) of each source loaded, by origin."""
        return [
            (str(o), float(t), int(n)) for o, t, n in self.conn.execute("SELECT * FROM feed ORDER BY origin")
        ]

    def data_version(self) -> int:
        """SQLite's `data_version`: changes when another connection (`custody db update`) has
        committed to the store since this connection last asked. A cheap "did anything change"."""
        try:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise AdvisoryError(f"advisory store unusable ({exc}): {REBUILD_HINT}") from exc

    def lookup(self, ecosystem: Ecosystem, name: str) -> list[Advisory]:
        """Every stored advisory naming `name` in `ecosystem` (affected or not: see `osv.affects`)."""
        key = canonical_name(name, ecosystem)
        if not key.isascii():
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                return []  # lone surrogates (from a JSON escape): no stored record can name it
        try:
            rows = self.conn.execute(
                "SELECT a.id, a.body FROM affected f JOIN advisory a ON a.id = f.advisory_id "
                "WHERE f.ecosystem = ? AND f.name = ?",
                (ecosystem.value.lower(), key),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise AdvisoryError(f"advisory store unusable ({exc}): {REBUILD_HINT}") from exc
        found = []
        for ident, body in rows:
            if ident not in self._cache:
                self._cache[ident] = from_json(body)
            found.append(self._cache[ident])
        return found

    def load(self, records: Iterable[RawRecord], origin: str) -> LoadStats:
        """Insert or replace every record in one transaction; unparseable ones are counted, not fatal."""
        stats = LoadStats(origin=origin)
        rows: list[tuple[str, str, str]] = []
        affected: list[tuple[str, str, str]] = []
        for raw in records:
            advisory = None
            error = raw.error
            if raw.document is not None:
                try:
                    advisory = parse_record(raw.document)
                except (ValueError, TypeError, KeyError) as exc:
                    error = str(exc)
            if advisory is None:
                stats.failed += 1
                if len(stats.errors) < 10:
                    stats.errors.append(f"{raw.origin}: {error}")
                continue
            rows.append((advisory.id, advisory.modified, to_json(advisory)))
            keys = {(_ecosystem_key(a.ecosystem), _name_key(a.ecosystem, a.name)) for a in advisory.affected}
            affected.extend((eco, name, advisory.id) for eco, name in sorted(keys))
        try:
            with transaction(self.conn):
                self.conn.executemany("DELETE FROM affected WHERE advisory_id = ?", [(r[0],) for r in rows])
                self.conn.executemany(
                    "INSERT OR REPLACE INTO advisory(id, modified, body) VALUES (?, ?, ?)", rows
                )
                self.conn.executemany("INSERT OR IGNORE INTO affected VALUES (?, ?, ?)", affected)
                self.conn.execute(
                    "INSERT OR REPLACE INTO feed(origin, loaded_at, records) VALUES (?, ?, ?)",
                    (origin, time.time(), len(rows)),
                )
        except sqlite3.DatabaseError as exc:
            raise AdvisoryError(f"advisory store unusable ({exc}): {REBUILD_HINT}") from exc
        stats.loaded = len(rows)
        self._cache.clear()
        return stats


def open_for_update(path: str | None = None) -> tuple[AdvisoryStore, str | None]:
    """Open the store for writing, deleting and recreating it when it is corrupt or foreign.

    Returns the store and, when it had to be rebuilt, why.
    """
    path = path or default_store_path()
    try:
        return AdvisoryStore.open(path, create=True), None
    except AdvisoryError as exc:
        reason = str(exc)
    refusal = _not_ours(path)
    if refusal is not None:
        raise AdvisoryError(f"{path}: {refusal}; not replacing it (choose another --db path)")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AdvisoryError(f"cannot remove the broken store {path + suffix}: {exc.strerror}") from exc
    return AdvisoryStore.open(path, create=True), reason


_SQLITE_MAGIC = b"SQLite format 3\x00"
_FOREIGN_SQLITE = "an SQLite database custody did not create"


def _not_ours(path: str) -> str | None:
    """Why the file at `path` must not be deleted (it is not a broken advisory store), or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if head and not _SQLITE_MAGIC.startswith(head[: len(_SQLITE_MAGIC)]):
        return "not an SQLite file"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            row = None
            if "custody_meta" in tables:
                row = conn.execute("SELECT value FROM custody_meta WHERE key = 'kind'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None  # too broken to say: a damaged store, safe to rebuild
    if tables and "custody_meta" not in tables:
        return _FOREIGN_SQLITE
    if row is not None and row[0] != KIND:
        return f"holds a {row[0]!r} store"
    return None
