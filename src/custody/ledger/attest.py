"""in-toto Statement v1 with custody's predicate types, and the exposure refs they index under.

Each predicate answers one custody question (who produced it, from what, labelled by whom under
which protocol, read by whom, shipped to whom). `refs_of` pulls out the names an exposure query
starts from (principal, host, key, dataset, client, project), so the log can index them without
parsing every body again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from custody.ledger.signing import envelope_signers
from custody.ledger.store import normalize_time

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
_BASE = "https://custody.dev/ledger"  # custody's predicate namespace (documented in README.md)
PRODUCED = f"{_BASE}/produced/v1"
TRANSFORMED = f"{_BASE}/transformed/v1"
LABELED = f"{_BASE}/labeled/v1"
ACCESSED = f"{_BASE}/accessed/v1"
EXPORTED = f"{_BASE}/exported/v1"
REDACTED = f"{_BASE}/redacted/v1"
"""A record's readable metadata was erased: predicate `{entry, reason}`, subject the erased
entry's commitment (`sha256`); who is the signer, when the log's integration time."""
KEY_COMPROMISED = f"{_BASE}/key-compromised/v1"
"""A signing key is no longer trusted: predicate `{compromised_key, since, reason}`, subject the
SHA-256 of the key id; who is the signer, when the log's integration time. `custody log verify`
derives compromise flags from these statements, not from the key table."""
GATE_DECISION = f"{_BASE}/gate-decision/v1"
GUARD_EVENT = f"{_BASE}/guard-event/v1"
"""`custody gate`: one file served or refused at install time (predicate: project, version,
filename, decision, verdict, rule, reason, host = the client's address, user_agent, time)."""
PREDICATE_TYPES = {
    "produced": PRODUCED,
    "transformed": TRANSFORMED,
    "labeled": LABELED,
    "accessed": ACCESSED,
    "exported": EXPORTED,
    "redacted": REDACTED,
    "key-compromised": KEY_COMPROMISED,
    "gate-decision": GATE_DECISION,
    "guard-event": GUARD_EVENT,
}
KIND_OF = {v: k for k, v in PREDICATE_TYPES.items()}
MERKLE_DIGEST = "custodyMerkleSha256"
"""Digest name for a dataset version: the RFC 6962 root over its sorted files (see dataset.py)."""

REF_FIELDS = (
    "principal",
    "host",
    "dataset",
    "client",
    "project",
    "producer",
    "contractor",
    "compromised_key",  # how open_verified finds a key's compromise statements
)


def subject(name: str, digests: Mapping[str, str]) -> dict[str, Any]:
    """An in-toto subject: a name and its digests (algorithm -> hex value)."""
    return {"name": name, "digest": dict(digests)}


def statement(
    kind: str, subjects: Sequence[Mapping[str, Any]], predicate: Mapping[str, Any]
) -> dict[str, Any]:
    """An in-toto Statement v1 of custody predicate `kind` about `subjects`. Raises ValueError for an
    unknown kind or no subject."""
    if kind not in PREDICATE_TYPES:
        raise ValueError(f"unknown custody predicate kind {kind!r} (one of {', '.join(PREDICATE_TYPES)})")
    if not subjects:
        raise ValueError("an in-toto statement needs at least one subject")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [dict(s) for s in subjects],
        "predicateType": PREDICATE_TYPES[kind],
        "predicate": dict(predicate),
    }


def check_statement(stmt: object) -> str:
    """The custody kind of an in-toto Statement v1 that is well formed, else ValueError naming
    the first fault. Per the in-toto v1 spec: `_type` is the Statement type, `subject` a non-empty
    list of objects each with a non-empty `digest` object of string values (and `name`, when
    present, a string), `predicateType` a string (here one of custody's), `predicate` an object."""
    if not isinstance(stmt, dict):
        raise ValueError("statement is not a JSON object")
    if stmt.get("_type") != STATEMENT_TYPE:
        raise ValueError(f"statement _type must be {STATEMENT_TYPE}")
    subjects = stmt.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise ValueError("statement subject must be a non-empty list")
    for number, subj in enumerate(subjects):
        digest = subj.get("digest") if isinstance(subj, dict) else None
        if (
            not isinstance(subj, dict)
            or not isinstance(digest, dict)
            or not digest
            or not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in digest.items())
            or not isinstance(subj.get("name", ""), str)
        ):
            raise ValueError(f"statement subject {number}: needs a digest of algorithm -> value strings")
    predicate_type = stmt.get("predicateType")
    kind = KIND_OF.get(predicate_type) if isinstance(predicate_type, str) else None
    if kind is None:
        raise ValueError("statement predicateType is not a custody predicate type")
    if not isinstance(stmt.get("predicate", {}), dict):
        raise ValueError("statement predicate must be a JSON object")
    return kind


def statement_bytes(stmt: Mapping[str, Any]) -> bytes:
    """The statement as canonical JSON bytes (sorted keys, no spaces): the DSSE payload."""
    return json.dumps(stmt, sort_keys=True, separators=(",", ":")).encode()


def refs_of(stmt: Mapping[str, Any], envelope: Mapping[str, object] | None = None) -> dict[str, list[str]]:
    """Exposure index entries: predicate fields named in REF_FIELDS, subject names as datasets,
    subject digests as `digest` (`ALG:VALUE`, how a manifest root finds its attestation), and
    (from the envelope) the signing key ids."""
    refs: dict[str, list[str]] = {}
    predicate = stmt.get("predicate", {})
    if isinstance(predicate, Mapping):
        for name in REF_FIELDS:
            value = predicate.get(name)
            if isinstance(value, str) and value:
                refs.setdefault(name, []).append(value)
    inputs = predicate.get("inputs", []) if isinstance(predicate, Mapping) else []
    # a transformation touches its inputs as much as its outputs
    for subj in [*stmt.get("subject", []), *(inputs if isinstance(inputs, list) else [])]:
        if not isinstance(subj, Mapping):
            continue
        subject_name, digests = subj.get("name"), subj.get("digest", {})
        if isinstance(subject_name, str) and subject_name not in refs.get("dataset", []):
            refs.setdefault("dataset", []).append(subject_name)
        if isinstance(digests, Mapping):
            for alg, value in sorted(digests.items()):
                refs.setdefault("digest", []).append(f"{alg}:{value}")
    if envelope is not None:
        keyids = envelope_signers(envelope)
        if keyids:
            refs["key"] = keyids
    return refs


def compromise_statement(keyid: str, since: str, reason: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(subjects, predicate) of a `key-compromised` statement. `since` must already be in the
    log's time format (`custody.ledger.store.normalize_time`), so marks compare as strings."""
    mark = {"compromised_key": keyid, "since": since, "reason": reason}
    compromise_of({"predicateType": KEY_COMPROMISED, "predicate": mark})  # the same checks as on read
    return [{"digest": {"sha256": hashlib.sha256(keyid.encode()).hexdigest()}}], mark


def compromise_of(stmt: Mapping[str, Any]) -> tuple[str, str]:
    """(key id, since) a `key-compromised` statement declares, else ValueError: the key id must be
    a non-empty string and `since` a time in the log's own format, which is what makes marks and
    integration times comparable as strings."""
    if stmt.get("predicateType") != KEY_COMPROMISED:
        raise ValueError("not a key-compromise statement")
    predicate = stmt.get("predicate")
    if not isinstance(predicate, Mapping):
        raise ValueError("key-compromise statement without a predicate object")
    keyid, since, reason = predicate.get("compromised_key"), predicate.get("since"), predicate.get("reason")
    if not isinstance(keyid, str) or not keyid or not isinstance(reason, str) or not reason:
        raise ValueError("key-compromise statement needs a compromised_key and a reason")
    if not isinstance(since, str) or normalize_time(since) != since:
        raise ValueError(f"key-compromise statement: since {since!r} is not a time in the log's format")
    return keyid, since
