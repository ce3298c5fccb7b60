"""custody.artifacts: the one safe reader of package artifacts.

Wheels, sdists (.tar.gz/.tgz/.tar.bz2/.tar.xz/.zip), eggs, npm tarballs and installed
environments are read member by member into memory under `Limits`; nothing is extracted, no
link is followed and no package code runs. Structural problems (traversal, absolute paths,
links, special files, bombs, excess nesting) come back as `SafetyIssue`s.
"""

from custody.artifacts.installed import (
    STARTUP_MODULES,
    UNOWNED_STARTUP,
    InstalledDistribution,
    RecordEntry,
    find_site_dirs,
    is_startup_file,
    list_distributions,
    looks_like_site_dir,
    read_installed,
    read_record,
    running_site_dirs,
)
from custody.artifacts.limits import DEFAULT_LIMITS, NO_DEADLINE, Deadline, Limits
from custody.artifacts.loose import read_loose_file
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
from custody.artifacts.reader import is_archive_name, read_artifact, read_artifact_bytes, sniff_format
from custody.artifacts.selection import Selector, default_selector

__all__ = [
    "DEFAULT_LIMITS",
    "NO_DEADLINE",
    "STARTUP_MODULES",
    "UNOWNED_STARTUP",
    "Artifact",
    "ArtifactError",
    "ArtifactKind",
    "Deadline",
    "InstalledDistribution",
    "IssueKind",
    "LimitKind",
    "Limits",
    "Member",
    "RecordEntry",
    "SafetyIssue",
    "Selector",
    "Unread",
    "default_selector",
    "find_site_dirs",
    "is_archive_name",
    "is_startup_file",
    "list_distributions",
    "looks_like_site_dir",
    "read_artifact",
    "read_artifact_bytes",
    "read_installed",
    "read_loose_file",
    "read_record",
    "running_site_dirs",
    "sniff_format",
]
