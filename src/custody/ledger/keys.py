"""Ed25519 keys in the C2SP signed-note text formats.

Why those formats: one key then serves both the log's checkpoints (which *are* signed notes, so
any C2SP-aware witness or verifier can read them) and DSSE attestations, and its key id
`NAME+HASH` (HASH = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), in hex) is the
same one the note signature lines carry.

    private:  PRIVATE+KEY+<name>+<hash>+<base64(0x01 || 32-byte seed)>   (file mode 0600)
    public:   <name>+<hash>+<base64(0x01 || 32-byte public key)>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody.errors import CustodyError

ALG_ED25519 = 0x01
ENV_SIGNING_KEY = "CUSTODY_SIGNING_KEY"
"""Environment variable holding a private key's text, for CI and services that get secrets injected."""


class BadKey(CustodyError, ValueError):
    """A key text is malformed, a key file is unsafe, or no key was given."""


def key_hash(name: str, public: bytes) -> bytes:
    """The 4-byte key hash of a signed-note key (C2SP signed-note: SHA-256 of name, newline, algorithm
    byte and public key, first four bytes); it tells a verifier which of its keys made a signature."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name) or not name.isprintable():
        raise BadKey(f"bad key name {name!r}: non-empty, printable, no spaces and no '+'")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """An Ed25519 public key with its signed-note name: verifies checkpoints, envelopes and cosignatures."""

    name: str
    public: bytes

    @property
    def hash(self) -> bytes:
        """The key's 4-byte signed-note key hash (`key_hash`)."""
        return key_hash(self.name, self.public)

    @property
    def keyid(self) -> str:
        """`NAME+HASHHEX`: how signatures, envelopes and the ledger's key table name this key."""
        return f"{self.name}+{self.hash.hex()}"

    def text(self) -> str:
        """The public key in signed-note verifier form, `NAME+HASH+BASE64` (what `parse` reads)."""
        return f"{self.keyid}+{base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()}"

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when `signature` is this key's Ed25519 signature of `message`; never raises."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read a `NAME+HASH+BASE64` public key; raises BadKey for a malformed text, a key of another
        algorithm or a hash that does not match the key."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise BadKey("public key must look like NAME+HASH+BASE64")
        name, hash_hex, blob = parts
        _check_name(name)
        raw = _b64(blob)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise BadKey(f"public key {name}: not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.hash.hex() != hash_hex.lower():
            raise BadKey(f"public key {name}: key hash {hash_hex} does not match the key")
        return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key (its 32-byte seed) with its signed-note name; `verifier` is its public half."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        """A new random key named `name`; raises BadKey for an empty name or one with spaces or '+'."""
        _check_name(name)
        return cls(name, os.urandom(32))

    @property
    def verifier(self) -> VerifierKey:
        """The public half, for verifiers and the ledger's key table."""
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return VerifierKey(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def keyid(self) -> str:
        """`NAME+HASHHEX` of the public half (`VerifierKey.keyid`)."""
        return self.verifier.keyid

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def text(self) -> str:
        """The private key as `PRIVATE+KEY+NAME+HASH+BASE64` (key files, $CUSTODY_SIGNING_KEY)."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.hash.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        """Read a `PRIVATE+KEY+NAME+HASH+BASE64` private key; raises BadKey for a malformed text, a key of
        another algorithm or a hash that does not match the key."""
        parts = text.strip().split("+", 4)  # base64 may itself contain "+"
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise BadKey("private key must look like PRIVATE+KEY+NAME+HASH+BASE64")
        name, hash_hex, blob = parts[2:]
        _check_name(name)
        raw = _b64(blob)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise BadKey(f"private key {name}: not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.verifier.hash.hex() != hash_hex.lower():
            raise BadKey(f"private key {name}: key hash {hash_hex} does not match the key")
        return key


def _b64(blob: str) -> bytes:
    try:
        return base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadKey(f"bad base64 in key: {exc}") from exc


def key_file_stem(name: str) -> str:
    """The file name (without .key/.pub) for key NAME: path separators become '_', so a URL-style
    name such as `example.com/w1` (what c2sp.org/signed-note recommends) is one file inside the
    key directory, and no name can write outside it."""
    _check_name(name)
    stem = name.replace("/", "_").replace(os.sep, "_").replace(os.altsep or "/", "_")
    return "_" + stem if stem.startswith(".") else stem  # never a hidden file, never ".." itself


def write_key_pair(key: SigningKey, directory: str) -> tuple[str, str]:
    """Write STEM.key (0600, created exclusively: never overwrites a key) and STEM.pub, STEM
    being `key_file_stem(key.name)`."""
    os.makedirs(directory, exist_ok=True)
    stem = key_file_stem(key.name)
    private_path = os.path.join(directory, f"{stem}.key")
    public_path = os.path.join(directory, f"{stem}.pub")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.text() + "\n")
    with open(public_path, "w", encoding="ascii") as handle:
        handle.write(key.verifier.text() + "\n")
    return private_path, public_path


def load_signing_key(path: str | None) -> SigningKey:
    """From a 0600 file, or (no path) from $CUSTODY_SIGNING_KEY."""
    if path is None:
        text = os.environ.get(ENV_SIGNING_KEY)
        if not text:
            raise BadKey(f"no signing key: give --key FILE or set {ENV_SIGNING_KEY}")
        return SigningKey.parse(text)
    try:
        mode = os.stat(path).st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise BadKey(
                f"{path}: private key readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        with open(path, encoding="ascii") as handle:
            return SigningKey.parse(handle.read())
    except OSError as exc:
        raise BadKey(f"{path}: cannot read key: {exc}") from exc


def load_verifier(path_or_text: str) -> VerifierKey:
    """A public key from a file, or the key text itself."""
    if os.path.exists(path_or_text):
        with open(path_or_text, encoding="ascii") as handle:
            return VerifierKey.parse(handle.read())
    return VerifierKey.parse(path_or_text)
