"""The gate's store (custody.store: SQLite by default, PostgreSQL by URL): scan verdicts by
sha256, every decision the gate took, and the allow/deny entries `custody gate allow/deny` add.

Several gate processes (replicas behind a load balancer, on any hosts) may share one store: each
reads the verdicts, entries and decisions the others write. A file is scanned once across them
through a **scan lease** (`claim_scan`): the replica that finds neither a verdict nor a live
lease takes the lease and scans; the others wait for the verdict. The scanning replica renews
its lease while it scans, so one that dies mid-scan stops renewing and another takes the lease
over once it expires (leases compare the replicas' clocks: keep them in sync, as NTP does). A
claim is one write transaction, serialised by the backend's writer lock (SQLite `BEGIN
IMMEDIATE`, PostgreSQL the store's advisory lock), so two replicas never both take a lease.

Synchronous, like every custody store; the server calls it from one dedicated thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import platformdirs

from custody.policy import Entry, EntryKind
from custody.store import Database, StoreError, open_database

KIND = "gate"
SCHEMA_VERSION = 2
"""2: scan counts and replicas on verdicts, scan leases (replicas sharing one store)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS verdict (
    sha256 TEXT PRIMARY KEY,
    scanner TEXT NOT NULL,
    verdict TEXT NOT NULL,
    rule TEXT,
    location TEXT,
    summary TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    scanned_by TEXT,
    scans INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS scan_lease (
    sha256 TEXT PRIMARY KEY,
    scanner TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires TEXT NOT NULL
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
    """`gate.sqlite` in the gate's data directory."""
    return os.path.join(data_dir(), "gate.sqlite")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _decision(r: Sequence[object]) -> DecisionRow:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return DecisionRow(
        at=datetime.fromisoformat(str(r[0])),
        client=text(r[1]),
        user_agent=text(r[2]),
        project=str(r[3]),
        version=text(r[4]),
        filename=str(r[5]),
        sha256=text(r[6]),
        verdict=text(r[7]),
        rule=text(r[8]),
        decision=str(r[9]),
        reason=str(r[10]),
    )


def _iso_precise(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


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
class ScanRecord:
    """Who scanned a file and how often (`scans` counts every scan stored for this sha256, by
    any scanner: the figure replicas sharing a store keep at one per file and scanner)."""

    sha256: str
    scanner: str
    scanned_at: datetime
    scanned_by: str | None
    scans: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """The answer of `GateStore.claim_scan`: a stored verdict, the lease (scan it now), or
    neither (another replica holds a live lease: ask again shortly)."""

    verdict: StoredVerdict | None = None
    leased: bool = False


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
        """The decision as the decision log's JSON output prints it."""
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
        """Close the store."""
        self.db.close()

    # -- verdicts --------------------------------------------------------------------------------

    def verdict(self, sha256: str, scanner: str) -> StoredVerdict | None:
        """The stored verdict on the file `sha256` by scanner fingerprint `scanner`, or None (not scanned
        by that scanner yet)."""
        row = self.db.execute(
            "SELECT verdict, rule, location, summary FROM verdict WHERE sha256 = ? AND scanner = ?",
            (sha256, scanner),
        ).fetchone()
        if row is None:
            return None
        return StoredVerdict(
            sha256=sha256, scanner=scanner, verdict=row[0], rule=row[1], location=row[2], summary=row[3]
        )

    def save_verdict(self, item: StoredVerdict, *, by: str | None = None) -> None:
        """Keep a verdict (replacing the file's verdict from another scanner), count the scan and
        release this sha256's scan lease."""
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO verdict(sha256, scanner, verdict, rule, location, summary, scanned_at, "
                "scanned_by, scans) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (sha256) DO UPDATE SET "
                "scanner = excluded.scanner, verdict = excluded.verdict, rule = excluded.rule, "
                "location = excluded.location, summary = excluded.summary, "
                "scanned_at = excluded.scanned_at, scanned_by = excluded.scanned_by, "
                "scans = verdict.scans + 1",
                (
                    item.sha256,
                    item.scanner,
                    item.verdict,
                    item.rule,
                    item.location,
                    item.summary,
                    _iso(datetime.now(timezone.utc)),
                    by,
                ),
            )
            db.execute("DELETE FROM scan_lease WHERE sha256 = ?", (item.sha256,))

    def scan_record(self, sha256: str) -> ScanRecord | None:
        """Who scanned `sha256` last, with which scanner, and how many scans were stored."""
        row = self.db.execute(
            "SELECT scanner, scanned_at, scanned_by, scans FROM verdict WHERE sha256 = ?", (sha256,)
        ).fetchone()
        if row is None:
            return None
        return ScanRecord(
            sha256=sha256,
            scanner=row[0],
            scanned_at=datetime.fromisoformat(row[1]),
            scanned_by=row[2],
            scans=int(row[3]),
        )

    def claim_scan(self, sha256: str, scanner: str, owner: str, lease: float) -> Claim:
        """In one write transaction: the stored verdict of `sha256` by `scanner` if there is one;
        else the scan lease for `owner` (for `lease` seconds) unless another owner holds a live one.
        Taking over an expired lease is how a replica that died mid-scan stops blocking others."""
        now = datetime.now(timezone.utc)
        with self.db.transaction() as db:
            found = self.verdict(sha256, scanner)
            if found is not None:
                return Claim(verdict=found)
            row = db.execute(
                "SELECT scanner, owner, expires FROM scan_lease WHERE sha256 = ?", (sha256,)
            ).fetchone()
            live = row is not None and datetime.fromisoformat(row[2]) > now
            if live and row[0] == scanner and row[1] != owner:
                return Claim()
            db.execute(
                "INSERT INTO scan_lease(sha256, scanner, owner, expires) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO UPDATE SET scanner = excluded.scanner, owner = excluded.owner, "
                "expires = excluded.expires",
                (sha256, scanner, owner, _iso_precise(now + timedelta(seconds=lease))),
            )
        return Claim(leased=True)

    def renew_lease(self, sha256: str, owner: str, lease: float) -> bool:
        """Extend `owner`'s lease on `sha256`; False when it no longer holds it (taken over)."""
        expires = _iso_precise(datetime.now(timezone.utc) + timedelta(seconds=lease))
        with self.db.transaction() as db:
            held = db.execute(
                "SELECT 1 FROM scan_lease WHERE sha256 = ? AND owner = ?", (sha256, owner)
            ).fetchone()
            if held is None:
                return False
            db.execute(
                "UPDATE scan_lease SET expires = ? WHERE sha256 = ? AND owner = ?", (expires, sha256, owner)
            )
        return True

    def release_lease(self, sha256: str, owner: str) -> None:
        """Give up `owner`'s lease without a verdict (the scan erred: another replica may try)."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM scan_lease WHERE sha256 = ? AND owner = ?", (sha256, owner))

    # -- decisions -------------------------------------------------------------------------------

    def add_decisions(self, rows: Sequence[DecisionRow]) -> None:
        """Append decisions to the decision log in one bulk insert."""
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
        """The decision log from `since` (default: all), optionally only one outcome, oldest first."""
        sql = (
            "SELECT at, client, user_agent, project, version, filename, sha256, verdict, rule, decision, "
            "reason FROM decision WHERE at >= ?"
        )
        params: list[object] = [_iso(since) if since else ""]
        if decision:
            sql += " AND decision = ?"
            params.append(decision)
        rows = self.db.execute(sql + " ORDER BY id", params).fetchall()
        return [_decision(r) for r in rows]

    def decisions_of(
        self, *, project: str | None = None, decision: str | None = None
    ) -> Iterator[DecisionRow]:
        """Decisions about `project` and/or of kind `decision`, oldest first, read in pages (the
        log of a busy gate does not fit in memory)."""
        sql = (
            "SELECT at, client, user_agent, project, version, filename, sha256, verdict, rule, decision, "
            "reason FROM decision WHERE 1 = 1"
        )
        params: list[object] = []
        if project is not None:
            sql += " AND project = ?"
            params.append(project)
        if decision is not None:
            sql += " AND decision = ?"
            params.append(decision)
        for row in self.db.stream(sql + " ORDER BY id", params):
            yield _decision(row)

    # -- allow/deny entries ----------------------------------------------------------------------

    def add_entry(self, entry: Entry) -> None:
        """Keep an allow or deny entry (its `added` time defaults to now)."""
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
        """Every allow and deny entry, in the order they were added (expired ones included)."""
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

    def entries_version(self) -> tuple[int, int]:
        """Changes whenever an entry is added or removed (count and newest id: ids are never
        reused and entries are never updated in place); one row, however many entries."""
        row = self.db.execute("SELECT count(*), coalesce(max(id), 0) FROM entry").fetchone()
        return int(row[0]), int(row[1])

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


__all__ = [
    "Claim",
    "DecisionRow",
    "GateStore",
    "ScanRecord",
    "StoreError",
    "StoredVerdict",
    "data_dir",
    "default_store",
]
