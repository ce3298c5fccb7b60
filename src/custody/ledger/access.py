"""`open_verified`: read a dataset file only if the ledger vouches for it, and log the read.

A file passes when (1) its content hashes to the digest a manifest lists for it, (2) that
manifest's root is the subject of a `produced` attestation in the ledger whose envelope verifies
against the registered keys, and (3) none of that attestation's signers was compromised when the
log took it in (by the signed key-compromise statements in the log, or an older mark in the key
table: the earlier). Then an `accessed` attestation (principal, host, purpose, file digest) signed by
the reader is appended before the handle is returned, so there is no unlogged read.

The file is hashed through the very handle that is returned (then rewound), so a file swapped on
disk after the check is not the one read; a file rewritten in place while it is open is not
covered (copy the data elsewhere first if writers may still be active).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Sequence
from typing import BinaryIO, ClassVar

from custody.errors import EXIT_FOUND, CustodyError
from custody.ledger.api import Record, compromised_since, keyring, record
from custody.ledger.attest import MERKLE_DIGEST, PRODUCED
from custody.ledger.dataset import DatasetError, Manifest, default_manifest_path
from custody.ledger.keys import SigningKey
from custody.ledger.signing import SignatureError, open_envelope
from custody.ledger.store import LedgerStore

_BUFFER = 1 << 20


class AccessRefused(CustodyError):
    """The file is not vouched for by a signed manifest in the ledger; the message says why."""

    exit_code: ClassVar[int] = EXIT_FOUND


def find_manifest(path: str) -> tuple[Manifest, str]:
    """The nearest `DIR.custody.json` of the file itself or one of its parent directories that
    lists it; returns the manifest and the file's path inside that dataset."""
    here = os.path.abspath(path)
    candidate = here
    while True:
        manifest_path = default_manifest_path(candidate)
        if os.path.exists(manifest_path):
            manifest = Manifest.load(manifest_path)
            rel = os.path.basename(here) if candidate == here else os.path.relpath(here, candidate)
            rel = rel.replace(os.sep, "/")
            if any(f.path == rel for f in manifest.files):
                return manifest, rel
        parent = os.path.dirname(candidate)
        if parent == candidate:
            raise AccessRefused(f"{path}: no custody manifest lists this file")
        candidate = parent


def _hash_handle(handle: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(_BUFFER):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), size


def attested_dataset(store: LedgerStore, root: str) -> tuple[int, str]:
    """(log index, dataset name) of a valid `produced` attestation of manifest root `root`."""
    ring = keyring(store)
    reasons: list[str] = []
    for index in store.find("digest", f"{MERKLE_DIGEST}:{root}"):
        entry = store.entry(index)
        if entry.body is None:
            reasons.append(f"entry {index} is redacted")
            continue
        try:
            opened = open_envelope(json.loads(entry.body), ring)
            stmt = json.loads(opened.payload)
        except (SignatureError, ValueError) as exc:
            reasons.append(f"entry {index}: {exc}")
            continue
        if stmt.get("predicateType") != PRODUCED:
            continue
        marks = compromised_since(store, opened.signers, ring)
        burnt = [k for k in opened.signers if k in marks and entry.integrated_at >= marks[k]]
        if burnt:
            reasons.append(f"entry {index} was signed by compromised key(s) {', '.join(burnt)}")
            continue
        for subj in stmt.get("subject", []):
            if subj.get("digest", {}).get(MERKLE_DIGEST) == root:
                return index, str(subj.get("name"))
    why = "; ".join(reasons) or "no produced attestation names it"
    raise AccessRefused(f"manifest root {root} is not vouched for by the ledger: {why}")


def open_verified(
    path: str,
    *,
    ledger: LedgerStore,
    principal: str,
    purpose: str,
    keys: Sequence[SigningKey],
    host: str | None = None,
    manifest: Manifest | None = None,
) -> BinaryIO:
    """Open `path` for reading after the checks above, recording the read; else AccessRefused."""
    if not keys:
        raise AccessRefused("a read is recorded as a signed attestation: give the reader's key")
    try:
        if manifest is None:
            manifest, rel = find_manifest(path)
        else:
            rel = _rel_in(manifest, path)
    except DatasetError as exc:
        raise AccessRefused(str(exc)) from exc
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        digest, size = _hash_handle(handle)
        # Compare what the handle can show (path, digest, size): an entry hashed with
        # `--records` also carries a records root, which the digest already pins down.
        if not any((f.path, f.sha256, f.size) == (rel, digest, size) for f in manifest.files):
            raise AccessRefused(f"{path}: content (sha256 {digest}) is not what the signed manifest lists")
        produced_at, dataset = attested_dataset(ledger, manifest.root)
        predicate = {
            "principal": principal,
            "host": host or socket.gethostname(),
            "purpose": purpose,
            "file": {"path": rel, "sha256": digest, "size": size},
            "produced_entry": produced_at,
            **{k: v for k, v in manifest.meta.items() if k in ("client", "project", "producer")},
        }
        subjects = [{"name": dataset, "digest": {MERKLE_DIGEST: manifest.root}}]
        record(ledger, [Record("accessed", subjects, predicate)], keys)
    except BaseException:
        handle.close()
        raise
    return handle


def _rel_in(manifest: Manifest, path: str) -> str:
    """The manifest path `path` is: the longest manifest path it ends with."""
    full = "/" + os.path.abspath(path).replace(os.sep, "/").lstrip("/")
    matches = [f.path for f in manifest.files if full.endswith("/" + f.path)]
    if not matches:
        raise AccessRefused(f"{path}: not listed in the given manifest")
    return max(matches, key=len)
