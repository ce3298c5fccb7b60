"""The one entry point for reading package artifacts: `read_artifact` and `read_artifact_bytes`.

Format is recognised by magic number (not by name), so a wheel renamed `.tar.gz` is still read
correctly; the file name only decides the artifact kind reported.
"""

from __future__ import annotations

import io
import json
import os
from typing import IO

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from custody.artifacts._collect import Collector, StopReading
from custody.artifacts.limits import DEFAULT_LIMITS, NO_DEADLINE, Deadline, Limits
from custody.artifacts.metadata import NAME_VERSION, metadata_headers
from custody.artifacts.model import Artifact, ArtifactError, ArtifactKind, IssueKind, LimitKind, Member
from custody.artifacts.selection import Selector, default_selector
from custody.artifacts.tar_reader import read_tar
from custody.artifacts.zip_reader import read_zip

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_COMPRESSED_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
ARCHIVE_SUFFIXES = (".whl", ".egg", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


def sniff_format(head: bytes) -> str | None:
    """Return 'zip', 'tar' or None from the first bytes (>= 265 for plain tar)."""
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_COMPRESSED_TAR_MAGIC):
        return "tar"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def is_archive_name(path: str) -> bool:
    """True when the file name has an archive suffix custody reads (wheel, egg, zip, tarballs)."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _kind_from_name(filename: str) -> ArtifactKind:
    lower = filename.lower()
    if lower.endswith(".whl"):
        return ArtifactKind.WHEEL
    if lower.endswith(".egg"):
        return ArtifactKind.EGG
    return ArtifactKind.SDIST


class _Reader:
    def __init__(self, limits: Limits, selector: Selector, deadline: Deadline) -> None:
        self.collector = Collector(limits, selector, deadline)
        self.limits = limits

    def read(self, fileobj: IO[bytes], head: bytes, prefix: str, depth: int, size: int) -> None:
        fmt = sniff_format(head)
        if fmt == "zip":
            read_zip(fileobj, prefix, self.collector, self._nested_at(depth))
        elif fmt == "tar":
            read_tar(fileobj, head, prefix, self.collector, self._nested_at(depth), size)
        else:
            raise ArtifactError("not a zip or tar archive (unrecognised magic bytes)")

    def _nested_at(self, depth: int) -> _Nested:
        return _Nested(self, depth + 1)


class _Nested:
    """Recursion into archives found inside archives, bounded by `Limits.max_depth`."""

    def __init__(self, reader: _Reader, depth: int) -> None:
        self.reader = reader
        self.depth = depth

    def __call__(self, data: bytes, prefix: str) -> None:
        collector = self.reader.collector
        if sniff_format(data[:512]) is None:
            return
        if self.depth > self.reader.limits.max_depth:
            collector.issue(
                IssueKind.NESTING_TOO_DEEP,
                prefix.rstrip("!/"),
                "archive nested too deep; not read",
                LimitKind.NESTING_DEPTH,
            )
            return
        try:
            self.reader.read(io.BytesIO(data), data[:512], prefix, self.depth, len(data))
        except StopReading:
            raise
        except Exception as exc:  # a broken inner archive must not end the outer scan
            collector.issue(IssueKind.NESTED_ARCHIVE_ERROR, prefix.rstrip("!/"), f"unreadable: {exc}")


def _common_prefix(members: list[Member]) -> str:
    firsts = {m.path.split("/", 1)[0] for m in members if "/" in m.path}
    if len(firsts) == 1 and all("/" in m.path for m in members):
        return firsts.pop() + "/"
    return ""


def _metadata_name_version(members: list[Member], strip: str) -> tuple[str | None, str | None]:
    for member in members:
        rel = member.path[len(strip) :] if member.path.startswith(strip) else member.path
        if rel in ("PKG-INFO", "EGG-INFO/PKG-INFO") or (
            rel.count("/") == 1 and rel.endswith(".dist-info/METADATA")
        ):
            headers = metadata_headers(member.data.decode("utf-8", "replace"), NAME_VERSION)
            return headers.get("name"), headers.get("version")
    return None, None


def _npm_name_version(members: list[Member]) -> tuple[str | None, str | None] | None:
    for member in members:
        if member.path == "package/package.json" and member.complete:
            try:
                manifest = json.loads(member.data)
            except (ValueError, RecursionError):
                return None, None
            if isinstance(manifest, dict):
                name, version = manifest.get("name"), manifest.get("version")
                return (
                    name if isinstance(name, str) else None,
                    version if isinstance(version, str) else None,
                )
    return None


def _identify(
    filename: str, members: list[Member], kind: ArtifactKind
) -> tuple[ArtifactKind, str | None, str | None, str]:
    strip = _common_prefix(members) if kind is ArtifactKind.SDIST else ""
    if kind is ArtifactKind.SDIST and strip == "package/":
        npm = _npm_name_version(members)
        if npm is not None:
            return ArtifactKind.NPM, npm[0], npm[1], strip
    name: str | None = None
    version: str | None = None
    try:
        if kind is ArtifactKind.WHEEL:
            parsed_name, parsed_version, _, _ = parse_wheel_filename(filename)
            name, version = str(parsed_name), str(parsed_version)
        elif kind is ArtifactKind.SDIST:
            parsed_name, parsed_version = parse_sdist_filename(filename)
            name, version = str(parsed_name), str(parsed_version)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        pass
    meta_name, meta_version = _metadata_name_version(members, strip)
    return kind, meta_name or name, meta_version or version, strip


def read_artifact_bytes(
    data: bytes,
    filename: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
    source: str | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> Artifact:
    """Read an archive held in memory. Errors after the first member are reported in `error`.

    Past `deadline` reading stops and the rest is recorded in `Artifact.unread`."""
    return _read(
        io.BytesIO(data), data[:512], len(data), filename, source or filename, limits, selector, deadline
    )


def read_artifact(
    path: str | os.PathLike[str],
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
    deadline: Deadline = NO_DEADLINE,
) -> Artifact:
    """Read a package archive from disk without extracting it. Raises ArtifactError if unreadable.

    Past `deadline` reading stops and the rest is recorded in `Artifact.unread`."""
    path = os.fspath(path)
    try:
        # Refuse to follow a symlinked target into somewhere unexpected: read what the link names,
        # but never treat special files (fifos would hang the read).
        st = os.stat(path)
        if not os.path.isfile(path):
            raise ArtifactError(f"{path}: not a regular file")
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the streaming reader
    except OSError as exc:
        raise ArtifactError(f"{path}: {exc.strerror or exc}") from exc
    with handle:
        head = handle.read(512)
        handle.seek(0)
        return _read(handle, head, st.st_size, os.path.basename(path), path, limits, selector, deadline)


def _read(
    fileobj: IO[bytes],
    head: bytes,
    size: int,
    filename: str,
    source: str,
    limits: Limits,
    selector: Selector,
    deadline: Deadline,
) -> Artifact:
    if sniff_format(head) is None:
        raise ArtifactError(f"{filename}: not a zip or tar archive")
    reader = _Reader(limits, selector, deadline)
    error: str | None = None
    try:
        reader.read(fileobj, head, "", 0, size)
    except StopReading:
        pass
    except ArtifactError as exc:
        error = str(exc)
    except Exception as exc:  # corrupt or truncated archive: keep what was read, report the rest
        error = f"corrupt or truncated archive: {type(exc).__name__}: {exc}"
    collector = reader.collector
    kind, name, version, strip = _identify(filename, collector.members, _kind_from_name(filename))
    return Artifact(
        source=source,
        kind=kind,
        name=name,
        version=version,
        members=tuple(collector.members),
        issues=tuple(collector.issues),
        member_count=collector.member_count,
        error=error,
        unread=tuple(collector.unread),
        strip_prefix=strip,
    )
