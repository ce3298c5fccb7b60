"""Fail closed: what limits and timeouts left unread sets a floor under the verdict.

A reader limit (member count, total or loaded bytes, per-member bytes), an unreadable member, a
pattern timeout or the per-target deadline can leave part of an artifact unseen. Unseen code is
not harmless code, so:

- unread code (Python, scripts, npm JavaScript) is a *high* `scan-incomplete` finding, at least
  `suspicious`;
- an unread start-up file (.pth, .site.toml/.start, sitecustomize) or install-time file (setup.py,
  pyproject.toml of an sdist, npm package.json), an unknown rest of a streamed archive, or an
  archive that inflates past the absolute bound makes the target `error`: nothing can be said;
- the deadline (`scan-timeout`) makes the target `error`;
- a decompression bomb the installer would unpack (a member of the artifact itself) is critical
  (`archive-bomb`, decided in `verdict`); one inside a nested archive, which installers do not
  unpack, makes the target `error`;
- unread data (native libraries, images, blobs the scanner reads by magic number anyway) and
  anything inside nested archives stay informational.

Every finding here carries its `LimitKind`; nothing is decided from message text.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field

from custody.artifacts import Artifact, ArtifactKind, LimitKind, Unread
from custody.scan.collect import Collected
from custody.scan.model import Context, Finding, Severity
from custody.scan.roles import FileType, classify, relative_path

SHOWN_PER_KIND = 3
"""Findings listed per (limit, role); the last one counts the others (200,000 members cut off
must not make 200,000 findings)."""


class Role(str, enum.Enum):
    """What an unread member would have been, from its path."""

    STARTUP = "start-up file"
    INSTALL = "install-time file"
    CODE = "code"


@dataclass(slots=True)
class Coverage:
    """What the scan could not read or analyse: findings about it and, when the verdict must be
    `error`, why.

    An accumulator: each gap found while reading and analysing adds its finding."""

    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    """Set when the verdict must be `error` (unless the target is already malicious)."""


def role_of(path: str, artifact: Artifact) -> Role | None:
    """Start-up, install-time or other code, or None for data and metadata."""
    rel = relative_path(path, artifact.strip_prefix)
    ftype, context = classify(rel, artifact.kind, None, artifact.name)
    if ftype in (FileType.PTH, FileType.SITE_TOML, FileType.START) or (
        ftype is FileType.PYTHON and context is Context.STARTUP
    ):
        return Role.STARTUP
    if context is Context.INSTALL and ftype in (FileType.PYTHON, FileType.PACKAGE_JSON):
        return Role.INSTALL
    if artifact.kind is ArtifactKind.SDIST and rel == "pyproject.toml":
        return Role.INSTALL  # names the build backend that runs at install time
    if ftype in (FileType.PYTHON, FileType.SCRIPT):
        return Role.CODE
    if ftype is FileType.JAVASCRIPT and artifact.kind is ArtifactKind.NPM:
        return Role.CODE
    return None


def _describe(gap: Unread) -> str:
    if gap.limit is LimitKind.AST_SIZE:
        return f"{gap.size}-byte source got the text analysis only (too large to parse)"
    if gap.limit is LimitKind.FLOW_SIZE:
        return f"{gap.size}-byte source was not followed value by value (too large); every other rule read it"
    if gap.loaded and gap.size >= 0:
        return f"only {gap.loaded} of {gap.size} bytes read"
    return "not read"


class _Assessor:
    def __init__(self, artifact: Artifact, timeout: float | None) -> None:
        self.artifact = artifact
        self.timeout = timeout
        self.out = Coverage()
        self.groups: dict[tuple[LimitKind, Role | None, Severity], list[Unread]] = defaultdict(list)

    def fail(self, reason: str) -> None:
        if self.out.error is None:
            self.out.error = reason

    def run(self, gaps: list[Unread]) -> Coverage:
        for gap in gaps:
            self._one(gap)
        for (limit, role, severity), items in self.groups.items():
            for index, gap in enumerate(items[:SHOWN_PER_KIND]):
                more = len(items) - SHOWN_PER_KIND
                what = role.value if role else "content"
                reason = f"{limit.value} limit: {what} {_describe(gap)}"
                if index == SHOWN_PER_KIND - 1 and more > 0:
                    reason += f" (and {more} more)"
                self._finding("scan-incomplete", severity, gap.path, reason, limit)
        return self.out

    def _finding(self, rule: str, severity: Severity, path: str, reason: str, limit: LimitKind) -> None:
        self.out.findings.append(
            Finding(
                rule=rule, severity=severity, file=path, line=None, snippet="", reason=reason, limit=limit
            )
        )

    def _one(self, gap: Unread) -> None:
        nested = "!/" in gap.path or (gap.rest and gap.path != "")
        if gap.limit is LimitKind.SCAN_TIME:
            budget = f"{self.timeout:g} s" if self.timeout is not None else "its"
            self._finding(
                "scan-timeout",
                Severity.HIGH,
                "",
                f"scan-time limit: the time budget ({budget}) ran out; the rest was not analysed",
                gap.limit,
            )
            self.fail(f"scan timed out after {budget}; not fully analysed (see --timeout)")
            return
        if gap.limit is LimitKind.TOTAL_BYTES:
            self._finding(
                "scan-incomplete", Severity.HIGH, gap.path, "total-bytes limit: not read", gap.limit
            )
            self.fail("archive inflates past the total-bytes limit (decompression bomb); not fully read")
            return
        if gap.limit is LimitKind.COMPRESSION_RATIO:
            if nested:
                self.fail(f"decompression bomb in nested archive at {gap.path}; not fully read")
            # A bomb in the artifact itself is critical (`archive-bomb`): installing unpacks it.
            return
        if gap.rest:
            if nested:
                self.groups[(gap.limit, None, Severity.LOW)].append(gap)
                return
            self._finding(
                "scan-incomplete",
                Severity.HIGH,
                gap.path,
                f"{gap.limit.value} limit: the rest of the archive (names unknown) was not read",
                gap.limit,
            )
            self.fail(f"{gap.limit.value} limit: the rest of the archive was not read")
            return
        role = role_of(gap.path, self.artifact)
        if role is None:
            return  # data: the reader's own issue already reports it, informationally
        if nested:
            # Installers never unpack archives inside an artifact (test fixtures, vendored wheels).
            self.groups[(gap.limit, role, Severity.LOW)].append(gap)
            return
        if gap.limit in (LimitKind.AST_SIZE, LimitKind.FLOW_SIZE):
            # Every byte was still pattern-matched: only run-early code must not escape the full
            # analysis; a large generated module at import is ordinary.
            early = role in (Role.STARTUP, Role.INSTALL)
            self.groups[(gap.limit, role, Severity.HIGH if early else Severity.LOW)].append(gap)
            return
        self.groups[(gap.limit, role, Severity.HIGH)].append(gap)
        if role in (Role.STARTUP, Role.INSTALL):
            self.fail(f"{gap.limit.value} limit left {role.value} {gap.path} unread")


def assess(artifact: Artifact, collected: Collected, timeout: float | None) -> Coverage:
    """Findings (and a forced `error`, if any) for what the reader and the analysis left unread."""
    return _Assessor(artifact, timeout).run([*artifact.unread, *collected.unread])


__all__ = ["Coverage", "Role", "assess", "role_of"]
