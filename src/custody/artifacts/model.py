"""Typed data the archive reader hands to its callers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ArtifactKind(str, enum.Enum):
    """What sort of package artifact was read."""

    WHEEL = "wheel"
    SDIST = "sdist"
    EGG = "egg"
    NPM = "npm"
    INSTALLED = "installed"
    """One distribution (or the unowned start-up files) of an installed environment."""
    FILE = "file"
    """A loose file (e.g. a single `.pth` or `setup.py`) scanned on its own."""
    SOURCE = "source"
    """A directory of source (checkout, unpacked sdist) read as one package; judged like an sdist."""


class IssueKind(str, enum.Enum):
    """Structural problems the reader refuses to follow; each becomes a scan finding."""

    PATH_TRAVERSAL = "path-traversal"
    ABSOLUTE_PATH = "absolute-path"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    SPECIAL_FILE = "special-file"
    COMPRESSION_BOMB = "compression-bomb"
    TOO_MANY_MEMBERS = "too-many-members"
    TOO_LARGE = "too-large"
    NESTING_TOO_DEEP = "nesting-too-deep"
    MEMBER_TRUNCATED = "member-truncated"
    UNDECODABLE_NAME = "undecodable-name"
    OUTSIDE_ROOT = "outside-root"
    NESTED_ARCHIVE_ERROR = "nested-archive-error"


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyIssue:
    """A member (or the archive as a whole) that the reader did not follow, and why."""

    kind: IssueKind
    path: str
    """Member path inside the artifact ('' for the archive as a whole)."""
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One regular file inside an artifact, with as much of its content as was asked for."""

    path: str
    """POSIX path inside the artifact, as stored (after normalisation of './' and backslashes)."""
    size: int
    """Uncompressed size declared by the archive (or on disk)."""
    data: bytes
    """Loaded content: the whole file when `complete`, otherwise a prefix (possibly empty)."""
    complete: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """Everything the reader learned about one artifact. Nothing was written to disk."""

    source: str
    """Where it came from: a file path, or `site-packages-dir::dist-info-name` for installed ones."""
    kind: ArtifactKind
    name: str | None
    version: str | None
    members: tuple[Member, ...]
    issues: tuple[SafetyIssue, ...] = ()
    member_count: int = 0
    """All members seen, including those not loaded."""
    error: str | None = None
    """Set when reading stopped early (corrupt or truncated archive); members hold what was read."""
    strip_prefix: str = ""
    """Leading directory that wraps the package (`name-1.0/` in sdists, `package/` in npm tarballs)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Reader-specific facts (e.g. the RECORD owner map summary); informational only."""


class ArtifactError(Exception):
    """An artifact could not be read at all (not an archive, unreadable file)."""
