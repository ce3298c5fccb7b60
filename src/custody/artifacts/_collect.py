"""Bookkeeping shared by the archive readers: counts, budgets and issues for one artifact."""

from __future__ import annotations

from custody.artifacts.limits import Limits
from custody.artifacts.model import IssueKind, Member, SafetyIssue
from custody.artifacts.paths import name_issue, path_issue
from custody.artifacts.selection import Selector


class StopReading(Exception):
    """Raised inside a reader when a limit says the rest of the artifact must not be read."""


class Collector:
    """Accumulates members and issues while enforcing the artifact-wide limits."""

    def __init__(self, limits: Limits, selector: Selector) -> None:
        self.limits = limits
        self.selector = selector
        self.members: list[Member] = []
        self.issues: list[SafetyIssue] = []
        self.member_count = 0
        self.inflated_bytes = 0
        self.loaded_bytes = 0

    def issue(self, kind: IssueKind, path: str, detail: str) -> None:
        self.issues.append(SafetyIssue(kind=kind, path=path, detail=detail))

    def admit(self, raw_name: str, shown_name: str, *, check_path: bool = True) -> bool:
        """Count one member and record path problems; False means: do not read its content.

        `check_path=False` skips the traversal/absolute checks (installed files are checked
        against the environment root instead, where `../../../bin/tool` is legitimate)."""
        self.member_count += 1
        if self.member_count > self.limits.max_members:
            self.issue(
                IssueKind.TOO_MANY_MEMBERS, "", f"more than {self.limits.max_members} members; rest not read"
            )
            raise StopReading
        bad_name = name_issue(raw_name)
        if bad_name is not None:
            self.issues.append(bad_name)
        bad_path = path_issue(raw_name) if check_path else None
        if bad_path is not None:
            self.issues.append(SafetyIssue(kind=bad_path.kind, path=shown_name, detail=bad_path.detail))
            # Content is still scanned: a traversal member is a payload on its own.
        return True

    def account_inflated(self, size: int, path: str) -> None:
        self.inflated_bytes += size
        if self.inflated_bytes > self.limits.max_total_bytes:
            self.issue(
                IssueKind.TOO_LARGE,
                path,
                f"archive inflates past {self.limits.max_total_bytes} bytes; rest not read",
            )
            raise StopReading

    def budget(self, path: str, size: int) -> int:
        """Bytes to load for a member, after the selector's wish and the memory limits."""
        want = self.selector(path, size)
        if want <= 0:
            return 0
        want = min(want, size, self.limits.max_member_bytes)
        room = self.limits.max_loaded_bytes - self.loaded_bytes
        return max(0, min(want, room))

    def add(self, path: str, size: int, data: bytes, wanted_full: bool) -> None:
        complete = len(data) >= size
        if wanted_full and not complete:
            self.issue(
                IssueKind.MEMBER_TRUNCATED,
                path,
                f"member is {size} bytes; only the first {len(data)} were scanned",
            )
        self.loaded_bytes += len(data)
        self.members.append(Member(path=path, size=size, data=data, complete=complete))
