"""Streaming, in-memory reader for zip-based artifacts (wheels, eggs, zip sdists)."""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import IO

from custody.artifacts._collect import Collector, StopReading
from custody.artifacts._inflate import INFLATE_ERRORS, raw_decoder
from custody.artifacts.model import ArtifactError, IssueKind, LimitKind, Member, Unread
from custody.artifacts.paths import clean_name
from custody.artifacts.selection import is_nested_archive, wants_whole


def read_zip(
    fileobj: IO[bytes], prefix: str, collector: Collector, nested: Callable[[bytes, str], None]
) -> None:
    """Read every member of a zip archive into `collector`. `nested(data, prefix)` recurses."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile as exc:
        # No central directory (a truncated download, or one cut on purpose): the local headers
        # still describe each member, so read what they hold, then report the damage.
        try:
            recovered = salvage_local_members(fileobj, prefix, collector)
        except StopReading as stop:
            collector.unread.append(Unread(path=prefix, limit=stop.limit, rest=True))
            recovered = len(collector.members)
        raise ArtifactError(
            f"corrupt or truncated zip ({exc}); {recovered} member(s) recovered from local headers"
        ) from exc
    with archive:
        infos = archive.infolist()
        _shared_bodies(infos, prefix, collector)
        ordered = sorted(infos, key=lambda i: read_order(collector, prefix, i))
        first = len(collector.members)
        try:
            for index, info in enumerate(ordered):
                try:
                    _read_member(archive, fileobj, info, prefix, collector, nested)
                except StopReading as stop:
                    # The central directory names everything after the stop: record what stays
                    # unread so the scan can tell unread code from unread data.
                    for later in ordered[index:]:
                        if not later.is_dir():
                            collector.missed(prefix + clean_name(later.filename), stop.limit, later.file_size)
                    raise
        finally:
            _archive_order(collector, first, prefix, infos)


def _archive_order(collector: Collector, first: int, prefix: str, infos: list[zipfile.ZipInfo]) -> None:
    """Put the members read from this zip back in central-directory order (the order callers see)."""
    position = {prefix + clean_name(info.filename): index for index, info in enumerate(infos)}

    def key(member: Member) -> int:
        top = member.path[len(prefix) :].split("!/", 1)[0]
        return position.get(prefix + top, len(infos))

    collector.members[first:] = sorted(collector.members[first:], key=key)


def read_order(collector: Collector, prefix: str, info: zipfile.ZipInfo) -> tuple[bool, int]:
    """Members read in full (code, metadata, nested archives) first, smallest first; then the rest.

    Why: the member-count and loaded-bytes limits cut the end of the reading order, so padding
    (big data members, or big code-like members) placed before a payload cannot push it out; what
    is cut at the end is reported as unread, and unread code fails the scan closed."""
    shown = prefix + clean_name(info.filename)
    return (not wants_whole(collector.selector, shown, info.file_size), info.file_size)


def _shared_bodies(infos: list[zipfile.ZipInfo], prefix: str, collector: Collector) -> None:
    """Two central-directory entries pointing at one local header: an installer that follows the
    local headers sees one file where the directory lists two."""
    owner: dict[int, str] = {}
    for info in infos:
        shown = prefix + clean_name(info.filename)
        first = owner.setdefault(info.header_offset, shown)
        if first != shown:
            collector.issue(IssueKind.AMBIGUOUS_MEMBER, shown, f"shares its local header with {first!r}")


def _local_header(fileobj: IO[bytes], info: zipfile.ZipInfo) -> tuple[bytes, int] | None:
    """The file name a member's local header gives and where the member's data starts, or None
    if there is no readable header."""
    try:
        fileobj.seek(info.header_offset)
        fields = fileobj.read(_LOCAL_HEADER.size)
        if len(fields) < _LOCAL_HEADER.size or fields[:4] != _LOCAL_SIGNATURE:
            return None
        name_length, extra_length = _LOCAL_HEADER.unpack(fields)[9:11]
        name = fileobj.read(name_length)
    except (OSError, ValueError):
        return None
    return name, info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _read_member(
    archive: zipfile.ZipFile,
    fileobj: IO[bytes],
    info: zipfile.ZipInfo,
    prefix: str,
    collector: Collector,
    nested: Callable[[bytes, str], None],
) -> None:
    limits = collector.limits
    shown = prefix + clean_name(info.filename)
    collector.admit(info.filename, shown)
    if info.is_dir():
        return
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        collector.issue(IssueKind.SYMLINK, shown, "symbolic link member (not followed)")
        return
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        collector.issue(IssueKind.SPECIAL_FILE, shown, f"special file (mode {oct(mode)})")
        return
    collector.account_inflated(info.file_size, shown)
    if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        collector.issue(
            IssueKind.COMPRESSION_BOMB,
            shown,
            f"{info.compress_size} bytes inflate to {info.file_size} "
            f"(ratio above {limits.max_ratio:.0f}); not read",
            LimitKind.COMPRESSION_RATIO,
        )
        collector.missed(shown, LimitKind.COMPRESSION_RATIO, info.file_size)
        return
    want = collector.budget(shown, info.file_size)
    data = b""
    direct = _direct_read(fileobj, info, want) if want > 0 else None
    if direct is not None:
        data = direct
    elif want > 0:
        try:
            with archive.open(info) as handle:
                data = handle.read(want)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            # Encrypted, unsupported compression, corrupt, or a local header naming another member
            # (two directory entries sharing one body): flag it, keep going, and record the
            # content as unread so unread code fails the scan closed.
            header = _local_header(fileobj, info)
            local = header[0] if header is not None else None
            encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
            if local is not None and local.decode(encoding, "replace") != info.orig_filename:
                collector.issue(
                    IssueKind.AMBIGUOUS_MEMBER,
                    shown,
                    f"local header names {local.decode('utf-8', 'replace')!r} instead",
                )
            else:
                collector.issue(
                    IssueKind.MEMBER_TRUNCATED, shown, f"member unreadable: {exc}", LimitKind.UNREADABLE
                )
            collector.missed(shown, LimitKind.UNREADABLE, info.file_size)
            return
    wanted_full = collector.selector(shown, info.file_size) >= info.file_size
    collector.add(shown, info.file_size, data, wanted_full=wanted_full)
    if data and len(data) == info.file_size and is_nested_archive(shown):
        nested(data, shown + "!/")


_READ_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, EOFError, *INFLATE_ERRORS)
DIRECT_CHUNK = 64 * 1024
"""Compressed bytes read at a time for a member of which only the first bytes are wanted."""


def _direct_read(fileobj: IO[bytes], info: zipfile.ZipInfo, want: int) -> bytes | None:
    """The first `want` bytes of a stored or deflated member, read from its local header on and
    inflated by `custody.artifacts._inflate` (ISA-L where installed): `zipfile`'s member reader
    costs more than inflating. None for anything out of the ordinary (encryption, another method,
    a local header that names another file, overlapping entries, a short or corrupt body, a CRC
    that does not match): `zipfile` then reads the member and reports what is wrong, as before."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    header = _local_header(fileobj, info)
    if header is None:
        return None
    name, start = header
    if name.decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace") != info.orig_filename:
        return None
    try:
        end_offset = getattr(info, "_end_offset", None)  # Pythons that check for overlaps
        if end_offset is not None and start + info.compress_size > end_offset:
            return None
        fileobj.seek(start)
        whole = want >= info.file_size
        data: bytes | None
        if info.compress_type == zipfile.ZIP_STORED:
            data = fileobj.read(min(want, info.compress_size))
        elif whole:
            decoder = raw_decoder()
            # never more than the directory promises: a body that inflates past it is a bomb
            # whose header lies, left to `zipfile`, which stops at the promised size
            data = decoder.decompress(fileobj.read(info.compress_size), info.file_size + 1)
            if not decoder.eof:
                return None
        else:
            data = _inflate_prefix(fileobj, info.compress_size, want)
    except _READ_ERRORS:
        return None
    if data is None:
        return None
    if whole:
        return data if len(data) == info.file_size and zlib.crc32(data) == info.CRC else None
    return data if len(data) >= min(want, info.file_size) else None


def _inflate_prefix(fileobj: IO[bytes], packed: int, want: int) -> bytes | None:
    """At least `want` inflated bytes of a deflate body of `packed` bytes at the file's position
    (exactly `want`), or None when the body ends before them."""
    decoder = raw_decoder()
    parts: list[bytes] = []
    got = 0
    while got < want and packed > 0:
        chunk = fileobj.read(min(packed, DIRECT_CHUNK))
        if not chunk:
            return None
        packed -= len(chunk)
        out = decoder.decompress(chunk, want - got)
        parts.append(out)
        got += len(out)
    data = b"".join(parts)
    return data if len(data) >= want else None


SALVAGE_BYTES = 256 * 1024 * 1024  # a broken archive is read into memory: only this much of it
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"


def salvage_local_members(fileobj: IO[bytes], prefix: str, collector: Collector) -> int:
    """Members of a zip with no central directory, from its local file headers, in order.

    Stored and deflated members only; a member cut short yields the bytes that inflate before the
    cut. Every limit of the normal path applies (sizes are taken from what actually inflates).
    """
    fileobj.seek(0)
    blob = fileobj.read(min(collector.limits.max_total_bytes, SALVAGE_BYTES))
    offset = 0
    recovered = 0
    while offset + _LOCAL_HEADER.size <= len(blob) and blob[offset : offset + 4] == _LOCAL_SIGNATURE:
        fields = _LOCAL_HEADER.unpack_from(blob, offset)
        flags, method, packed, size = fields[2], fields[3], fields[7], fields[8]
        name_len, extra_len = fields[9], fields[10]
        name_start = offset + _LOCAL_HEADER.size
        if name_start + name_len + extra_len > len(blob):
            break  # cut inside the header: nothing of this member is left
        raw_name = blob[name_start : name_start + name_len].decode(
            "utf-8" if flags & 0x800 else "cp437", "replace"
        )
        data_start = name_start + name_len + extra_len
        # With a data descriptor (flag 8) the header holds no size: take what is left.
        end = len(blob) if flags & 0x8 or packed == 0 else min(len(blob), data_start + packed)
        shown = prefix + clean_name(raw_name)
        if not collector.admit(raw_name, shown) or raw_name.endswith("/"):
            offset = end if end > offset else len(blob)
            continue
        cap = collector.budget(shown, collector.limits.max_member_bytes)
        whole = False
        if method == 0:
            data = blob[data_start:end][:cap]
            whole = not flags & 0x8 and len(data) == size
        elif method == 8:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                data = inflater.decompress(blob[data_start:end], max(cap, 1))
                whole = inflater.eof
            except zlib.error:
                data = b""
        else:
            data = b""
        # Declared size when the header has one; a member cut short is recorded as such.
        declared = size if not flags & 0x8 and size else len(data) + (0 if whole else 1)
        collector.account_inflated(len(data), shown)
        collector.add(shown, max(declared, len(data)), data, wanted_full=False)
        recovered += 1
        if end >= len(blob) or end <= offset:
            break
        offset = end
    return recovered
