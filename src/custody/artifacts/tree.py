"""Reader for a directory of source (a git checkout, an unpacked sdist, a project folder).

The tree is read as ONE artifact, the way an installer would see it: `pip install ./checkout`
runs its setup.py and installs its packages, so the scan judges it as it judges an sdist. Files
are read into memory under the same `Limits` and `Selector` as archive members; nothing is
written, no package code runs and no symbolic link is followed out of the tree.

Not read: version-control internals (`.git`, `.hg`, `.svn`), byte-code caches, tool caches,
`node_modules` and virtual environments (`.venv`, `venv`, any folder holding `pyvenv.cfg`):
none of them is part of the package, and an environment has its own scan (`custody scan
.venv`). Archives inside the tree are not opened here (only their first bytes are loaded, as
for any data file): the scan engine reads each one as a target of its own.
"""

from __future__ import annotations

import os
import sys

from custody.artifacts._collect import Collector, StopReading, read_regular_file
from custody.artifacts.limits import DEFAULT_LIMITS, Limits
from custody.artifacts.metadata import NAME_VERSION, metadata_headers
from custody.artifacts.model import Artifact, ArtifactError, ArtifactKind, IssueKind
from custody.artifacts.selection import MAGIC_PREFIX, Selector, default_selector, is_nested_archive

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
"""Any of these at the top makes a directory a project root (what pip can install)."""

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "node_modules",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
"""Folders that are never part of the package: VCS data, caches, installed environments."""


def is_project_root(path: str) -> bool:
    """True when `path` holds pyproject.toml, setup.py or setup.cfg (a pip-installable project)."""
    return any(os.path.isfile(os.path.join(path, name)) for name in PROJECT_FILES)


def looks_like_source_tree(path: str) -> bool:
    """A project root, or a folder of Python code: loose `.py` files or a package at the top."""
    if is_project_root(path):
        return True
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    for entry in entries:
        if entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
            return True
        if (
            entry.is_dir(follow_symlinks=False)
            and entry.name not in SKIPPED_DIRS
            and os.path.isfile(os.path.join(entry.path, "__init__.py"))
        ):
            return True
    return False


def is_skipped_dir(path: str, name: str) -> bool:
    """A folder the tree reader (and the engine's search for archives) does not enter."""
    return name in SKIPPED_DIRS or os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def read_tree(
    path: str | os.PathLike[str],
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
) -> Artifact:
    """Read a source directory as one artifact (kind `source`). Raises ArtifactError if unreadable."""
    root = os.path.realpath(os.fspath(path))
    if not os.path.isdir(root):
        raise ArtifactError(f"{os.fspath(path)}: not a directory")
    reader = _TreeReader(root, Collector(limits, _archives_by_magic(selector)))
    try:
        reader.walk(root, "")
    except StopReading:
        pass
    except OSError as exc:
        if not reader.collector.members:
            raise ArtifactError(f"{os.fspath(path)}: {exc.strerror or exc}") from exc
        reader.error = f"unreadable: {exc}"
    collector = reader.collector
    name, version = _name_version(root)
    extra = {"skipped": ", ".join(reader.skipped)} if reader.skipped else {}
    return Artifact(
        source=os.fspath(path),
        kind=ArtifactKind.SOURCE,
        name=name,
        version=version,
        members=tuple(collector.members),
        issues=tuple(collector.issues),
        member_count=collector.member_count,
        error=reader.error,
        extra=extra,
    )


def _archives_by_magic(selector: Selector) -> Selector:
    """The caller's selector, except that archives load only their magic bytes (see module doc)."""

    def select(path: str, size: int) -> int:
        if is_nested_archive(path):
            return min(size, MAGIC_PREFIX)
        return selector(path, size)

    return select


class _TreeReader:
    def __init__(self, root: str, collector: Collector) -> None:
        self.root = root
        self.collector = collector
        self.skipped: list[str] = []
        self.error: str | None = None

    def walk(self, folder: str, rel: str) -> None:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            shown = f"{rel}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if is_skipped_dir(entry.path, entry.name):
                    self.skipped.append(shown + "/")
                    continue
                try:
                    self.walk(entry.path, shown + "/")
                except OSError as exc:  # one unreadable folder does not end the read
                    self.collector.issue(
                        IssueKind.MEMBER_TRUNCATED, shown, f"unreadable folder: {exc.strerror}"
                    )
            elif entry.is_symlink():
                self._link(entry.path, shown)
            else:
                self._file(entry.path, shown)

    def _link(self, full: str, shown: str) -> None:
        target = os.path.realpath(full)
        inside = os.path.commonpath([target, self.root]) == self.root
        if inside and os.path.isdir(target):
            return  # its files are read where they really are
        if inside and os.path.isfile(target):
            # Read under the link's own name: a `setup.py` linked to `tools/x.py` runs as setup.py.
            self._file(target, shown)
            return
        self.collector.admit(shown, shown, check_path=False)
        try:
            points_to = os.readlink(full)
        except OSError:
            points_to = "?"
        where = "outside the tree" if not inside else "not to a file or folder"
        self.collector.issue(
            IssueKind.SYMLINK, shown, f"symbolic link to {points_to!r}, {where} (not followed)"
        )

    def _file(self, full: str, shown: str) -> None:
        collector = self.collector
        collector.admit(shown, shown, check_path=False)
        try:
            info = os.lstat(full)
        except OSError:
            return  # removed while we walked
        read_regular_file(collector, full, shown, info)


def _name_version(root: str) -> tuple[str | None, str | None]:
    """From PKG-INFO (an unpacked sdist), else from pyproject.toml's static `[project]` table."""
    pkg_info = os.path.join(root, "PKG-INFO")
    if os.path.isfile(pkg_info):
        try:
            with open(pkg_info, encoding="utf-8", errors="replace") as handle:
                headers = metadata_headers(handle.read(65536), NAME_VERSION)
        except OSError:
            headers = {}
        if headers.get("name"):
            return headers.get("name"), headers.get("version")
    pyproject = os.path.join(root, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return None, None
    try:
        with open(pyproject, "rb") as handle:
            project = tomllib.loads(handle.read(1024 * 1024).decode("utf-8", "replace")).get("project")
    except (OSError, tomllib.TOMLDecodeError):
        return None, None
    if not isinstance(project, dict):
        return None, None
    name, version = project.get("name"), project.get("version")
    return (name if isinstance(name, str) else None, version if isinstance(version, str) else None)
