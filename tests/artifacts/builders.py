"""In-memory builders for the archives the artifact tests feed to the reader."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Iterable

from custody.artifacts import Artifact, Member

TAR_MODES = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz", ".tar": "w"}

Entries = Iterable[tuple[str, bytes]]


def make_zip(entries: Entries, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


def zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    """A ZipInfo carrying Unix mode bits (file type included) in external_attr."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    return zip_info(name, stat.S_IFLNK | 0o777), target.encode()


def make_zip_infos(entries: Iterable[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buf.getvalue()


def tar_file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


def tar_special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def make_tar(
    entries: Entries | Iterable[tuple[tarfile.TarInfo, bytes]],
    *,
    mode: str = "w:gz",
    fmt: int = tarfile.PAX_FORMAT,
    encoding: str = "utf-8",
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt, encoding=encoding) as archive:  # type: ignore[call-overload]
        for item, data in entries:
            info = tar_file(item, data)[0] if isinstance(item, str) else item
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


class Zeros(io.RawIOBase):
    """A readable stream of `size` zero bytes, produced lazily."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def zip_with_zeros(name: str, size: int, others: Entries = ()) -> bytes:
    """A zip holding `size` deflated zeros in `name`, written in chunks (no big buffer)."""
    buf = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, mode="w", force_zip64=True) as handle:
            left = size
            while left:
                n = min(left, len(chunk))
                handle.write(chunk[:n])
                left -= n
        for other, data in others:
            archive.writestr(other, data)
    return buf.getvalue()


def tar_with_zeros(name: str, size: int, *, mode: str = "w:gz", others: Entries = ()) -> bytes:
    """A compressed tar with one member of `size` zeros (streamed), then `others`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as archive:  # type: ignore[call-overload]
        info = tarfile.TarInfo(name)
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros(size)))
        for other, data in others:
            archive.addfile(tar_file(other, data)[0], io.BytesIO(data))
    return buf.getvalue()


def paths(artifact: Artifact) -> list[str]:
    return [m.path for m in artifact.members]


def member(artifact: Artifact, path: str) -> Member:
    matches = [m for m in artifact.members if m.path == path]
    assert len(matches) == 1, f"{path!r} not exactly once in {paths(artifact)}"
    return matches[0]


def issues_of(artifact: Artifact) -> set[tuple[str, str]]:
    """(kind value, path) pairs of an artifact's issues."""
    return {(i.kind.value, i.path) for i in artifact.issues}


def _central_records(data: bytes) -> dict[str, int]:
    """Central-directory record offsets by member name (first record per name)."""
    records: dict[str, int] = {}
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        records.setdefault(data[at + 46 : at + 46 + name_len].decode("cp437"), at)
        at = data.find(b"PK\x01\x02", at + 46 + name_len)
    return records


def repoint_zip_entry(data: bytes, name: str, target: str) -> bytes:
    """Make `name`'s central-directory entry point at `target`'s local header (overlapping entries)."""
    records = _central_records(data)
    target_offset = data[records[target] + 42 : records[target] + 46]
    patched = bytearray(data)
    patched[records[name] + 42 : records[name] + 46] = target_offset
    return bytes(patched)


def rename_local_header(data: bytes, name: str, shown: str) -> bytes:
    """Give `name`'s local header the file name `shown` (same length), leaving the directory as is."""
    assert len(name) == len(shown)
    records = _central_records(data)
    local = int.from_bytes(data[records[name] + 42 : records[name] + 46], "little")
    assert data[local + 30 : local + 30 + len(name)] == name.encode()
    patched = bytearray(data)
    patched[local + 30 : local + 30 + len(name)] = shown.encode()
    return bytes(patched)
