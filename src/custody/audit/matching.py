"""Packages against advisories: match, merge aliases so each problem is reported once, fix hints."""

from __future__ import annotations

from collections.abc import Iterable

from custody.advisories import Advisory, affects, lowest_fix
from custody.advisories.versions import parse_version
from custody.audit.model import MALWARE_REMEDIATION, SEVERITIES, Finding, FindingKind, severity_rank
from custody.inventory import Package

_ID_PREFERENCE = ("MAL-", "GHSA-", "PYSEC-", "CVE-")


def _preference(ident: str) -> tuple[int, str]:
    for rank, prefix in enumerate(_ID_PREFERENCE):
        if ident.startswith(prefix):
            return rank, ident
    return len(_ID_PREFERENCE), ident


def group_by_alias(advisories: Iterable[Advisory]) -> list[list[Advisory]]:
    """Advisories sharing an id or alias (transitively) in one group; first-seen order kept."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    unique: dict[str, Advisory] = {}
    for advisory in advisories:
        unique.setdefault(advisory.id, advisory)
        for alias in advisory.aliases:
            parent[find(alias)] = find(advisory.id)
        find(advisory.id)
    groups: dict[str, list[Advisory]] = {}
    for ident, advisory in unique.items():
        groups.setdefault(find(ident), []).append(advisory)
    return list(groups.values())


def _max_version(ecosystem: str, versions: list[str]) -> str | None:
    keyed = [(parse_version(ecosystem, v), v) for v in versions]
    valid = [(k, v) for k, v in keyed if k is not None]
    if not valid:
        return versions[0] if versions else None
    best = valid[0]
    for pair in valid[1:]:
        if best[0] < pair[0]:
            best = pair
    return best[1]


def finding_for_group(package: Package, group: list[Advisory], where: str | None) -> Finding:
    """One finding for a group of aliased advisories affecting `package`."""
    version = package.version or ""
    primary = min((a.id for a in group), key=_preference)  # an id we hold a record for
    ids = [
        primary,
        *sorted(({a.id for a in group} | {x for a in group for x in a.aliases}) - {primary}, key=_preference),
    ]
    malware = any(a.malware for a in group)
    summary = next((a.summary for a in group if a.summary), "") or next(
        (a.details.strip().splitlines()[0] for a in group if a.details.strip()), ""
    )
    url = next((a.url for a in group if a.url), None)
    if malware:
        detail = f"malware: {summary or 'malicious release'}"
        return Finding(
            kind=FindingKind.MALWARE,
            id=primary,
            aliases=tuple(ids[1:]),
            package=package.name,
            version=package.version,
            severity="critical",
            path=where,
            fix=MALWARE_REMEDIATION,
            detail=detail + (f" ({url})" if url else ""),
            ecosystem=package.ecosystem.value,
        )
    rated = [a.severity for a in group if a.severity in SEVERITIES]
    severity = max(rated, key=severity_rank) if rated else "medium"
    fixes = [f for f in (lowest_fix(a, package.ecosystem, package.name, version) for a in group) if f]
    fix = _max_version(package.ecosystem.value, fixes)
    detail = (summary[:300] + "…" if len(summary) > 300 else summary) or "known vulnerability"
    if not rated:
        detail += " (severity not rated by the record)"
    if url:
        detail += f" ({url})"
    return Finding(
        kind=FindingKind.VULNERABILITY,
        id=primary,
        aliases=tuple(ids[1:]),
        package=package.name,
        version=package.version,
        severity=severity,
        path=where,
        fix=fix,
        detail=detail,
        ecosystem=package.ecosystem.value,
    )


def match_package(package: Package, candidates: Iterable[Advisory]) -> list[Finding]:
    """Findings for one pinned/installed package from the advisories naming it (affected or not)."""
    if package.version is None:
        return []
    hits = [a for a in candidates if affects(a, package.ecosystem, package.name, package.version)]
    return [finding_for_group(package, group, package.source) for group in group_by_alias(hits)]
