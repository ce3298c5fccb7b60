"""Reader for installed environments: one Artifact per distribution, plus unowned start-up files.

Only files a distribution's RECORD (or legacy installed-files.txt) lists are attributed to it;
every start-up file (`*.pth`, PEP 829 `*.site.toml` and `*.start`, `sitecustomize`, `usercustomize`) that no
distribution owns is gathered into a separate artifact, because that is what a trojaned release
leaves behind after `pip uninstall`.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import site
import sys
from dataclasses import dataclass
from typing import NamedTuple

from custody.artifacts._collect import Collector, StopReading, read_regular_file
from custody.artifacts.eggs import egg_info_dirs, zipped_egg_infos
from custody.artifacts.limits import DEFAULT_LIMITS, Limits
from custody.artifacts.metadata import NAME_VERSION, metadata_headers
from custody.artifacts.model import Artifact, ArtifactError, ArtifactKind, IssueKind, Unread
from custody.artifacts.selection import Selector, default_selector

UNOWNED_STARTUP = "<unowned start-up files>"
STARTUP_MODULES = ("sitecustomize", "usercustomize")


def is_startup_file(rel_path: str) -> bool:
    """True for files Python runs at interpreter start when they sit at the site-packages root."""
    if "/" in rel_path:
        return False
    if rel_path.endswith((".pth", ".site.toml", ".start")):
        return True
    stem = rel_path.split(".", 1)[0]
    return stem in STARTUP_MODULES


def looks_like_site_dir(path: str) -> bool:
    """True for a directory that holds distribution metadata or `.pth` files, or is named
    site-packages or dist-packages."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return any(n.endswith((".dist-info", ".egg-info", ".pth")) for n in names) or os.path.basename(path) in (
        "site-packages",
        "dist-packages",
    )


def find_site_dirs(path: str) -> list[str]:
    """Site-packages directories for a venv root, a Python prefix or a site-packages path itself."""
    if looks_like_site_dir(path):
        return [path]
    patterns = ("lib/python*/site-packages", "lib64/python*/site-packages", "Lib/site-packages")
    found: list[str] = []
    for pattern in patterns:
        for hit in sorted(glob.glob(os.path.join(path, pattern))):
            real = os.path.realpath(hit)
            if real not in {os.path.realpath(f) for f in found}:
                found.append(hit)
    return found


def running_site_dirs() -> list[str]:
    """Site-packages directories of the running interpreter, user site included when present."""
    dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
    user = site.getusersitepackages()
    if isinstance(user, str) and os.path.isdir(user):
        dirs.append(user)
    # Virtual environments without system site packages report only their own dir.
    return [
        d for d in dict.fromkeys(dirs) if d and not d.startswith(sys.base_prefix + "/lib/python3")
    ] or dirs


def _record_paths(dist_dir: str) -> list[str]:
    record = os.path.join(dist_dir, "RECORD")
    if os.path.isfile(record):
        with open(record, encoding="utf-8", errors="replace", newline="") as handle:
            return [row[0] for row in csv.reader(handle) if row]
    legacy = os.path.join(dist_dir, "installed-files.txt")
    if os.path.isfile(legacy):
        base = os.path.relpath(dist_dir, os.path.dirname(dist_dir))
        with open(legacy, encoding="utf-8", errors="replace") as handle:
            return [os.path.normpath(os.path.join(base, line.strip())) for line in handle if line.strip()]
    return []


def _dist_name_version(dist_dir: str) -> tuple[str | None, str | None]:
    for meta in ("METADATA", "PKG-INFO"):
        path = os.path.join(dist_dir, meta)
        if os.path.isfile(path):  # also keeps a FIFO planted as METADATA from blocking the read
            found = _file_name_version(path)
            if found is not None:
                return found
    return None, None


def _file_name_version(path: str) -> tuple[str | None, str | None] | None:
    """Name and version from a METADATA / PKG-INFO file; None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError:
        return None
    headers = metadata_headers(text, NAME_VERSION)
    return headers.get("name"), headers.get("version")


def _linked_parent(full: str, site_dir: str) -> str | None:
    """The first directory between the site dir (or the env prefix) and `full` that is a symlink."""
    base = os.path.commonpath([full, site_dir])
    parent = os.path.dirname(full)
    while len(parent) > len(base):
        if os.path.islink(parent):
            return parent
        parent = os.path.dirname(parent)
    return None


def _read_file(collector: Collector, site_dir: str, root: str, rel: str) -> None:
    """Load one installed file, refusing symlinks, special files and paths outside the env root."""
    full = os.path.normpath(os.path.join(site_dir, rel))
    shown = rel.replace(os.sep, "/")
    collector.admit(shown, shown, check_path=False)
    if os.path.commonpath([full, root]) != root:
        collector.issue(IssueKind.OUTSIDE_ROOT, shown, "RECORD names a file outside the environment")
        return
    link = _linked_parent(full, site_dir)
    if link is not None:
        collector.issue(IssueKind.SYMLINK, shown, f"path runs through symbolic link {link!r} (not followed)")
        return
    try:
        info = os.lstat(full)
    except (OSError, ValueError):  # ValueError: a NUL byte in a RECORD path
        return  # missing files are an integrity question for `custody audit`, not a scan finding
    read_regular_file(collector, full, shown, info)


def read_installed(
    site_dir: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
) -> list[Artifact]:
    """One artifact per distribution in `site_dir`, then one for start-up files nobody owns."""
    site_dir = os.path.abspath(site_dir)
    found = [
        read_distribution(site_dir, entry, limits=limits, selector=selector)
        for entry in distribution_entries(site_dir)
    ]
    unowned = read_unowned_startup(site_dir, limits=limits, selector=selector)
    return [*found, unowned] if unowned is not None else found


def _listdir(site_dir: str) -> list[str]:
    try:
        return sorted(os.listdir(site_dir))
    except OSError as exc:
        raise ArtifactError(f"{site_dir}: {exc.strerror or exc}") from exc


def distribution_entries(site_dir: str) -> list[str]:
    """Names of the `.dist-info` / `.egg-info` directories in `site_dir`, sorted."""
    return [
        entry
        for entry in _listdir(site_dir)
        if entry.endswith((".dist-info", ".egg-info")) and os.path.isdir(os.path.join(site_dir, entry))
    ]


def _env_root(site_dir: str) -> str:
    # RECORD paths such as ../../../bin/tool are legitimate up to the environment prefix.
    return os.path.dirname(os.path.dirname(os.path.dirname(site_dir))) or site_dir


def read_distribution(
    site_dir: str,
    entry: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
) -> Artifact:
    """One installed distribution (`entry` is its `.dist-info`/`.egg-info` name): only the files
    its RECORD (or installed-files.txt) lists are read, so each distribution can be scanned on its
    own, in parallel, without reading the rest of the environment."""
    site_dir = os.path.abspath(site_dir)
    dist_dir = os.path.join(site_dir, entry)
    if not os.path.isdir(dist_dir):
        raise ArtifactError(f"{dist_dir}: not a distribution directory")
    root = _env_root(site_dir)
    name, version = _dist_name_version(dist_dir)
    collector = Collector(limits, selector)
    error: str | None = None
    try:
        for rel in _record_paths(dist_dir):
            if not rel.endswith(".pyc"):
                _read_file(collector, site_dir, root, rel)
    except StopReading as stop:
        collector.unread.append(Unread(path="", limit=stop.limit, rest=True))
    except OSError as exc:
        error = f"unreadable: {exc}"
    return Artifact(
        source=f"{site_dir}::{entry}",
        kind=ArtifactKind.INSTALLED,
        name=name,
        version=version,
        members=tuple(collector.members),
        issues=tuple(collector.issues),
        member_count=collector.member_count,
        error=error,
        unread=tuple(collector.unread),
    )


def read_unowned_startup(
    site_dir: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    selector: Selector = default_selector,
) -> Artifact | None:
    """The start-up files of `site_dir` that no distribution's RECORD lists, as one artifact
    (None when there are none). Reads every RECORD, but no file a RECORD owns."""
    site_dir = os.path.abspath(site_dir)
    root = _env_root(site_dir)
    entries = _listdir(site_dir)
    owned: set[str] = set()
    for entry in distribution_entries(site_dir):
        try:
            paths = _record_paths(os.path.join(site_dir, entry))
        except OSError:
            continue  # that distribution's own task reports its unreadable RECORD
        owned.update(os.path.normpath(os.path.join(site_dir, rel)) for rel in paths)
    unowned = Collector(limits, selector)
    try:
        for entry in entries:
            full = os.path.join(site_dir, entry)
            if entry in STARTUP_MODULES and os.path.isdir(full):
                for sub in sorted(os.listdir(full)):
                    rel = f"{entry}/{sub}"
                    if sub.endswith(".py") and os.path.normpath(os.path.join(site_dir, rel)) not in owned:
                        _read_file(unowned, site_dir, root, rel)
            elif is_startup_file(entry) and os.path.normpath(full) not in owned:
                _read_file(unowned, site_dir, root, entry)
    except StopReading as stop:
        unowned.unread.append(Unread(path="", limit=stop.limit, rest=True))
    if not unowned.members and not unowned.issues:
        return None
    return Artifact(
        source=f"{site_dir}::{UNOWNED_STARTUP}",
        kind=ArtifactKind.INSTALLED,
        name=None,
        version=None,
        members=tuple(unowned.members),
        issues=tuple(unowned.issues),
        member_count=unowned.member_count,
        unread=tuple(unowned.unread),
    )


# ---- RECORD rows with hashes (for integrity checks; additive API) ------------------------------
class RecordEntry(NamedTuple):
    """One row of a distribution's RECORD file (a named tuple: an audit builds one per installed file)."""

    path: str
    """Path as written in RECORD, relative to the site-packages directory (may start with `../`)."""
    algorithm: str | None
    """Hash algorithm (`sha256`), or None when RECORD gives no hash (RECORD itself, .pyc files)."""
    digest: str | None
    """urlsafe-base64 digest without padding, as RECORD stores it."""
    size: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledDistribution:
    """A `.dist-info` / `.egg-info` directory of a site-packages dir, read without importing anything."""

    site_dir: str
    entry: str
    """Directory name, e.g. `requests-2.32.3.dist-info`."""
    name: str | None
    version: str | None
    record: tuple[RecordEntry, ...]
    """RECORD rows; empty while `record_text` holds them unparsed (see `rows()`)."""
    has_record: bool
    """False for legacy installs without RECORD (then `record` comes from installed-files.txt, no hashes)."""
    installer: str | None = None
    """The INSTALLER file's first line (`pip`, `uv`, `rpm`...); None when there is none."""
    record_text: str | None = None
    """RECORD as read, not yet parsed (`list_distributions(parse_records=False)`): a large
    environment's ~100k rows are then parsed where they are checked, by the forked workers."""

    @property
    def path(self) -> str:
        """The absolute path of the distribution's metadata directory."""
        return os.path.join(self.site_dir, self.entry)

    def rows(self) -> tuple[RecordEntry, ...]:
        """The RECORD rows, parsed from `record_text` when they were not parsed on reading (each
        call parses again: keep the result)."""
        return self.record if self.record_text is None else parse_record(self.record_text)


def parse_record(text: str) -> tuple[RecordEntry, ...]:
    """The rows of a RECORD file's text (CSV as pip writes it; rows without a path are skipped)."""
    rows: list[RecordEntry] = []
    append = rows.append
    # tuple.__new__ builds the named tuple in C (its generated __new__ is a Python call per row,
    # and an audit reads ~100k rows before it can start checking files)
    new = tuple.__new__
    for row in csv.reader(io.StringIO(text, newline="")):
        if not row or not row[0]:
            continue
        count = len(row)
        algorithm = digest = None
        if count > 1:
            algorithm, sep, digest = row[1].partition("=")
            if not sep:
                algorithm = digest = None
        size = int(row[2]) if count > 2 and row[2].strip().isdigit() else None
        append(new(RecordEntry, (row[0], algorithm, digest, size)))
    return tuple(rows)


def _record_text(dist_dir: str) -> str | None:
    """The text of `dist_dir`'s RECORD, or None when there is no RECORD file."""
    record = os.path.join(dist_dir, "RECORD")
    if not os.path.isfile(record):
        return None
    with open(record, encoding="utf-8", errors="replace", newline="") as handle:
        return handle.read()


def read_record(dist_dir: str) -> tuple[tuple[RecordEntry, ...], bool]:
    """RECORD rows of one distribution, and whether a RECORD (rather than installed-files.txt) exists."""
    text = _record_text(dist_dir)
    if text is None:
        return tuple(
            RecordEntry(path=p, algorithm=None, digest=None, size=None) for p in _record_paths(dist_dir)
        ), False
    return parse_record(text), True


def list_distributions(site_dir: str, *, parse_records: bool = True) -> list[InstalledDistribution]:
    """Every distribution `importlib.metadata` finds through `site_dir`, with its name, version and
    RECORD rows: `.dist-info` and `.egg-info` directories, `.egg-info` files, and the `EGG-INFO` of
    each `.egg` a `.pth` there puts on `sys.path` (sorted by entry, egg directories, then zipped
    eggs, last). With `parse_records` False, a RECORD is read but left as text (`record_text`,
    `InstalledDistribution.rows()`)."""
    try:
        entries = sorted(os.listdir(site_dir))
    except OSError as exc:
        raise ArtifactError(f"{site_dir}: {exc.strerror or exc}") from exc
    found: list[InstalledDistribution] = []
    for entry in entries:
        dist_dir = os.path.join(site_dir, entry)
        if not entry.endswith((".dist-info", ".egg-info")):
            continue
        if os.path.isdir(dist_dir):
            found.append(_distribution(site_dir, entry, parse_records))
        elif entry.endswith(".egg-info") and os.path.isfile(dist_dir):
            name, version = _file_name_version(dist_dir) or (None, None)
            found.append(
                InstalledDistribution(
                    site_dir=site_dir, entry=entry, name=name, version=version, record=(), has_record=False
                )
            )
    # an egg's EGG-INFO may lie outside site_dir: its entry is then a relative path with `..`
    found.extend(
        _distribution(site_dir, os.path.relpath(info, site_dir), parse_records)
        for info in egg_info_dirs(site_dir, entries)
    )
    for egg, pkg_info in zipped_egg_infos(site_dir, entries):
        headers = metadata_headers(pkg_info, NAME_VERSION)
        found.append(
            InstalledDistribution(
                site_dir=site_dir,
                entry=os.path.relpath(egg, site_dir),
                name=headers.get("name"),
                version=headers.get("version"),
                record=(),
                has_record=False,
            )
        )
    return found


def _distribution(site_dir: str, entry: str, parse_records: bool = True) -> InstalledDistribution:
    dist_dir = os.path.join(site_dir, entry)
    name, version = _dist_name_version(dist_dir)
    text = None if parse_records else _record_text(dist_dir)
    if text is None:
        record, has_record = read_record(dist_dir)
    else:
        record, has_record = (), True
    return InstalledDistribution(
        site_dir=site_dir,
        entry=entry,
        name=name,
        version=version,
        record=record,
        has_record=has_record,
        installer=_installer(dist_dir),
        record_text=text,
    )


def _installer(dist_dir: str) -> str | None:
    path = os.path.join(dist_dir, "INSTALLER")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline(200).strip() or None
    except OSError:
        return None
