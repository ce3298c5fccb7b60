"""Audit findings: one flat record per problem, whatever found it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from custody.config.suppression import Suppression
from custody.inventory import Package

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""In increasing order; `--fail-on` compares ranks in this list."""

MALWARE_REMEDIATION = (
    "remove it, remove its start-up hooks, rotate every credential the environment could read"
)


def severity_rank(severity: str) -> int:
    """The rank of a severity name (info lowest, critical highest); an unknown name ranks as medium."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")


class FindingKind(str, enum.Enum):
    """What an audit finding is about (the `kind` field of JSON and SARIF output)."""

    MALWARE = "malware"
    """A MAL- advisory names this release: it is malware, not a bug."""
    VULNERABILITY = "vulnerability"
    INTEGRITY = "integrity"
    """Installed files differ from RECORD: modified, missing, unlisted, no RECORD."""
    STARTUP_HOOK = "startup-hook"
    """A .pth import line, .site.toml/.start entry point or sitecustomize/usercustomize."""
    YANKED = "yanked"
    """The index has yanked this release since it was installed or pinned (live source only)."""
    PROJECT_STATUS = "project-status"
    """PEP 792: the index marks the whole project quarantined, archived or deprecated (live only)."""
    UNPINNED = "unpinned"
    """A requirement without an exact version (URL, VCS ref, range): it cannot be audited."""
    SCAN = "scan"
    """`--scan`: the scan engine judged a distribution malicious or suspicious."""
    RELEASE_AGE = "release-age"
    """`--min-release-age`: the release is younger than the cooldown (live source only)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One audit finding: what kind, which advisory or rule, the package and version, how severe,
    where, the fix and a one-line detail."""

    kind: FindingKind
    id: str | None
    """Advisory id (MAL-, GHSA-, PYSEC-...), scan rule, or None."""
    aliases: tuple[str, ...]
    package: str | None
    version: str | None
    severity: str
    """`critical`, `high`, `medium`, `low` or `info`."""
    path: str | None
    """Where: the lockfile line, the `.dist-info` directory, or the file concerned."""
    fix: str | None
    """Lowest version that clears the advisory, the remediation for malware, or None."""
    detail: str
    ecosystem: str | None = None
    """`PyPI` or `npm` for package findings (advisories, yanked, unpinned), else None."""
    suppression: Suppression | None = None
    """Set when an ignore entry, `--exclude-rule` or the baseline covers this finding: reported
    (JSON, SARIF) but not counted for `--fail-on`."""


@dataclass(slots=True, kw_only=True)
class AuditReport:
    """Everything one audit found: findings, errors (targets or sources that could not be checked),
    notes, how many packages were audited, the audited inventory and the targets given.

    An accumulator: each check of the run adds its findings, errors and notes as it completes, so
    one failing source is reported beside what the others found."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Targets or sources that could not be read or checked (exit code 3 when nothing else fails)."""
    notes: list[str] = field(default_factory=list)
    """Informational remarks (store age, rebuilt store, skipped checks)."""
    packages: int = 0
    """Packages audited against advisories (installed plus pinned)."""
    inventory: list[Package] = field(default_factory=list)
    """Every audited package with an exact version, one per (ecosystem, name, version)."""
    targets: list[str] = field(default_factory=list)

    def worst(self) -> int:
        """The rank (`severity_rank`) of the most severe finding, -1 when there is none."""
        return max((severity_rank(f.severity) for f in self.findings), default=-1)
