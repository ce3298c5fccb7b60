"""Metadata rules: names one edit from a popular project, placeholder versions, missing metadata,
and the signals of `custody.scan.signals` and `custody.scan.install_time`."""

from __future__ import annotations

import ast
import enum
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from custody.artifacts import Artifact, ArtifactKind
from custody.scan.declared import Declarations, read_declarations
from custody.scan.install_time import direct_url_findings
from custody.scan.model import Basis, Finding, Severity
from custody.scan.reuse import ModuleMemo
from custody.scan.signals import (
    MalwareLookup,
    default_malware_lookup,
    empty_package,
    malicious_dependencies,
    mcp_tool_injection,
    renamed_copy,
)


class Unset(enum.Enum):
    """Marker for an argument left out (None means "no advisory store")."""

    UNSET = enum.auto()


UNSET = Unset.UNSET

MIN_SQUAT_LENGTH = 5
# Standard-library modules with no legitimate distribution of the same name on PyPI (real backports
# such as `typing`, `dataclasses`, `enum34`, `futures`, `pathlib`, `argparse`, `asyncio` and `uuid`,
# and old projects that really exist under `logging`, `ssl`, `json` or `http`, are left out).
STDLIB_ONLY = frozenset(
    {
        "os", "sys", "shutil", "zipfile", "tempfile", "multiprocessing", "subprocess", "socket",
        "time", "random", "re", "base64", "hashlib", "sqlite3", "threading", "urllib",
        "ctypes", "platform", "getpass", "glob", "io", "math", "string", "struct",
        "pickle", "marshal", "zlib", "codecs", "builtins", "webbrowser", "winreg",
        "signal", "traceback", "copy", "itertools", "functools", "collections",
    }
)  # fmt: skip
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@lru_cache(maxsize=1)
def _ranked_popular_names() -> tuple[str, ...]:
    """The most downloaded PyPI project names (packaged data), most downloaded first."""
    text = (resources.files("custody.scan") / "data" / "popular-pypi.txt").read_text(encoding="utf-8")
    return tuple(
        dict.fromkeys(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    )


@lru_cache(maxsize=1)
def popular_names() -> frozenset[str]:
    """The most downloaded PyPI project names (packaged data), for typosquat checks."""
    return frozenset(_ranked_popular_names())


def _squat_keys(name: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """The index keys of a name: its length with its first two letters, and with its last two."""
    return (len(name), name[:2]), (len(name), "~" + name[-2:])


@lru_cache(maxsize=1)
def _squat_index() -> dict[tuple[int, str], tuple[int, ...]]:
    """Ranks of the popular names (of at least MIN_SQUAT_LENGTH letters) under their
    `_squat_keys`. Two such names one insertion, deletion, substitution or adjacent swap apart
    differ in length by at most one and share their first two letters (an edit after them) or
    their last two (an edit before those, since five letters leave room), so a lookup reads a few
    dozen candidates instead of all; `_one_edit` then decides. Built in milliseconds: each
    worker process builds its own."""
    index: dict[tuple[int, str], list[int]] = {}
    for rank, name in enumerate(_ranked_popular_names()):
        if len(name) >= MIN_SQUAT_LENGTH:
            for key in _squat_keys(name):
                index.setdefault(key, []).append(rank)
    return {key: tuple(ranks) for key, ranks in index.items()}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


_DATE_VERSION = re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])?$")
LEET_VERSIONS = frozenset({1337, 31337})


def _placeholder(major: int) -> bool:
    """99, 999, 9999..., 1337: versions picked to outrank any real release or to show off.

    Calendar versions are fine: years (2024.1) and dates (20231228, 202406) as a major."""
    if major >= 10**30:
        return True  # no real release counts that high
    text = str(major)
    if len(text) >= 2 and set(text) == {"9"}:
        return True
    if major in LEET_VERSIONS:
        return True
    return major > 2200 and _DATE_VERSION.match(text) is None


def _all_nines(version: Version) -> bool:
    """9.9.9, 9.99.999: every part of a three-or-more-part release a run of nines."""
    release = version.release
    return len(release) >= 3 and all(part < 10**30 and set(str(part)) == {"9"} for part in release)


def _filename_mismatch(artifact: Artifact) -> str | None:
    """Name/version in the file name versus the metadata inside (a renamed or doctored artifact)."""
    filename = artifact.source.replace("\\", "/").rsplit("/", 1)[-1]
    try:
        if artifact.kind is ArtifactKind.WHEEL:
            file_name, file_version, _, _ = parse_wheel_filename(filename)
        elif artifact.kind is ArtifactKind.SDIST:
            file_name, file_version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    if artifact.name and canonicalize_name(artifact.name) != file_name:
        return f"file says {file_name}, metadata says {artifact.name}"
    try:
        if artifact.version and Version(artifact.version) != file_version:
            return f"file says {file_version}, metadata says {artifact.version}"
    except InvalidVersion:
        return f"metadata version {artifact.version!r} is not a valid version"
    return None


def typosquat_target(name: str) -> str | None:
    """The popular project `name` imitates, if any (popular names themselves never match)."""
    canon = canonicalize_name(name)
    popular = popular_names()
    if canon in popular or len(canon) < MIN_SQUAT_LENGTH:
        return None
    index, ranked = _squat_index(), _ranked_popular_names()
    ranks = sorted(
        {
            rank
            for length in (len(canon) - 1, len(canon), len(canon) + 1)
            for key in _squat_keys(canon)
            for rank in index.get((length, key[1]), ())
        }
    )
    for rank in ranks:  # the most downloaded of the names it imitates
        if _one_edit(canon, ranked[rank]):
            return ranked[rank]
    # Decorations around a popular name: python-requests, requests-py, py-requests.
    stripped = re.sub(r"^(python-|py-|py)|(-python|-py|-py3|3)$", "", canon)
    if stripped != canon and stripped in popular and len(stripped) >= MIN_SQUAT_LENGTH:
        return None  # wrappers like "py-requests" are common and mostly benign; not flagged
    return None


def metadata_findings(
    artifact: Artifact,
    malware: MalwareLookup | Unset | None = UNSET,
    memo: ModuleMemo | None = None,
    trees: Mapping[str, ast.Module] | None = None,
    marks: Mapping[str, frozenset[str]] | None = None,
) -> list[Finding]:
    """Findings from what the artifact declares: name, version, dependencies, descriptions.

    `malware` looks dependencies up in an advisory store; by default the local store, if built.
    `memo`: per-module results kept across artifacts (`custody.scan.reuse`). `trees` and `marks`:
    syntax trees and internal pattern marks of members already read, by member path
    (`Collected.trees`, `Collected.marks`)."""
    findings: list[Finding] = []
    if artifact.kind in (ArtifactKind.INSTALLED, ArtifactKind.FILE):
        return findings
    declared = read_declarations(artifact, trees=trees)
    findings.extend(direct_url_findings(declared))
    lookup = default_malware_lookup() if isinstance(malware, Unset) else malware
    findings.extend(malicious_dependencies(declared, lookup))
    findings.extend(mcp_tool_injection(artifact, memo, marks))
    findings.extend(_squatted_dependencies(declared))
    for signal in (
        empty_package(artifact, declared, popular_names()),
        renamed_copy(artifact, declared, popular_names()),
    ):
        if signal is not None:
            findings.append(signal)
    name, version = artifact.name, artifact.version
    if name:
        target = typosquat_target(name)
        if target is not None:
            findings.append(
                Finding(
                    rule="typosquat",
                    severity=Severity.MEDIUM,
                    file="",
                    line=None,
                    snippet=name,
                    reason=f"name {name!r} is one edit away from the popular project {target!r}",
                    basis=Basis.METADATA,
                )
            )
    if version:
        try:
            parsed = Version(version)
        except ValueError:  # InvalidVersion, or a part longer than int() accepts
            parsed = None
        if parsed is not None and (_placeholder(parsed.major) or _all_nines(parsed)):
            findings.append(
                Finding(
                    rule="placeholder-version",
                    severity=Severity.HIGH,
                    file="",
                    line=None,
                    snippet=version,
                    reason=f"version {version} looks like a placeholder chosen to outrank real releases",
                    basis=Basis.METADATA,
                )
            )
    squats = sorted(_declared_dependencies(artifact) & STDLIB_ONLY)
    if squats:
        findings.append(
            Finding(
                rule="stdlib-dependency",
                severity=Severity.HIGH,
                file="",
                line=None,
                snippet=", ".join(squats),
                reason=f"depends on {', '.join(squats)}: standard-library names, so pip installs "
                "whatever squats them on the index",
                basis=Basis.METADATA,
            )
        )
    if artifact.error is not None:
        return findings  # a damaged archive is reported as such, not as badly built
    mismatch = _filename_mismatch(artifact)
    if mismatch:
        findings.append(
            Finding(
                rule="metadata-missing",
                severity=Severity.MEDIUM,
                file="",
                line=None,
                snippet=mismatch,
                reason=f"package metadata contradicts the file name: {mismatch}",
            )
        )
    has_metadata = any(
        m.path.endswith(("PKG-INFO", ".dist-info/METADATA", "package.json")) for m in artifact.members
    )
    # A checkout has no built metadata by nature; only built artifacts are expected to carry it.
    if not has_metadata and artifact.kind not in (ArtifactKind.NPM, ArtifactKind.SOURCE):
        findings.append(
            Finding(
                rule="metadata-missing",
                severity=Severity.LOW,
                file="",
                line=None,
                snippet="",
                reason="no PKG-INFO or METADATA file: the artifact was not built by standard tooling",
            )
        )
    return findings


def _squatted_dependencies(declared: Declarations) -> list[Finding]:
    """Requirements on a name one edit from a popular project: the package pulls in the squat."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for requirement in declared.requirements:
        match = _REQUIREMENT_NAME.match(requirement.text)
        if match is None or requirement.optional:
            continue  # extras are not installed by default
        name = canonicalize_name(match.group(1))
        target = typosquat_target(name) if name not in seen else None
        seen.add(name)
        if target is None or name.rstrip("0123456789") == target.rstrip("0123456789"):
            continue  # `httpx2`, `pyreadline` for `pyreadline3`: numbered successors, named openly
        findings.append(
            Finding(
                rule="typosquat-dependency",
                severity=Severity.MEDIUM,
                file=requirement.file,
                line=requirement.line,
                snippet=requirement.text[:200],
                reason=f"requires {name!r}, one edit away from the popular project {target!r}",
                basis=Basis.METADATA,
            )
        )
    return findings


def _declared_dependencies(artifact: Artifact) -> set[str]:
    """Canonical names from Requires-Dist (PKG-INFO, METADATA) and egg-info requires.txt."""
    names: set[str] = set()
    for member in artifact.members:
        path = member.path
        if path.endswith(("PKG-INFO", ".dist-info/METADATA")) and path.count("/") <= 2:
            text = member.data.decode("utf-8", "replace")
            head = text.split("\n\n", 1)[0]
            for line in head.splitlines():
                if line.startswith("Requires-Dist:"):
                    match = _REQUIREMENT_NAME.match(line[len("Requires-Dist:") :])
                    if match:
                        names.add(canonicalize_name(match.group(1)))
        elif path.endswith(".egg-info/requires.txt") and path.count("/") <= 3:
            for line in member.data.decode("utf-8", "replace").splitlines():
                if line.startswith("["):
                    break  # extras and markers sections: optional
                match = _REQUIREMENT_NAME.match(line)
                if match:
                    names.add(canonicalize_name(match.group(1)))
    return names
