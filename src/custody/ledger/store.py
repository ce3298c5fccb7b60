"""The append-only log on SQLite or PostgreSQL, through `custody.store`.

Tables: `leaf` holds what the Merkle tree commits to (one 32-byte commitment per entry plus the
log's integration time), which also gives each leaf hash (RFC 6962: SHA-256(0x00 || commitment))
and every node below level 5 (`BLOCK_LEVELS`: hashed from a block of 32 adjacent commitments);
`node` holds every perfect subtree hash from level 5 up, so proofs are O(log n) reads (stores made
before this also hold rows for the lower levels, which nothing reads any more: copies of what the
commitments say were two more rows per entry to write, and more to tamper with);
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
import itertools
import json
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps uses (ensure_ascii)
from types import MappingProxyType
from typing import NamedTuple

from custody.ledger import merkle
from custody.ledger.proof_nodes import BLOCK_LEVELS, UpperLevels, block_nodes, node_key
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
CREATE TABLE IF NOT EXISTS entry_ref (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (field, value, idx)
) WITHOUT ROWID;
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

# `entry_ref` is one B-tree keyed by what exposure queries look up (SQLite WITHOUT ROWID; on
# PostgreSQL a table with its primary key index): each ref row is written once, not to a table
# and again to an index. Stores made before this keep their rowid table and its
# `entry_ref_lookup(field, value, idx)` index; every statement reads and writes both alike.

CheckpointRow = tuple[int, bytes, str]
"""(size, root, signed note) of a stored checkpoint."""


class IdempotencyConflict(StoreError):
    """An idempotency key came back with a different batch than the one it was first used for."""


_CHUNK = 2000  # rows per executemany inside a batch: bounds memory for huge batches
_CACHE_KIB = 65536  # SQLite page cache (grows as used): all of `node`'s interior pages at 10M


def utc_now() -> str:
    """The current UTC time in the log's format (ISO 8601, microseconds, `Z`)."""
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


class NewEntry(NamedTuple):
    """One record to append: a kind (produced, accessed, ...), an opaque body, exposure refs.

    A named tuple rather than a frozen dataclass: building one per record was a tenth of an
    append's CPU time (a frozen dataclass sets each field through object.__setattr__)."""

    kind: str
    body: bytes
    refs: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEntry:
    """One entry as the log holds it: index, kind, integration time, the commitment its leaf hashes,
    the body (None once redacted) and its exposure refs, plus redaction time and reason and the salt."""

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
        """Open the ledger at `path` (a file path, `sqlite:///PATH` or `postgresql://...`), creating it
        unless `create` is False. Raises StoreError for a missing (with create=False), unreadable,
        corrupt or foreign store, or a missing PostgreSQL driver (`custody[postgres]`)."""
        conn = open_database(path, kind=KIND, schema_version=SCHEMA_VERSION, schema=SCHEMA, create=create)
        return cls(conn, path)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tree ---------------------------------------------------------------------------------

    def size(self) -> int:
        """Number of entries in the log (the current tree size)."""
        row = self.conn.execute("SELECT max(idx) FROM leaf").fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def get(self, ids: Sequence[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        """`merkle.NodeSource`. Nodes from `BLOCK_LEVELS` up are read from `node`, in one query;
        the lower ones (leaf hashes included) are hashed from the stored commitments of their
        block of 32 leaves, which determine them: one range read per block."""
        keys = {node_key(n): n for n in ids if n[0] >= BLOCK_LEVELS}
        blocks = sorted({index >> (BLOCK_LEVELS - level) for level, index in ids if level < BLOCK_LEVELS})
        out: dict[merkle.NodeId, bytes] = {}
        items = list(keys)
        for start in range(0, len(items), 500):  # stay below SQLite's bound-parameter limit
            part = items[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, value in self.conn.execute(f"SELECT id, hash FROM node WHERE id IN ({marks})", part):  # noqa: S608
                out[keys[key]] = bytes(value)
        if blocks:
            width = 1 << BLOCK_LEVELS
            wanted: dict[int, set[merkle.NodeId]] = {}
            for level, index in ids:
                if level < BLOCK_LEVELS:
                    wanted.setdefault(index >> (BLOCK_LEVELS - level), set()).add((level, index))
            for block in blocks:
                rows = self.conn.execute(
                    "SELECT idx, commitment FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
                    (block * width, (block + 1) * width),
                ).fetchall()
                out.update(block_nodes(block * width, rows, wanted[block]))
        return out

    def root(self, size: int | None = None) -> bytes:
        """Always from the stored nodes (what checkpoints are signed over), never from memory."""
        return merkle.root(self.size() if size is None else size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 inclusion proof of entry `index` under the tree of `size` entries (default: now).
        Raises ProofError for an index outside that tree."""
        n = self.size() if size is None else size
        return merkle.inclusion_proof(index, n, self._upper.source(n))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 6962 consistency proof from `size1` entries to `size2` (default: now). Raises ProofError
        for sizes out of order."""
        n = self.size() if size2 is None else size2
        return merkle.consistency_proof(size1, n, self._upper.source(n))

    def check_unpinned_leaves(self, size: int) -> None:
        """Nodes below `BLOCK_LEVELS` are not stored, so no stored node covers the leaves of the
        last, incomplete block of 32: their commitments must still match their entries'
        metadata before an append builds nodes on them or a checkpoint signs them (else an
        edited commitment there would be taken into the tree). StoreError naming the first that
        does not; a redacted entry is left to `custody log verify`."""
        for e in self.entries(size >> BLOCK_LEVELS << BLOCK_LEVELS, size):
            if e.body is None or e.salt is None:
                continue
            if commitment_of(e.kind, e.integrated_at, e.salt, e.body, e.refs) != e.commitment:
                raise StoreError(
                    f"{self.path}: entry {e.index}: its commitment does not match its metadata (edited);"
                    " run `custody log verify`"
                )

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of entry `index`; raises StoreError when there is no such entry."""
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
        self.check_unpinned_leaves(start)
        plan = merkle.range_nodes(0, start)
        found = self.get(plan)
        if len(found) != len(plan):
            raise StoreError(f"{self.path}: tree nodes missing at size {start}; run `custody log verify`")
        border = merkle.CompactRange(start, [found[n] for n in plan])
        now = utc_now()
        index = start
        items = iter(entries)
        while chunk := list(itertools.islice(items, _CHUNK)):
            self._append_chunk(chunk, index, now, border)
            index += len(chunk)
        if idempotency is not None:
            self.conn.execute(
                "INSERT INTO append_key(idem_key, digest, first_idx, n) VALUES (?, ?, ?, ?)",
                (idempotency[0], idempotency[1], start, index - start),
            )
        return range(start, index)

    def _append_chunk(self, chunk: list[NewEntry], first: int, now: str, border: merkle.CompactRange) -> None:
        """Write one chunk of a batch: each column is computed for the whole chunk at once (one
        list comprehension per hash, one `CompactRange.extend` per tree level, one bulk insert
        per table), so the per-entry Python is only the refs. Commitments are byte for byte
        `commitment_of` (property-tested)."""
        n = len(chunk)
        indexes = range(first, first + n)
        salt_bytes = os.urandom(16 * n)  # one urandom call per chunk, not one per entry
        salts = [salt_bytes[i : i + 16] for i in range(0, 16 * n, 16)]
        columns = _refs_columns(chunk, first, normalize=False)
        if columns is None:  # a ref list that is not a list (a tuple, ...): as lists, like before
            columns = _refs_columns(chunk, first, normalize=True)
        assert columns is not None
        kind_json, stored_refs, committed_refs, ref_rows = columns
        sha = hashlib.sha256
        bodies = [e.body for e in chunk]
        time_json = _quote(now)
        commitments = [
            sha(
                f'{{"body_sha256":"{sha(body).hexdigest()}","kind":{kind},"refs":{refs},'
                f'"salt":"{salt.hex()}","time":{time_json},"v":1}}'.encode()
            ).digest()
            for body, kind, refs, salt in zip(bodies, kind_json, committed_refs, salts, strict=True)
        ]
        nodes: list[tuple[int, bytes]] = []
        for level, index, hashes in border.extend([sha(b"\x00" + c).digest() for c in commitments]):
            if level < BLOCK_LEVELS:  # not stored: their block of commitments determines them
                continue
            key = node_key((level, index))  # a level's keys are consecutive integers
            nodes.extend(zip(range(key, key + len(hashes)), hashes, strict=True))
        c = self.conn
        c.insert_rows(
            "leaf",
            ("idx", "commitment", "integrated_at"),
            list(zip(indexes, commitments, [now] * n, strict=True)),
        )
        c.insert_rows(
            "entry",
            ("idx", "kind", "salt", "body", "refs"),
            list(zip(indexes, [e.kind for e in chunk], salts, bodies, stored_refs, strict=True)),
        )
        c.insert_rows("entry_ref", ("idx", "field", "value"), ref_rows)
        c.insert_rows("node", ("id", "hash"), nodes)

    # -- metadata -----------------------------------------------------------------------------

    def entry(self, index: int) -> StoredEntry:
        """Entry `index` with its metadata; raises StoreError when there is no such entry."""
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
        """Indexes of the entries whose exposure ref `field_name` has `value`, in log order."""
        rows = self.conn.execute(
            "SELECT DISTINCT idx FROM entry_ref WHERE field = ? AND value = ? ORDER BY idx",
            (field_name, value),
        )
        return [int(r[0]) for r in rows]

    # -- checkpoints and keys -----------------------------------------------------------------

    def save_checkpoint(self, size: int, root_hash: bytes, note: str) -> None:
        """Keep a signed checkpoint note for the tree of `size` entries with root `root_hash`."""
        with self.conn.transaction():
            self._insert_checkpoint(size, root_hash, note)

    def _insert_checkpoint(self, size: int, root_hash: bytes, note: str) -> None:
        self.conn.execute(_CHECKPOINT_INDEX)  # stores from before the index: made once, then a no-op
        self.conn.execute(
            "INSERT INTO checkpoint(size, root, note, created_at) VALUES (?, ?, ?, ?)",
            (size, root_hash, note, utc_now()),
        )

    def add_checkpoint(self, make_note: Callable[[int, bytes | None, CheckpointRow | None], str]) -> str:
        """Sign and keep the current head in one write transaction: `make_note(size, root, last)`
        gets the head and the largest stored checkpoint, read under the writer lock (so no append
        or other checkpoint lands in between), and returns the signed note, or raises to refuse.
        `root` is None when the store cannot give it (a missing leaf or node): `make_note` then
        names what is wrong, and must refuse."""
        with self.conn.transaction():
            size = self.size()
            try:
                root_hash: bytes | None = self.root(size)
            except merkle.ProofError:
                root_hash = None
            note = make_note(size, root_hash, self.latest_checkpoint())
            if root_hash is None:
                raise merkle.ProofError(f"refusing to sign: no root at size {size}")
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
        """Record a signer's public key (`VerifierKey.text()`) under its key id; a key id already holding
        a key keeps it (a key is never silently replaced)."""
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


_KIND, _REFS = operator.itemgetter(0), operator.itemgetter(2)  # of a NewEntry
_FIELD, _VALUE = operator.itemgetter(1), operator.itemgetter(2)  # of an entry_ref row
_values = operator.methodcaller("values")


_RefsColumns = tuple[list[str], list[str], list[str], list[tuple[int, str, str]]]


def _refs_columns(chunk: Sequence[NewEntry], first: int, *, normalize: bool) -> _RefsColumns | None:
    """Per entry of a chunk: its kind as JSON, its refs as stored (JSON) and as committed to
    (JSON, each list sorted), and its `entry_ref` rows. Column by column over the whole chunk,
    mostly through C (map, json's C encoder, one comprehension for all rows): this was most of
    an append's Python. Returns None when some ref list is not a list, and `normalize` then
    makes every one a list first (a str would otherwise be encoded as a string but indexed as
    its characters)."""
    kinds = list(map(_KIND, chunk))
    quoted = {kind: _quote(kind) for kind in set(kinds)}
    kind_json = list(map(quoted.__getitem__, kinds))
    # an empty list would be committed to but leave no row to read back
    seen: list[Mapping[str, Sequence[str]]]
    if normalize:
        seen = [{k: list(v) for k, v in given.items() if v} for given in map(_REFS, chunk)]
    else:
        seen = [
            given if type(given) is dict and all(given.values()) else {k: v for k, v in given.items() if v}
            for given in map(_REFS, chunk)
        ]
        if set(map(type, itertools.chain.from_iterable(map(_values, seen)))) - {list}:
            return None
    stored = _encode_many(seen)
    committed = stored
    indexes = range(first, first + len(chunk))
    rows = [
        (i, k, v) for i, refs in zip(indexes, seen, strict=True) for k, values in refs.items() for v in values
    ]
    if len(rows) != sum(map(len, seen)):  # some field has several values (one is the norm)
        committed, rows = list(stored), []
        for position, (i, refs) in enumerate(zip(indexes, seen, strict=True)):
            mine = [(i, k, v) for k, values in refs.items() for v in values]
            if len(mine) > len(refs):
                mine = sorted(set(mine))  # the index holds each (field, value) of an entry once
                if any(list(v) != sorted(v) for v in refs.values()):  # the commitment sorts them
                    committed[position] = _refs_text(refs, sort_values=True)
            rows.extend(mine)
    if (set(map(type, map(_FIELD, rows))) | set(map(type, map(_VALUE, rows)))) - {str} and not all(
        isinstance(k, str) and isinstance(v, str) for _, k, v in rows
    ):
        raise TypeError("exposure refs map str to a list of str")
    return kind_json, stored, committed, rows


def _reject(value: object) -> object:
    raise TypeError(f"exposure refs map str to a list of str, not {type(value).__name__}")


def _encode_many_c() -> Callable[[list[Mapping[str, Sequence[str]]]], list[str]] | None:
    """json's C encoder, made once (json.dumps builds a new encoder on every call, which cost
    more than the encoding) and mapped over a chunk's refs without a Python frame per entry:
    `json.dumps(refs, sort_keys=True, separators=(",", ":"))` each. None if this Python's
    private `c_make_encoder` is missing or encodes differently."""
    try:
        from json.encoder import c_make_encoder  # type: ignore[attr-defined]  # noqa: PLC0415

        encoder = c_make_encoder(None, _reject, _quote, None, ":", ",", True, False, True)

        def encode_many(many: list[Mapping[str, Sequence[str]]]) -> list[str]:
            return list(map("".join, map(encoder, many, itertools.repeat(0, len(many)))))

        sample: list[Mapping[str, Sequence[str]]] = [{"b": ["\u00e9", 'q"'], "a": []}, {}]
        if encode_many(sample) != [_refs_text(r, sort_values=False) for r in sample]:
            return None
    except Exception:  # any surprise means: use the portable encoder
        return None
    return encode_many


def _encode_many_py(many: list[Mapping[str, Sequence[str]]]) -> list[str]:
    return [_refs_text(refs, sort_values=False) for refs in many]


_encode_many = _encode_many_c() or _encode_many_py


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
