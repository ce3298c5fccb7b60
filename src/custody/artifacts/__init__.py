"""custody.artifacts: the one safe reader of package artifacts.

Wheels, sdists (.tar.gz/.tgz/.tar.bz2/.tar.xz/.zip), eggs, npm tarballs, source trees
(checkouts, unpacked sdists) and installed environments are read member by member into memory
under `Limits`; nothing is extracted, no link is followed and no package code runs. Structural
problems (traversal, absolute paths, links, special files, bombs, excess nesting) come back as
`SafetyIssue`s.
"""

from custody.artifacts.installed import (
    STARTUP_MODULES,
    UNOWNED_STARTUP,
    InstalledDistribution,
    RecordEntry,
    distribution_entries,
    find_site_dirs,
    is_startup_file,
    list_distributions,
    looks_like_site_dir,
    parse_record,
    read_distribution,
    read_installed,
    read_record,
    read_unowned_startup,
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
from custody.artifacts.tree import is_project_root, is_skipped_dir, looks_like_source_tree, read_tree

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
    "distribution_entries",
    "find_site_dirs",
    "is_archive_name",
    "is_project_root",
    "is_skipped_dir",
    "is_startup_file",
    "list_distributions",
    "looks_like_site_dir",
    "looks_like_source_tree",
    "parse_record",
    "read_artifact",
    "read_artifact_bytes",
    "read_distribution",
    "read_installed",
    "read_loose_file",
    "read_record",
    "read_tree",
    "read_unowned_startup",
    "running_site_dirs",
    "sniff_format",
]
