"""Typed data the archive reader hands to its callers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar

from custody.errors import EXIT_ERROR, CustodyError


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
    AMBIGUOUS_MEMBER = "ambiguous-member"
    """Zip entries installers may read differently: a local header naming another file than the
    central directory does, or two directory entries sharing one body."""


class LimitKind(str, enum.Enum):
    """Which bound left content unread or unanalysed. Scan findings about such gaps carry one, so
    decisions (fail closed) are made on this value, never on message text."""

    MEMBER_COUNT = "member-count"
    """`Limits.max_members`: members after the limit were not read."""
    TOTAL_BYTES = "total-bytes"
    """`Limits.max_total_bytes`: the archive inflates past the absolute bound."""
    COMPRESSION_RATIO = "compression-ratio"
    """`Limits.max_ratio`: a compression bomb."""
    MEMBER_BYTES = "member-bytes"
    """`Limits.max_member_bytes`: only a prefix of a large member was loaded."""
    LOADED_BYTES = "loaded-bytes"
    """`Limits.max_loaded_bytes`: the per-artifact memory budget ran out."""
    NESTING_DEPTH = "nesting-depth"
    """`Limits.max_depth`: an archive nested too deep was not opened."""
    UNREADABLE = "unreadable"
    """Not a bound: a corrupt, encrypted or inconsistent member (e.g. a zip local header that names
    another file). Its content is just as unseen, so it is treated the same way."""
    SCAN_TIME = "scan-time"
    """The per-target time budget (`custody scan --timeout`) ran out."""
    AST_SIZE = "ast-size"
    """A source too large for the syntax-tree analysis got the coarser text analysis only."""
    FLOW_SIZE = "flow-size"
    """A module too large to follow value by value: every other rule still read it."""
    PATTERN_TIME = "pattern-time"
    """Pattern (YARA) matching over one member hit its time limit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unread:
    """Content a limit kept from being read or analysed in full."""

    path: str
    """Member path; with `rest`, where reading stopped ('' or a nested archive's `outer!/` prefix)."""
    limit: LimitKind
    size: int = -1
    """Declared size of the member (-1 when unknown)."""
    loaded: int = 0
    """Bytes of it that were read (a prefix)."""
    rest: bool = False
    """True when everything after `path` in a streamed archive went unread (names unknown)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyIssue:
    """A member (or the archive as a whole) that the reader did not follow, and why."""

    kind: IssueKind
    path: str
    """Member path inside the artifact ('' for the archive as a whole)."""
    detail: str
    limit: LimitKind | None = None
    """The bound behind this issue, when a bound (not the archive's shape) caused it."""


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
    unread: tuple[Unread, ...] = ()
    """What limits left unread (members the reader wanted in full but could not load)."""
    strip_prefix: str = ""
    """Leading directory that wraps the package (`name-1.0/` in sdists, `package/` in npm tarballs)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Reader-specific facts (e.g. the RECORD owner map summary); informational only."""


class ArtifactError(CustodyError):
    """An artifact could not be read at all (not an archive, unreadable file)."""

    exit_code: ClassVar[int] = EXIT_ERROR
