"""Dataset manifests: content-address a file or a tree, verify it later, prove one file is in it.

Every regular file is hashed with streamed SHA-256 (files are hashed in a thread pool: hashlib
releases the GIL on large buffers, so threads give real parallelism without process start-up).
The manifest root is the RFC 6962 Merkle root over one leaf per file in sorted-path order, leaf
data `path (UTF-8) || 0x00 || sha256 (32 bytes) || size (8 bytes, big-endian)`; so an inclusion
proof shows one file belongs to a dataset version without handing out the whole file list.
Symlinks and special files are never followed or hashed; they are listed as `skipped`.

With `records=True`, line-oriented shards (.jsonl, .ndjson, .csv, .tsv) also get a Merkle root
over their records (one leaf per line, the line's bytes without its newline; a CSV header is
record 0), and that root is appended to the file's leaf data; a record is then proven by its
inclusion in the file's records root plus the file's inclusion in the dataset root.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from custody.errors import CustodyError
from custody.ledger import merkle

MEDIA_TYPE = "application/vnd.custody.manifest.v1+json"
_BUFFER = 1 << 20


class DatasetError(CustodyError, ValueError):
    """A path or manifest cannot be used (missing, unreadable, malformed, not in the manifest)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEntry:
    """One file of a dataset manifest: its path relative to the dataset root, SHA-256, size and, for a
    line-oriented shard hashed with records, the Merkle root and count of its records."""

    path: str  # POSIX path relative to the dataset root (the file name for a single file)
    sha256: str
    size: int
    records_root: str | None = None  # only for line-oriented shards hashed with records=True
    records: int | None = None

    def leaf(self) -> bytes:
        """The file's leaf in the manifest's Merkle tree (path, NUL, digest, size, records root if any)."""
        # The path is NUL-terminated and the rest fixed-size, so with or without a records root
        # the encoding stays unambiguous.
        data = self.path.encode() + b"\x00" + bytes.fromhex(self.sha256) + self.size.to_bytes(8, "big")
        return data + bytes.fromhex(self.records_root) if self.records_root else data

    def to_json(self) -> dict[str, Any]:
        """The entry as it appears in a manifest file."""
        out: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "size": self.size}
        if self.records_root is not None:
            out["records_root"], out["records"] = self.records_root, self.records
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """A dataset's manifest: its files in path order, the Merkle root over them, free-form metadata and
    the paths skipped (symbolic links, special files). `Manifest.of` builds one with its root."""

    files: tuple[FileEntry, ...]
    root: str
    meta: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    skipped: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, files: Sequence[FileEntry], meta: Mapping[str, str] | None = None, skipped: Sequence[str] = ()
    ) -> Manifest:
        """A manifest over `files` (already in path order) with its Merkle root computed."""
        entries = tuple(files)
        root = _tree_of(entries).root().hex()
        return cls(files=entries, root=root, meta=_frozen_meta(meta), skipped=tuple(skipped))

    def tree(self) -> merkle.MemoryTree:
        """The Merkle tree over the files' leaves (its root is `root`)."""
        return _tree_of(self.files)

    def to_json(self) -> dict[str, Any]:
        """The manifest as it is saved (with its media type)."""
        return {
            "mediaType": MEDIA_TYPE,
            "root": self.root,
            "files": [f.to_json() for f in self.files],
            "meta": dict(self.meta),
            "skipped": list(self.skipped),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Read a saved manifest; raises DatasetError when it is not a custody manifest, is malformed, or
        its root does not match its own file list (the manifest was edited)."""
        if data.get("mediaType") != MEDIA_TYPE:
            raise DatasetError(f"not a custody manifest (mediaType {data.get('mediaType')!r})")
        try:
            manifest = cls(
                files=tuple(_entry_of(f) for f in data["files"]),
                root=str(data["root"]),
                meta=_frozen_meta(dict(data.get("meta", {}))),
                skipped=tuple(data.get("skipped", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"malformed manifest: {exc}") from exc
        if manifest.tree().root().hex() != manifest.root:
            raise DatasetError("manifest root does not match its own file list (manifest edited)")
        return manifest

    def save(self, path: str) -> None:
        """Write the manifest to `path` as JSON (OSError when it cannot be written)."""
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=1, sort_keys=True)
            handle.write("\n")

    @classmethod
    def load(cls, path: str) -> Manifest:
        """Read a manifest file; raises DatasetError when it cannot be read, is not JSON or not a valid
        manifest."""
        try:
            with open(path, encoding="utf-8") as handle:
                return cls.from_json(json.load(handle))
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read manifest: {exc}") from exc
        except ValueError as exc:
            if isinstance(exc, DatasetError):
                raise
            raise DatasetError(f"{path}: not JSON: {exc}") from exc


def _tree_of(files: Sequence[FileEntry]) -> merkle.MemoryTree:
    return merkle.MemoryTree(merkle.leaf_hash(f.leaf()) for f in files)


def _frozen_meta(meta: Mapping[str, str] | None) -> Mapping[str, str]:
    # a read-only copy: the caller's dict may change later, a frozen manifest must not
    return MappingProxyType(dict(meta or {}))


def _entry_of(data: Mapping[str, Any]) -> FileEntry:
    """A file entry from its JSON form (a manifest's `files` item or a file proof); KeyError,
    TypeError or ValueError when a field is missing or of the wrong type."""
    return FileEntry(
        path=str(data["path"]),
        sha256=str(data["sha256"]),
        size=int(data["size"]),
        records_root=None if data.get("records_root") is None else str(data["records_root"]),
        records=None if data.get("records") is None else int(data["records"]),
    )


def default_manifest_path(path: str) -> str:
    """Beside the dataset, never inside it (a manifest inside the tree would change the tree)."""
    return os.path.normpath(os.path.abspath(path)) + ".custody.json"


def hash_file(path: str) -> tuple[str, int]:
    """(hex SHA-256, size in bytes) of a file, read in large unbuffered chunks."""
    digest = hashlib.sha256()
    buffer = bytearray(_BUFFER)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


RECORD_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")


def is_record_file(path: str) -> bool:
    """True for files hashed record by record with `records=True` (JSON lines, CSV, TSV)."""
    return path.lower().endswith(RECORD_SUFFIXES)


def iter_records(path: str) -> Iterator[bytes]:
    """Lines without their newline; a last line without a newline is a record too."""
    with open(path, "rb") as handle:
        for line in handle:
            yield line[:-1] if line.endswith(b"\n") else line


def hash_entry(rel: str, full: str, records: bool) -> FileEntry:
    """The manifest entry of one file (`rel` its path in the manifest, `full` where to read it); with
    `records`, a record file also gets the Merkle root of its lines."""
    digest, size = hash_file(full)
    if not (records and is_record_file(rel)):
        return FileEntry(path=rel, sha256=digest, size=size)
    rng = merkle.CompactRange()
    for line in iter_records(full):
        rng.append(merkle.leaf_hash(line))
    return FileEntry(path=rel, sha256=digest, size=size, records_root=rng.root().hex(), records=rng.size)


def list_files(root: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(relative POSIX path, absolute path) of regular files in sorted order, and what was skipped."""
    if not os.path.lexists(root):
        raise DatasetError(f"{root}: no such file or directory")
    if os.path.isfile(root) and not os.path.islink(root):
        return [(os.path.basename(root), root)], []
    if not os.path.isdir(root) or os.path.islink(root):
        raise DatasetError(f"{root}: not a regular file or directory")
    found: list[tuple[str, str]] = []
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):
                skipped.append(_rel(rel_dir, name))
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = _rel(rel_dir, name)
            if os.path.islink(full) or not os.path.isfile(full):
                skipped.append(rel)
            else:
                found.append((rel, full))
    found.sort(key=lambda item: item[0].encode())
    return found, sorted(skipped)


def _rel(rel_dir: str, name: str) -> str:
    return name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"


def build_manifest(
    path: str, *, meta: Mapping[str, str] | None = None, jobs: int | None = None, records: bool = False
) -> Manifest:
    """Hash a file or directory tree (regular files only, on `jobs` threads) into a manifest with
    `meta`; with `records`, record files also get per-line Merkle roots. Raises DatasetError for a
    missing path or an unreadable file."""
    files, skipped = list_files(path)
    workers = jobs or min(32, (os.cpu_count() or 1) * 2)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            entries = list(pool.map(lambda item: hash_entry(item[0], item[1], records), files))
    except OSError as exc:
        raise DatasetError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    return Manifest.of(entries, meta, skipped)


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """How a tree differs from its manifest: changed, added and removed paths, and the tree's root now."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    root: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing changed, appeared or vanished."""
        return not (self.changed or self.added or self.removed)


def verify_tree(path: str, manifest: Manifest, *, jobs: int | None = None) -> Diff:
    """Rehash the tree now and say which files changed, appeared or vanished."""
    current = build_manifest(path, jobs=jobs, records=any(f.records_root for f in manifest.files))
    old = {f.path: f for f in manifest.files}
    new = {f.path: f for f in current.files}
    return Diff(
        changed=tuple(sorted(p for p in old.keys() & new.keys() if old[p] != new[p])),
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        root=current.root,
    )


def prove_file(manifest: Manifest, file_path: str) -> dict[str, Any]:
    """Inclusion proof of one file (by its manifest path) in the manifest root."""
    wanted = file_path.replace(os.sep, "/").removeprefix("./")
    for index, entry in enumerate(manifest.files):
        if entry.path == wanted:
            proof = manifest.tree().inclusion_proof(index)
            return {
                **entry.to_json(),
                "index": index,
                "tree_size": len(manifest.files),
                "root": manifest.root,
                "proof": [p.hex() for p in proof],
            }
    raise DatasetError(f"{file_path}: not in the manifest")


def prove_record(manifest: Manifest, file_path: str, content_path: str, record: int) -> dict[str, Any]:
    """A file proof plus record `record`'s inclusion in the file's records root, read from
    `content_path` (which must still be the file the manifest lists)."""
    proof = prove_file(manifest, file_path)
    if proof.get("records_root") is None:
        raise DatasetError(f"{file_path}: hashed without records (custody data add --records)")
    tree = merkle.MemoryTree()
    wanted: bytes | None = None
    for number, line in enumerate(iter_records(content_path)):
        tree.append(merkle.leaf_hash(line))
        if number == record:
            wanted = line
    if tree.root().hex() != proof["records_root"]:
        raise DatasetError(f"{content_path}: records differ from {file_path} in the manifest")
    if wanted is None:
        raise DatasetError(f"{file_path}: has {tree.size} records, no record {record}")
    proof["record"] = {
        "index": record,
        "sha256": hashlib.sha256(wanted).hexdigest(),
        "proof": [p.hex() for p in tree.inclusion_proof(record)],
    }
    return proof


def check_file_proof(
    proof: Mapping[str, Any], content_path: str | None = None, record: bytes | None = None
) -> None:
    """Raise ProofError/DatasetError unless the proof ties the file to its root (and, given the
    file's content or the proven record's bytes, that they are what the proof names)."""
    entry = _entry_of(proof)
    if content_path is not None:
        digest, size = hash_file(content_path)
        if (digest, size) != (entry.sha256, entry.size):
            raise DatasetError(f"{content_path}: content differs from {entry.path} in the proof")
    if "record" in proof:
        rec = proof["record"]
        if entry.records_root is None or entry.records is None:
            raise DatasetError("record proof without a records root")
        if record is not None and hashlib.sha256(record).hexdigest() != rec["sha256"]:
            raise DatasetError(f"record {rec['index']}: content differs from the proof")
        if record is not None:
            merkle.verify_inclusion(
                int(rec["index"]),
                entry.records,
                merkle.leaf_hash(record),
                [bytes.fromhex(p) for p in rec["proof"]],
                bytes.fromhex(entry.records_root),
            )
    path: Sequence[bytes] = [bytes.fromhex(p) for p in proof["proof"]]
    merkle.verify_inclusion(
        int(proof["index"]),
        int(proof["tree_size"]),
        merkle.leaf_hash(entry.leaf()),
        path,
        bytes.fromhex(str(proof["root"])),
    )
