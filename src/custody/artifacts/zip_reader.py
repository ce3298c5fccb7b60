"""Streaming, in-memory reader for zip-based artifacts (wheels, eggs, zip sdists)."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable
from typing import IO

from custody.artifacts._collect import Collector
from custody.artifacts.model import IssueKind
from custody.artifacts.paths import clean_name
from custody.artifacts.selection import is_nested_archive


def read_zip(
    fileobj: IO[bytes], prefix: str, collector: Collector, nested: Callable[[bytes, str], None]
) -> None:
    """Read every member of a zip archive into `collector`. `nested(data, prefix)` recurses."""
    limits = collector.limits
    with zipfile.ZipFile(fileobj) as archive:
        infos = archive.infolist()
        for info in infos:
            shown = prefix + clean_name(info.filename)
            collector.admit(info.filename, shown)
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                collector.issue(IssueKind.SYMLINK, shown, "symbolic link member (not followed)")
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                collector.issue(IssueKind.SPECIAL_FILE, shown, f"special file (mode {oct(mode)})")
                continue
            collector.account_inflated(info.file_size, shown)
            if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                collector.issue(
                    IssueKind.COMPRESSION_BOMB,
                    shown,
                    f"{info.compress_size} bytes inflate to {info.file_size} "
                    f"(ratio above {limits.max_ratio:.0f}); not read",
                )
                continue
            want = collector.budget(shown, info.file_size)
            data = b""
            if want > 0:
                try:
                    with archive.open(info) as handle:
                        data = handle.read(want)
                except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
                    # Encrypted, unsupported compression or corrupt member: flag and keep going.
                    collector.issue(IssueKind.MEMBER_TRUNCATED, shown, f"member unreadable: {exc}")
                    continue
            wanted_full = collector.selector(shown, info.file_size) >= info.file_size
            collector.add(shown, info.file_size, data, wanted_full=wanted_full)
            if data and len(data) == info.file_size and is_nested_archive(shown):
                nested(data, shown + "!/")
