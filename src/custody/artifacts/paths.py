"""Member-name normalisation and the path checks every reader applies."""

from __future__ import annotations

import re

from custody.artifacts.model import IssueKind, SafetyIssue

_DRIVE = re.compile(r"^[A-Za-z]:")


def clean_name(raw: str) -> str:
    """Normalise an archive member name for display and matching (never for filesystem use)."""
    name = raw.replace("\\", "/")
    # Undecodable bytes arrive as surrogate escapes; render them visibly instead of crashing on encode.
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    while name.startswith("./"):
        name = name[2:]
    return name


def path_issue(raw: str) -> SafetyIssue | None:
    """Return an issue if a member name escapes the archive root; None when it is harmless."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return SafetyIssue(kind=IssueKind.ABSOLUTE_PATH, path=clean_name(raw), detail="absolute member path")
    if ".." in name.split("/"):
        return SafetyIssue(
            kind=IssueKind.PATH_TRAVERSAL, path=clean_name(raw), detail="member path climbs out with '..'"
        )
    return None


def name_issue(raw: str) -> SafetyIssue | None:
    """Flag names that were not valid UTF-8 (decoded with surrogate escapes)."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return SafetyIssue(
            kind=IssueKind.UNDECODABLE_NAME, path=clean_name(raw), detail="member name is not valid UTF-8"
        )
    return None
