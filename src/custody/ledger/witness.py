"""Witness cosignatures on checkpoints (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`).

A log that shows one history to some readers and another to others (a split view) passes every
proof each reader checks. Witnesses close that gap: a witness keeps the last checkpoint it saw for
each log, cosigns a new one only after a consistency proof from that one, and readers require a
quorum of cosignatures before trusting a checkpoint.

Format, per the spec: a cosignature is one more signature line on the checkpoint note,
`— <witness name> base64(key ID || u64 timestamp || Ed25519 signature)`, where the key ID is
SHA-256(name || "\\n" || 0x04 || public key)[:4] and the signed message is
`cosignature/v1\\ntime <timestamp>\\n` followed by the checkpoint body. Witness keys are ordinary
custody keys (`custody key gen NAME`): the same Ed25519 key material, with the cosignature key ID.
The log's own signature (key ID with 0x01) and the cosignatures never match each other's key IDs,
so each reader picks out the lines it has keys for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from custody.errors import EXIT_FOUND, CustodyError
from custody.ledger import merkle
from custody.ledger.keys import BadKey, SigningKey, VerifierKey
from custody.ledger.signing import SIG_PREFIX, Checkpoint, SignatureError, open_checkpoint, split_note

COSIGNATURE_ALG = 0x04
_HEADER = b"cosignature/v1\n"
_MAX_TIMESTAMP = (1 << 63) - 1


class WitnessError(CustodyError, ValueError):
    """The witness refuses to cosign: bad signature, rollback, fork or a failed consistency proof."""

    exit_code: ClassVar[int] = EXIT_FOUND


def cosignature_key_id(key: VerifierKey) -> bytes:
    """The 4-byte key ID a C2SP tlog-cosignature line carries for witness key `key`."""
    return hashlib.sha256(key.name.encode() + b"\n" + bytes([COSIGNATURE_ALG]) + key.public).digest()[:4]


def parse_witness_key(text: str) -> VerifierKey:
    """A witness's public key: a custody key (`NAME+HASH+BASE64(0x01 || key)`) or the
    tlog-cosignature form `NAME+HASH+BASE64(0x04 || key)`, whose HASH is the cosignature key ID.
    Raises BadKey when it is neither or its hash does not match."""
    parts = text.strip().split("+", 2)
    if len(parts) == 3:
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadKey(f"bad base64 in witness key: {exc}") from exc
        if len(raw) == 33 and raw[0] == COSIGNATURE_ALG:
            key = VerifierKey(parts[0], raw[1:])
            VerifierKey.parse(key.text())  # the name rules of every custody key
            if cosignature_key_id(key).hex() != parts[1].lower():
                raise BadKey(f"witness key {parts[0]}: key hash {parts[1]} does not match the key")
            return key
    return VerifierKey.parse(text)


def load_witness_key(path_or_text: str) -> VerifierKey:
    """`parse_witness_key` of a file's content, or of the text itself."""
    if os.path.exists(path_or_text):
        with open(path_or_text, encoding="ascii") as handle:
            return parse_witness_key(handle.read())
    return parse_witness_key(path_or_text)


def _message(body: str, timestamp: int) -> bytes:
    return _HEADER + f"time {timestamp}\n".encode() + body.encode()


def cosign(note: str, key: SigningKey, *, timestamp: int | None = None) -> str:
    """`note` with one more signature line: `key`'s cosignature at `timestamp` (default: now).
    Only the signature is made here; `witness()` is what checks a checkpoint before cosigning."""
    body, lines = split_note(note)
    stamp = int(time.time()) if timestamp is None else timestamp
    if not 0 <= stamp <= _MAX_TIMESTAMP:
        raise SignatureError("cosignature timestamp out of range")
    signature = key.sign(_message(body, stamp))
    blob = cosignature_key_id(key.verifier) + stamp.to_bytes(8, "big") + signature
    lines = [ln for ln in lines if not ln.startswith(f"{SIG_PREFIX}{key.name} ")]  # a fresh one replaces
    lines.append(f"{SIG_PREFIX}{key.name} {base64.b64encode(blob).decode()}")
    return body + "\n" + "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified witness cosignature: the witness's key id and when it cosigned (Unix seconds)."""

    witness: str
    """The witness's key id (`NAME+HASH`, as `custody key gen` prints it)."""
    timestamp: int


def cosignatures(note: str, witnesses: Sequence[VerifierKey], *, now: int | None = None) -> list[Cosignature]:
    """The valid cosignatures on `note` by `witnesses`, one per witness. A line that names a known
    witness but does not verify raises SignatureError (a forged cosignature is not just absent);
    lines of other signers are ignored, as the spec asks. Timestamps in the future (more than 10
    minutes past `now`) are refused."""
    body, lines = split_note(note)
    by_id = {(w.name, cosignature_key_id(w)): w for w in witnesses}
    limit = (int(time.time()) if now is None else now) + 600
    found: dict[str, Cosignature] = {}
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise SignatureError(f"malformed signature line {line[:40]!r}")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"bad base64 in the signature of {name}") from exc
        witness = by_id.get((name, raw[:4]))
        if witness is None:
            continue
        if len(raw) != 4 + 8 + 64:
            raise SignatureError(f"cosignature of {witness.keyid} has the wrong length")
        stamp = int.from_bytes(raw[4:12], "big")
        if stamp > _MAX_TIMESTAMP or stamp > limit:
            raise SignatureError(f"cosignature of {witness.keyid} is dated in the future")
        if not witness.verify(raw[12:], _message(body, stamp)):
            raise SignatureError(
                f"cosignature of {witness.keyid} does not verify: the checkpoint was altered"
            )
        found[witness.keyid] = Cosignature(witness.keyid, stamp)
    return list(found.values())


def require_witnesses(
    note: str, witnesses: Sequence[VerifierKey], quorum: int, *, now: int | None = None
) -> list[Cosignature]:
    """The cosignatures, or SignatureError when fewer than `quorum` witnesses cosigned."""
    found = cosignatures(note, witnesses, now=now)
    if len(found) < quorum:
        raise SignatureError(
            f"checkpoint cosigned by {len(found)} of the trusted witnesses, {quorum} required"
            " (a log could be showing this reader a history others do not see)"
        )
    return found


def witness(
    note: str,
    log_keys: Sequence[VerifierKey],
    key: SigningKey,
    state_path: str,
    proof: Sequence[bytes] = (),
    *,
    timestamp: int | None = None,
) -> str:
    """Check `note` against the last checkpoint this witness saw for its log, then cosign it.

    `state_path` is the witness's memory (JSON: origin -> last size and root), written atomically
    before the cosignature is returned. A first checkpoint of a log is accepted as the start
    (trust on first use); later ones need a consistency `proof` from the remembered size.
    Raises WitnessError on a bad log signature, a smaller size (rollback), another root at the
    same size (fork) or a failed consistency proof.
    """
    try:
        cp = open_checkpoint(note, log_keys)
    except SignatureError as exc:
        raise WitnessError(f"not a checkpoint of a trusted log: {exc}") from exc
    state = _load_state(state_path)
    seen = state.get(cp.origin)
    if seen is not None:
        old_size, old_root = seen
        if cp.size < old_size:
            raise WitnessError(
                f"{cp.origin}: size {cp.size} is behind the {old_size} already cosigned (rollback)"
            )
        if cp.size == old_size and cp.root != old_root:
            raise WitnessError(f"{cp.origin}: a second root for size {cp.size} (fork): not cosigned")
        if cp.size > old_size:
            try:
                merkle.verify_consistency(old_size, cp.size, list(proof), old_root, cp.root)
            except merkle.ProofError as exc:
                raise WitnessError(
                    f"{cp.origin}: not consistent with the {old_size}-entry checkpoint cosigned: {exc}"
                ) from exc
    state[cp.origin] = (cp.size, cp.root)
    _save_state(state_path, state)
    return cosign(note, key, timestamp=timestamp)


def last_seen(state_path: str, origin: str) -> Checkpoint | None:
    """The checkpoint this witness last cosigned for `origin` (size and root only)."""
    seen = _load_state(state_path).get(origin)
    return None if seen is None else Checkpoint(origin=origin, size=seen[0], root=seen[1])


def _load_state(path: str) -> dict[str, tuple[int, bytes]]:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WitnessError(
            f"{path}: unreadable witness state ({exc}); refusing to start over silently"
        ) from exc
    state: dict[str, tuple[int, bytes]] = {}
    try:
        for origin, item in dict(raw).items():
            state[str(origin)] = (int(item["size"]), base64.b64decode(item["root"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise WitnessError(f"{path}: malformed witness state ({exc})") from exc
    return state


def _save_state(path: str, state: dict[str, tuple[int, bytes]]) -> None:
    doc = {o: {"size": s, "root": base64.b64encode(r).decode()} for o, (s, r) in sorted(state.items())}
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".witness-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)  # a crash leaves the old state or the new one, never half of one
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
