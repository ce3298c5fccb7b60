"""Single files scanned on their own (a `.pth`, a `setup.py`, a script)."""

from __future__ import annotations

import os

from custody.artifacts.limits import DEFAULT_LIMITS, Limits
from custody.artifacts.model import (
    Artifact,
    ArtifactError,
    ArtifactKind,
    IssueKind,
    LimitKind,
    Member,
    SafetyIssue,
    Unread,
)


def read_loose_file(path: str, *, limits: Limits = DEFAULT_LIMITS) -> Artifact:
    """A single file that is not an archive as a one-member artifact (up to the member byte limit;
    the rest flagged as unread). Raises ArtifactError when it cannot be read."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            data = handle.read(limits.max_member_bytes)
    except OSError as exc:
        raise ArtifactError(f"{path}: {exc.strerror or exc}") from exc
    name = os.path.basename(path)
    issues: tuple[SafetyIssue, ...] = ()
    unread: tuple[Unread, ...] = ()
    if len(data) < size:
        issues = (
            SafetyIssue(
                kind=IssueKind.MEMBER_TRUNCATED,
                path=name,
                detail=f"only the first {len(data)} bytes were scanned",
                limit=LimitKind.MEMBER_BYTES,
            ),
        )
        unread = (Unread(path=name, limit=LimitKind.MEMBER_BYTES, size=size, loaded=len(data)),)
    return Artifact(
        source=path,
        kind=ArtifactKind.FILE,
        name=None,
        version=None,
        members=(Member(path=name, size=size, data=data, complete=len(data) >= size),),
        issues=issues,
        member_count=1,
        unread=unread,
    )
