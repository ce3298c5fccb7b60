"""Streaming, in-memory reader for tar archives (sdists, npm tarballs), any compression."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from custody.artifacts._collect import Collector, StopReading
from custody.artifacts._tarstream import TarStream
from custody.artifacts.model import IssueKind, LimitKind, Unread
from custody.artifacts.paths import clean_name
from custody.artifacts.selection import is_nested_archive


def read_tar(
    fileobj: IO[bytes],
    head: bytes,
    prefix: str,
    collector: Collector,
    nested: Callable[[bytes, str], None],
    compressed_size: int,
) -> None:
    """Read a tar stream member by member without seeking; nothing touches the filesystem.

    A stream cannot be reordered to read code first; the loaded-bytes budget is protected instead
    (data members cost a 64-byte prefix, nested archives at most `NESTED_SHARE` of it), and when
    a limit stops the stream, the unknown rest is recorded as unread so the scan fails closed."""
    archive = TarStream(fileobj, head, collector.check_time)
    try:
        _read_members(archive, prefix, collector, nested, compressed_size)
    except StopReading as stop:
        collector.unread.append(Unread(path=prefix, limit=stop.limit, rest=True))
        raise


def _read_members(
    archive: TarStream,
    prefix: str,
    collector: Collector,
    nested: Callable[[bytes, str], None],
    compressed_size: int,
) -> None:
    limits = collector.limits
    inflated = 0  # this stream's own members; nested archives judge their own ratio
    for info in archive.members():
        shown = prefix + clean_name(info.name)
        collector.admit(info.name, shown)
        if info.type == "dir":
            continue
        if info.type == "symlink":
            collector.issue(IssueKind.SYMLINK, shown, f"symbolic link to {info.linkname!r} (not followed)")
            continue
        if info.type == "hardlink":
            collector.issue(IssueKind.HARDLINK, shown, f"hard link to {info.linkname!r} (not followed)")
            continue
        collector.account_inflated(info.size, shown)  # skipped data is inflated too
        if info.type != "file":
            collector.issue(IssueKind.SPECIAL_FILE, shown, "device, fifo or other special member")
            continue
        inflated += info.size
        if inflated > limits.ratio_floor_bytes and inflated > limits.max_ratio * max(compressed_size, 1):
            collector.stop(
                IssueKind.COMPRESSION_BOMB,
                shown,
                f"{compressed_size} compressed bytes declare {inflated}+ bytes of content "
                f"(ratio above {limits.max_ratio:.0f}); rest not read",
                LimitKind.COMPRESSION_RATIO,
            )
        want = collector.budget(shown, info.size)
        data = b""
        if want > 0:
            data = archive.read_data(want)
        wanted_full = collector.selector(shown, info.size) >= info.size
        collector.add(shown, info.size, data, wanted_full=wanted_full)
        if data and len(data) == info.size and is_nested_archive(shown):
            nested(data, shown + "!/")
