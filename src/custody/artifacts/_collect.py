"""Bookkeeping shared by the archive readers: counts, budgets, issues and unread content."""

from __future__ import annotations

import os
import stat
from typing import NoReturn

from custody.artifacts.limits import NESTED_SHARE, NO_DEADLINE, Deadline, Limits
from custody.artifacts.model import IssueKind, LimitKind, Member, SafetyIssue, Unread
from custody.artifacts.paths import name_issue, path_issue
from custody.artifacts.selection import Selector, is_nested_archive


class StopReading(Exception):
    """Raised inside a reader when a limit says the rest of the artifact must not be read."""

    def __init__(self, limit: LimitKind) -> None:
        super().__init__(limit.value)
        self.limit = limit


class Collector:
    """Accumulates members and issues while enforcing the artifact-wide limits."""

    def __init__(self, limits: Limits, selector: Selector, deadline: Deadline = NO_DEADLINE) -> None:
        self.limits = limits
        self.selector = selector
        self.deadline = deadline
        self.members: list[Member] = []
        self.issues: list[SafetyIssue] = []
        self.unread: list[Unread] = []
        self.member_count = 0
        self.inflated_bytes = 0
        self.loaded_bytes = 0
        self.nested_loaded = 0
        self._added: dict[str, tuple[int, bytes]] = {}
        """(size, loaded bytes) of the first member added under each path."""

    def issue(self, kind: IssueKind, path: str, detail: str, limit: LimitKind | None = None) -> None:
        """Record a safety issue (what was skipped or cut, and which limit); reading goes on."""
        self.issues.append(SafetyIssue(kind=kind, path=path, detail=detail, limit=limit))

    def stop(self, kind: IssueKind, path: str, detail: str, limit: LimitKind) -> NoReturn:
        """Record why reading ends here and end it; readers record what they leave unread."""
        self.issue(kind, path, detail, limit)
        raise StopReading(limit)

    def missed(self, path: str, limit: LimitKind, size: int = -1, loaded: int = 0) -> None:
        """A member the reader wanted but could not (fully) load because of `limit`."""
        self.unread.append(Unread(path=path, limit=limit, size=size, loaded=loaded))

    def check_time(self) -> None:
        """Stop reading once the scan's time budget is spent (checked per member)."""
        if self.deadline.expired():
            raise StopReading(LimitKind.SCAN_TIME)

    def admit(self, raw_name: str, shown_name: str, *, check_path: bool = True) -> bool:
        """Count one member and record path problems; False means: do not read its content.

        `check_path=False` skips the traversal/absolute checks (installed files are checked
        against the environment root instead, where `../../../bin/tool` is legitimate)."""
        self.check_time()
        self.member_count += 1
        if self.member_count > self.limits.max_members:
            self.stop(
                IssueKind.TOO_MANY_MEMBERS,
                "",
                f"more than {self.limits.max_members} members; rest not read",
                LimitKind.MEMBER_COUNT,
            )
        bad_name = name_issue(raw_name)
        if bad_name is not None:
            self.issues.append(bad_name)
        bad_path = path_issue(raw_name) if check_path else None
        if bad_path is not None:
            self.issues.append(SafetyIssue(kind=bad_path.kind, path=shown_name, detail=bad_path.detail))
            # Content is still scanned: a traversal member is a payload on its own.
        return True

    def account_inflated(self, size: int, path: str) -> None:
        """Count `size` decompressed bytes toward the archive's total, and stop reading once it
        passes `max_total_bytes` (a decompression bomb is cut, and the cut reported)."""
        self.inflated_bytes += size
        if self.inflated_bytes > self.limits.max_total_bytes:
            self.stop(
                IssueKind.TOO_LARGE,
                path,
                f"archive inflates past {self.limits.max_total_bytes} bytes; rest not read",
                LimitKind.TOTAL_BYTES,
            )

    def budget(self, path: str, size: int) -> int:
        """Bytes to load for a member, after the selector's wish and the memory limits."""
        want = self.selector(path, size)
        if want <= 0:
            return 0
        want = min(want, size, self.limits.max_member_bytes)
        room = self.limits.max_loaded_bytes - self.loaded_bytes
        if is_nested_archive(path):
            # Nested archives may not crowd code out of the budget (see NESTED_SHARE).
            room = min(room, int(self.limits.max_loaded_bytes * NESTED_SHARE) - self.nested_loaded)
        return max(0, min(want, room))

    def add(self, path: str, size: int, data: bytes, wanted_full: bool) -> None:
        """Keep one member's bytes; when the whole was wanted but `data` is short, record the cut
        and the unread rest (fail closed: a truncated member is never taken as complete)."""
        complete = len(data) >= size
        if wanted_full and not complete:
            cut_by_member_limit = len(data) >= self.limits.max_member_bytes
            limit = LimitKind.MEMBER_BYTES if cut_by_member_limit else LimitKind.LOADED_BYTES
            self.issue(
                IssueKind.MEMBER_TRUNCATED,
                path,
                f"member is {size} bytes; only the first {len(data)} were scanned ({limit.value} limit)",
                limit,
            )
            self.missed(path, limit, size, len(data))
        entry = (size, data)
        if self._added.setdefault(path, entry) != entry:
            # Two members of one name with different content: an installer keeps one of them
            # (which one depends on the tool), and the other can hide behind it in a review.
            self.issue(
                IssueKind.AMBIGUOUS_MEMBER,
                path,
                "a second member of this name with other content: which one is installed depends on the tool",
            )
        self.loaded_bytes += len(data)
        if is_nested_archive(path):
            self.nested_loaded += len(data)
        self.members.append(Member(path=path, size=size, data=data, complete=complete))


def read_regular_file(collector: Collector, full: str, shown: str, info: os.stat_result) -> None:
    """Add the file at `full` (already `lstat`ed as `info`) as member `shown`: links and special
    files are reported, never followed or opened; a file that cannot be opened is recorded as
    unread (fail closed), never skipped in silence. Shared by the installed-environment and
    source-tree readers."""
    if stat.S_ISLNK(info.st_mode):
        collector.issue(IssueKind.SYMLINK, shown, f"symbolic link to {os.readlink(full)!r} (not followed)")
        return
    if not stat.S_ISREG(info.st_mode):
        collector.issue(IssueKind.SPECIAL_FILE, shown, "not a regular file")
        return
    collector.account_inflated(info.st_size, shown)
    want = collector.budget(shown, info.st_size)
    data = b""
    if want > 0:
        # O_NOFOLLOW: the file cannot be swapped for a link between lstat and open;
        # O_NONBLOCK: nor for a FIFO that would hang the read.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(full, flags)
        except OSError as exc:
            collector.issue(
                IssueKind.MEMBER_TRUNCATED, shown, f"unreadable: {exc.strerror}", LimitKind.UNREADABLE
            )
            collector.missed(shown, LimitKind.UNREADABLE, info.st_size)
            return
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(want)
    wanted_full = collector.selector(shown, info.st_size) >= info.st_size
    collector.add(shown, info.st_size, data, wanted_full=wanted_full)
