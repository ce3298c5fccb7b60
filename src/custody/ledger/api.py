"""The ledger as one object: signed records in, checkpoints out.

A record is an in-toto Statement in a DSSE envelope signed by one or more keys; the envelope is
the entry body, its predicate fields and signer key ids are the entry's exposure refs, and each
signer's public key is registered in the log so verification needs no other key store.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custody.ledger import merkle
from custody.ledger.attest import compromise_of, compromise_statement, refs_of, statement, statement_bytes
from custody.ledger.keys import BadKey, SigningKey, VerifierKey
from custody.ledger.signing import (
    Checkpoint,
    SignatureError,
    check_origin,
    envelope_bytes,
    open_envelope,
    sign_envelope,
)
from custody.ledger.store import CheckpointRow, LedgerStore, NewEntry, normalize_time
from custody.ledger.verify import verify_extension
from custody.store import StoreError


@dataclass(frozen=True, slots=True)
class Record:
    """What to log: a custody predicate kind (one of `attest.PREDICATE_TYPES`), the in-toto subjects
    and the predicate."""

    kind: str  # one of attest.PREDICATE_TYPES
    subjects: Sequence[Mapping[str, Any]]
    predicate: Mapping[str, Any]


def signed_entry(record: Record, signers: Sequence[SigningKey]) -> NewEntry:
    """The log entry for `record`: its in-toto statement in a DSSE envelope signed by `signers`, with
    the exposure refs derived from the statement. Raises ValueError for an unknown kind or no subject."""
    stmt = statement(record.kind, record.subjects, record.predicate)
    envelope = sign_envelope(statement_bytes(stmt), signers)
    return NewEntry(record.kind, envelope_bytes(envelope), refs_of(stmt, envelope))


def record(store: LedgerStore, records: Sequence[Record], signers: Sequence[SigningKey]) -> range:
    """Sign and append records as one batch; returns their log indexes."""
    for key in signers:
        store.register_key(key.keyid, key.verifier.text())
    return store.append(signed_entry(r, signers) for r in records)


def checkpoint(store: LedgerStore, origin: str, keys: Sequence[SigningKey]) -> str:
    """Sign the current tree head as a C2SP checkpoint and keep it in the log.

    Raises SignatureError for an origin c2sp.org/tlog-checkpoint does not allow (`check_origin`).
    """
    check_origin(origin)

    def make_note(size: int, root: bytes | None, last: CheckpointRow | None) -> str:
        # Never sign a head that does not extend the last one signed (that would bless a
        # rewrite), nor one over entries that fail verification: what was added since the last
        # checkpoint (the whole log for the first) is recomputed from the stored commitments.
        # All of it is read under the store's writer lock, so a concurrent append or checkpoint
        # cannot make an intact log look as if it shrank.
        last_size, last_root = (0, merkle.EMPTY_ROOT) if last is None else (last[0], last[1])
        if last_size > size:
            raise merkle.ProofError(f"refusing to sign: the log shrank from {last_size} to {size} entries")
        if root is None:  # a leaf or node the head needs is missing: recompute to name it
            try:
                verify_extension(store, last_size, last_root, size)
            except merkle.ProofError as exc:
                raise merkle.ProofError(
                    f"refusing to sign: entries {last_size}..{size} since the last checkpoint fail "
                    f"verification: {exc} (run `custody log verify`)"
                ) from exc
            raise merkle.ProofError(
                f"refusing to sign: tree nodes at size {size} are missing (run `custody log verify`)"
            )
        try:
            proof = store.consistency_proof(last_size, size)
            merkle.verify_consistency(last_size, size, proof, last_root, root)
        except merkle.ProofError as exc:
            raise merkle.ProofError(
                f"refusing to sign: not consistent with checkpoint {last_size}: {exc}"
            ) from exc
        try:
            recomputed = verify_extension(store, last_size, last_root, size)
            store.check_unpinned_leaves(size)
        except (merkle.ProofError, StoreError) as exc:
            raise merkle.ProofError(
                f"refusing to sign: entries {last_size}..{size} since the last checkpoint fail "
                f"verification: {exc} (run `custody log verify`)"
            ) from exc
        if recomputed != root:
            raise merkle.ProofError(
                f"refusing to sign: the stored root at size {size} differs from the recomputed one"
            )
        return Checkpoint(origin=origin, size=size, root=root).sign(keys)

    return store.add_checkpoint(make_note)


def redact(store: LedgerStore, index: int, reason: str, signers: Sequence[SigningKey]) -> int:
    """Erase entry `index`'s readable metadata, first recording who erased it and why as a signed
    `redacted` statement in the log (`custody log verify` requires one for every erased entry, so
    an erasure made behind the log's back, in SQL, is found). Returns the statement's index.

    Two transactions: a crash between them leaves the statement with the entry still readable,
    which verifies and can simply be redacted again; never an erasure without its statement.
    """
    if not signers:
        raise ValueError("a redaction is recorded as a signed statement: give a key")
    entry = store.entry(index)  # StoreError if there is no such entry
    if entry.redacted_at is not None:
        raise StoreError(f"{store.path}: entry {index} is already redacted")
    if entry.kind == "key-compromised":  # erasing it would clear the mark it carries
        raise StoreError(f"{store.path}: entry {index} is a key-compromise statement: it is never redacted")
    subject = {"digest": {"sha256": entry.commitment.hex()}}
    at = record(store, [Record("redacted", [subject], {"entry": index, "reason": reason})], signers)
    store.redact(index, reason)
    return at.start


def mark_compromised(
    store: LedgerStore, keyid: str, since: str, reason: str, signers: Sequence[SigningKey]
) -> int:
    """Declare key `keyid` compromised from `since` (ISO 8601) as a signed `key-compromised`
    statement in the log: who (the signers), when (the log's integration time) and why
    (`reason`). `custody log verify` and `open_verified` take compromise marks from these
    statements, so a mark added or cleared in SQL is found. Returns the statement's index."""
    if not signers:
        raise ValueError("a key-compromise mark is recorded as a signed statement: give a key")
    since = normalize_time(since)
    subjects, predicate = compromise_statement(keyid, since, reason)
    entry = signed_entry(Record("key-compromised", subjects, predicate), signers)
    for key in signers:
        store.register_key(key.keyid, key.verifier.text())
    return store.append([entry], compromised=[(keyid, since)]).start


def compromise_marks_in(entries: Sequence[NewEntry]) -> list[tuple[str, str]]:
    """(key id, since) of every `key-compromised` statement among entries about to be appended,
    for `LedgerStore.append(compromised=...)`; ValueError for a malformed one."""
    return [compromise_of(statement_of(e.body)) for e in entries if e.kind == "key-compromised"]


def keyring(store: LedgerStore) -> dict[str, VerifierKey]:
    """The registered public keys that parse, by key id."""
    ring: dict[str, VerifierKey] = {}
    for keyid, (text, _since) in store.keys().items():
        try:
            if text:
                ring[keyid] = VerifierKey.parse(text)
        except BadKey:
            continue
    return ring


def compromised_since(
    store: LedgerStore, keyids: Sequence[str], ring: Mapping[str, VerifierKey]
) -> dict[str, str]:
    """Key id -> earliest compromise time, for the given keys: from the validly signed
    `key-compromised` statements in the log (found through the exposure index) and, for marks
    made before they were logged, the key table; the earlier of the two, so neither an index
    nor a table edit can shorten a compromise window here (`custody log verify` reports both)."""
    known = store.keys()
    out: dict[str, str] = {}
    for keyid in keyids:
        times = [since for since in [known.get(keyid, ("", None))[1]] if since]
        for index in store.find("compromised_key", keyid):
            entry = store.entry(index)
            if entry.body is None or entry.kind != "key-compromised":
                continue
            try:
                marked, since = compromise_of(json.loads(open_envelope(json.loads(entry.body), ring).payload))
            except (SignatureError, ValueError, TypeError):
                continue
            if marked == keyid:
                times.append(since)
        if times:
            out[keyid] = min(times)
    return out


def statement_of(body: bytes) -> dict[str, Any]:
    """The in-toto statement inside an entry body (an envelope), without verifying signatures."""
    envelope = json.loads(body)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    if not isinstance(payload, dict):
        raise ValueError("envelope payload is not a JSON object")
    return payload
