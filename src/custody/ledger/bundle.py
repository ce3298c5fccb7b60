"""Offline proof bundles in the C2SP tlog-proof format (c2sp.org/tlog-proof).

    c2sp.org/tlog-proof@v1
    extra <base64(JSON opening of the entry)>
    index <leaf index>
    <base64 inclusion proof hash>          (one per line, leaf side first)
    <blank line>
    <signed checkpoint note>

The `extra` line carries everything needed to recompute the leaf: the entry's kind, integration
time, salt, body (the DSSE envelope) and refs, plus the public keys the log registered for the
envelope's signers. So `custody verify BUNDLE --key LOGKEY` needs nothing else: it recomputes the
commitment, checks the inclusion proof against the checkpoint, the checkpoint signature against
the log key, and the envelope signatures against the keys the log vouches for.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from custody.errors import EXIT_FOUND, CustodyError
from custody.ledger import merkle
from custody.ledger.keys import BadKey, VerifierKey
from custody.ledger.signing import (
    Checkpoint,
    OpenedEnvelope,
    SignatureError,
    open_checkpoint,
    open_envelope,
    open_note,
)
from custody.ledger.store import LedgerStore, commitment_of

HEADER = "c2sp.org/tlog-proof@v1"


class BundleError(CustodyError, ValueError):
    """A bundle is malformed, truncated, or does not verify; the message says which part."""

    exit_code: ClassVar[int] = EXIT_FOUND


def make_bundle(store: LedgerStore, index: int) -> str:
    """Bundle entry `index` with the newest stored checkpoint that covers it."""
    held = store.size()
    if not 0 <= index < held:
        raise BundleError(f"no entry {index}: the log holds {held} entries")
    latest = store.latest_checkpoint(below=index)
    if latest is None:
        raise BundleError(f"no checkpoint covers entry {index} yet: run `custody log checkpoint` first")
    size, _root, note = latest
    if size > held:
        raise BundleError(
            f"a checkpoint of size {size} is stored but the log holds only {held} entries "
            "(truncated): run `custody log verify`"
        )
    entry = store.entry(index)
    if entry.body is None or entry.salt is None:
        raise BundleError(f"entry {index} is redacted: its content can no longer be bundled")
    keys = store.keys()
    signers = _envelope_keyids(entry.body)
    opening = {
        "kind": entry.kind,
        "time": entry.integrated_at,
        "salt": entry.salt.hex(),
        "body": base64.b64encode(entry.body).decode(),
        "refs": entry.refs,
        "keys": {k: keys[k][0] for k in signers if k in keys and keys[k][0]},
    }
    try:
        proof = store.inclusion_proof(index, size)
    except merkle.ProofError as exc:  # nodes missing from a damaged store
        raise BundleError(f"entry {index}: no inclusion proof ({exc}): run `custody log verify`") from exc
    lines = [HEADER, "extra " + base64.b64encode(json.dumps(opening, sort_keys=True).encode()).decode()]
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode() for h in proof)
    return "\n".join(lines) + "\n\n" + note


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedBundle:
    """What an offline proof bundle proved: the entry's index, the checkpoint it is included under,
    its kind, integration time, exposure refs, the statement (None for a redacted entry) and the key
    ids that signed its envelope."""

    index: int
    checkpoint: Checkpoint
    kind: str
    integrated_at: str
    refs: dict[str, list[str]]
    statement: dict[str, Any] | None
    signers: tuple[str, ...]


def verify_bundle(text: str, log_keys: Sequence[VerifierKey], origin: str | None = None) -> VerifiedBundle:
    """Check a bundle offline; BundleError/SignatureError say what failed.

    The checkpoint must be for log `origin`; without one, for the log named like the key that
    signed it (c2sp.org/tlog-checkpoint: the log's key name SHOULD match the origin). A server
    that signs several tenants' logs with one key so never passes one tenant's bundle off as
    another's: its readers name the tenant's origin.
    """
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BundleError("bundle is truncated: no checkpoint after the proof")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise BundleError(f"not a tlog-proof bundle (first line {lines[0][:40]!r})")
    if len(lines) < 3 or not lines[1].startswith("extra "):
        raise BundleError("bundle has no entry (extra line): custody bundles carry the entry itself")
    opening = _opening(lines[1][len("extra ") :])
    digits = lines[2][len("index ") :]
    # ASCII digits without leading zeros, as tlog-proof writes a uint64: str.isdigit() would also
    # take other scripts' digits and superscripts, and "007" would name entry 7 a second way.
    if (
        not lines[2].startswith("index ")
        or not (digits.isascii() and digits.isdigit())
        or (digits != "0" and digits.startswith("0"))
        or int(digits) >= 1 << 64
    ):
        raise BundleError("bundle has no valid index line (index N, a decimal uint64 without leading zeros)")
    index = int(digits)
    try:
        proof = [base64.b64decode(h, validate=True) for h in lines[3:]]
        cp = open_checkpoint(note, log_keys, origin)
    except (binascii.Error, ValueError) as exc:
        raise BundleError(f"bundle checkpoint or proof: {exc}") from exc
    try:
        salt = bytes.fromhex(str(opening["salt"]))
        body = base64.b64decode(str(opening["body"]), validate=True)
        refs = {str(k): [str(x) for x in v] for k, v in dict(opening["refs"]).items()}
        kind, when = str(opening["kind"]), str(opening["time"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BundleError(f"bundle entry is malformed: {exc}") from exc
    leaf = merkle.leaf_hash(commitment_of(kind, when, salt, body, refs))
    try:
        merkle.verify_inclusion(index, cp.size, leaf, proof, cp.root)
    except merkle.ProofError as exc:
        raise BundleError(f"entry {index} is not in the signed log of size {cp.size}: {exc}") from exc
    opened = _open_body(body, opening.get("keys", {}))
    statement = json.loads(opened.payload) if opened is not None else None
    signers = opened.signers if opened is not None else ()
    if origin is None:
        signed_by = {k.name for k in log_keys if k.keyid in open_note(note, log_keys).verified_by}
        if cp.origin not in signed_by:
            raise BundleError(
                f"checkpoint is for log {cp.origin!r}, signed by key {', '.join(sorted(signed_by))}, "
                f"which names another log: give the origin you expect (--origin {cp.origin} if that is it)"
            )
    return VerifiedBundle(
        index=index,
        checkpoint=cp,
        kind=kind,
        integrated_at=when,
        refs=refs,
        statement=statement,
        signers=signers,
    )


def _opening(blob: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.b64decode(blob, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BundleError(f"bundle entry is not base64 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BundleError("bundle entry is not a JSON object")
    return value


def _envelope_keyids(body: bytes) -> list[str]:
    try:
        envelope = json.loads(body)
    except ValueError:
        return []
    sigs = envelope.get("signatures", []) if isinstance(envelope, dict) else []
    return [str(s.get("keyid")) for s in sigs if isinstance(s, dict)]


def _open_body(body: bytes, key_texts: object) -> OpenedEnvelope | None:
    """Check the envelope's signatures with the keys the log registered (and the bundle carries)."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or "signatures" not in envelope:
        return None
    if not isinstance(key_texts, dict):
        raise BundleError("bundle keys are malformed")
    try:
        # Keyed by the id derived from each key itself, so a bundle cannot pass a key off as another's.
        keys = [VerifierKey.parse(str(v)) for v in key_texts.values()]
        ring = {k.keyid: k for k in keys}
        return open_envelope(envelope, ring)
    except (BadKey, SignatureError) as exc:
        raise BundleError(f"entry signature: {exc}") from exc
