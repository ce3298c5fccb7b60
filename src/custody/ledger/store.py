"""The append-only log on SQLite or PostgreSQL, through `custody.store`.

Tables: `leaf` holds what the Merkle tree commits to (one 32-byte commitment per entry plus the
log's integration time); `node` holds every perfect subtree hash so proofs are O(log n) reads;
`entry` holds the readable metadata (body, salt, refs as JSON) and `entry_ref` indexes the refs
for exposure lookups; both are kept apart so one record can be redacted (body, salt and refs
deleted) while every proof stays valid, because proofs only ever touch
`leaf` and `node`. Proofs read the top of the tree from memory and hash the lowest levels from
adjacent leaf rows (`custody.ledger.proof_nodes.UpperLevels`), so one proof is a few reads even
with a cold page cache.

A batch is one write transaction (`Database.transaction()`): either every leaf, node and metadata
row of the batch is committed or none is (SQLite's WAL, or the PostgreSQL server, rolls back a
writer killed mid-batch), and two processes appending at once are serialised by the store's
writer lock (SQLite's write lock, `BEGIN IMMEDIATE`; on PostgreSQL `pg_advisory_xact_lock`), each
reading the tree size inside its own transaction, after it holds the lock. The SQL is the
portable subset of `custody.store.dialect` (`?` placeholders, INTEGER/TEXT/BLOB).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps uses (ensure_ascii)

from custody.ledger import merkle
from custody.ledger.proof_nodes import UpperLevels, node_key
from custody.store import Database, StoreError, open_database

KIND = "ledger"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS leaf (
    idx INTEGER PRIMARY KEY,
    commitment BLOB NOT NULL,
    integrated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entry (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    salt BLOB,
    body BLOB,
    refs TEXT,
    redacted_at TEXT,
    redaction_reason TEXT
);
CREATE TABLE IF NOT EXISTS entry_ref (idx INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entry_ref_lookup ON entry_ref(field, value, idx);
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoint_size ON checkpoint(size, id);
CREATE TABLE IF NOT EXISTS signer_key (
    keyid TEXT PRIMARY KEY,
    verifier TEXT NOT NULL,
    compromised_since TEXT
);
"""

# Added after schema version 1 shipped: created (IF NOT EXISTS) inside the first write transaction
# that needs them, so stores written by earlier versions gain them without a migration step.
_CHECKPOINT_INDEX = "CREATE INDEX IF NOT EXISTS checkpoint_size ON checkpoint(size, id)"
_APPEND_KEY_TABLE = (
    "CREATE TABLE IF NOT EXISTS append_key (idem_key TEXT PRIMARY KEY, digest TEXT NOT NULL,"
    " first_idx INTEGER NOT NULL, n INTEGER NOT NULL)"
)

CheckpointRow = tuple[int, bytes, str]
"""(size, root, signed note) of a stored checkpoint."""


class IdempotencyConflict(StoreError):
    """An idempotency key came back with a different batch than the one it was first used for."""


_CHUNK = 2000  # rows per executemany inside a batch: bounds memory for huge batches
_CACHE_KIB = 65536  # SQLite page cache (grows as used): all of `node`'s interior pages at 10M


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def normalize_time(text: str) -> str:
    """A user-given time (ISO 8601; date only means midnight; no zone means UTC) in the log's own
    format, so that times compare correctly as strings."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"bad time {text!r}: use ISO 8601, e.g. 2026-03-24T10:00:00Z") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class NewEntry:
    """One record to append: a kind (produced, accessed, ...), an opaque body, exposure refs."""

    kind: str
    body: bytes
    refs: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredEntry:
    index: int
    kind: str
    integrated_at: str
    commitment: bytes
    body: bytes | None  # None once redacted
    refs: dict[str, list[str]]
    redacted_at: str | None
    redaction_reason: str | None
    salt: bytes | None


def commitment_of(
    kind: str, integrated_at: str, salt: bytes, body: bytes, refs: Mapping[str, Sequence[str]]
) -> bytes:
    """What the log commits to. Salted so that a redacted record cannot be guessed back from its
    commitment; covers the integration time so that compromise windows cannot be dodged later.

    The preimage is canonical JSON, byte for byte what `json.dumps({"v": 1, "kind", "time",
    "salt": HEX, "body_sha256": HEX, "refs": {k: sorted(v)}}, sort_keys=True,
    separators=(",", ":"))` gives (`canonical_json_reference` in the tests keeps it so); it is
    written out here with the same C string encoder because building a json encoder per entry was
    a quarter of an append's CPU time.
    """
    return _commitment(_quote(kind), _quote(integrated_at), salt, body, _refs_text(refs, sort_values=True))


def _commitment(kind_json: str, time_json: str, salt: bytes, body: bytes, refs_json: str) -> bytes:
    """`commitment_of` from its parts already JSON-encoded (refs with sorted values)."""
    canonical = (
        f'{{"body_sha256":"{hashlib.sha256(body).hexdigest()}","kind":{kind_json},'
        f'"refs":{refs_json},"salt":"{salt.hex()}","time":{time_json},"v":1}}'
    )
    return hashlib.sha256(canonical.encode()).digest()


def _refs_text(refs: Mapping[str, Sequence[str]], *, sort_values: bool) -> str:
    """`json.dumps(refs, sort_keys=True, separators=(",", ":"))` for a str -> [str] mapping
    (values sorted too when asked), with json's own ASCII string encoder."""
    parts = [
        _quote(key) + ":[" + ",".join(_quote(v) for v in (sorted(values) if sort_values else values)) + "]"
        for key, values in sorted(refs.items())
    ]
    return "{" + ",".join(parts) + "}"


class LedgerStore:
    """One log in one SQLite file or PostgreSQL database.

    `path` is a file path, `sqlite:///PATH` or `postgresql://...`; `conn` runs portable SQL on
    either (see `custody.store.Database`)."""

    def __init__(self, conn: Database, path: str) -> None:
        self.conn = conn
        self.path = conn.name  # the path, or the URL without its password
        self._upper = UpperLevels(self)
        if conn.dialect.name == "sqlite":
            conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> LedgerStore:
        conn = open_database(path, kind=KIND, schema_version=SCHEMA_VERSION, schema=SCHEMA, create=create)
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tree ---------------------------------------------------------------------------------

    def size(self) -> int:
        row = self.conn.execute("SELECT max(idx) FROM leaf").fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def get(self, ids: Sequence[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        """`merkle.NodeSource`: one query for all wanted nodes."""
        keys = {node_key(n): n for n in ids}
        out: dict[merkle.NodeId, bytes] = {}
        items = list(keys)
        for start in range(0, len(items), 500):  # stay below SQLite's bound-parameter limit
            part = items[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, value in self.conn.execute(f"SELECT id, hash FROM node WHERE id IN ({marks})", part):  # noqa: S608
                out[keys[key]] = bytes(value)
        return out

    def root(self, size: int | None = None) -> bytes:
        """Always from the stored nodes (what checkpoints are signed over), never from memory."""
        return merkle.root(self.size() if size is None else size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        n = self.size() if size is None else size
        return merkle.inclusion_proof(index, n, self._upper.source(n))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        n = self.size() if size2 is None else size2
        return merkle.consistency_proof(size1, n, self._upper.source(n))

    def leaf_hash(self, index: int) -> bytes:
        found = self.get([(0, index)])
        if (0, index) not in found:
            raise StoreError(f"{self.path}: no entry {index}")
        return found[(0, index)]

    # -- append -------------------------------------------------------------------------------

    def append(
        self,
        entries: Iterable[NewEntry],
        *,
        idempotency: tuple[str, str] | None = None,
        compromised: Sequence[tuple[str, str]] = (),
    ) -> range:
        """Append a batch atomically; returns the indexes it got.

        `entries` is consumed inside the transaction, chunk by chunk, so a huge batch does not
        have to sit in memory, and a writer that dies halfway leaves nothing behind.

        `idempotency` is (client key, digest of the batch): a batch sent again with the same key
        (a client retrying after a lost answer) is not appended again; the indexes it got the
        first time are returned. The same key with another digest raises IdempotencyConflict.

        `compromised` is (key id, since) of each signed key-compromise statement in the batch
        (`custody.ledger.api.compromise_marks_in`): noted in the key table in the same
        transaction, so the table never disagrees with the log, which `custody log verify`
        reports. Of several marks of one key the earliest `since` holds (a later mark cannot
        shrink the window); a key never seen is recorded without its public half, so a leak can
        be declared before the key is ever used.
        """
        with self.conn.transaction():
            got = self._append_locked(entries, idempotency)
            for keyid, since in compromised:
                self.conn.execute(
                    "INSERT INTO signer_key(keyid, verifier, compromised_since) VALUES (?, '', ?)"
                    " ON CONFLICT(keyid) DO UPDATE SET compromised_since = excluded.compromised_since"
                    " WHERE signer_key.compromised_since IS NULL"
                    " OR signer_key.compromised_since > excluded.compromised_since",
                    (keyid, since),
                )
        return got

    def _append_locked(self, entries: Iterable[NewEntry], idempotency: tuple[str, str] | None) -> range:
        """`append` inside a write transaction the caller holds."""
        if idempotency is not None:
            self.conn.execute(self.conn.dialect.ddl(_APPEND_KEY_TABLE)[0])
            row = self.conn.execute(
                "SELECT digest, first_idx, n FROM append_key WHERE idem_key = ?", (idempotency[0],)
            ).fetchone()
            if row is not None:
                if str(row[0]) != idempotency[1]:
                    raise IdempotencyConflict(
                        f"idempotency key {idempotency[0]!r} was used for a different batch"
                    )
                return range(int(row[1]), int(row[1]) + int(row[2]))
        start = self.size()
        plan = merkle.range_nodes(0, start)
        found = self.get(plan)
        if len(found) != len(plan):
            raise StoreError(f"{self.path}: tree nodes missing at size {start}; run `custody log verify`")
        border = merkle.CompactRange(start, [found[n] for n in plan])
        now = utc_now()
        leaves: list[tuple[int, bytes, str]] = []
        metas: list[tuple[int, str, bytes, bytes, str]] = []
        refs: list[tuple[int, str, str]] = []
        nodes: list[tuple[int, bytes]] = []
        index = start
        now_json = _quote(now)
        salts, used = b"", 0
        for item in entries:
            if used == len(salts):  # one urandom call per chunk of salts, not one per entry
                salts, used = os.urandom(16 * _CHUNK), 0
            salt = salts[used : used + 16]
            used += 16
            # an empty ref list would be committed to but leaves no row to read back
            item_refs = {k: list(v) for k, v in item.refs.items() if v}
            refs_json = _refs_json(item_refs)
            # the commitment sorts each ref list; most are already sorted (one value)
            if any(len(v) > 1 and v != sorted(v) for v in item_refs.values()):
                committed_refs = _refs_text(item_refs, sort_values=True)
            else:
                committed_refs = refs_json
            commitment = _commitment(_quote(item.kind), now_json, salt, item.body, committed_refs)
            leaves.append((index, commitment, now))
            metas.append((index, item.kind, salt, item.body, refs_json))
            refs.extend((index, k, v) for k, values in item_refs.items() for v in values)
            nodes.extend((node_key(n), h) for n, h in border.append(merkle.leaf_hash(commitment)))
            index += 1
            if len(leaves) >= _CHUNK:
                self._flush(leaves, metas, refs, nodes)
        self._flush(leaves, metas, refs, nodes)
        if idempotency is not None:
            self.conn.execute(
                "INSERT INTO append_key(idem_key, digest, first_idx, n) VALUES (?, ?, ?, ?)",
                (idempotency[0], idempotency[1], start, index - start),
            )
        return range(start, index)

    def _flush(
        self,
        leaves: list[tuple[int, bytes, str]],
        metas: list[tuple[int, str, bytes, bytes, str]],
        refs: list[tuple[int, str, str]],
        nodes: list[tuple[int, bytes]],
    ) -> None:
        c = self.conn
        c.insert_rows("leaf", ("idx", "commitment", "integrated_at"), leaves)
        c.insert_rows("entry", ("idx", "kind", "salt", "body", "refs"), metas)
        c.insert_rows("entry_ref", ("idx", "field", "value"), refs)
        c.insert_rows("node", ("id", "hash"), nodes)
        for rows in (leaves, metas, refs, nodes):
            rows.clear()

    # -- metadata -----------------------------------------------------------------------------

    def entry(self, index: int) -> StoredEntry:
        row = self.conn.execute(
            "SELECT l.idx, e.kind, l.integrated_at, l.commitment, e.body, e.redacted_at,"
            " e.redaction_reason, e.salt, e.refs FROM leaf l LEFT JOIN entry e ON e.idx = l.idx"
            " WHERE l.idx = ?",
            (index,),
        ).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: no entry {index}")
        return self._entry(row)

    def entries(
        self, start: int = 0, end: int | None = None, *, kind: str | None = None
    ) -> Iterator[StoredEntry]:
        """Entries [start, end) in log order (only those of `kind`, if given)."""
        stop = self.size() if end is None else end
        query = (
            "SELECT l.idx, e.kind, l.integrated_at, l.commitment, e.body, e.redacted_at,"
            " e.redaction_reason, e.salt, e.refs FROM leaf l LEFT JOIN entry e ON e.idx = l.idx"
            " WHERE l.idx >= ? AND l.idx < ?"
        )
        if kind is None:
            rows = self.conn.stream(query + " ORDER BY l.idx", (start, stop))
        else:
            rows = self.conn.stream(query + " AND e.kind = ? ORDER BY l.idx", (start, stop, kind))
        for row in rows:
            yield self._entry(row)

    def _entry(self, row: tuple[object, ...]) -> StoredEntry:
        index = int(str(row[0]))
        refs = _parse_refs(row[8])
        body, salt = row[4], row[7]
        return StoredEntry(
            index=index,
            kind=str(row[1] or ""),
            integrated_at=str(row[2]),
            commitment=_blob(row[3]) or b"",
            body=_blob(body),
            refs=refs,
            redacted_at=None if row[5] is None else str(row[5]),
            redaction_reason=None if row[6] is None else str(row[6]),
            salt=_blob(salt),
        )

    def redact(self, index: int, reason: str) -> None:
        """Erase one record's readable metadata; its commitment (and every proof) stays."""
        with self.conn.transaction():
            if self.conn.execute("SELECT 1 FROM leaf WHERE idx = ?", (index,)).fetchone() is None:
                raise StoreError(f"{self.path}: no entry {index}")
            row = self.conn.execute("SELECT refs FROM entry WHERE idx = ?", (index,)).fetchone()
            refs = _parse_refs(row[0] if row else None)
            # through the (field, value, idx) index: no second index on idx to pay for at append
            self.conn.executemany(
                "DELETE FROM entry_ref WHERE field = ? AND value = ? AND idx = ?",
                [(k, v, index) for k, values in refs.items() for v in values],
            )
            self.conn.execute(
                "UPDATE entry SET body = NULL, salt = NULL, refs = NULL, redacted_at = ?,"
                " redaction_reason = ? WHERE idx = ?",
                (utc_now(), reason, index),
            )

    def find(self, field_name: str, value: str) -> list[int]:
        rows = self.conn.execute(
            "SELECT DISTINCT idx FROM entry_ref WHERE field = ? AND value = ? ORDER BY idx",
            (field_name, value),
        )
        return [int(r[0]) for r in rows]

    # -- checkpoints and keys -----------------------------------------------------------------

    def save_checkpoint(self, size: int, root_hash: bytes, note: str) -> None:
        with self.conn.transaction():
            self._insert_checkpoint(size, root_hash, note)

    def _insert_checkpoint(self, size: int, root_hash: bytes, note: str) -> None:
        self.conn.execute(_CHECKPOINT_INDEX)  # stores from before the index: made once, then a no-op
        self.conn.execute(
            "INSERT INTO checkpoint(size, root, note, created_at) VALUES (?, ?, ?, ?)",
            (size, root_hash, note, utc_now()),
        )

    def add_checkpoint(self, make_note: Callable[[int, bytes, CheckpointRow | None], str]) -> str:
        """Sign and keep the current head in one write transaction: `make_note(size, root, last)`
        gets the head and the largest stored checkpoint, read under the writer lock (so no append
        or other checkpoint lands in between), and returns the signed note, or raises to refuse."""
        with self.conn.transaction():
            size = self.size()
            root_hash = self.root(size)
            note = make_note(size, root_hash, self.latest_checkpoint())
            self._insert_checkpoint(size, root_hash, note)
        return note

    def checkpoints(self) -> list[CheckpointRow]:
        """Every stored checkpoint, oldest first (for whole-log verification)."""
        rows = self.conn.execute("SELECT size, root, note FROM checkpoint ORDER BY id")
        return [(int(s), bytes(r), str(n)) for s, r, n in rows]

    def latest_checkpoint(self, below: int | None = None) -> CheckpointRow | None:
        """(size, root, note) of the largest stored checkpoint (of size > `below`, if given); of
        several for that size, the newest, which is the one carrying witness cosignatures.
        One read through the (size, id) index, however many checkpoints are stored."""
        row = self.conn.execute(
            "SELECT size, root, note FROM checkpoint WHERE size > ? ORDER BY size DESC, id DESC LIMIT 1",
            (-1 if below is None else below,),
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))

    def register_key(self, keyid: str, verifier: str) -> None:
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO signer_key(keyid, verifier) VALUES (?, ?)"
                " ON CONFLICT(keyid) DO UPDATE SET verifier = excluded.verifier"
                " WHERE signer_key.verifier = ''",
                (keyid, verifier),
            )

    def keys(self) -> dict[str, tuple[str, str | None]]:
        """keyid -> (verifier key text, compromised since or None)."""
        rows = self.conn.execute("SELECT keyid, verifier, compromised_since FROM signer_key")
        return {str(k): (str(v), None if c is None else str(c)) for k, v, c in rows}


def _refs_json(refs: Mapping[str, Sequence[str]]) -> str:
    return _refs_text(refs, sort_values=False)


def _parse_refs(value: object) -> dict[str, list[str]]:
    """The entry's own copy of its refs (entry_ref is only the lookup index over them)."""
    if value is None:
        return {}
    try:
        data = json.loads(str(value))
    except ValueError:
        return {"<unreadable>": [str(value)[:40]]}  # fails the commitment check, named there
    if not isinstance(data, dict):
        return {"<unreadable>": [str(value)[:40]]}
    return {str(k): [str(x) for x in v] for k, v in data.items() if isinstance(v, list)}


def _blob(value: object) -> bytes | None:
    """A BLOB column; an edit through SQL text functions turns it into TEXT, which must still
    be compared (and so found to differ), not mistaken for a redaction."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()
