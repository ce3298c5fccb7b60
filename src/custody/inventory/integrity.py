"""Integrity of an installed environment: RECORD against disk, and every start-up hook with its owner.

Nothing is imported or executed: files are hashed and start-up files are read as text.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import os
import stat
from dataclasses import dataclass

from custody.artifacts import STARTUP_MODULES, InstalledDistribution, RecordEntry, is_startup_file
from custody.inventory._toml import tomllib
from custody.inventory.digest_cache import DigestCache
from custody.inventory.environment import distributions

_CHUNK = 1 << 20


class IssueType(str, enum.Enum):
    MODIFIED = "modified"
    """Content differs from the RECORD hash or size (or the file became a link)."""
    MISSING = "missing"
    """RECORD lists it, the disk does not have it."""
    UNLISTED = "unlisted"
    """Inside a distribution's package directory but in no RECORD."""
    NO_RECORD = "no-record"
    """A .dist-info without RECORD: nothing can be verified."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrityIssue:
    kind: IssueType
    path: str
    """Absolute path of the file concerned (or of the .dist-info for NO_RECORD)."""
    package: str | None
    """Owning distribution's name (for UNLISTED: the distribution owning the directory)."""
    version: str | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartupHook:
    """A file Python runs at start-up, and the lines of it that execute code."""

    path: str
    kind: str
    """`pth`, `site-toml`, `start`, `sitecustomize` or `usercustomize`."""
    lines: tuple[tuple[int, str], ...]
    """(line number, text) of each executing line; (0, "<module>") for a customize module."""
    owner: str | None
    """`.dist-info` directory whose RECORD lists the file, or None when no RECORD does."""
    owner_name: str | None = None
    owner_version: str | None = None


def _record_full(site_dir: str, entry: RecordEntry) -> str:
    return _full_path(site_dir, entry.path)


@functools.lru_cache(maxsize=1 << 18)
def _full_path(site_dir: str, rel: str) -> str:
    # every RECORD row is resolved by the integrity walk, the unlisted-file walk and the hook owners
    return os.path.normpath(os.path.join(site_dir, rel))


def _digest(path: str, algorithm: str) -> str | None:
    try:
        hasher = hashlib.new(algorithm)
    except (ValueError, TypeError):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode("ascii")


def _env_root(site_dir: str) -> str:
    """The environment prefix (`lib/pythonX.Y/site-packages` up three levels): RECORD may reach it."""
    return os.path.dirname(os.path.dirname(os.path.dirname(site_dir))) or site_dir


def _check_entry(
    site_dir: str,
    root: str,
    dist: InstalledDistribution,
    entry: RecordEntry,
    cache: DigestCache | None = None,
    full: str | None = None,
) -> IntegrityIssue | None:
    """`root` is `_env_root(site_dir)` ending in a separator (computed once per site dir); `full`
    the entry's resolved path when the caller already has it."""
    full = full or _record_full(site_dir, entry)

    def issue(kind: IssueType, detail: str) -> IntegrityIssue:
        return IntegrityIssue(kind=kind, path=full, package=dist.name, version=dist.version, detail=detail)

    if not (full + os.sep).startswith(root):  # both absolute and normalised: as commonpath, cheaper
        return issue(IssueType.MODIFIED, "RECORD names a file outside the environment (not read)")

    try:
        info = os.lstat(full)
    except FileNotFoundError:
        if entry.path.endswith(".pyc"):
            return None  # byte-code caches come and go
        return issue(IssueType.MISSING, f"listed in {dist.entry}/RECORD but not on disk")
    except (OSError, ValueError) as exc:
        return issue(IssueType.MISSING, f"cannot stat: {exc}")
    if stat.S_ISLNK(info.st_mode):
        return issue(IssueType.MODIFIED, f"now a symbolic link to {os.readlink(full)!r}")
    if not entry.algorithm or not entry.digest or not stat.S_ISREG(info.st_mode):
        return None
    if entry.size is not None and entry.size != info.st_size:
        return issue(IssueType.MODIFIED, f"size {info.st_size} bytes, RECORD says {entry.size}")
    actual = cache.lookup(full, info, entry.algorithm) if cache is not None else None
    if actual is None:
        try:
            actual = _digest(full, entry.algorithm)
        except OSError as exc:
            return issue(IssueType.MODIFIED, f"unreadable: {exc.strerror or exc}")
        if actual is not None and cache is not None:
            cache.remember(full, info, entry.algorithm, actual)
    if actual is not None and actual != entry.digest:
        return issue(IssueType.MODIFIED, f"{entry.algorithm} differs from {dist.entry}/RECORD")
    return None


def verify_records(
    site_dir: str, dists: list[InstalledDistribution] | None = None, cache: DigestCache | None = None
) -> list[IntegrityIssue]:
    """Modified and missing files of every distribution, and unlisted files in their package dirs.
    With `cache`, files unchanged since an earlier run (size, mtime, ctime, inode) are not re-read."""
    site_dir = os.path.abspath(site_dir)
    root = os.path.join(_env_root(site_dir), "")
    dists = distributions(site_dir) if dists is None else dists
    issues: list[IntegrityIssue] = []
    owned: set[str] = set()
    top_owner: dict[str, InstalledDistribution] = {}
    for dist in dists:
        if not dist.has_record:
            if dist.entry.endswith(".dist-info"):
                issues.append(
                    IntegrityIssue(
                        kind=IssueType.NO_RECORD,
                        path=dist.path,
                        package=dist.name,
                        version=dist.version,
                        detail="no RECORD: files cannot be verified",
                    )
                )
            for entry in dist.record:
                owned.add(_record_full(site_dir, entry))
            continue
        for entry in dist.record:
            full = _record_full(site_dir, entry)
            owned.add(full)
            rel = entry.path.replace("\\", "/")
            top = rel.split("/", 1)[0]
            if (
                "/" in rel
                and top not in ("..", "__pycache__")
                and not top.endswith((".dist-info", ".egg-info", ".data"))
            ):
                top_owner.setdefault(top, dist)
            found = _check_entry(site_dir, root, dist, entry, cache, full)
            if found is not None:
                issues.append(found)
    for top, dist in sorted(top_owner.items()):
        issues.extend(_unlisted(os.path.join(site_dir, top), owned, dist))
    return issues


def _unlisted(directory: str, owned: set[str], dist: InstalledDistribution) -> list[IntegrityIssue]:
    found: list[IntegrityIssue] = []
    for root, dirs, files in os.walk(directory):  # followlinks=False: links are not descended
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            full = os.path.normpath(os.path.join(root, name))
            if full in owned or name.endswith((".pyc", ".pyo")):
                continue
            found.append(
                IntegrityIssue(
                    kind=IssueType.UNLISTED,
                    path=full,
                    package=dist.name,
                    version=dist.version,
                    detail=f"in a directory installed by {dist.entry} but listed in no RECORD",
                )
            )
    return found


def _pth_lines(text: str) -> list[tuple[int, str]]:
    # site.addpackage() executes exactly the lines that start with "import " or "import\t".
    return [
        (n, line.rstrip())
        for n, line in enumerate(text.splitlines(), 1)
        if line.startswith(("import ", "import\t"))
    ]


def _site_toml_lines(text: str) -> list[tuple[int, str]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [(0, f"<unparseable .site.toml: {exc}>")]
    section = doc.get("entrypoints", {})
    init = section.get("init", []) if isinstance(section, dict) else []
    entries = [e for e in init if isinstance(e, str)] if isinstance(init, list) else []
    lines = text.splitlines()
    return [(next((i for i, ln in enumerate(lines, 1) if e in ln), 0), e) for e in entries]


def _start_lines(text: str) -> list[tuple[int, str]]:
    return [
        (n, ln.strip())
        for n, ln in enumerate(text.splitlines(), 1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]


def _read_text(path: str) -> str:
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            return handle.read(1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return ""


def find_startup_hooks(site_dir: str, dists: list[InstalledDistribution] | None = None) -> list[StartupHook]:
    """Every start-up entry at the root of `site_dir` that executes code, with its RECORD owner."""
    site_dir = os.path.abspath(site_dir)
    dists = distributions(site_dir) if dists is None else dists
    owners = {_record_full(site_dir, e): d for d in dists for e in d.record}
    hooks: list[StartupHook] = []
    try:
        entries = sorted(os.listdir(site_dir))
    except OSError:
        return hooks
    for entry in entries:
        full = os.path.join(site_dir, entry)
        candidates: list[tuple[str, str]] = []
        if entry in STARTUP_MODULES and os.path.isdir(full):
            candidates = [(os.path.join(full, "__init__.py"), entry)]
        elif is_startup_file(entry) and not os.path.isdir(full):
            candidates = [(full, entry)]
        for path, rel in candidates:
            if not os.path.lexists(path):
                continue
            if rel.endswith(".pth"):
                kind, lines = "pth", _pth_lines(_read_text(path))
            elif rel.endswith(".site.toml"):
                kind, lines = "site-toml", _site_toml_lines(_read_text(path))
            elif rel.endswith(".start"):
                kind, lines = "start", _start_lines(_read_text(path))
            else:
                kind, lines = rel.split(".", 1)[0], [(0, "<module>")]
            if not lines:
                continue  # a .pth of plain path entries runs nothing
            owner = owners.get(os.path.normpath(path))
            hooks.append(
                StartupHook(
                    path=path,
                    kind=kind,
                    lines=tuple(lines),
                    owner=owner.entry if owner else None,
                    owner_name=owner.name if owner else None,
                    owner_version=owner.version if owner else None,
                )
            )
    return hooks


def check_site_dir(
    site_dir: str,
) -> tuple[list[InstalledDistribution], list[IntegrityIssue], list[StartupHook]]:
    """Distributions, RECORD problems and start-up hooks of one site-packages directory."""
    dists = distributions(os.path.abspath(site_dir))
    return dists, verify_records(site_dir, dists), find_startup_hooks(site_dir, dists)
