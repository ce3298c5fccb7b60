"""Signatures: C2SP signed notes and checkpoints, and DSSE envelopes.

Signed note (c2sp.org/signed-note): the text (ending in a newline), a blank line, then one line
per signature, `— <key name> <base64(4-byte key hash || Ed25519 signature)>`, signing the text.
Checkpoint (c2sp.org/tlog-checkpoint): the note text is `<origin>\\n<size>\\n<base64 root>\\n`
plus optional extension lines.

DSSE (github.com/secure-systems-lab/dsse): signatures over
PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body, so the payload type is bound too.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from custody.errors import EXIT_FOUND, CustodyError
from custody.ledger.keys import SigningKey, VerifierKey

SIG_PREFIX = "\u2014 "  # em dash + space, as the signed-note spec writes it
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class SignatureError(CustodyError, ValueError):
    """A note, checkpoint or envelope is malformed, unsigned by a known key, or forged."""

    exit_code: ClassVar[int] = EXIT_FOUND


def _has_control(text: str) -> bool:
    """ASCII control characters other than newline (c2sp.org/signed-note forbids them in notes)."""
    return any((ord(ch) < 0x20 and ch != "\n") or ch == "\x7f" for ch in text)


def check_origin(origin: str, *, strict: bool = True) -> str:
    """Return `origin` if it may stand as a checkpoint's first line, else raise SignatureError.

    c2sp.org/tlog-checkpoint: the origin MUST be non-empty (and, being one line of a signed note,
    holds no newline or other control character: an origin with a newline would let the log key
    sign a note that parses as another size and root). `strict` (for origins custody signs) also
    applies the spec's SHOULD: a schema-less URL without Unicode spaces or '+', such as
    `example.com/log42`. Parsing stays lenient there, because real logs use spaces (Go's sumdb
    origin is `go.sum database tree`).
    """
    if not origin:
        raise SignatureError("bad origin: it must not be empty")
    if "\n" in origin or _has_control(origin):
        raise SignatureError(f"bad origin {origin!r}: no newline or other control character")
    if strict and ("+" in origin or not origin.isprintable() or any(ch.isspace() for ch in origin)):
        raise SignatureError(
            f"bad origin {origin!r}: use a schema-less URL such as example.com/log42 "
            "(printable, no spaces, no '+')"
        )
    return origin


# -- signed notes ---------------------------------------------------------------------------------


def sign_note(text: str, keys: Sequence[SigningKey]) -> str:
    """A C2SP signed note: `text` (which must end with a newline and hold no other control character),
    a blank line and one signature line per key. Raises SignatureError for a text it cannot sign."""
    if not text.endswith("\n"):
        raise SignatureError("note text must end with a newline")
    if _has_control(text):
        raise SignatureError("note text must not contain control characters other than newline")
    lines = [
        f"{SIG_PREFIX}{k.name} {base64.b64encode(k.verifier.hash + k.sign(text.encode())).decode()}\n"
        for k in keys
    ]
    return text + "\n" + "".join(lines)


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A signed note that verified: its text, the key ids that signed it validly, and the signers
    (`name+hash`) the verifier had no key for (ignored, as C2SP signed-note allows)."""

    text: str
    verified_by: tuple[str, ...]  # key ids whose signatures verified
    unknown: tuple[str, ...] = ()  # "name+hash" of signers we have no key for


def split_note(note: str) -> tuple[str, list[str]]:
    """(the note text with its final newline, the signature lines)."""
    text, sep, sigblock = note.rpartition("\n\n")
    if not sep or not sigblock.endswith("\n"):
        raise SignatureError("malformed note: no signature block (truncated?)")
    return text + "\n", sigblock[:-1].split("\n")


def open_note(note: str, verifiers: Sequence[VerifierKey]) -> OpenedNote:
    """Split and check a signed note; at least one known key must have signed it validly."""
    text, lines = split_note(note)
    by_hash = {(v.name, v.hash): v for v in verifiers}
    verified: list[str] = []
    unknown: list[str] = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise SignatureError(f"malformed signature line {line[:40]!r}")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        raw = _b64(blob, "note signature")
        if len(raw) < 5:
            raise SignatureError(f"signature of {name} is truncated")
        key = by_hash.get((name, raw[:4]))
        if key is None:
            unknown.append(f"{name}+{raw[:4].hex()}")
            continue
        if not key.verify(raw[4:], text.encode()):
            raise SignatureError(f"signature of {key.keyid} does not verify: the note was altered or forged")
        verified.append(key.keyid)
    if not verified:
        who = ", ".join(unknown) or "nobody"
        raise SignatureError(f"note is not signed by any trusted key (signed by {who})")
    return OpenedNote(text, tuple(verified), tuple(unknown))


# -- checkpoints ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A transparency-log tree head (C2SP tlog-checkpoint): the log's origin, its size and root hash,
    and optional extension lines. Raises SignatureError when built with an origin or extension the
    format does not allow."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_origin(self.origin, strict=False)
        if any(not e or "\n" in e for e in self.extensions):
            raise SignatureError("malformed checkpoint: an extension line is empty or holds a newline")

    def text(self) -> str:
        """The checkpoint body as it is signed: origin, size and base64 root on their own lines, then the
        extension lines."""
        body = f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
        return body + "".join(f"{e}\n" for e in self.extensions)

    def sign(self, keys: Sequence[SigningKey]) -> str:
        """The checkpoint as a signed note, signed by every key in `keys`."""
        return sign_note(self.text(), keys)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint body (the text of an opened note); raises SignatureError for a malformed one."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise SignatureError("malformed checkpoint: needs origin, size and root lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin or not _is_decimal(size_text):
            raise SignatureError("malformed checkpoint: bad origin or size line")
        root = _b64(root_text, "checkpoint root")
        if len(root) != 32:
            raise SignatureError("malformed checkpoint: root hash is not 32 bytes")
        return cls(origin=origin, size=int(size_text), root=root, extensions=tuple(lines[3:-1]))


def _is_decimal(text: str) -> bool:
    """ASCII digits without leading zeros (str.isdigit also accepts other scripts' digits)."""
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def open_checkpoint(note: str, verifiers: Sequence[VerifierKey], origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note with `verifiers` and parse it; with `origin`, also require that
    it is this log's. Raises SignatureError for a bad signature, no trusted signer, a malformed body
    or another log's checkpoint."""
    opened = open_note(note, verifiers)
    cp = Checkpoint.parse(opened.text)
    if origin is not None and cp.origin != origin:
        raise SignatureError(f"checkpoint is for log {cp.origin!r}, not {origin!r}")
    return cp


# -- DSSE -----------------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of a payload and its type: the bytes a DSSE signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(
    payload: bytes, keys: Sequence[SigningKey], payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> dict[str, object]:
    """A DSSE envelope (JSON-ready dict) of `payload`, signed by every key in `keys`. Raises
    SignatureError without a key."""
    if not keys:
        raise SignatureError("an envelope needs at least one signer")
    message = pae(payload_type, payload)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": k.keyid, "sig": base64.b64encode(k.sign(message)).decode()} for k in keys],
    }


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A DSSE envelope whose signatures all verified: its payload type, payload and signer key ids."""

    payload_type: str
    payload: bytes
    signers: tuple[str, ...]  # key ids whose signatures verified


def envelope_signers(envelope: Mapping[str, object]) -> list[str]:
    """Key ids an envelope claims, without checking anything (for indexing and exposure)."""
    sigs = envelope.get("signatures")
    if not isinstance(sigs, list):
        return []
    return [str(s["keyid"]) for s in sigs if isinstance(s, dict) and "keyid" in s]


def open_envelope(envelope: Mapping[str, object], keyring: Mapping[str, VerifierKey]) -> OpenedEnvelope:
    """Verify every signature; an unknown key id or one bad signature fails the whole envelope."""
    payload_type = envelope.get("payloadType")
    payload_b64 = envelope.get("payload")
    sigs = envelope.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(payload_b64, str) or not isinstance(sigs, list):
        raise SignatureError("malformed envelope: needs payloadType, payload and signatures")
    if not sigs:
        raise SignatureError("envelope carries no signature")
    payload = _b64(payload_b64, "envelope payload")
    message = pae(payload_type, payload)
    signers: list[str] = []
    for sig in sigs:
        if (
            not isinstance(sig, dict)
            or not isinstance(sig.get("keyid"), str)
            or not isinstance(sig.get("sig"), str)
        ):
            raise SignatureError("malformed envelope signature entry")
        keyid = sig["keyid"]
        key = keyring.get(keyid)
        if key is None:
            raise SignatureError(f"envelope signed by unknown key {keyid}")
        if not key.verify(_b64(sig["sig"], "envelope signature"), message):
            raise SignatureError(f"signature by {keyid} does not verify: the envelope was altered or forged")
        signers.append(keyid)
    return OpenedEnvelope(payload_type, payload, tuple(signers))


def envelope_bytes(envelope: Mapping[str, object]) -> bytes:
    """The envelope as canonical JSON bytes (sorted keys, no spaces): what the log stores and hashes."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"bad base64 in {what}: {exc}") from exc
