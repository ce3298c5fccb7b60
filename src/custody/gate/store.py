"""The gate's store (custody.store: SQLite by default, PostgreSQL by URL): scan verdicts by
sha256, every decision the gate took, and the allow/deny entries `custody gate allow/deny` add.

Synchronous, like every custody store; the server calls it from one dedicated thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import platformdirs

from custody.policy import Entry, EntryKind
from custody.store import Database, StoreError, open_database

KIND = "gate"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS verdict (
    sha256 TEXT PRIMARY KEY,
    scanner TEXT NOT NULL,
    verdict TEXT NOT NULL,
    rule TEXT,
    location TEXT,
    summary TEXT NOT NULL,
    scanned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decision (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    client TEXT,
    user_agent TEXT,
    project TEXT NOT NULL,
    version TEXT,
    filename TEXT NOT NULL,
    sha256 TEXT,
    verdict TEXT,
    rule TEXT,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_by_time ON decision(at);
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT,
    reason TEXT NOT NULL,
    author TEXT,
    until TEXT,
    added TEXT NOT NULL
);
"""


def data_dir() -> str:
    """`CUSTODY_GATE_DIR`, else `gate` in the user data dir: the store, the signing key, the ledger."""
    return os.environ.get("CUSTODY_GATE_DIR") or os.path.join(platformdirs.user_data_dir("custody"), "gate")


def default_store() -> str:
    return os.path.join(data_dir(), "gate.sqlite")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredVerdict:
    """A scan verdict kept for one file content."""

    sha256: str
    scanner: str
    """Which scanner produced it (custody version and rule set); another one scans again."""
    verdict: str
    rule: str | None
    location: str | None
    """`file:line` of the strongest finding."""
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRow:
    """One served or refused file."""

    at: datetime
    client: str | None
    user_agent: str | None
    project: str
    version: str | None
    filename: str
    sha256: str | None
    verdict: str | None
    rule: str | None
    decision: str
    """`served`, `refused` or `hidden`."""
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "at": _iso(self.at),
            "client": self.client,
            "user_agent": self.user_agent,
            "project": self.project,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "rule": self.rule,
            "decision": self.decision,
            "reason": self.reason,
        }


class GateStore:
    """An open gate store; `GateStore.open(target)`, then close it (or use `with`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, target: str | None = None) -> GateStore:
        """Open (creating) the store at a path, `sqlite:///PATH` or `postgresql://...`.
        Raises StoreError for a corrupt, foreign or unreachable store."""
        target = target or default_store()
        if "://" not in target:
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        return cls(
            open_database(target, kind=KIND, schema_version=SCHEMA_VERSION, schema=SCHEMA, create=True)
        )

    def __enter__(self) -> GateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- verdicts --------------------------------------------------------------------------------

    def verdict(self, sha256: str, scanner: str) -> StoredVerdict | None:
        row = self.db.execute(
            "SELECT verdict, rule, location, summary FROM verdict WHERE sha256 = ? AND scanner = ?",
            (sha256, scanner),
        ).fetchone()
        if row is None:
            return None
        return StoredVerdict(
            sha256=sha256, scanner=scanner, verdict=row[0], rule=row[1], location=row[2], summary=row[3]
        )

    def save_verdict(self, item: StoredVerdict) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO verdict(sha256, scanner, verdict, rule, location, summary, scanned_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
                "scanner = excluded.scanner, verdict = excluded.verdict, rule = excluded.rule, "
                "location = excluded.location, summary = excluded.summary, "
                "scanned_at = excluded.scanned_at",
                (
                    item.sha256,
                    item.scanner,
                    item.verdict,
                    item.rule,
                    item.location,
                    item.summary,
                    _iso(datetime.now(timezone.utc)),
                ),
            )

    # -- decisions -------------------------------------------------------------------------------

    def add_decisions(self, rows: Sequence[DecisionRow]) -> None:
        columns = (
            "at",
            "client",
            "user_agent",
            "project",
            "version",
            "filename",
            "sha256",
            "verdict",
            "rule",
            "decision",
            "reason",
        )
        values = [
            (
                _iso(r.at),
                r.client,
                r.user_agent,
                r.project,
                r.version,
                r.filename,
                r.sha256,
                r.verdict,
                r.rule,
                r.decision,
                r.reason,
            )
            for r in rows
        ]
        with self.db.transaction() as db:
            db.insert_rows("decision", columns, values)

    def decisions(self, *, since: datetime | None = None, decision: str | None = None) -> list[DecisionRow]:
        sql = (
            "SELECT at, client, user_agent, project, version, filename, sha256, verdict, rule, decision, "
            "reason FROM decision WHERE at >= ?"
        )
        params: list[object] = [_iso(since) if since else ""]
        if decision:
            sql += " AND decision = ?"
            params.append(decision)
        rows = self.db.execute(sql + " ORDER BY id", params).fetchall()
        return [
            DecisionRow(
                at=datetime.fromisoformat(r[0]),
                client=r[1],
                user_agent=r[2],
                project=r[3],
                version=r[4],
                filename=r[5],
                sha256=r[6],
                verdict=r[7],
                rule=r[8],
                decision=r[9],
                reason=r[10],
            )
            for r in rows
        ]

    # -- allow/deny entries ----------------------------------------------------------------------

    def add_entry(self, entry: Entry) -> None:
        added = entry.added or datetime.now(timezone.utc)
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO entry(kind, name, version, reason, author, until, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.kind.value,
                    entry.name,
                    entry.version,
                    entry.reason,
                    entry.author,
                    _iso(entry.until) if entry.until else None,
                    _iso(added),
                ),
            )

    def entries(self) -> tuple[Entry, ...]:
        rows = self.db.execute(
            "SELECT kind, name, version, reason, author, until, added FROM entry ORDER BY id"
        ).fetchall()
        return tuple(
            Entry(
                kind=EntryKind(r[0]),
                name=r[1],
                version=r[2],
                reason=r[3],
                author=r[4],
                until=_time(r[5]),
                added=_time(r[6]),
            )
            for r in rows
        )

    def remove_entries(self, kind: EntryKind, name: str, version: str | None) -> int:
        """Delete the entries of `kind` for exactly `name` (and `version`, or the project-wide
        ones when None); returns how many were removed."""
        params = (kind.value, name, version or "")
        with self.db.transaction() as db:
            count = db.execute(
                "SELECT count(*) FROM entry WHERE kind = ? AND name = ? AND coalesce(version, '') = ?",
                params,
            ).fetchone()[0]
            db.execute(
                "DELETE FROM entry WHERE kind = ? AND name = ? AND coalesce(version, '') = ?",
                params,
            )
        return int(count)


__all__ = ["DecisionRow", "GateStore", "StoreError", "StoredVerdict", "data_dir", "default_store"]
