"""Metadata rules: names one edit from a popular project, placeholder versions, missing metadata."""

from __future__ import annotations

import re
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
from custody.scan.model import Finding, Severity

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
def popular_names() -> frozenset[str]:
    text = (resources.files("custody.scan") / "data" / "popular-pypi.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


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


def _placeholder(major: int) -> bool:
    """99, 999, 9999...: versions picked to outrank any real release (calendar years are fine)."""
    text = str(major)
    return (len(text) >= 2 and set(text) == {"9"}) or major > 2200


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
    for candidate in popular:
        if len(candidate) >= MIN_SQUAT_LENGTH and _one_edit(canon, candidate):
            return candidate
    # Decorations around a popular name: python-requests, requests-py, py-requests.
    stripped = re.sub(r"^(python-|py-|py)|(-python|-py|-py3|3)$", "", canon)
    if stripped != canon and stripped in popular and len(stripped) >= MIN_SQUAT_LENGTH:
        return None  # wrappers like "py-requests" are common and mostly benign; not flagged
    return None


def metadata_findings(artifact: Artifact) -> list[Finding]:
    findings: list[Finding] = []
    if artifact.kind in (ArtifactKind.INSTALLED, ArtifactKind.FILE):
        return findings
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
                )
            )
    if version:
        try:
            parsed = Version(version)
        except InvalidVersion:
            parsed = None
        if parsed is not None and _placeholder(parsed.major):
            findings.append(
                Finding(
                    rule="placeholder-version",
                    severity=Severity.MEDIUM,
                    file="",
                    line=None,
                    snippet=version,
                    reason=f"version {version} looks like a placeholder chosen to outrank real releases",
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
