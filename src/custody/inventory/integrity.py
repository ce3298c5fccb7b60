"""Integrity of an installed environment: RECORD against disk, and every start-up hook with its owner.

Nothing is imported or executed: files are hashed and start-up files are read as text.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import enum
import functools
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from custody.artifacts import STARTUP_MODULES, InstalledDistribution, RecordEntry, is_startup_file
from custody.inventory._files import file_digest
from custody.inventory._parallel import run_parts
from custody.inventory.bytecode import (
    UNCHECKED_HASH,
    bytecode_problem,
    compiled_differs,
    pyc_flags,
    pyc_source,
)
from custody.inventory.digest_cache import DigestCache, DigestGroup, Entries
from custody.inventory.environment import distributions
from custody.inventory.os_packages import os_owner
from custody.startup_files import (
    PythonVersion,
    pth_executed_by,
    pth_name_skipped,
    site_toml_entries,
    start_entries,
)


class IssueType(str, enum.Enum):
    """What is wrong with an installed file or distribution."""

    MODIFIED = "modified"
    """Content differs from the RECORD hash or size (or the file became a link)."""
    MISSING = "missing"
    """RECORD lists it, the disk does not have it."""
    UNLISTED = "unlisted"
    """Inside a distribution's package directory but in no RECORD."""
    NO_RECORD = "no-record"
    """A .dist-info without RECORD: nothing can be verified (installers always write one, so a
    missing RECORD may hide any change to the distribution's files)."""
    BYTECODE = "bytecode"
    """A `.pyc` that `import` runs without comparing it to a source (see `inventory.bytecode`)."""
    LEGACY = "legacy"
    """An old layout (.egg-info, .egg) that never had a RECORD: its files cannot be verified."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrityIssue:
    """One integrity problem: its type, the file (or .dist-info), the owning distribution and
    version, a detail, and whether the OS package manager installed that distribution."""

    kind: IssueType
    path: str
    """Absolute path of the file concerned (or of the .dist-info for NO_RECORD)."""
    package: str | None
    """Owning distribution's name (for UNLISTED: the distribution owning the directory)."""
    version: str | None
    detail: str
    os_managed: bool = False
    """The distribution was installed by the operating system's package manager (INSTALLER names
    one, or there is no INSTALLER outside a virtual environment): it may rewrite files after RECORD
    was made (stripped binaries, patched metadata), and its own tool verifies them."""


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
    note: str | None = None
    """What else is known about an unowned hook (an OS package lists it with other content)."""
    unread: str | None = None
    """Why the file could not be read whole (not a regular file, unreadable, too large): what it
    runs is unknown, so it is reported as a hook whoever owns it."""


def _record_full(site_dir: str, entry: RecordEntry) -> str:
    return _full_path(site_dir, entry.path)


def _is_plain(rel: str) -> bool:
    """A relative path without "." segments, doubled or trailing separators: already normal."""
    return os.sep == "/" and "/." not in "/" + rel and "//" not in rel and rel[-1:] != "/" and rel[:1] != "/"


def _full_path(site_dir: str, rel: str) -> str:
    # Called for every RECORD row (100k in a large venv): the costly normpath only where needed.
    if _is_plain(rel):
        return f"{site_dir}/{rel}"
    return os.path.normpath(os.path.join(site_dir, rel))


def _digest(path: str, algorithm: str) -> str | None:
    """RECORD's spelling of a digest: urlsafe base64 without padding."""
    raw = file_digest(path, algorithm)
    return None if raw is None else base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _same_digest(actual: str, recorded: str) -> bool:
    """`actual` (urlsafe base64, as RECORD specifies) against RECORD's value; Debian's packages
    write hex digests instead, which are compared as hex."""
    if actual == recorded:
        return True
    if len(recorded) in (32, 40, 56, 64, 96, 128) and all(c in "0123456789abcdefABCDEF" for c in recorded):
        raw = base64.urlsafe_b64decode(actual + "=" * (-len(actual) % 4))
        return raw.hex() == recorded.lower()
    return False


def _env_root(site_dir: str) -> str:
    """The environment prefix (`lib/pythonX.Y/site-packages` up three levels): RECORD may reach it."""
    return os.path.dirname(os.path.dirname(os.path.dirname(site_dir))) or site_dir


_OS_INSTALLERS = frozenset({"rpm", "dnf", "yum", "dpkg", "apt", "debian", "pacman", "apk", "portage", "nix"})


def _os_managed(dist: InstalledDistribution) -> bool:
    if dist.installer is not None:
        return dist.installer.lower() in _OS_INSTALLERS
    # pip, uv, poetry and conda always write INSTALLER; Debian's python3-* packages do not
    return not _in_virtualenv(dist.site_dir)


@functools.lru_cache(maxsize=64)
def _in_virtualenv(site_dir: str) -> bool:
    return os.path.isfile(os.path.join(_env_root(site_dir), "pyvenv.cfg"))


def _issue(kind: IssueType, full: str, dist: InstalledDistribution, detail: str) -> IntegrityIssue:
    return IntegrityIssue(
        kind=kind,
        path=full,
        package=dist.name,
        version=dist.version,
        detail=detail,
        os_managed=_os_managed(dist),
    )


def _check_entry(
    site_dir: str,
    root: str,
    dist: InstalledDistribution,
    entry: RecordEntry,
    cache: DigestGroup | None = None,
    full: str | None = None,
) -> IntegrityIssue | None:
    """Check one RECORD row by looking its file up. `root` is `_env_root(site_dir)` ending in a
    separator (computed once per site dir); `full` the row's resolved path when known."""
    full = full or _record_full(site_dir, entry)
    if not (full + os.sep).startswith(root):  # both absolute and normalised: as commonpath, cheaper
        return _issue(
            IssueType.MODIFIED, full, dist, "RECORD names a file outside the environment (not read)"
        )
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        if entry.path.endswith(".pyc"):
            return None  # byte-code caches come and go
        return _issue(IssueType.MISSING, full, dist, f"listed in {dist.entry}/RECORD but not on disk")
    except (OSError, ValueError) as exc:
        return _issue(IssueType.MISSING, full, dist, f"cannot stat: {exc}")
    return _compare(full, info, dist, entry, cache)


def _compare(
    full: str,
    info: os.stat_result,
    dist: InstalledDistribution,
    entry: RecordEntry,
    cache: DigestGroup | None,
) -> IntegrityIssue | None:
    """A present file against its RECORD row: link, size, then digest (reused from `cache` when
    the file is unchanged since it was hashed)."""
    if stat.S_ISLNK(info.st_mode):
        return _issue(IssueType.MODIFIED, full, dist, f"now a symbolic link to {os.readlink(full)!r}")
    if not entry.algorithm or not entry.digest:
        return None
    if not stat.S_ISREG(info.st_mode):  # a FIFO, device or directory where RECORD hashed a file
        return _issue(IssueType.MODIFIED, full, dist, "no longer a regular file")
    if entry.size is not None and entry.size != info.st_size:
        return _issue(IssueType.MODIFIED, full, dist, f"size {info.st_size} bytes, RECORD says {entry.size}")
    actual = cache.lookup(full, info, entry.algorithm) if cache is not None else None
    if actual is None:
        try:
            actual = _digest(full, entry.algorithm)
        except OSError as exc:
            return _issue(IssueType.MODIFIED, full, dist, f"unreadable: {exc.strerror or exc}")
        if actual is not None and cache is not None:
            cache.remember(full, info, entry.algorithm, actual)
    if actual is not None and not _same_digest(actual, entry.digest):
        return _issue(IssueType.MODIFIED, full, dist, f"{entry.algorithm} differs from {dist.entry}/RECORD")
    return None


_ROWS_PER_WORKER = 5000
"""Below this many RECORD rows a second process costs more than it saves."""
_Listed = tuple[str | None, InstalledDistribution, RecordEntry]
"""A RECORD row with its resolved path, or None where the part resolves it (plain rows)."""
_Share = tuple[InstalledDistribution, list[_Listed] | None]
"""Rows of one distribution in a directory (or to look up): classified already, or None when its
RECORD is still text, classified in the part that checks them (see `_Classified`)."""
_LOOKUP_TOPS = ("__pycache__",)
_LOOKUP_SUFFIXES = (".dist-info", ".egg-info", ".data")


@dataclass(slots=True)
class _Part:
    """A share of the work: package directories to walk with the RECORD rows under them, and rows
    to look up one by one. Parts share no file, so they can be checked in parallel; a part resolves
    its own rows' paths, and parses the RECORDs left as text, which keeps the serial planning short.

    An accumulator: the planner deals directories and lookups into the parts one by one, keeping
    their sizes even."""

    site_dir: str
    unverifiable: frozenset[str]
    """Paths listed by a distribution without RECORD: owned (not unlisted), nothing to compare."""
    tops: list[tuple[str, InstalledDistribution, list[_Share]]] = field(default_factory=list)
    """(directory, the distribution that installed it, each distribution's rows under it)."""
    lookups: list[tuple[_Share, frozenset[str] | None]] = field(default_factory=list)
    """Rows to look up, by distribution; for a RECORD still text, the directories the plan found
    in it (a row the part finds under another directory is looked up here: never left out)."""
    size: int = 0


def verify_records(
    site_dir: str,
    dists: list[InstalledDistribution] | None = None,
    cache: DigestCache | None = None,
    *,
    workers: int = 1,
) -> list[IntegrityIssue]:
    """Modified and missing files of every distribution, and unlisted files in their package dirs.

    With `cache`, files unchanged since an earlier run (size, mtime, ctime, inode) are not re-read.
    One pass over each package directory both finds unlisted files and gives the lstat() of the
    listed ones; only listed files outside those directories are looked up one by one. With
    `workers` > 1 the work is split over forked processes where that is safe (see `_parallel`).
    Distributions whose RECORD is still text (`distributions(parse_records=False)`) are parsed by
    the part that checks their rows.
    """
    site_dir = os.path.abspath(site_dir)
    dists = distributions(site_dir) if dists is None else dists
    rows = sum(len(d.record) if d.record_text is None else d.record_text.count("\n") for d in dists)
    issues, parts = _plan(site_dir, dists, max(1, workers) if rows >= _ROWS_PER_WORKER else 1)
    root = os.path.join(_env_root(site_dir), "")
    for found, updates in run_parts([functools.partial(_check_part, root, part, cache) for part in parts]):
        issues.extend(found)
        if cache is not None:
            for key, entries in updates.items():
                cache.save(key, entries)
    issues.sort(key=lambda issue: (issue.path, issue.kind.value, issue.package or ""))
    return issues


def _classify(
    site_dir: str, dist: InstalledDistribution, rows: tuple[RecordEntry, ...]
) -> tuple[dict[str, list[_Listed]], list[_Listed]]:
    """(rows by the site-packages directory they lie in, rows to look up one by one) of one
    distribution: files at the root, in `__pycache__`, `.dist-info` or `.data`, or outside."""
    prefix = site_dir + os.sep
    plain_sep = os.sep == "/"
    under: dict[str, list[_Listed]] = {}
    lookups: list[_Listed] = []
    # this runs for every RECORD row (~100k): most rows are plain, tested inline before the
    # call, and a distribution's rows come grouped by directory, so the last one is kept
    last_top: str | None = None
    bucket: list[_Listed] | None = None
    for entry in rows:
        full: str | None = None
        path = entry.path
        top, slash, _ = path.partition("/")
        inline = plain_sep and "/." not in path and "//" not in path and path[:1] not in "./"
        if not (inline and path[-1:] != "/") and not _is_plain(path):
            full = _full_path(site_dir, entry.path)
            inside = full.startswith(prefix)
            top, slash, _ = full[len(prefix) :].partition(os.sep) if inside else ("", "", "")
        if not slash:
            lookups.append((full, dist, entry))
            continue
        if top != last_top:
            last_top = top
            if top in _LOOKUP_TOPS or top.endswith(_LOOKUP_SUFFIXES):
                bucket = None
            else:
                bucket = under.get(top)
                if bucket is None:
                    bucket = under[top] = []
        if bucket is None:
            lookups.append((full, dist, entry))
        else:
            bucket.append((full, dist, entry))
    return under, lookups


# Each pattern starts with one literal character, which the regex engine scans for (a pattern
# with alternatives at its start is tried at every character: 10x slower on ~10 MB of RECORDs).
_LONE_CR = re.compile(r"\r(?!\n)")
_TRAILING_SLASH = re.compile(r"/[,\r\n]")
_ODD_START = re.compile(r"\n[./]")
_ODD_MARK = re.compile(r"/[./]")
_PATH_AT = re.compile(r"[^,\r\n]*")
_TOP_OF_ROW = re.compile(r"\n([^/\n,]*)/")


def _text_tops(site_dir: str, text: str) -> collections.Counter[str] | None:
    """Rows per package directory of a RECORD's text, found without parsing it (C-level scans
    instead of ~100k rows in Python before the work can be split); None when the text is CSV this
    cannot read exactly (quoting, NUL, a lone carriage return) or holds a path with a leading or
    trailing `/`: `_classify` then sorts it row by row. Otherwise the directories are those
    `_classify` finds after `parse_record`: a row is a line, its path what precedes the first
    comma, its directory what precedes the path's first `/` (resolved as `_classify` resolves it
    where the path is not plain)."""
    if os.sep != "/" or '"' in text or "\x00" in text or _LONE_CR.search(text):
        return None
    # digests and sizes hold no `/` (urlsafe base64, hex, digits): a `/` is in a path
    if _TRAILING_SLASH.search(text) or text.endswith("/"):
        return None  # a path with a trailing `/`: row by row
    lines = "\n" + text
    odd = _odd_paths(lines)
    if odd is None:
        return None
    tops = collections.Counter(_TOP_OF_ROW.findall(lines))
    prefix = site_dir + os.sep
    for path in odd:
        raw, slash, _ = path.partition("/")
        if slash:
            tops[raw] -= 1
        full = _full_path(site_dir, path)
        if full.startswith(prefix):
            top, slash, _ = full[len(prefix) :].partition(os.sep)
            if slash:
                tops[top] += 1
    for top in [t for t, n in tops.items() if n <= 0 or t in _LOOKUP_TOPS or t.endswith(_LOOKUP_SUFFIXES)]:
        del tops[top]
    return tops


def _odd_paths(lines: str) -> list[str] | None:
    """The paths of the rows in `lines` (a RECORD's text after a newline) that start with `.` or
    hold `/.` or `//` (`../../../bin/tool`, `./x`, `pkg/../y`): not plain, resolved one by one;
    None when a path starts with `/`. Found from the marks (a few per distribution), not by
    trying a pattern at every character. A mark outside a path (there is none in urlsafe base64,
    hex or digits) only adds a plain path, which resolves to the directory it was counted under."""
    starts = set()
    for found in _ODD_START.finditer(lines):
        if lines[found.end() - 1] == "/":
            return None
        starts.add(found.start() + 1)
    for found in _ODD_MARK.finditer(lines):
        starts.add(lines.rfind("\n", 0, found.start()) + 1)
    paths = []
    for start in starts:
        path = _PATH_AT.match(lines, start)  # always matches (possibly empty)
        paths.append(path.group() if path else "")
    return paths


def _plan(
    site_dir: str, dists: list[InstalledDistribution], count: int
) -> tuple[list[IntegrityIssue], list[_Part]]:
    issues: list[IntegrityIssue] = []
    under: dict[str, list[_Share]] = {}
    sizes: collections.Counter[str] = collections.Counter()
    top_owner: dict[str, InstalledDistribution] = {}
    lookups: list[tuple[_Share, frozenset[str] | None, int, list[str]]] = []
    unverifiable: set[str] = set()
    for dist in dists:
        if not dist.has_record:
            if dist.entry.endswith(".dist-info"):
                detail = "no RECORD (installers always write one): its files cannot be verified"
                issues.append(_issue(IssueType.NO_RECORD, dist.path, dist, detail))
            else:
                detail = "old install layout without RECORD: its files cannot be verified"
                issues.append(_issue(IssueType.LEGACY, dist.path, dist, detail))
            unverifiable.update(_record_full(site_dir, entry) for entry in dist.rows())
            continue
        text = dist.record_text
        found = None if text is None else _text_tops(site_dir, text)
        if found is None:  # parsed already, or text that is not plain: row by row here
            by_top, looked = _classify(site_dir, dist, dist.rows())
            for top, listed in by_top.items():
                under.setdefault(top, []).append((dist, listed))
                top_owner.setdefault(top, dist)
                sizes[top] += len(listed)
            lookups.append(((dist, looked), None, len(looked), list(by_top)))
            continue
        for top, rows in found.items():
            under.setdefault(top, []).append((dist, None))
            top_owner.setdefault(top, dist)
            sizes[top] += rows
        estimate = (text or "").count("\n") - sum(found.values())
        lookups.append(((dist, None), frozenset(found), estimate, list(found)))
    frozen = frozenset(unverifiable)
    parts = [_Part(site_dir, frozen) for _ in range(count)]
    prefix = site_dir + os.sep
    part_of: dict[str, _Part] = {}
    # largest directories first, each to the lightest part: parts of about equal size
    for top in sorted(under, key=lambda t: (-sizes[t], t)):
        part = min(parts, key=lambda p: p.size)
        part.tops.append((prefix + top, top_owner[top], under[top]))
        part.size += sizes[top]
        part_of[top] = part
    # a distribution's other files (one digest group) go to the part holding its largest
    # directory: a RECORD left as text is then parsed by one part only, as a rule
    for share, expected, size, tops in lookups:
        biggest = max(tops, key=lambda t: (sizes[t], t), default=None)
        part = part_of[biggest] if biggest is not None else min(parts, key=lambda p: p.size)
        part.lookups.append((share, expected))
        part.size += size
    return issues, [p for p in parts if p.tops or p.lookups]


@dataclass(slots=True)
class _Classified:
    """A part's view of the RECORDs it parses: each distribution's rows classified once.

    An accumulator (a memo): `done` fills in as distributions are first asked for."""

    site_dir: str
    done: dict[str, tuple[dict[str, list[_Listed]], list[_Listed]]] = field(default_factory=dict)

    def of(self, dist: InstalledDistribution) -> tuple[dict[str, list[_Listed]], list[_Listed]]:
        if dist.path not in self.done:
            self.done[dist.path] = _classify(self.site_dir, dist, dist.rows())
        return self.done[dist.path]

    def under(self, share: _Share, top: str) -> list[_Listed]:
        dist, rows = share
        return rows if rows is not None else self.of(dist)[0].get(top, [])

    def looked_up(self, share: _Share, expected: frozenset[str] | None) -> list[_Listed]:
        dist, rows = share
        if rows is not None:
            return rows
        by_top, looked = self.of(dist)
        # a directory the plan did not see in the text (it cannot, for plain text): looked up
        stray = [row for top, listed in by_top.items() if top not in (expected or ()) for row in listed]
        return looked + stray


def _check_part(
    root: str, part: _Part, cache: DigestCache | None
) -> tuple[list[IntegrityIssue], dict[str, Entries]]:
    """Issues of one part, and the digest groups it changed (for the parent to store)."""
    issues: list[IntegrityIssue] = []
    groups: list[DigestGroup] = []

    def group(key: str) -> DigestGroup | None:
        if cache is None:
            return None
        groups.append(cache.group(key))
        return groups[-1]

    rows = _Classified(part.site_dir)
    lookups = [row for share, expected in part.lookups for row in rows.looked_up(share, expected)]
    prefix = part.site_dir + os.sep
    for directory, owner_of_dir, shares in part.tops:
        top = directory[len(prefix) :]
        listed = [row for share in shares for row in rows.under(share, top)]
        _check_top(part, directory, owner_of_dir, listed, group(directory), issues, lookups)
    by_dist: dict[str, DigestGroup | None] = {}
    for known, dist, entry in lookups:
        if dist.path not in by_dist:
            by_dist[dist.path] = group(dist.path)
        found = _check_entry(part.site_dir, root, dist, entry, by_dist[dist.path], known)
        if found is not None:
            issues.append(found)
    changed = {g.key: entries for g in groups if (entries := g.update()) is not None}
    return issues, changed


def _check_top(
    part: _Part,
    directory: str,
    owner_of_dir: InstalledDistribution,
    listed: list[_Listed],
    digests: DigestGroup | None,
    issues: list[IntegrityIssue],
    lookups: list[_Listed],
) -> None:
    """Walk one package directory: unlisted files, listed files against RECORD, byte code. Rows
    whose file the walk does not meet are added to `lookups` (looked up, and reported, one by one).

    The loop runs once per installed file (~100k in a large environment), so the common cases are
    tested inline: a listed file whose cached `stamp=digest` string equals the one its lstat and
    RECORD row give (the same test as `_compare` with `DigestGroup.lookup`), and a `__pycache__`
    file whose flags word is cached under its stamp and is not unchecked-hash (the same answer as
    `bytecode_problem` with `_PycChecks.flags`). Everything else takes the general path."""
    sep = os.sep
    prefix = part.site_dir + sep
    pending: dict[str, tuple[InstalledDistribution, RecordEntry]] = {}
    for known, dist, entry in listed:
        full = known or prefix + entry.path
        if full in pending:
            lookups.append((full, dist, entry))  # listed twice: the second row is looked up
        else:
            pending[full] = (dist, entry)
    sources: set[str] = set()  # the .py files seen: whether a .pyc has its source
    byte_code: list[tuple[str, InstalledDistribution]] = []
    pyc_stats: dict[str, os.stat_result] = {}
    known_digests = digests.known if digests is not None else {}
    current = digests.current if digests is not None else {}
    is_reg = stat.S_ISREG
    unverifiable = part.unverifiable
    for folder, items in _package_dirs(directory):
        in_pycache = digests is not None and folder.endswith(f"{sep}__pycache__")
        folder_sep = folder + sep
        for item in items:
            name = item.name
            full = folder_sep + name
            hit = pending.pop(full, None)
            if name.endswith(".py"):
                sources.add(full)
            elif (
                name.endswith(".pyc")
                and (hit is None or not hit[1].digest)  # RECORD never hashes it
                # cleared here when unchanged since an audit found `import` compares it with its source
                and not (in_pycache and _pyc_flags_cleared(item, full, known_digests, current, pyc_stats))
            ):
                byte_code.append((full, hit[0] if hit else owner_of_dir))
            if hit is None:
                if not name.endswith((".pyc", ".pyo")) and full not in unverifiable:
                    detail = f"in a directory installed by {owner_of_dir.entry} but listed in no RECORD"
                    issues.append(_issue(IssueType.UNLISTED, full, owner_of_dir, detail))
                continue
            dist, entry = hit
            if not entry.digest and not item.is_symlink():
                continue  # a row without hash (byte code): being there is all it can say
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                lookups.append((full, dist, entry))  # gone since the listing: looked up again
                continue
            stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}:{entry.algorithm}"
            value = f"{stamp}={entry.digest}"
            if (
                is_reg(info.st_mode)
                and (entry.size is None or entry.size == info.st_size)
                and known_digests.get(full) == value
            ):
                current[full] = value
                continue
            found = _compare(full, info, dist, entry, digests)
            if found is not None:
                issues.append(found)
    # after the walk: a .pyc's source is then known present or not without another lstat
    checks = _PycChecks(digests, pyc_stats)
    for full, dist in byte_code:
        problem = bytecode_problem(full, sources.__contains__, checks.flags)
        if problem is None and full in checks.rewritten:
            problem = checks.verdict(full, pyc_source(full))
        if problem is not None:
            issues.append(_issue(IssueType.BYTECODE, full, dist, problem))
    lookups.extend((full, dist, entry) for full, (dist, entry) in pending.items())


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FD_DEPTH = 64
"""Deeper directories are listed by path: each level of descriptors costs a generator frame."""


_PYC_FLAGS = "pyc-flags"
"""Digest-cache "algorithm" under which a `.pyc`'s PEP 552 flags word is kept (by its stamp)."""


_PYC_SWAPPED = "swapped:"
"""Prefix of a cached flags word whose `.pyc` failed the comparison with its source: kept so the
next audit reports it again while the file is unchanged."""


@dataclass(slots=True)
class _PycChecks:
    """The byte-code checks of one package directory, with what the digest cache knows.

    The flags word of a `.pyc` is cached by its stamp (size, mtime, ctime, inode). A `.pyc` first
    seen is taken as it is (comparing every `.pyc` with a compile of its source costs ~2 ms each,
    a minute for a large environment); one whose stamp changed since an earlier audit was
    rewritten, and is compared with a compile of its source (`compiled_differs`): a swap with a
    header copied from the intact `.py` loads without `import` noticing.

    An accumulator: the directory walk adds each file's stat, and `flags` marks rewritten files
    for `verdict` to compare later."""

    digests: DigestGroup | None
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    rewritten: set[str] = field(default_factory=set)
    """`.pyc` files whose cached stamp differs (or that failed the comparison before)."""

    def flags(self, path: str) -> int | None:
        info = self.stats.get(path)
        if self.digests is None or info is None:
            return pyc_flags(path)
        known = self.digests.lookup(path, info, _PYC_FLAGS)
        if known is not None and known.isdigit():
            return int(known)
        if known is not None or path in self.digests.known:
            self.rewritten.add(path)
            return pyc_flags(path)  # remembered once compared (`verdict`)
        value = pyc_flags(path)
        if value is not None:
            self.digests.remember(path, info, _PYC_FLAGS, str(value))
        return value

    def verdict(self, path: str, source: str) -> str | None:
        """For a rewritten `.pyc` that passed the header checks: why its code is not its source's."""
        if path not in self.rewritten or self.digests is None:
            return None
        problem = compiled_differs(path, source)
        value = pyc_flags(path)
        info = self.stats[path]
        if value is not None:
            mark = _PYC_SWAPPED if problem else ""
            self.digests.remember(path, info, _PYC_FLAGS, f"{mark}{value}")
        return problem


def _pyc_flags_cleared(
    item: os.DirEntry[str],
    full: str,
    known: dict[str, object],
    current: Entries,
    stats: dict[str, os.stat_result],
) -> bool:
    """Whether the `__pycache__` file `item` is known not to be unchecked-hash byte code: its flags
    word is cached under its current stamp (size, mtime, ctime, inode) and `import` compares it
    with its source. Otherwise its lstat is kept in `stats` for the full check (`_PycChecks`)."""
    try:
        info = item.stat(follow_symlinks=False)
    except OSError:
        return False
    stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}:{_PYC_FLAGS}="
    cached = known.get(full)
    if type(cached) is str and cached.startswith(stamp):
        word = cached[len(stamp) :]
        if word.isdigit() and int(word) & 0b11 != UNCHECKED_HASH:
            current[full] = cached
            return True
    stats[full] = info
    return False


def _package_dirs(directory: str) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """(path, entries that are not directories) of `directory` and every directory under it
    (`__pycache__` included: a file hidden there that is not byte code is unlisted too); symbolic
    links are entries, never followed. A directory's entries are handed over while it is open.

    Where the platform allows, each directory is listed through an open descriptor, so the lstat of
    an entry resolves one name rather than the whole path (a fifth faster on 100k files). One
    directory at a time, not one file: a generator resumed per file cost more than the lstat.
    """
    if os.scandir not in os.supports_fd or os.open not in os.supports_dir_fd:
        yield from _dirs_by_path(directory)
        return
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return  # absent or unreadable: its listed files are looked up (and reported) one by one
    try:
        yield from _dirs_by_fd(directory, fd, 0)
    finally:
        os.close(fd)


def _entries(directory: int | str) -> list[os.DirEntry[str]]:
    """The entries of a directory (by descriptor or path); none when it cannot be listed, in which
    case its listed files are looked up, and reported, one by one."""
    try:
        with os.scandir(directory) as listing:
            return list(listing)
    except OSError:
        return []


def _dirs_by_fd(path: str, fd: int, depth: int) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    items = _entries(fd)
    files = [item for item in items if not item.is_dir(follow_symlinks=False)]
    if files:
        yield path, files
    if len(files) == len(items):
        return
    for item in items:
        if not item.is_dir(follow_symlinks=False):
            continue
        full = f"{path}{os.sep}{item.name}"
        if depth >= _FD_DEPTH:
            yield from _dirs_by_path(full)
            continue
        try:
            sub = os.open(item.name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            continue
        try:
            yield from _dirs_by_fd(full, sub, depth + 1)
        finally:
            os.close(sub)


def _dirs_by_path(directory: str) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    pending = [directory]
    while pending:
        path = pending.pop()
        files = []
        for item in _entries(path):
            if item.is_dir(follow_symlinks=False):
                pending.append(item.path)
            else:
                files.append(item)
        if files:
            yield path, files


MAX_STARTUP_BYTES = 64 * 1024 * 1024
"""The largest start-up file read: `site` reads any size, so a larger one is reported unread."""
_SITE_VERSION = re.compile(r"^python(\d+)\.(\d+)t?$")


def site_python_version(site_dir: str) -> PythonVersion | None:
    """The (major, minor) of the interpreter a `.../lib/pythonX.Y/site-packages` directory belongs
    to; None when the path does not say (then every version's start-up rules apply)."""
    found = _SITE_VERSION.match(os.path.basename(os.path.dirname(os.path.abspath(site_dir))))
    return (int(found.group(1)), int(found.group(2))) if found else None


def _read_startup(path: str) -> tuple[bytes, str | None]:
    """(bytes, why not read whole) of a start-up file. A symbolic link is followed, as `site`
    follows it; a FIFO or device is not waited on, and is itself a reason to report the file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return b"", f"unreadable: {exc.strerror or exc}"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"", "not a regular file (a FIFO or device feeds whatever is written to it)"
        try:
            data = handle.read(MAX_STARTUP_BYTES + 1)
        except OSError as exc:
            return b"", f"unreadable: {exc.strerror or exc}"
    if len(data) > MAX_STARTUP_BYTES:
        return data[:MAX_STARTUP_BYTES], f"larger than {MAX_STARTUP_BYTES} bytes: read only that far"
    return data, None


def _hook_lines(
    path: str, rel: str, version: PythonVersion | None
) -> tuple[str, list[tuple[int, str]], str | None]:
    """(kind, executing lines, why unread) of one start-up file."""
    if rel.endswith((".pth", ".site.toml", ".start")):
        data, unread = _read_startup(path)
        if rel.endswith(".pth"):
            return "pth", pth_executed_by(data, version), unread
        text = data.decode("utf-8", errors="replace")
        if rel.endswith(".site.toml"):
            return "site-toml", site_toml_entries(text), unread
        return "start", start_entries(text), unread
    return rel.split(".", 1)[0], [(0, "<module>")], None


def find_startup_hooks(
    site_dir: str,
    dists: list[InstalledDistribution] | None = None,
    version: PythonVersion | None = None,
) -> list[StartupHook]:
    """Every start-up entry at the root of `site_dir` that executes code, with its RECORD owner,
    read as `site` of Python `version` reads it (default: the version the path names, else all)."""
    site_dir = os.path.abspath(site_dir)
    dists = distributions(site_dir) if dists is None else dists
    version = version or site_python_version(site_dir)
    hooks: list[StartupHook] = []
    try:
        entries = sorted(os.listdir(site_dir))
    except OSError:
        return hooks
    owners = _hook_owners(site_dir, dists, [e for e in entries if e in STARTUP_MODULES or is_startup_file(e)])
    for entry in entries:
        full = os.path.join(site_dir, entry)
        candidates: list[tuple[str, str]] = []
        if entry in STARTUP_MODULES and os.path.isdir(full):
            candidates = [(os.path.join(full, "__init__.py"), entry)]
        elif is_startup_file(entry) and not os.path.isdir(full) and not pth_name_skipped(entry, version):
            candidates = [(full, entry)]
        for path, rel in candidates:
            if not os.path.lexists(path):
                continue
            kind, lines, unread = _hook_lines(path, rel, version)
            if not lines and unread is None:
                continue  # a .pth of plain path entries runs nothing
            owner = owners.get(os.path.normpath(path))
            if owner is not None:
                hooks.append(
                    StartupHook(
                        path=path,
                        kind=kind,
                        lines=tuple(lines),
                        owner=owner.entry,
                        owner_name=owner.name,
                        owner_version=owner.version,
                        unread=unread,
                    )
                )
            else:
                hook = _os_owned_or_unowned(path, kind, tuple(lines), site_dir)
                hooks.append(dataclasses.replace(hook, unread=unread) if unread else hook)
    return hooks


def _hook_owners(
    site_dir: str, dists: list[InstalledDistribution], names: list[str]
) -> dict[str, InstalledDistribution]:
    """Resolved path -> distribution, for the RECORD rows that can name a start-up file: at the
    site root, or inside sitecustomize/usercustomize. A RECORD still text is parsed only when it
    holds one of `names` (the start-up entries present), as any row naming one must."""
    wanted = [n for name in names for n in (name, name.replace('"', '""'))]  # CSV doubles quotes
    owners: dict[str, InstalledDistribution] = {}
    for dist in dists:
        text = dist.record_text
        if text is not None and not any(name in text for name in wanted):
            continue
        for e in dist.rows():
            if "/" not in e.path or e.path.startswith(STARTUP_MODULES) or e.path.startswith(("./", "../")):
                owners[_record_full(site_dir, e)] = dist
    return owners


def _os_owned_or_unowned(
    path: str, kind: str, lines: tuple[tuple[int, str], ...], site_dir: str
) -> StartupHook:
    """A hook no RECORD lists: owned by an OS package when that package installed this very content
    (outside virtual environments only: an OS package manager does not install into a venv)."""
    system = None if _in_virtualenv(site_dir) else os_owner(path)
    if system is not None and system.intact is not False:
        label = f"{system.manager}:{system.package}"
        return StartupHook(path=path, kind=kind, lines=lines, owner=label, owner_name=system.package)
    note = (
        f"{system.manager} package {system.package} installed a file here, but not this content"
        if system is not None
        else None
    )
    return StartupHook(path=path, kind=kind, lines=lines, owner=None, note=note)


def check_site_dir(
    site_dir: str,
) -> tuple[list[InstalledDistribution], list[IntegrityIssue], list[StartupHook]]:
    """Distributions, RECORD problems and start-up hooks of one site-packages directory."""
    dists = distributions(os.path.abspath(site_dir))
    return dists, verify_records(site_dir, dists), find_startup_hooks(site_dir, dists)
